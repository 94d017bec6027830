"""The independent reader's search for a known RSA key's private exponent d kept alone (issue #32, F2).

The reader tried d only in printed numbers and near the modulus. A lone d (raw bytes, a BIGNUM's
little-endian limbs, base64url in a JSON value: every decoded layer is a view here, a Python
bytes repr: decoded below) still factors n. The public key fixes d's top half: for some ratio
r = k / g in lowest terms (k < e; g = 1 for d mod phi, g divides gcd(p - 1, q - 1) for d mod
lambda), 0 <= r*n/e - d < p + q, so d's top 64 bits are those of r*n/e except with odds about
2**-(bits/2 - 64). This module keeps, per known key with e <= MAX_E, the 8-byte words such a d
shows for every r with a denominator up to MAX_G (big-endian top word, little-endian top word,
little-endian second-highest limb) in a sorted array, with a 2**24-entry presence map of their
top 24 bits in front, and reads every view's windows both ways: at every offset in views up to
EVERY_OFFSET, at offsets 8-aligned in the view above (malloc's alignment: a BIGNUM's limbs, a
buffer's start). A hit names r, so where d would begin and its length; the full window is
proven (e*d - 1 a multiple of phi/g for a small g, then one exponentiation) before the finding
(kind `known-key`). Shares no code with the scanner's `detectors/lone_exponent.py`.

Views under MIN_D bytes are skipped, and all-ASCII views are not read raw (a random d has a byte
>= 0x80; the decoded layers of a text are views of their own). Bounded: MAX_HITS hits read per
view and key (more: `incomplete`), MAX_LITERALS literal heads (b' b" B' B") per view (more:
`incomplete`), literals read in views up to 256 MiB.
"""

from __future__ import annotations

import ast
import math
import mmap
import re
import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .knownkeys import KnownKey
    from .recheck import _Reader

MAX_E = 1 << 17
MAX_G = 16
EVERY_OFFSET = 4 << 20
MAX_HITS = 1_000
MIN_D = 96  # bytes: a smaller view holds no d of a key of 1024 bits or more
MAX_LITERALS = 100_000
MAX_LITERAL = 5_000
PIECE = 1 << 20
_BYTES_LITERAL = re.compile(rb"""(?:[bB](?:'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")\s*)+""")


class _Words:
    """One key's expected words: sorted `words[layout]`, `meaning[layout]` rows (k, g, form)."""

    def __init__(self, n: int, e: int) -> None:
        self.n, self.e = n, e
        drop = max(0, n.bit_length() - 256) & ~7  # n's top 256 bits decide d's top 128
        head = n >> drop
        tops: list[int] = []
        limbs: list[int] = []
        ks: list[int] = []
        gs: list[int] = []
        for g in range(1, MAX_G + 1):
            unit = (head << 64) // (g * e)  # head / (g*e) with 64 fraction bits: k*unit by additions
            running = 0
            for k in range(1, e):
                running += unit
                if g > 1 and math.gcd(k, g) > 1:
                    continue
                approx = running >> 64
                length = (approx.bit_length() + 7) >> 3
                tops.append(approx >> (8 * length - 64))
                limbs.append((approx >> (64 * ((length + drop // 8 + 7) >> 3) - 128 - drop)) & 0xFFFF_FFFF_FFFF_FFFF)
                ks.append(k)
                gs.append(g)
        big = np.array(tops, dtype=np.uint64)
        meaning = np.stack([np.array(ks, dtype=np.int64), np.array(gs, dtype=np.int64)], axis=1)
        little = np.concatenate([big.byteswap(), np.array(limbs, dtype=np.uint64)])
        forms = {"big": (big, meaning, 0), "little": (little, np.concatenate([meaning, meaning]), None)}
        self.words: dict[str, npt.NDArray[np.uint64]] = {}
        self.meaning: dict[str, npt.NDArray[np.int64]] = {}
        self.present: dict[str, npt.NDArray[np.bool_]] = {}
        for layout, (unsorted, pairs, form) in forms.items():
            kind = np.full(len(unsorted), 0 if form == 0 else 1, dtype=np.int64)
            if form is None:
                kind[len(big):] = 2
            order = np.argsort(unsorted, kind="stable")
            self.words[layout] = unsorted[order]
            self.meaning[layout] = np.column_stack([pairs, kind])[order]
            present = np.zeros(1 << 24, dtype=np.bool_)
            present[(self.words[layout] >> np.uint64(40)).astype(np.int64)] = True
            self.present[layout] = present

    def where(self, at: int, k: int, g: int, form: int) -> tuple[int, int, str]:
        """(start, width, byte order) of the d a word at `at` stands for."""
        width = ((k * self.n) // (g * self.e)).bit_length()
        width = (width + 7) // 8
        if form == 0:
            return at, width, "big"
        if form == 1:
            return at + 8 - width, width, "little"
        limbs = -(-width // 8)
        return at - 8 * (limbs - 2), 8 * limbs, "little"


_CACHE: dict[tuple[int, int], _Words] = {}
_CACHE_LOCK = threading.Lock()


def _words_of(key: KnownKey) -> _Words | None:
    if key.rsa_e > MAX_E or key.rsa_n.bit_length() < 512:
        return None
    with _CACHE_LOCK:
        if (key.rsa_n, key.rsa_e) not in _CACHE:
            _CACHE[(key.rsa_n, key.rsa_e)] = _Words(key.rsa_n, key.rsa_e)
        return _CACHE[(key.rsa_n, key.rsa_e)]


def _hits(data: bytes | mmap.mmap, words: _Words, step: int) -> list[tuple[int, int, int, int]]:
    """(offset, k, g, form) of the windows of `data` (every `step`th offset) among `words`."""
    out: list[tuple[int, int, int, int]] = []
    total = len(data) - 7
    for begin in range(0, max(total, 0), PIECE):
        size = min(PIECE, total - begin)
        for layout, dtype in (("big", ">u8"), ("little", "<u8")):
            got = np.ndarray((size,), dtype=dtype, buffer=data, offset=begin, strides=(1,))[::step]
            got = got.astype(np.uint64)
            maybe = np.flatnonzero(words.present[layout][(got >> np.uint64(40)).astype(np.int64)])
            if len(maybe) == 0:
                continue
            table = words.words[layout]
            spots = np.searchsorted(table, got[maybe])
            for i, spot in zip(maybe.tolist(), spots.tolist(), strict=True):
                while spot < len(table) and int(table[spot]) == int(got[i]):
                    k, g, form = words.meaning[layout][spot].tolist()
                    out.append((begin + i * step, k, g, form))
                    spot += 1
    return out


def _proven(data: bytes | mmap.mmap, words: _Words,
            hits: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int]]:
    """(start, width, d) of the hits whose full window is a private exponent of the key."""
    n, e = words.n, words.e
    near = e << (n.bit_length() // 2 + 2)
    out: list[tuple[int, int, int]] = []
    tried: set[tuple[int, int, str]] = set()
    for at, k, g, form in hits[:MAX_HITS]:
        start, width, order = words.where(at, k, g, form)
        if start < 0 or start + width > len(data) or (start, width, order) in tried:
            continue
        tried.add((start, width, order))
        window = bytes(data[start:start + width])
        d = int.from_bytes(window, "big") if order == "big" else int.from_bytes(window, "little")
        if not 1 < d < n:
            continue
        rest = (e * d - 1) % n  # times g: n - k*(p + q - 1) for a true d, just below n
        if any(0 < n - (rest * h) % n < near for h in range(1, 257)) and pow(pow(5, e, n), d, n) == 5:
            out.append((start, width, d))
    return out


def _literals(data: bytes | mmap.mmap) -> list[tuple[int, int, bytes]]:
    """Python bytes literals (one, or adjacent ones as pprint writes them) decoded, with their span."""
    out: list[tuple[int, int, bytes]] = []
    heads: list[int] = []
    for prefix in (b"b'", b'b"', b"B'", b'B"'):  # memchr-fast, where the regex would try every offset
        at = data.find(prefix)
        while at >= 0 and len(heads) <= MAX_LITERALS:
            heads.append(at)
            at = data.find(prefix, at + 1)
    if len(heads) > MAX_LITERALS:
        raise OverflowError
    done = 0
    for head in sorted(heads):
        match = _BYTES_LITERAL.match(data, head) if head >= done else None
        if match is None:
            continue
        done = match.end()
        text = match.group(0)
        if len(text) < MIN_D or len(text) > MAX_LITERAL * 64:
            continue
        try:
            value = ast.literal_eval("(" + text.decode("ascii") + ")")  # pieces over several lines
        except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
            continue
        if isinstance(value, bytes) and len(value) >= MIN_D:
            out.append((match.start(), match.end(), value))
    return out


def lone_exponents(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Every known RSA key's d kept alone in this view or in a Python bytes literal in it."""
    keys = reader.known.of_kind("rsa")
    if not keys or len(data) < MIN_D:
        return
    step = 1 if len(data) <= EVERY_OFFSET else 8
    quoted = any(data.find(prefix) >= 0 for prefix in (b"b'", b'b"', b"B'", b'B"'))
    try:
        literals = _literals(data) if quoted and len(data) <= 64 * EVERY_OFFSET else []
    except OverflowError:
        reader.incomplete(f"{name}: more than {MAX_LITERALS} Python bytes literals")
        literals = []
    for key in keys:
        words = _words_of(key)
        if words is None:
            reader.incomplete(f"{name}: lone private exponent of kid {key.kid} not searched (e too large)")
            continue
        # a d is random bytes: some byte of it is >= 0x80 (odds 1 - 2**-96 or more), so an
        # all-ASCII view (a text) cannot hold one raw; its decoded layers are views of their own
        hits = [] if isinstance(data, bytes) and data.isascii() else _hits(data, words, step)
        if len(hits) > MAX_HITS:
            reader.incomplete(f"{name}: more than {MAX_HITS} lone-exponent candidates for kid {key.kid}")
        for start, width, _ in _proven(data, words, hits):
            reader.found("known-key", name, f"rsa-private-exponent of known kid {key.kid} (lone exponent)",
                         (start, start + width))
        for start, end, value in literals:
            if _proven(value, words, _hits(value, words, 1)):
                reader.found("known-key", name,
                             f"rsa-private-exponent of known kid {key.kid} (lone exponent, Python literal)",
                             (start, end))


__all__ = ["lone_exponents"]
