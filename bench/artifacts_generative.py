"""The long run of the generative proof (issue #32 point 4): many examples of key type x form x
encoding x container through `sanitize`, each judged by the stdlib recoverer of
tests/dumps/test_generative.py (refused, or certified with no key recoverable).

It prints, per outcome, how many cases ended there and which layer classes they came from, and
the peer in the same run: the scanner alone (`dumps scan` on the input) against the scanner plus
the independent reader, so the number of cases only the independent reader refused is visible.
Exit 1 when any certified output still holds a key.

Run: .venv/bin/python bench/artifacts_generative.py [--examples 500] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dumps.test_generative import CONTAINERS, ENCODINGS, FORMS, MEMBER_NAMES, TYPES, Case, judge, known_keys  # noqa: E402

from signward.dumps import scan_path  # noqa: E402
from signward.errors import DumpFormatError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: collections.Counter[str] = collections.Counter()
    scanner_missed: collections.Counter[str] = collections.Counter()
    failures: list[str] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.examples):
            case = Case(rng.choice(TYPES), rng.choice(FORMS), rng.choice(ENCODINGS), rng.choice(CONTAINERS),
                        rng.choice(MEMBER_NAMES), rng.randrange(1000))
            directory = Path(folder) / f"case{index}"
            try:
                outcome = judge(case, directory)
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
                outcome = "FAILED"
            outcomes[outcome.split(": ")[0]] += 1
            try:  # the peer: the scanner alone, as `dumps scan` sees the input
                report = scan_path(directory / "artifact", known=known_keys())
                blind = not [f for f in report.findings if not f.advisory] and not report.incomplete
            except DumpFormatError:
                blind = False
            if blind:
                scanner_missed[f"{case.encoding}/{case.container}"] += 1
    seconds = time.monotonic() - began
    print(f"{args.examples} cases in {seconds:.1f} s ({seconds / max(1, args.examples):.2f} s per case)")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:32} {count}")
    missed = sum(scanner_missed.values())
    print(f"scanner alone reported nothing on {missed} of {args.examples} inputs "
          f"({missed / max(1, args.examples):.0%}); with the independent reader none was certified with a key "
          f"inside" if not failures else f"{len(failures)} certified output(s) still hold a key")
    for layer, count in scanner_missed.most_common(10):
        print(f"  scanner blind: {layer:40} {count}")
    for failure in failures[:10]:
        print("FAILED", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
