"""The lab's second referee, independent of the scanner under test.

The lab decides whether a consumer key got through each stage with the attacker's search,
which is the known-key detector: the very scanner the sanitizer relies on. A bug shared by
both would make the lab report "not breached" for the wrong reason. This referee shares no
code with `signward.dumps`: it reads the file's bytes and tries every 8-byte-aligned window
the size of an RSA prime, big- and little-endian, as a divisor of each published modulus
(the lab's realms are RS256). OpenSSL keeps p and q as little-endian limbs, a serialized key
holds them big-endian; either way the window divides n.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np


def rsa_factor_offsets(path: Path, moduli: Iterable[int]) -> list[tuple[int, str]]:
    """Offsets (and byte order) of every aligned window of `path` that is a prime factor of a modulus."""
    wanted = [n for n in moduli if n > 0]
    hits: list[tuple[int, str]] = []
    if not wanted:
        return hits
    data = path.read_bytes()  # a lab core is about 100 MB
    view = np.frombuffer(data, dtype=np.uint8)
    for size in sorted({(n.bit_length() + 1) // 2 // 8 for n in wanted}):
        if len(view) < size:
            continue
        last = len(view) - size
        firsts = view[0:last + 1:8]
        finals = view[size - 1:last + size:8]
        candidates: list[tuple[np.ndarray, Literal["big", "little"]]] = [  # top bit set and odd
            (np.flatnonzero((firsts >= 0x80) & (finals & 1 == 1)), "big"),
            (np.flatnonzero((finals >= 0x80) & (firsts & 1 == 1)), "little")]
        for indexes, order in candidates:
            for index in indexes.tolist():
                offset = index * 8
                value = int.from_bytes(data[offset:offset + size], order)
                if any(1 < value < n and n % value == 0 for n in wanted):
                    hits.append((offset, order))
    return sorted(hits)


__all__ = ["rsa_factor_offsets"]
