"""Test helpers that start real parts: the HSM process, the issuer on loopback, crashing processes."""

from __future__ import annotations

from pathlib import Path

from signward.cli import main
from signward.home import Home
from signward.lab.crash import ServedIssuer, core_pattern, crash_and_collect_core, free_port  # noqa: F401
from signward.lab.loopback import ThreadedServer  # noqa: F401 (re-exported)

def run_cli(*args: str) -> int:
    return main(list(args))


class IssuerProcess(ServedIssuer):
    """`signward serve` for a test home: runs in the home, or in `core_dir` with core dumps on."""

    def __init__(self, home: Home, port: int | None = None, core_dir: Path | None = None) -> None:
        super().__init__(home.root, core_dir or home.root, port, cores=core_dir is not None)


def factor_windows(data: bytes, modulus: int, prime_bytes: int) -> list[tuple[int, str]]:
    """Every 8-byte-aligned window of `prime_bytes` that, read big- or little-endian, divides
    the modulus (1 < x < n). RSA primes of an n-bit key have exactly n/2 bits and are odd,
    so only windows with the top bit set and the low bit set are tried."""
    hits: list[tuple[int, str]] = []
    last = len(data) - prime_bytes
    view = memoryview(data)
    firsts = data[0:last + 1:8]
    lasts = data[prime_bytes - 1:last + prime_bytes:8]
    for index, (first, final) in enumerate(zip(firsts, lasts)):
        offset = index * 8
        if first >= 0x80 and final & 1:
            x = int.from_bytes(view[offset:offset + prime_bytes], "big")
            if 1 < x < modulus and modulus % x == 0:
                hits.append((offset, "big"))
        if final >= 0x80 and first & 1:
            x = int.from_bytes(view[offset:offset + prime_bytes], "little")
            if 1 < x < modulus and modulus % x == 0:
                hits.append((offset, "little"))
    return hits
