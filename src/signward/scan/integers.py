"""Big integers in memory: where a window of bytes could be one, and what it is worth.

Three layouts cover what runtimes leave in memory:

- ``le``: little-endian limbs, least significant first (OpenSSL BIGNUMs, 32- or 64-bit limbs;
  at 4-byte alignment this also covers 8),
- ``be``: big-endian bytes at any offset (DER contents, serialized keys, JOSE),
- ``java``: 32-bit words, most significant first, each little-endian (java.math.BigInteger).

`windows` finds every offset where a window could hold an integer of exactly `length`
bytes under cheap vectorized filters (few zero bytes, top byte set, odd), and
`coprime_to_small_primes` drops most non-primes by trial division against 3..113 with the
residues computed for all candidates at once. Only survivors become Python ints.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .chunks import Chunk
from .compiled import filters

ALIGN = {"le": 4, "be": 1, "java": 4}
# products of small odd primes, each below 2**32, so residue * weight fits in uint64
SMALL_PRIME_GROUPS: list[tuple[int, ...]] = [
    (3, 5, 7, 11, 13, 17, 19, 23, 29),
    (31, 37, 41, 43, 47),
    (53, 59, 61, 67, 71),
    (73, 79, 83, 89),
    (97, 101, 103, 107),
    (109, 113, 127, 131),
]
Offsets = npt.NDArray[np.int64]
REPRESENTATION_CODES = {"le": 0, "be": 1, "java": 2}  # the compiled filters' numbering
_GROUP_MODULI = np.array([int(np.prod(group, dtype=np.uint64)) for group in SMALL_PRIME_GROUPS], dtype=np.uint64)
_PRIMES = np.array([prime for group in SMALL_PRIME_GROUPS for prime in group], dtype=np.uint64)


def max_zero_bytes(length: int) -> int:
    """Zero bytes a random `length`-byte number holds, with a miss rate below 1e-5."""
    return max(3, length // 128 + 5) if length > 40 else 3


def top_low_positions(length: int, representation: str) -> tuple[int, int]:
    """Offsets, inside a window, of the most and least significant byte."""
    if representation == "le":
        return length - 1, 0
    if representation == "be":
        return 0, length - 1
    return 3, length - 4  # java: first word is the most significant, each word little-endian


def windows(chunk: Chunk, length: int, representation: str, *, odd: bool, top_bit: bool,
            align: int | None = None, max_zeros: int | None = None,
            high_range: tuple[int, int] | None = None, writable_only: bool = False,
            min_distinct: int = 0, drop_dense: bool = False, looks_random: bool = False) -> Offsets:
    """Offsets (relative to the chunk) of candidate windows, ascending; `looks_random` keeps
    only those `random_looking` keeps (with the same `max_zeros`), `drop_dense` applies `sparse`
    to the result."""
    step = align or ALIGN[representation]
    data = chunk.array
    count = (len(data) - length) // step + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    top, low = top_low_positions(length, representation)
    limit = max_zero_bytes(length) if max_zeros is None else max_zeros
    compiled = filters()
    later_filters = writable_only or bool(min_distinct)
    if compiled is not None:  # one pass; dense blocks dropped in it unless later filters thin them first
        high_lo, high_hi = high_range if high_range is not None else (-1, -1)
        offsets = _offsets(compiled.windows(
            chunk.data, chunk.prefix("zero"), chunk.prefix("high"), length=length, step=step, top=top, low=low,
            top_bit=top_bit, odd=odd, max_zeros=limit, high_lo=high_lo, high_hi=high_hi,
            block_limit=DENSE if drop_dense and not later_filters else 0, max_repeats=max(3, length // 32),
            min_distinct=min_distinct_bytes(length) if looks_random else 0))
        if looks_random and high_range != (length // 5, length - length // 5):
            offsets = random_looking(chunk, offsets, length, max_zeros=limit)  # the balance test differs
    else:
        offsets = _reference_windows(chunk, length, step, top, low, top_bit, odd, limit, high_range)
        if looks_random:
            offsets = random_looking(chunk, offsets, length, max_zeros=limit)
    if writable_only and len(offsets):
        offsets = offsets[chunk.layout.writable_mask(chunk.file_offsets(offsets))]
    if min_distinct and len(offsets):
        offsets = offsets[distinct_bytes(chunk, offsets, length) >= min_distinct]
    if drop_dense and (compiled is None or later_filters):
        offsets = sparse(offsets)
    return offsets


def _offsets(raw: bytes) -> Offsets:
    return np.frombuffer(raw, dtype=np.int64)


def _reference_windows(chunk: Chunk, length: int, step: int, top: int, low: int, top_bit: bool, odd: bool,
                       limit: int, high_range: tuple[int, int] | None) -> Offsets:
    """`windows` in numpy: the reference the compiled filter is tested against."""
    data = chunk.array
    count = (len(data) - length) // step + 1
    tops = data[top::step][:count]
    mask = tops >= 0x80 if top_bit else tops != 0
    if odd:
        mask &= (data[low::step][:count] & 1).astype(bool)
    index = np.flatnonzero(mask)  # sparse from here on: zero-filled memory stops at the first test
    if len(index) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = index.astype(np.int64) * step
    zeros = chunk.prefix("zero")
    keep = (zeros[starts + length] - zeros[starts]) <= limit  # uint16 arithmetic wraps exactly
    if high_range is not None:
        high = chunk.prefix("high")
        counts = high[starts + length] - high[starts]
        keep &= (counts >= high_range[0]) & (counts <= high_range[1])
    return starts[keep]


BLOCK, DENSE = 65536, 512  # 512 candidates: at least 4-8 KiB of random bytes in the block


def sparse(offsets: Offsets) -> Offsets:
    """Drop candidates in 64 KiB blocks dense with them: that is random data (ciphertext,
    compressed buffers, entropy pools), where every window looks like a key. A live key's
    numbers sit among pointers and lengths, a few per block; the search near the public key
    has no such limit."""
    kept: Offsets = offsets[~dense(offsets)]
    return kept


def dense(offsets: Offsets) -> npt.NDArray[np.bool_]:
    """For each candidate (ascending): does its 64 KiB block hold more than DENSE of them (see `sparse`)?"""
    if len(offsets) == 0:
        return np.zeros(0, dtype=bool)
    if np.any(offsets[1:] < offsets[:-1]):
        raise ValueError("dense: offsets must be ascending")
    edges = np.searchsorted(offsets, np.arange(int(offsets[-1]) // BLOCK + 2, dtype=np.int64) * BLOCK)
    counts = np.diff(edges)  # candidates per block, without an int64 temporary per candidate
    return np.repeat(counts > DENSE, counts)


def members(values: Offsets, ascending: Offsets) -> npt.NDArray[np.bool_]:
    """For each value: is it in `ascending` (sorted)? A binary search each, no set building."""
    if len(ascending) == 0:
        return np.zeros(len(values), dtype=bool)
    index = np.minimum(np.searchsorted(ascending, values), len(ascending) - 1)
    return ascending[index] == values  # type: ignore[no-any-return]


SHORT_RUN = 24  # runs of at most 55 random-looking bytes: one 32-byte value and a pointer each side
BRIDGE = 3  # failing offsets that do not end a run: a lone zero byte in random data fails one


def isolated_windows(chunk: Chunk, length: int, max_run: int = SHORT_RUN) -> Offsets:
    """Windows at every offset that look random and lie in a short run of such windows: a
    value kept by itself in a byte buffer, at any alignment. Long runs are random data
    (ciphertext, compressed buffers), where every window looks like a key; `sparse` drops them
    at the aligned offsets and they are skipped here. A run goes on across up to BRIDGE failing
    offsets: in random data a zero byte fails the one window it ends, and without the bridge
    random data would split into short runs (measured: 40,000 windows per 32 MiB chunk of a
    heap, each tried as an EC scalar and an Ed25519 seed; a key's own run has no such gap)."""
    key = f"isolated:{length}:{max_run}"
    if key not in chunk._cache:
        compiled = filters()
        if compiled is not None:
            offsets = _offsets(compiled.short_runs(chunk.data, length=length, max_zeros=3, high_lo=length // 5,
                                                   high_hi=length - length // 5, max_run=max_run, bridge=BRIDGE))
        else:
            offsets = _reference_short_runs(chunk, length, max_run)
        if len(offsets):
            offsets = offsets[chunk.layout.writable_mask(chunk.file_offsets(offsets))]
        if len(offsets):
            offsets = random_looking(chunk, offsets, length, max_zeros=3)
        chunk._cache[key] = offsets
    return chunk._cache[key]  # type: ignore[no-any-return]


def _reference_short_runs(chunk: Chunk, length: int, max_run: int) -> Offsets:
    """The first filters of `isolated_windows` in numpy (the compiled filter's reference)."""
    data, zeros, high = chunk.array, chunk.prefix("zero"), chunk.prefix("high")
    count = max(len(data) - length + 1, 0)
    low, top = length // 5, length - length // 5
    # every offset at once, by slices (no gathers): a nonzero first or last byte (a value in either
    # byte order), <= 3 zeros, balanced high bits
    mask = (data[length - 1:length - 1 + count] != 0) | (data[:count] != 0)
    mask &= (zeros[length:length + count] - zeros[:count]) <= 3  # uint16 wraps, differences are exact
    counts = high[length:length + count] - high[:count]
    mask &= (counts >= low) & (counts <= top)
    offsets = np.flatnonzero(mask).astype(np.int64)
    if len(offsets):
        breaks = np.flatnonzero(np.diff(offsets) > BRIDGE + 1) + 1
        bounds = np.concatenate(([0], breaks, [len(offsets)]))
        extents = offsets[bounds[1:] - 1] - offsets[bounds[:-1]] + 1
        offsets = offsets[np.repeat(extents <= max_run, np.diff(bounds))]
    return offsets


def random_looking(chunk: Chunk, offsets: Offsets, length: int, max_zeros: int | None = None,
                   min_distinct: int | None = None) -> Offsets:
    """Keep windows at arbitrary offsets that look like random bytes: few zeros, few repeats,
    balanced high bits, many distinct values (each test misses a random window < 1e-5)."""
    limit = max_zero_bytes(length) if max_zeros is None else max_zeros
    compiled = filters()
    if compiled is not None:
        if len(offsets) == 0:
            return offsets
        return _offsets(compiled.random_looking(
            chunk.data, np.ascontiguousarray(offsets, dtype=np.int64), length=length, max_zeros=limit,
            high_lo=length // 5, high_hi=length - length // 5, max_repeats=max(3, length // 32),
            min_distinct=min_distinct or min_distinct_bytes(length)))
    offsets = offsets[(offsets >= 0) & (offsets + length <= len(chunk.data))]
    if len(offsets) == 0:
        return offsets
    zeros, high, repeats = chunk.prefix("zero"), chunk.prefix("high"), chunk.prefix("repeat")
    keep = (zeros[offsets + length] - zeros[offsets]) <= limit
    high_count = high[offsets + length] - high[offsets]
    keep &= (high_count >= length // 5) & (high_count <= length - length // 5)
    keep &= (repeats[offsets + length] - repeats[offsets + 1]) <= max(3, length // 32)
    offsets = offsets[keep]
    if len(offsets):
        offsets = offsets[distinct_bytes(chunk, offsets, length) >= (min_distinct or min_distinct_bytes(length))]
    return offsets


def min_distinct_bytes(length: int) -> int:
    """Distinct byte values a random window holds, less six standard deviations (32 bytes: 23;
    simulated miss rate below 1e-6 for every key size)."""
    q1, q2 = (255 / 256) ** length, (254 / 256) ** length
    mean = 256 * (1 - q1)
    variance = 256 * q1 * (1 - q1) + 256 * 255 * (q2 - q1 * q1)
    return max(1, int(mean - 6 * max(variance, 0.0) ** 0.5))


def distinct_bytes(chunk: Chunk, offsets: Offsets, length: int) -> npt.NDArray[np.int64]:
    """How many different byte values each window holds (random 32 bytes: about 30)."""
    compiled = filters()
    if compiled is not None:
        return _offsets(compiled.distinct_bytes(chunk.data, np.ascontiguousarray(offsets, dtype=np.int64), length))
    counts = np.zeros(len(offsets), dtype=np.int64)
    for first in range(0, len(offsets), 65536):
        part = offsets[first:first + 65536]
        block = np.sort(chunk.array[part[:, None] + np.arange(length)], axis=1)
        counts[first:first + len(part)] = 1 + (np.diff(block, axis=1) != 0).sum(axis=1)
    return counts


def _words(chunk: Chunk, phase: int, big_endian: bool) -> npt.NDArray[np.uint32]:
    key = f"words:{phase}:{big_endian}"
    cache = chunk._cache
    if key not in cache:
        usable = (len(chunk.data) - phase) // 4
        cache[key] = np.frombuffer(chunk.data, dtype=">u4" if big_endian else "<u4", count=usable, offset=phase)
    return cache[key]  # type: ignore[no-any-return]


def residues(chunk: Chunk, offsets: Offsets, length: int, representation: str, modulus: int
             ) -> npt.NDArray[np.uint64]:
    """Each window's integer value modulo `modulus` (< 2**32); `length` must be a multiple of 4."""
    words_per = length // 4
    result = np.zeros(len(offsets), dtype=np.uint64)
    if len(offsets) == 0:
        return result
    m = np.uint64(modulus)
    weight = 1
    if representation == "be":
        phases = offsets % 4
        groups = [(phase, np.flatnonzero(phases == phase)) for phase in range(4)]
    else:
        groups = [(0, np.arange(len(offsets)))]
    for phase, members in groups:
        if len(members) == 0:
            continue
        words = _words(chunk, phase, representation == "be")
        index = (offsets[members] - phase) // 4
        acc = np.zeros(len(members), dtype=np.uint64)
        weight = 1
        for significance in range(words_per):
            position = significance if representation == "le" else words_per - 1 - significance
            term = words[index + position].astype(np.uint64) % m
            acc += term * np.uint64(weight) % m
            weight = weight * (1 << 32) % modulus
        result[members] = acc % m
    return result


def coprime_to_small_primes(chunk: Chunk, offsets: Offsets, length: int, representation: str) -> Offsets:
    """Keep windows whose value has no prime factor in SMALL_PRIME_GROUPS (true of every RSA prime)."""
    if length % 4:
        return offsets
    compiled = filters()
    if compiled is not None:
        if len(offsets) == 0:
            return offsets
        return _offsets(compiled.coprime(chunk.data, np.ascontiguousarray(offsets, dtype=np.int64), length=length,
                                         representation=REPRESENTATION_CODES[representation],
                                         moduli=_GROUP_MODULI, primes=_PRIMES))
    for group in SMALL_PRIME_GROUPS:
        if len(offsets) == 0:
            break
        modulus = 1
        for prime in group:
            modulus *= prime
        values = residues(chunk, offsets, length, representation, modulus)
        keep = np.ones(len(offsets), dtype=bool)
        for prime in group:
            keep &= (values % np.uint64(prime)) != 0
        offsets = offsets[keep]
    return offsets


def value_at(data: bytes, offset: int, length: int, representation: str) -> int:
    """The integer a window holds under `representation`."""
    window = data[offset:offset + length]
    if representation == "le":
        return int.from_bytes(window, "little")
    if representation == "be":
        return int.from_bytes(window, "big")
    words = [window[i:i + 4] for i in range(0, length, 4)]
    return int.from_bytes(b"".join(reversed(words)), "little")


def low64(chunk: Chunk, offsets: Offsets, length: int, representation: str) -> npt.NDArray[np.uint64]:
    """The least significant 64 bits of each window's value (vectorized)."""
    data = chunk.array
    if representation == "le":
        starts = offsets
        order = np.arange(8)
    elif representation == "be":
        starts = offsets + length - 8
        order = np.arange(7, -1, -1)
    else:  # java: the last two words, the last one least significant, each little-endian
        starts = offsets + length - 8
        order = np.array([4, 5, 6, 7, 0, 1, 2, 3])
    result = np.zeros(len(offsets), dtype=np.uint64)
    for shift, position in enumerate(order):
        result |= data[starts + position].astype(np.uint64) << np.uint64(8 * shift)
    return result


__all__ = ["ALIGN", "dense", "isolated_windows", "members", "coprime_to_small_primes", "distinct_bytes",
           "min_distinct_bytes", "random_looking", "sparse", "low64", "max_zero_bytes", "residues", "value_at",
           "windows"]
