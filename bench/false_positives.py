"""False positives of the detectors on inputs that hold no key: random bytes, compressed data
(zlib, lzma and zstd of the machine's own libraries and text) and the core of a process that
never touched a key. Prints findings per GiB for each detector.

Run: .venv/bin/python bench/false_positives.py [--mib 512]
"""

from __future__ import annotations

import argparse
import lzma
import os
import sys
import tempfile
import zlib
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from signward.dumps import scan_path  # noqa: E402

DETECTORS = ("text", "der", "known-key", "unknown-rsa", "aes", "entropy")


def corpus(limit: int) -> bytes:
    """The machine's own shared libraries and documentation, up to `limit` bytes."""
    out = bytearray()
    for root in ("/usr/lib/x86_64-linux-gnu", "/usr/share/doc", "/usr/lib"):
        for path in sorted(Path(root).rglob("*")):
            if len(out) >= limit:
                return bytes(out)
            try:
                if path.is_file() and not path.is_symlink():
                    out += path.read_bytes()[: 4 << 20]
            except OSError:
                continue
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=512)
    args = parser.parse_args()
    size = args.mib << 20
    plain = corpus(size)
    inputs = {
        "random": os.urandom(size),
        "zlib": zlib.compress(plain, 6),
        "lzma": lzma.compress(plain[: size // 4], preset=1),
        "zstd": zstandard.ZstdCompressor(level=3).compress(plain),
    }
    with tempfile.TemporaryDirectory() as folder:
        print(f"{'input':8s} {'MiB':>7s} " + " ".join(f"{d:>12s}" for d in DETECTORS))
        for name, data in inputs.items():
            path = Path(folder) / f"{name}.raw"
            path.write_bytes(b"\0" * 64 + data)  # a leading zero block keeps it a raw image
            report = scan_path(path, ",".join(DETECTORS))
            counts = report.counts()
            gib = len(data) / 2**30
            print(f"{name:8s} {len(data) / 2**20:7.1f} " +
                  " ".join(f"{counts.get(d, 0) / gib:12.1f}" for d in DETECTORS), "findings/GiB")


if __name__ == "__main__":
    main()
