"""RSA keys nobody told us about: two nearby primes whose product is a modulus in the dump.

For each common prime size (RSA-1024 to RSA-4096) and each integer layout at 8-byte
alignment (heap buffers), windows in writable memory that could be primes are filtered (odd,
top bit set, few zero bytes, no factor below 132). Every pair of such windows at most `MAX_GAP`
bytes apart has the low 64 bits of its product computed in bulk (numpy's uint64 multiply wraps
exactly mod 2**64) and looked up among the low 64 bits of windows that could be the modulus;
only pairs that hit are multiplied in full.
Blocks of random data, where every window is a candidate, are skipped (`integers.sparse`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from ..chunks import Chunk
from ..findings import Finding
from ..integers import coprime_to_small_primes, low64, sparse, value_at, windows
from .base import BaseDetector
from .known_key import rsa_private_values

PRIME_BYTES = (64, 128, 192, 256)
REPRESENTATIONS = ("le", "be", "java")
ALIGN = 8  # heap buffers; unaligned big-endian keys are DER or text, which their detectors parse
MAX_GAP = 8192
MAX_PAIRS = 4_000_000
COMMON_EXPONENTS = (65537, 3, 17)
# windows that could be a modulus: low 64 bits (sorted), offsets, representation indices
Moduli = tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.int8]]


class UnknownRsaDetector(BaseDetector):
    """Adjacent primes whose product is a modulus present in the dump."""

    name = "unknown-rsa"
    min_view_bytes = 4 * PRIME_BYTES[0]  # two primes and their modulus: a shorter decoded view holds none

    def __init__(self) -> None:
        self._cut: set[str] = set()

    def incomplete(self) -> list[str]:
        return sorted(self._cut)

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        for length in PRIME_BYTES:
            moduli: Moduli | None = None
            looked = False
            for representation in REPRESENTATIONS:
                primes = windows(chunk, length, representation, odd=True, top_bit=True, align=ALIGN,
                                 writable_only=True)
                primes = coprime_to_small_primes(chunk, sparse(primes), length, representation)
                if len(primes) < 2:
                    continue
                if not looked:
                    moduli, looked = self._moduli(chunk, 2 * length), True
                if moduli is None:
                    break
                yield from self._pairs(chunk, primes, length, representation, moduli)

    def _moduli(self, chunk: Chunk, length: int) -> Moduli | None:
        """Every window that could be a modulus: its low 64 bits (sorted; equal ones in
        representation then offset order), offsets and representations (indices into
        REPRESENTATIONS); None when there is none. Arrays, not a dict: a JVM heap has 100k+."""
        lows, offsets, kinds = [], [], []
        for number, representation in enumerate(REPRESENTATIONS):
            found = sparse(windows(chunk, length, representation, odd=True, top_bit=True, align=ALIGN,
                                   writable_only=True))
            lows.append(low64(chunk, found, length, representation))
            offsets.append(found.astype(np.int64))
            kinds.append(np.full(len(found), number, dtype=np.int8))
        every = np.concatenate(lows)
        if len(every) == 0:
            return None
        order = np.argsort(every, kind="stable")
        return every[order], np.concatenate(offsets)[order], np.concatenate(kinds)[order]

    def _pairs(self, chunk: Chunk, primes: np.ndarray, length: int, representation: str,
               moduli: Moduli) -> Iterator[Finding]:
        lows = low64(chunk, primes, length, representation)
        limit = np.searchsorted(primes, primes + MAX_GAP, side="right")
        first = np.searchsorted(primes, primes + length, side="left")
        total = int(np.sum(np.maximum(limit - first, 0)))
        if total > MAX_PAIRS:
            self._cut.add(f"{self.name}:{length * 16}-bit:{representation}")
            return
        left = np.repeat(np.arange(len(primes)), np.maximum(limit - first, 0))
        if len(left) == 0:
            return
        offsets_in_run = np.arange(len(left)) - np.repeat(np.cumsum(np.maximum(limit - first, 0)) -
                                                          np.maximum(limit - first, 0), np.maximum(limit - first, 0))
        right = first[left] + offsets_in_run
        products = lows[left] * lows[right]
        modulus_lows, modulus_offsets, modulus_kinds = moduli
        below = np.searchsorted(modulus_lows, products, side="left")
        hits = np.flatnonzero(modulus_lows[np.minimum(below, len(modulus_lows) - 1)] == products)
        for index in hits.tolist():
            i, j = int(left[index]), int(right[index])
            p = value_at(chunk.data, int(primes[i]), length, representation)
            q = value_at(chunk.data, int(primes[j]), length, representation)
            low, high = int(below[index]), int(np.searchsorted(modulus_lows, products[index], side="right"))
            for offset, number in zip(modulus_offsets[low:high].tolist(), modulus_kinds[low:high].tolist(),
                                      strict=True):
                modulus_representation = REPRESENTATIONS[number]
                n = value_at(chunk.data, offset, 2 * length, modulus_representation)
                if p * q != n:
                    continue
                for e in COMMON_EXPONENTS:
                    for value, kind in rsa_private_values(n, e, p):
                        chunk.learned.add_integer(value, kind, None, self.name)
                for at in (int(primes[i]), int(primes[j])):
                    if chunk.owns(at):
                        yield chunk.finding(at, length, self.name, "rsa-prime", representation,
                                            detail=f"modulus at file offset {chunk.file_offset(offset)}")
                break


__all__ = ["UnknownRsaDetector"]
