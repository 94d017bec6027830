"""The independent reader's rule for in-memory integer layouts the byte windows miss (issue #32, F9).

CPython stores an int as 30-bit digits, least significant first, one per little-endian 32-bit
word, preceded by a word that counts them (3.11's `ob_size`: the count; 3.12's `lv_tag`: the count
shifted left by 3, sign bits 0 for a positive int). A build with `PYLONG_BITS_IN_DIGIT == 15`
(Include/cpython/longintrepr.h: `typedef unsigned short digit`, `PyLong_SHIFT 15`) has the same
count word and 15-bit digits in little-endian 16-bit words; both are read. RSA primes, exponents
and EC scalars of a
process that called `private_numbers()` sit in memory so. This module owns reading them back,
written apart from the scanner's `detectors/python_ints.py`: for each digit count a known key's
value can have, each count word in the view (`find` in a small view; in a view of `WORDS_FROM` or
more, every count word's offsets gathered in one numpy pass: about 24 finds over a core, slow on
its zeros, cost half a second) is read as a header; counts whose word and digits do not fit in the
view are not looked for; the words behind it must be digits (each below
2**30, the last nonzero, no zero digit below it) and the value is tested against the known keys:
an RSA prime divides n, a private or CRT exponent passes `recheck_numbers.rsa_part`, an EC scalar
generates the known point. 15-bit digits may be zero (odds 2**-15 each: a 1024-bit prime's 69
digits hold one in 475 cases), so there only the top one must be nonzero and at most one digit in
8 below 2**8 (an array of small numbers is no key). A proven value's siblings (every private value of the key) are then
looked for as digits in the whole view, each copy a finding at its own span (each value searched
once a view: a proof of p and one of q look for the same values, dp and dq swapping names).

Bounded: at most `MAX_TESTS` candidate values per recheck are tested (more: the read is
incomplete, refused) and `MAX_COPIES` copies of a proven value are reported per view. The digit
counts of the known keys are worked out once a read (`_Reader.layout_tables`), not once a view.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from math import gcd
from typing import TYPE_CHECKING

import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .recheck_numbers import rsa_part

if TYPE_CHECKING:
    from .recheck import _Reader

BITS = 30
MASK = (1 << BITS) - 1
DIGITS = {30: 4, 15: 2}  # digit bits -> bytes a digit is stored in
MAX_TESTS = 20_000
MAX_COPIES = 50
WORDS_FROM = 1 << 20  # views this large gather their count words in one numpy pass (smaller: find)
WORDS_BLOCK = 4 << 20  # offsets a numpy pass covers at a time (bounded memory)


def _counts(bits: int, digit_bits: int = BITS) -> list[int]:
    top = (bits + digit_bits - 1) // digit_bits
    return [top - 1, top]


def as_digits(value: int, digit_bits: int = BITS) -> bytes:
    """`value`'s CPython digits, as stored after the count word."""
    out = bytearray()
    while value > 0:
        out += (value & ((1 << digit_bits) - 1)).to_bytes(DIGITS[digit_bits], "little")
        value >>= digit_bits
    return bytes(out)


def _read(data: bytes | mmap.mmap, at: int, count: int, digit_bits: int = BITS) -> int | None:
    size = DIGITS[digit_bits]
    raw = bytes(data[at:at + size * count])
    if len(raw) != size * count:
        return None
    value = 0
    small = 0
    for index in range(count - 1, -1, -1):
        digit = int.from_bytes(raw[size * index:size * index + size], "little")
        if digit >> digit_bits or (digit == 0 and (digit_bits == BITS or index == count - 1)):
            return None  # not a digit; or a zero one (30-bit: a random value has none, odds 2**-30 a digit)
        small += digit < 256
        value = (value << digit_bits) | digit
    if digit_bits != BITS and small > count // 8:
        return None
    return value


def python_ints(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Known keys' private values stored as CPython ints in one view (module docstring)."""
    if not (reader.rsa_publics or reader.ec_keys):
        return
    searched = _Searched()
    found: dict[int, list[int]] | None = None  # every count word's offsets, in a large view (one pass)
    if len(data) >= WORDS_FROM:
        found = word_offsets(data, {word for digit_bits in DIGITS for count in _tables(reader, digit_bits)[2]
                                    for word in (count, count << 3)})
    for digit_bits in DIGITS:
        rsa_at, ec_at, counts = _tables(reader, digit_bits)
        size = DIGITS[digit_bits]
        for count in counts:  # ascending
            if 8 + size * count > len(data):
                break  # no count word with its digits fits in the view (nor any larger count's)
            for word in (count, count << 3):
                for at in _words_at(data, word, found):
                    start = at + 8
                    value = _read(data, start, count, digit_bits)
                    if value is not None:
                        _test(reader, data, name, value, rsa_at.get(count, []), ec_at.get(count, []),
                              (start, start + size * count), searched)


def _words_at(data: bytes | mmap.mmap, word: int, found: dict[int, list[int]] | None) -> Iterator[int]:
    """Every offset of the 8-byte little-endian `word` in `data`, ascending: from `found` when
    the view's words were gathered in one pass, else by `find` (small views)."""
    if found is not None:
        yield from found[word]
        return
    header = word.to_bytes(8, "little")
    at = data.find(header)
    while at >= 0:
        yield at
        at = data.find(header, at + 1)


def word_offsets(data: bytes | mmap.mmap, words: set[int], block: int = WORDS_BLOCK) -> dict[int, list[int]]:
    """Every offset of each 8-byte little-endian word of `words` (all nonzero) in `data`,
    ascending: one numpy pass a block of offsets (what `find` gives word by word, which costs a
    pass over a whole core for each of about 24 count words, most of them slow on zeros)."""
    out: dict[int, list[int]] = {word: [] for word in words}
    width = max(1, max((word.bit_length() + 7) // 8 for word in words))  # bytes that may be nonzero
    wanted = np.array(sorted(words), dtype=np.uint64)
    size = len(data)
    for start in range(0, size - 7, block):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(size, start + block + 7) - start, offset=start)
        starts = len(chunk) - 7  # the words that begin in this block
        nonzero = np.zeros(len(chunk) + 1, dtype=np.int32)
        np.cumsum(chunk != 0, out=nonzero[1:])
        low = nonzero[width:width + starts] - nonzero[:starts]  # nonzero bytes among a word's first `width`
        high = nonzero[8:8 + starts] - nonzero[width:width + starts]  # ... and among the rest (must be 0)
        offsets = np.flatnonzero((low > 0) & (high == 0))
        values = np.zeros(len(offsets), dtype=np.uint64)
        for index in range(width):
            values |= chunk[offsets + index].astype(np.uint64) << np.uint64(8 * index)
        keep = np.isin(values, wanted)
        for at, value in zip((offsets[keep] + start).tolist(), values[keep].tolist(), strict=True):
            out[value].append(at)
    return out


_Tables = tuple[dict[int, list[tuple[str, int, int]]], dict[int, list[tuple[str, ec.EllipticCurve, tuple[int, int]]]],
                list[int]]


def _tables(reader: _Reader, digit_bits: int) -> _Tables:
    """The digit counts a known key's values can have in this layout, ascending, and the keys of
    each count (built once a read: they depend on the known keys only, not on the view)."""
    tables: _Tables | None = reader.layout_tables.get(digit_bits)
    if tables is None:
        rsa_at: dict[int, list[tuple[str, int, int]]] = {}
        ec_at: dict[int, list[tuple[str, ec.EllipticCurve, tuple[int, int]]]] = {}
        for kid, n, e in reader.rsa_publics:
            for count in _counts(n.bit_length(), digit_bits) + _counts((n.bit_length() + 1) // 2, digit_bits):
                rsa_at.setdefault(count, []).append((kid, n, e))
        for kid, curve, point in reader.ec_keys:
            for count in _counts(curve.key_size, digit_bits):
                ec_at.setdefault(count, []).append((kid, curve, point))
        tables = rsa_at, ec_at, sorted(set(rsa_at) | set(ec_at))
        reader.layout_tables[digit_bits] = tables
    return tables


def _test(reader: _Reader, data: bytes | mmap.mmap, name: str, value: int, rsa_keys: list[tuple[str, int, int]],
          ec_keys: list[tuple[str, ec.EllipticCurve, tuple[int, int]]], here: tuple[int, int],
          searched: _Searched) -> None:
    from .recheck import _Exhausted

    reader.layout_tests += 1
    if reader.layout_tests > MAX_TESTS:
        raise _Exhausted(f"more than {MAX_TESTS} Python int candidates")
    for kid, n, e in rsa_keys:
        prime = value if 1 < value < n and n % value == 0 else None
        part = "prime" if prime is not None else rsa_part(value, n, e, reader)
        if part is None:
            continue
        reader.found("known-key", name, f"RSA {part} of known kid {kid} as a Python int", here)
        if prime is None:
            prime = _prime_from(value, part, n, e)
        if prime is not None and (kid, prime) not in searched.siblings:  # (again: the same copies again)
            searched.siblings.add((kid, prime))
            _siblings(reader, data, name, kid, n, e, prime, searched)
        return
    for kid, curve, point in ec_keys:
        try:
            numbers = ec.derive_private_key(value, curve).public_key().public_numbers()
        except ValueError:
            continue
        if (numbers.x, numbers.y) == point:
            reader.found("known-key", name, f"EC scalar of known kid {kid} as a Python int", here)
            return


def _prime_from(value: int, part: str, n: int, e: int) -> int | None:
    if part == "d":
        try:
            return rsa.rsa_recover_prime_factors(n, e, value)[0]
        except ValueError:
            return None
    factor = gcd(pow(pow(7, e, n), value, n) - 7, n)
    return factor if 1 < factor < n else None


def _siblings(reader: _Reader, data: bytes | mmap.mmap, name: str, kid: str, n: int, e: int, p: int,
              searched: _Searched) -> None:
    """Every private value of the key as digits, wherever it is in the view (q, d, dp, dq, qi)."""
    q = n // p
    d = rsa.rsa_recover_private_exponent(e, p, q)
    for what, value in (("prime", p), ("prime", q), ("d", d), ("dp", rsa.rsa_crt_dmp1(d, p)),
                        ("dq", rsa.rsa_crt_dmq1(d, q)), ("qi", rsa.rsa_crt_iqmp(p, q)),
                        ("qi", rsa.rsa_crt_iqmp(q, p))):  # which prime is p: the key's order, not the one proven
        for digit_bits in DIGITS:
            needle = as_digits(value, digit_bits)
            for at in searched.copies_of(data, needle):
                reader.found("known-key", name, f"RSA {what} of known kid {kid} as a Python int",
                             (at, at + len(needle)))


@dataclass
class _Searched:
    """What one view's reading searched already: the (kid, prime) pairs whose siblings were
    looked for, and where each value's digits lie (the other prime's search looks for the same
    values: p and q, dp and dq swap their names)."""

    siblings: set[tuple[str, int]] = field(default_factory=set)
    copies: dict[bytes, list[int]] = field(default_factory=dict)

    def copies_of(self, data: bytes | mmap.mmap, needle: bytes) -> list[int]:
        """The first MAX_COPIES offsets of `needle` in `data`, ascending."""
        found = self.copies.get(needle)
        if found is None:
            found = []
            at = data.find(needle)
            while at >= 0 and len(found) < MAX_COPIES:
                found.append(at)
                at = data.find(needle, at + 1)
            self.copies[needle] = found
        return found


__all__ = ["as_digits", "python_ints"]
