"""Scanner benchmark on one real core of at least 1 GiB: MB/s of the full scan and of each
detector, against aeskeyfind and rsakeyfind (Debian packages) on the same file, in one run.

Run: .venv/bin/python bench/scan.py [--size-mib 1100] [--core PATH]
     .venv/bin/python bench/scan.py --dense [--size-mib 512]: the dense image (bench/scan_dense.py)
Goals (issue 18): all default detectors faster than aeskeyfind alone; the known-key RSA search at
least 300 MB/s per key; the canary set (RSA+EC+Ed25519) at least 100 MB/s; each with 1 and 2
worker processes (`--workers`), and the compiled filters against the numpy/cryptography reference
they replace (SIGNWARD_SCAN_REFERENCE=1, one process). The dump is a gcore of bench/scan_heap.py
(objects and text, zeros, compressed and random buffers, canary keys), made fresh unless --core
is given.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from signward.dumps import Canary, KnownKeys, make_canary, scan_path  # noqa: E402
from signward.scan.compiled import REFERENCE_ENV, path_name  # noqa: E402
from signward.scan.detectors.known_key import _MEMO  # noqa: E402
from signward.scan.knownkeys import known_key  # noqa: E402


def make_core(size_mib: int, workdir: Path) -> tuple[Path, Path]:
    canary = workdir / "canary.json"
    make_canary(canary, time.time())
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("scan_heap.py")), str(size_mib),
                             str(canary)], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    subprocess.run(["gcore", "-o", str(workdir / "core"), str(proc.pid)], check=True, capture_output=True)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    return workdir / f"core.{proc.pid}", canary


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    _MEMO.clear()  # the EC/Ed25519 point memo would make every scan after the first cheaper
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def main() -> None:
    if "--dense" in sys.argv[1:]:  # issue 32's dense image of real cores: bench/scan_dense.py
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import scan_dense

        scan_dense.main([arg for arg in sys.argv[1:] if arg != "--dense"])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1100)
    parser.add_argument("--core", default=None)
    parser.add_argument("--canary", default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="signward-bench-scan-"))
    try:
        core, canary_path = (Path(args.core), Path(args.canary)) if args.core else make_core(args.size_mib, workdir)
        size = core.stat().st_size
        canary = Canary.load(canary_path)
        known = KnownKeys()
        canary.add_to(known)
        rsa_only = KnownKeys([k for k in (known_key(canary.rsa.public_key()),) if k is not None])
        mb = size / 1e6
        print(f"core: {core} ({size / 2**30:.2f} GiB); filters: {path_name()}")
        rates: dict[str, float] = {}
        # one untimed scan first: this process then holds its heap (`keep_freed_buffers`) for the
        # in-process measurements, whichever comes first (the pools' processes start cold each time)
        scan_path(core, None, KnownKeys(), workers=1)
        for workers in (1, 2):
            tag = f", {workers} worker{'s' if workers > 1 else ''}"
            rates["signward, all default detectors, no keys" + tag] = mb / timed(
                lambda: scan_path(core, None, KnownKeys(), workers=workers))
            rates["signward, all default detectors, canary set (RSA+EC+Ed25519+AES)" + tag] = mb / timed(
                lambda: scan_path(core, None, known, workers=workers))
            rates["signward known-key, canary set" + tag] = mb / timed(
                lambda: scan_path(core, "known-key", known, workers=workers))
            rates["signward known-key, one RSA key" + tag] = mb / timed(
                lambda: scan_path(core, "known-key", rsa_only, workers=workers))
        for detector in ("text", "der", "known-key", "unknown-rsa", "aes", "entropy"):
            rates[f"signward {detector} alone, canary set, 1 worker"] = mb / timed(
                lambda: scan_path(core, detector, known))
        # the numpy/cryptography reference the compiled filters replace (in this process: a pool's
        # processes come from a forkserver started with this environment, before the switch)
        os.environ[REFERENCE_ENV] = "1"
        try:
            cases: list[tuple[str, str | None, KnownKeys]] = [
                ("every default detector, no keys", None, KnownKeys()), ("known-key, canary set", "known-key", known),
                ("known-key, one RSA key", "known-key", rsa_only)]
            for label, chosen, keys in cases:
                rates[f"reference path (numpy), {label}, 1 worker"] = mb / timed(
                    lambda: scan_path(core, chosen, keys, workers=1))
        finally:
            del os.environ[REFERENCE_ENV]
        for tool in ("aeskeyfind", "rsakeyfind"):
            if shutil.which(tool):
                rates[tool] = mb / timed(lambda: subprocess.run([tool, str(core)], capture_output=True))
        for name, value in rates.items():
            print(f"{name:75s} {value:9.1f} MB/s")
        if "aeskeyfind" in rates:
            for pool in ("1 worker", "2 workers"):
                default = rates[f"signward, all default detectors, no keys, {pool}"]
                print(f"time ratio signward all default detectors ({pool}) / aeskeyfind: "
                      f"{rates['aeskeyfind'] / default:.2f} (goal <= 1: signward takes at most as long)")
        for pool in ("1 worker", "2 workers"):
            print(f"known-key, {pool}: one RSA key {rates[f'signward known-key, one RSA key, {pool}']:.0f} MB/s "
                  f"(goal >= 300); canary set {rates[f'signward known-key, canary set, {pool}']:.0f} MB/s "
                  "(goal >= 100)")
        for label, compiled_name in (("every default detector, no keys", "signward, all default detectors, no keys"),
                                     ("known-key, canary set", "signward known-key, canary set"),
                                     ("known-key, one RSA key", "signward known-key, one RSA key")):
            ratio = rates[f"{compiled_name}, 1 worker"] / rates[f"reference path (numpy), {label}, 1 worker"]
            print(f"compiled / reference speed, {label}, 1 worker: {ratio:.1f}x")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
