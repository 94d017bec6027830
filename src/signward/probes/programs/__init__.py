"""The programs the watch's fire drills run and dump with gcore, as real modules started with
`python -m` (`signward.watch.drills` starts them, waits for their `ready` line, dumps them and
kills them): `holder` holds the home's canary keys as the issuer does, `signer` is a drill
instance of the issuer's signing path. Each takes one argument, prints `ready` once it holds
what the drill looks for, then waits to be dumped; bad usage is one line on stderr and exit 2.

They live under `signward.probes`, whose package imports nothing of signward, and not under
`signward.watch`: a program there would import the watch (httpx, the depth analyzer, the
services) before it holds anything, and the redaction drill's independent re-scan then ran out
of its budget of scalar checks on the larger core (`recheck_incomplete`), failing the drill.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

HOLD_SECONDS = 600.0  # a drill dumps its program within seconds; an orphan ends by itself


def one_argument(argv: Sequence[str] | None, usage: str) -> str | None:
    """The program's one argument, or None after printing `usage` on stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0]:
        print(f"usage: {usage}", file=sys.stderr)
        return None
    return args[0]


def main(argv: Sequence[str] | None, program: str, usage: str, hold: Callable[[str], None], *,
         failure: int) -> int:
    """One drill program: its one argument (bad usage: `usage` on stderr, exit 2), then `hold`
    with it; a SignwardError, ConfigError or OSError from `hold` is one line on stderr
    (`PROGRAM: ARGUMENT: message`) and exit `failure`; else `ready`, and wait to be dumped.
    `hold` imports what it needs itself: this package imports nothing of signward before it."""
    argument = one_argument(argv, usage)
    if argument is None:
        return 2
    from ...errors import SignwardError

    try:
        hold(argument)
    except (SignwardError, OSError, ValueError) as exc:  # ValueError: ConfigError and bad content
        print(f"{program}: {argument}: {exc}", file=sys.stderr)
        return failure
    ready_then_wait()
    return 0


def ready_then_wait() -> None:
    """Say `ready` (the drill dumps the process after this line) and wait to be dumped."""
    print("ready", flush=True)
    time.sleep(HOLD_SECONDS)


__all__ = ["HOLD_SECONDS", "main", "one_argument", "ready_then_wait"]
