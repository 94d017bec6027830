"""The scanner's search for a known RSA key's private exponent d kept alone (issue #32, F2).

`known_key` tries windows as d only near an occurrence of the modulus. A d by itself (raw bytes in
a binary, a BIGNUM's limbs, base64url in a JSON value, a Python bytes repr: decoded views reach the
detectors as bytes) still factors n. Its top half is fixed by the public key alone: with
lam = phi(n) / g (g = 1 for d mod phi, g = gcd(p - 1, q - 1) for d mod lambda) and
d = (1 + k*lam) / e for some 1 <= k < e, (k*n) / (g*e) - d = (k*(p + q - 1)/g - 1) / e lies in
[0, p + q), about 2**(bits/2 + 1), so the top 64 bits of d equal those of ceil(k*n / (g*e))
unless a borrow runs through the bits/2 - 64 bits between them (odds about 2**-(bits/2 - 64)).

The ratio k / g in lowest terms has a small denominator: g = 1 for d mod phi; for OpenSSL's
d mod lambda it is g / gcd(k, g), at most `MAX_DENOMINATOR` = 16 for about 93% of random keys
(measured over 6,000 pairs of random primes; 8: 88%, 32: 97%). Per known key and each such
ratio k / g (g <= 16, k < e, coprime: about 690,000 for e = 65537) the table holds the 8-byte
windows such a d shows:
its top 8 bytes read big-endian (a byte string) and little-endian (little-endian bytes), and its
second-highest 64-bit limb (a BIGNUM's limbs, whose top limb may have as few as one byte). Each
window of a chunk is read both ways and looked up: a bitmap of the top 27 bits first, then the
sorted table. A hit gives k and g, so where d would begin and its length; the full candidate must
pass `could_be_private_exponent` and one exponentiation before it is reported, as
`rsa-private-exponent` of the key's kid, like the exponents found near the modulus.

Offsets: every offset in chunks of views up to `EVERY_OFFSET_BYTES` and in every view that is not
a process image (decoded runs, text, archives' members: where a d is text-derived it lands at any
offset); 8-byte aligned in cores (ELF, minidump, hprof) larger than that, where a BIGNUM's limbs
and a buffer's start are malloc-aligned (every offset there would cost about 4 s per GiB more).
Bounded: at most `MAX_HITS` table hits are checked per chunk and key, past that `incomplete`; a
key with e above `MAX_E` is not searched and is `incomplete` too.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from ..chunks import Chunk
from ..compiled import filters
from ..knownkeys import KnownKey

MAX_DENOMINATOR = 16  # of k / g in lowest terms: about 93% of OpenSSL's d mod lambda (measured)
MAX_E = 1 << 17
EVERY_OFFSET_BYTES = 4 << 20
CORES = ("elf-core", "minidump", "hprof")
MAX_HITS = 1_000
BLOCK = 1 << 20
BITMAP_SHIFT = 64 - 27
MIN_REPR = 96  # bytes: a d of a 1024-bit key (or longer)
MAX_REPR = 4 * 1024 + 64  # characters in one literal: a 4096-bit d's repr is at most 4 * 512 + 3
MAX_PIECES = 64  # adjacent literals joined
MAX_LITERALS = 100_000  # per chunk


class Table:
    """One key's windows: `values[order]` sorted, `entries[order]` = k * 256 * 4 + g * 4 + form."""

    def __init__(self, n: int, e: int) -> None:
        self.n, self.e = n, e
        # n's top 200 bits are enough: the rest moves d's top 128 bits with odds about 2**-60
        shift = 8 * max(0, (n.bit_length() - 200) // 8)
        top_n = n >> shift
        parts = [_ratios(top_n, shift, g, e) for g in range(1, MAX_DENOMINATOR + 1)]
        top_words = np.concatenate([part[0] for part in parts])
        limb_words = np.concatenate([part[1] for part in parts])
        base = np.concatenate([part[2] for part in parts])
        rows = {"be": (top_words, base), "le": (np.concatenate([top_words.byteswap(), limb_words]),
                                                np.concatenate([base + 1, base + 2]))}
        self.values: dict[str, npt.NDArray[np.uint64]] = {}
        self.entries: dict[str, npt.NDArray[np.int64]] = {}
        self.bitmap: dict[str, npt.NDArray[np.uint8]] = {}
        self._starts: dict[str, npt.NDArray[np.uint32]] = {}
        for order, (values, entry) in rows.items():
            sort = np.argsort(values, kind="stable")
            self.values[order], self.entries[order] = values[sort], entry[sort]
            bitmap = np.zeros(1 << 24, dtype=np.uint8)
            index = (self.values[order] >> np.uint64(BITMAP_SHIFT)).astype(np.int64)  # sorted
            index = index[np.concatenate([[True], index[1:] != index[:-1]])]
            # the bits of each byte are distinct powers of two: their sum per byte is their OR
            byte = index >> 3
            first = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
            bitmap[byte[first]] = np.add.reduceat(np.left_shift(1, index & 7), first).astype(np.uint8)
            self.bitmap[order] = bitmap

    def starts(self, order: str) -> npt.NDArray[np.uint32]:
        """Where in `values[order]` the run of each value of the top 18 bits begins (2**18 + 1
        entries: the compiled lookup's index), made on first use."""
        made = self._starts.get(order)
        if made is None:
            counts = np.bincount((self.values[order] >> np.uint64(46)).astype(np.int64), minlength=1 << 18)
            made = self._starts[order] = np.concatenate(([0], np.cumsum(counts))).astype(np.uint32)
        return made

    def candidate(self, window: int, tag: int) -> tuple[int, int, str]:
        """(start relative to the window, length, representation) of the d a hit stands for."""
        k, g, form = tag // 1024, (tag // 4) % 256, tag % 4
        a = (k * self.n + g * self.e - 1) // (g * self.e)
        size = (a.bit_length() + 7) // 8
        if form == 0:
            return window, size, "be"
        if form == 1:
            return window + 8 - size, size, "le"
        limbs = (size + 7) // 8
        return window - 8 * (limbs - 2), 8 * limbs, "le"


def _ratios(top_n: int, shift: int, g: int, e: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64],
                                                             npt.NDArray[np.int64]]:
    """For every k < e coprime to g, of a = (k*n / (g*e)) >> shift: the top 8 bytes (big-endian
    value) and the second-highest 64-bit limb of (a << shift), and the tag (k, g); vectorized:
    k * (top_n / (g*e)) in 32-bit limbs with 64 fraction bits, carried by numpy."""
    k = np.arange(1, e, dtype=np.uint64)
    k = k[np.gcd(k, np.uint64(g)) == 1]
    fixed = (top_n << 64) // (g * e)
    count = (fixed.bit_length() + 31) // 32 + 1
    product = np.zeros((len(k), count + 3), dtype=np.uint64)
    carry = np.zeros(len(k), dtype=np.uint64)
    for i in range(count):
        step = k * np.uint64((fixed >> (32 * i)) & 0xFFFF_FFFF) + carry
        product[:, i], carry = step & np.uint64(0xFFFF_FFFF), step >> np.uint64(32)
    nonzero = count - 1 - np.argmax(product[:, count - 1::-1] != 0, axis=1)  # the highest nonzero limb
    top_limb = product[np.arange(len(k)), nonzero]
    bits = 32 * nonzero.astype(np.int64) + np.frexp(top_limb.astype(np.float64))[1] - 64  # of a
    size = (bits + 7) // 8
    top = _bits_at(product, 8 * (size - 8) + 64)
    limbs = (size + shift // 8 + 7) // 8
    limb = _bits_at(product, 64 * (limbs - 2) - shift + 64)
    return top, limb, ((k.astype(np.int64) * 256 + g) * 4)


def _bits_at(limbs: npt.NDArray[np.uint64], position: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """The 64 bits from bit `position` (a multiple of 8) of each row's number (32-bit limbs)."""
    rows = np.arange(len(limbs))
    word, offset = position // 32, (position % 32).astype(np.uint64)
    low = limbs[rows, word] | (limbs[rows, word + 1] << np.uint64(32))
    high = limbs[rows, word + 2]
    return (low >> offset) | ((high << np.uint64(32)) << (np.uint64(32) - offset))


# the tables of the keys last used, at most MAX_TABLES (64 MiB each): a long-lived sanitizer meets
# every rotated key in turn, and kept all of them before (6 GB after about 90 keys)
MAX_TABLES = 16
_TABLES: OrderedDict[tuple[int, int], Table] = OrderedDict()
_LOCK = threading.Lock()


def table(key: KnownKey) -> Table | None:
    """The key's table, built once per process while among the `MAX_TABLES` last used (about 0.5 s
    for e = 65537), or None past MAX_E."""
    n, e = key.rsa_n, key.rsa_e
    if e > MAX_E or n.bit_length() < 256:
        return None
    with _LOCK:
        built = _TABLES.get((n, e))
        if built is None:
            built = _TABLES[(n, e)] = Table(n, e)
            while len(_TABLES) > MAX_TABLES:
                _TABLES.popitem(last=False)
        _TABLES.move_to_end((n, e))
        return built


def every_offset(chunk: Chunk) -> bool:
    """Every offset, or only 8-byte aligned ones (a large process image: module docstring)."""
    return chunk.layout.format not in CORES or chunk.layout.size <= EVERY_OFFSET_BYTES


def hits(data: bytes, built: Table, phase: int | None = None) -> list[tuple[int, int]]:
    """(window offset, tag) of every window of `data` found in the table, ascending by offset:
    at every offset, or (`phase`) at the offsets x with x + phase a multiple of 8."""
    return tables_hits(data, [built], phase)[0]


def tables_hits(data: bytes, tables: Sequence[Table], phase: int | None = None) -> list[list[tuple[int, int]]]:
    """`hits` of each table, in one compiled pass over `data` for up to `MAX_KEYS_PER_PASS` tables
    (a window's top 27 bits looked up in the OR of their bitmaps first, then which tables have
    its top 24); numpy where not built."""
    compiled = filters()
    if compiled is None:
        return [_reference_hits(data, built, phase) for built in tables]
    found: list[list[tuple[int, int]]] = []
    for at in range(0, len(tables), MAX_KEYS_PER_PASS):
        group = tuple(tables[at:at + MAX_KEYS_PER_PASS])
        lists: list[list[tuple[int, int]]] = [[] for _ in group]
        for order in ("be", "le"):
            combined, masks = _combined(group, order)
            raw = compiled.table_hits(data, combined, masks, tuple(t.bitmap[order] for t in group),
                                      tuple(t.values[order] for t in group), tuple(t.starts(order) for t in group),
                                      big_endian=order == "be",
                                      step=1 if phase is None else 8, first=0 if phase is None else -phase % 8)
            triples = np.frombuffer(raw, dtype=np.int64).reshape(-1, 3).tolist()
            for offset, key, low in triples:
                values, entries = group[key].values[order], group[key].entries[order]
                word = values[low]
                while low < len(values) and values[low] == word:  # one window, several ratios
                    lists[key].append((offset, int(entries[low])))
                    low += 1
        for each in lists:
            each.sort()
        found += lists
    return found


MAX_KEYS_PER_PASS = 8  # the compiled pass's limit: one bit each in a byte of the masks
_ONE: npt.NDArray[np.uint8] | None = None
_COMBINED: dict[tuple[tuple[int, int], ...], dict[str, tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]]] = {}


def _combined(group: tuple[Table, ...], order: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The OR of the tables' bitmaps, and for each byte of them which tables have a bit set there
    (bit k: table k); one pair per set of keys and process, like the tables (the ones of a single
    table are its bitmap and a mask of ones: a Python literal's `hits` makes nothing new)."""
    if len(group) == 1:  # its own bitmap, and every mask says table 0
        global _ONE
        if _ONE is None:
            _ONE = np.ones(1 << 24, dtype=np.uint8)
        return group[0].bitmap[order], _ONE
    name = tuple((t.n, t.e) for t in group)
    with _LOCK:
        made = _COMBINED.get(name)
        if made is None:
            if len(_COMBINED) >= 4:  # a scan has one set of keys: a few sets at most, 64 MiB each
                _COMBINED.clear()
            made = _COMBINED[name] = {}
            for side in ("be", "le"):
                combined = np.zeros(1 << 24, dtype=np.uint8)
                masks = np.zeros(1 << 24, dtype=np.uint8)
                for number, built in enumerate(group):
                    combined |= built.bitmap[side]
                    masks |= (built.bitmap[side] != 0).view(np.uint8) << np.uint8(number)
                made[side] = (combined, masks)
        return made[order]


def chunk_hits(chunk: Chunk, built: Table, phase: int | None) -> list[tuple[int, int]]:
    """`hits(chunk.data, built, phase)`, found in one pass for every RSA key the chunk's scan knows
    and kept in the chunk for the next key."""
    name = f"lone-exponent-hits:{phase}"
    cache = chunk._cache.get(name)
    if cache is None:
        tables = [t for t in (table(key) for key in chunk.known.of_kind("rsa")) if t is not None]
        every = tables_hits(chunk.data, tables, phase)
        cache = chunk._cache[name] = {(t.n, t.e): each for t, each in zip(tables, every, strict=True)}
    found = cache.get((built.n, built.e))
    return list(found) if found is not None else hits(chunk.data, built, phase)


def chunk_literals(chunk: Chunk) -> Iterator[tuple[int, int, bytes]]:
    """`repr_literals(chunk.data)`, read once per chunk for every key (OverflowError at the same point)."""
    cache = chunk._cache.get("lone-exponent-literals")
    if cache is None:
        literals: list[tuple[int, int, bytes]] = []
        try:
            for literal in repr_literals(chunk.data):
                literals.append(literal)
            overflow = False
        except OverflowError:
            overflow = True
        cache = chunk._cache["lone-exponent-literals"] = (literals, overflow)
    yield from cache[0]
    if cache[1]:
        raise OverflowError("too many Python bytes literals")


def _reference_hits(data: bytes, built: Table, phase: int | None = None) -> list[tuple[int, int]]:
    """`hits` in numpy: the reference the compiled `table_hits` is tested against."""
    found: list[tuple[int, int]] = []
    last = len(data) - 8
    for start in range(0, max(last + 1, 0), BLOCK):
        count = min(BLOCK, last + 1 - start)
        first = 0 if phase is None else (-(start + phase)) % 8
        step = 1 if phase is None else 8
        for order in ("be", "le"):
            words = np.ndarray((count,), dtype=">u8" if order == "be" else "<u8", buffer=data, offset=start,
                               strides=(1,))[first::step].astype(np.uint64)
            index = (words >> np.uint64(BITMAP_SHIFT)).astype(np.int64)
            picked = np.flatnonzero((built.bitmap[order][index >> 3] >> (index & 7).astype(np.uint8)) & 1)
            if not len(picked):
                continue
            values, entries = built.values[order], built.entries[order]
            wanted = words[picked]
            where = np.minimum(np.searchsorted(values, wanted), len(values) - 1)
            equal = values[where] == wanted
            for at, low in zip((picked[equal] * step + first + start).tolist(), where[equal].tolist(), strict=True):
                word = values[low]
                while low < len(values) and values[low] == word:  # one window, several ratios
                    found.append((at, int(entries[low])))
                    low += 1
    found.sort()
    return found


_LITERAL = rb"""[bB](?:'(?:\\[^\n]|[^'\\\n]){0,%d}'|"(?:\\[^\n]|[^"\\\n]){0,%d}")""" % (MAX_REPR, MAX_REPR)
_RUN = re.compile(rb"(?:%s[ \t\r\n]*){1,%d}" % (_LITERAL, MAX_PIECES))
_PIECE = re.compile(_LITERAL)


_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|[\s\S])")
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b", b"f": b"\f", b"v": b"\v",
           b"\\": b"\\", b"'": b"'", b'"': b'"', b"\n": b""}


def _unescape(match: re.Match[bytes]) -> bytes:
    """One escape of a Python bytes literal (an unknown one stays as written, as Python keeps it)."""
    code = match.group(1)
    if code[:1] == b"x" and len(code) == 3:
        return bytes([int(code[1:], 16)])
    if code[:1].isdigit() and code[:1] not in b"89":
        return bytes([int(code, 8) & 0xFF])
    return _SIMPLE.get(code, b"\\" + code)


def _occurrences(data: bytes, prefix: bytes) -> Iterator[int]:
    at = data.find(prefix)
    while at >= 0:
        yield at
        at = data.find(prefix, at + 1)


def repr_literals(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, value) of each run of Python bytes literals (`repr` of a bytes object, or
    pprint's adjacent literals over several lines) that holds at least MIN_REPR bytes; at most
    MAX_LITERALS runs (past that OverflowError: the caller says `incomplete`)."""
    starts = sorted(at for prefix in (b"b'", b'b"', b"B'", b'B"') for at in _occurrences(data, prefix))
    end = 0
    for count, at in enumerate(starts):
        if count >= MAX_LITERALS:
            raise OverflowError("too many Python bytes literals")
        match = _RUN.match(data, at) if at >= end else None
        if match is None:
            continue
        end = match.end()
        if match.end() - match.start() < MIN_REPR:
            continue
        value = b"".join(_ESCAPE.sub(_unescape, piece.group(0)[2:-1]) for piece in _PIECE.finditer(match.group(0)))
        if len(value) >= MIN_REPR:
            yield match.start(), match.end(), value


__all__ = ["MAX_HITS", "chunk_hits", "chunk_literals", "every_offset", "hits", "repr_literals", "table",
           "tables_hits"]
