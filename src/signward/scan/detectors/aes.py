"""AES-128/192/256 key schedules, found as findaes/aeskeyfind do: by exact re-expansion.

An expanded schedule obeys w[i] = w[i-Nk] ^ w[i-1] for most i. That relation is pure XOR,
so it is checked for every 4-byte-aligned word position of each of the four byte phases
at once with numpy (random data passes with probability 2**-32), and only the survivors
are re-expanded from their first Nk words (FIPS-197 key expansion) and compared byte for
byte with the whole schedule. Schedules stored with each 32-bit word byte-swapped (OpenSSL's
portable C code on little-endian machines) are recognised too. The key itself is then
searched for everywhere as exact bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..chunks import Chunk
from ..findings import Finding
from ..knownkeys import aes_key_id
from .base import BaseDetector

NK_SIZES = {4: 128, 6: 192, 8: 256}


def _rotl8(x: int, shift: int) -> int:
    return ((x << shift) | (x >> (8 - shift))) & 0xFF


def _make_sbox() -> list[int]:
    """The AES S-box from its definition (multiplicative inverse in GF(2^8), then the affine map)."""
    sbox = [0] * 256
    p = q = 1
    while True:
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)  # p *= 3
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09  # q /= 3
        sbox[p] = q ^ _rotl8(q, 1) ^ _rotl8(q, 2) ^ _rotl8(q, 3) ^ _rotl8(q, 4) ^ 0x63
        if p == 1:
            break
    sbox[0] = 0x63
    return sbox


SBOX = _make_sbox()
RCON = [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1B, 0x36]


def expand_key(key: bytes) -> bytes:
    """The FIPS-197 encryption key schedule of a 16-, 24- or 32-byte key."""
    nk = len(key) // 4
    if len(key) not in (16, 24, 32):
        raise ValueError("AES keys are 16, 24 or 32 bytes")
    words = [list(key[4 * i:4 * i + 4]) for i in range(nk)]
    for i in range(nk, 4 * (nk + 7)):
        temp = list(words[i - 1])
        if i % nk == 0:
            temp = [SBOX[b] for b in temp[1:] + temp[:1]]
            temp[0] ^= RCON[i // nk]
        elif nk > 6 and i % nk == 4:
            temp = [SBOX[b] for b in temp]
        words.append([a ^ b for a, b in zip(words[i - nk], temp, strict=True)])
    return bytes(b for word in words for b in word)


def _swap_words(data: bytes) -> bytes:
    """Each 32-bit word of `data` (a multiple of 4 bytes long) byte-reversed."""
    return np.frombuffer(data, dtype="<u4").byteswap().tobytes()


class AesScheduleDetector(BaseDetector):
    """AES encryption key schedules in standard or word-swapped byte order, at any byte offset."""

    name = "aes"
    min_view_bytes = 176  # the shortest schedule (AES-128): a shorter decoded view holds none

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        data = chunk.data
        seen: set[int] = set()
        for phase in range(4):
            count = (len(data) - phase) // 4
            if count < self.min_view_bytes // 4:  # (64 words were asked: a lone schedule of 44 was missed)
                continue
            words = np.frombuffer(data, dtype=np.uint32, count=count, offset=phase)
            for nk in (8, 6, 4):  # longest first: an AES-256 schedule also obeys the shorter relations nowhere
                total = 4 * (nk + 7)
                relation = words[:-nk] ^ words[nk - 1:-1] ^ words[nk:]  # index j: w[j+nk] = w[j] ^ w[j+nk-1]
                hits = np.flatnonzero((relation == 0) & (words[nk:] != 0))
                starts = hits - 1  # the first relation a schedule satisfies is for i = nk + 1
                starts = starts[(starts >= 0) & (starts + total <= count)]
                if len(starts) == 0:
                    continue
                for follow in range(2, nk):  # the rest of round one's XOR-only words, vectorized
                    if nk == 8 and follow == 4:
                        continue
                    at = starts + follow
                    starts = starts[relation[np.minimum(at, len(relation) - 1)] == 0]
                for start in starts.tolist():
                    relative = phase + 4 * start
                    if relative in seen or not chunk.owns(relative):
                        continue
                    finding = self._confirm(chunk, relative, nk)
                    if finding is not None:
                        seen.add(relative)
                        yield finding

    def _confirm(self, chunk: Chunk, relative: int, nk: int) -> Finding | None:
        total = 16 * (nk + 7)
        stored = bytes(chunk.data[relative:relative + total])
        for encoding in ("schedule", "schedule-words-swapped"):  # swapped only when needed: most are neither
            schedule = stored if encoding == "schedule" else _swap_words(stored)
            key = schedule[:4 * nk]
            if len(set(key)) < 4:
                continue
            if expand_key(key) == schedule:
                key_id = aes_key_id(key)
                kid = key_id if key_id in chunk.known.secret_ids else None
                chunk.learned.add_bytes(key, f"aes-{NK_SIZES[nk]}-key", "raw", kid, self.name)
                return chunk.finding(relative, total, self.name, f"aes-{NK_SIZES[nk]}-schedule", encoding,
                                     kid=kid, verified=True)
        return None


__all__ = ["AesScheduleDetector", "SBOX", "expand_key"]
