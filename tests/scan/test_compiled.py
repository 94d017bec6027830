"""The compiled filters (`signward.scan._filters`) against their numpy/cryptography references:
the same candidates on random and planted inputs, and every planted key found by both paths."""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan import compiled, integers
from signward.scan.chunks import Chunk
from signward.scan.formats import Layout, Region
from signward.scan.knownkeys import KnownKeys, known_key

LENGTHS = (32, 48, 66, 128)


def test_the_compiled_filters_were_built() -> None:
    """setup.py leaves the extension out where it cannot be built (no compiler, libcrypto or
    libsodium headers); the set-up installs all of them, so here a missing build is a defect
    and not a silent fall back to the slower reference."""
    assert compiled.AVAILABLE, "signward.scan._filters was not built (gcc, python3-dev, libssl-dev, libsodium-dev?)"
    assert compiled.path_name() == "compiled"


def texture(seed: int, size: int = 1 << 18) -> bytes:
    """Zeros, pointers, ASCII, short and long random runs and repeated bytes, mixed."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    total = 0
    while total < size:
        kind = rng.randrange(6)
        if kind == 0:
            part = bytes(rng.randrange(1, 300))
        elif kind == 1:
            part = b"".join((0x7F0000000000 + rng.randrange(1 << 32)).to_bytes(8, "little")
                            for _ in range(rng.randrange(1, 40)))
        elif kind == 2:
            part = bytes(rng.randrange(0x20, 0x7F) for _ in range(rng.randrange(1, 400)))
        elif kind == 3:
            part = rng.randbytes(rng.choice((16, 20, 24, 31, 32, 33, 48, 55, 56, 64, 66, 80, 128, 130)))
        elif kind == 4:
            part = rng.randbytes(rng.randrange(1000, 20000))
        else:
            part = bytes([rng.randrange(256)]) * rng.randrange(2, 100)
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def heap_texture(seed: int) -> bytes:
    """512 KiB of ASCII with a few random 64-byte values in every 64 KiB block, and 8 KiB of
    random bytes in the second and fifth block (dense: dropped by `sparse`)."""
    rng = random.Random(seed)
    data = bytearray(rng.randrange(0x20, 0x7F) for _ in range(1 << 19))
    for block in range(8):
        for _ in range(20):
            at = block * 65536 + rng.randrange(0, 65536 - 64)
            data[at:at + 64] = rng.randbytes(64)
    for block in (1, 4):
        data[block * 65536 + 1000:block * 65536 + 9192] = rng.randbytes(8192)
    return bytes(data)


def chunk_of(data: bytes, writable_from: int = 0) -> Chunk:
    """A chunk of a raw image; bytes before `writable_from` lie in no region (not writable)."""
    layout = Layout(format="raw", size=len(data), regions=[Region(writable_from, len(data) - writable_from, None)])
    return Chunk(data, 0, len(data), layout, KnownKeys())


def both(data: bytes, monkeypatch: pytest.MonkeyPatch, run):  # type: ignore[no-untyped-def]
    """`run(chunk)` on the compiled path and on the reference, each on a fresh chunk."""
    monkeypatch.delenv(compiled.REFERENCE_ENV, raising=False)
    assert compiled.filters() is not None
    fast = run(chunk_of(data, writable_from=4096))
    monkeypatch.setenv(compiled.REFERENCE_ENV, "1")
    assert compiled.filters() is None
    slow = run(chunk_of(data, writable_from=4096))
    monkeypatch.delenv(compiled.REFERENCE_ENV)
    return fast, slow


def same(fast, slow) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(fast, np.ndarray) and fast.dtype == np.int64
    assert np.array_equal(fast, np.asarray(slow, dtype=np.int64))


@pytest.mark.parametrize("seed", range(3))
def test_running_counts(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = texture(seed, 1 << 17) + bytes(70000)  # long enough for the uint16 counts to wrap
    fast, slow = both(data, monkeypatch, lambda c: [c.prefix(n).copy() for n in ("zero", "high")])
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype == np.uint16 and np.array_equal(a, b)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("length", LENGTHS)
def test_candidate_windows(seed: int, length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = texture(seed * 7 + length)
    cases: list[dict[str, Any]] = [dict(representation=r, odd=True, top_bit=True) for r in ("le", "be", "java")]
    cases += [dict(representation="le", odd=False, top_bit=False, align=8, max_zeros=3,
                   high_range=(length // 5, length - length // 5), writable_only=True),
              dict(representation="be", odd=True, top_bit=False, align=1, min_distinct=length // 3),
              dict(representation="le", odd=False, top_bit=False, align=8, max_zeros=3,
                   high_range=(length // 5, length - length // 5), writable_only=True, looks_random=True),
              dict(representation="be", odd=False, top_bit=False, align=1, looks_random=True)]
    for case in cases:
        fast, slow = both(data, monkeypatch, lambda c: integers.windows(c, length, **case))
        assert len(slow) > 0, f"nothing passes {case}: the comparison would be empty"
        same(fast, slow)
    # dense blocks dropped inside the compiled pass, by `sparse` after the reference
    data = heap_texture(seed * 7 + length)
    for representation in ("le", "be", "java"):
        kept = both(data, monkeypatch, lambda c: integers.windows(c, length, representation, odd=True,
                                                                  top_bit=True, drop_dense=True))
        every = integers.windows(chunk_of(data, 4096), length, representation, odd=True, top_bit=True)
        assert 0 < len(kept[1]) < len(every), "some blocks dense, some not"
        same(*kept)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("length", LENGTHS)
def test_random_looking_isolated_and_distinct(seed: int, length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    buffer = bytearray(texture(100 + seed * 7 + length))
    for _ in range(10):  # values kept by themselves, zeros each side, at any alignment
        at = rng.randrange(64, len(buffer) - 2 * length)
        buffer[at - 16:at + length + 16] = bytes(16) + rng.randbytes(length) + bytes(16)
    data = bytes(buffer)
    offsets = np.arange(-3, len(data) + 3, 3, dtype=np.int64)  # a few out of range: dropped by both
    fast, slow = both(data, monkeypatch, lambda c: integers.random_looking(c, offsets, length, max_zeros=3))
    assert len(slow) > 100
    same(fast, slow)
    fast, slow = both(data, monkeypatch, lambda c: integers.isolated_windows(c, length))
    assert len(slow) > 0
    same(fast, slow)
    inside = np.arange(0, len(data) - length, 5, dtype=np.int64)
    fast, slow = both(data, monkeypatch, lambda c: integers.distinct_bytes(c, inside, length))
    same(fast, slow)


@pytest.mark.parametrize("representation", ["le", "be", "java"])
def test_trial_division(representation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(representation)
    data = bytearray(rng.randbytes(1 << 16))
    planted = []
    for _ in range(40):  # numbers with a small factor and numbers without
        value = rng.getrandbits(512) | 1
        if rng.random() < 0.5:
            value -= value % 3  # a multiple of 3
        offset = rng.randrange(0, len(data) - 64) & ~3
        window = _encode(value, 64, representation)
        data[offset:offset + 64] = window
        planted.append((offset, value))
    step = 1 if representation == "be" else 4
    offsets = np.arange(0, len(data) - 64, step, dtype=np.int64)
    fast, slow = both(bytes(data), monkeypatch,
                      lambda c: integers.coprime_to_small_primes(c, offsets, 64, representation))
    same(fast, slow)
    kept = set(fast.tolist())
    primes = [p for group in integers.SMALL_PRIME_GROUPS for p in group]
    for offset, _ in planted:  # decided by the value the window holds now (a later plant may overlap)
        value = integers.value_at(bytes(data), offset, 64, representation)
        assert (offset in kept) == all(value % p for p in primes)


def _encode(value: int, length: int, representation: str) -> bytes:
    if representation == "le":
        return value.to_bytes(length, "little")
    if representation == "be":
        return value.to_bytes(length, "big")
    little = value.to_bytes(length, "little")
    return b"".join(little[i:i + 4] for i in range(length - 4, -4, -4))


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1(), ec.SECP521R1(), ec.SECP256K1()])
def test_ec_public_points(curve: ec.EllipticCurve) -> None:
    from signward.scan import _filters

    size = (curve.key_size + 7) // 8
    order = {"secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
             "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141}.get(curve.name)
    values = [int.from_bytes(os.urandom(size), "big") >> (8 * size - curve.key_size) for _ in range(30)]
    values += [1, 2, 0] + ([order - 1, order, order + 1] if order else [])
    out = _filters.ec_publics(compiled.OPENSSL_CURVES[curve.name], b"".join(v.to_bytes(size, "big") for v in values),
                              size)
    for index, value in enumerate(values):
        point = out[index * 2 * size:(index + 1) * 2 * size]
        try:
            numbers = ec.derive_private_key(value, curve).public_key().public_numbers()
            expected = numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")
        except ValueError:
            expected = bytes(2 * size)
        assert point == expected, f"scalar {index}"


def test_ed25519_public_keys() -> None:
    from signward.scan import _filters

    seeds = [os.urandom(32) for _ in range(50)] + [bytes(32), b"\xff" * 32]
    out = _filters.ed25519_publics(b"".join(seeds))
    for index, seed in enumerate(seeds):
        assert out[index * 32:(index + 1) * 32] == \
            ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


# the numbers of a good `windows` call on 32-byte windows
WINDOW: dict[str, Any] = {"length": 32, "step": 4, "top": 31, "low": 0, "top_bit": True, "odd": True, "max_zeros": 3,
                          "high_lo": -1, "high_hi": -1, "block_limit": 0, "max_repeats": 3, "min_distinct": 0}


def test_bad_arguments_raise_instead_of_reading_outside() -> None:
    from signward.scan import _filters

    data = bytes(100)
    counts = np.zeros(101, dtype=np.uint16)
    with pytest.raises(ValueError):
        _filters.distinct_bytes(data, np.array([90], dtype=np.int64), 32)
    with pytest.raises(ValueError):
        _filters.coprime(data, np.array([-4], dtype=np.int64), length=32, representation=0,
                         moduli=integers._GROUP_MODULI, primes=integers._PRIMES)
    with pytest.raises(ValueError):
        _filters.windows(data, counts, counts, **dict(WINDOW, top=32))  # a byte position outside the window
    with pytest.raises(ValueError):
        _filters.windows(data, counts, counts, **dict(WINDOW, step=32))  # a step as long as the window
    with pytest.raises(ValueError):  # running counts of the wrong size
        _filters.windows(data, counts[:50], counts, **WINDOW)
    with pytest.raises(ValueError):
        _filters.prefix_counts(data, counts, counts[:100])
    with pytest.raises(ValueError):
        _filters.ec_publics("no-such-curve", bytes(32), 32)
    with pytest.raises(ValueError):
        _filters.ec_publics("prime256v1", bytes(48), 48)
    with pytest.raises(ValueError):
        _filters.ed25519_publics(bytes(31))


def test_planted_keys_are_found_by_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """An EC scalar (three layouts) and an Ed25519 seed planted in texture: the known-key
    detector finds each on the compiled path and on the reference, with the same findings."""
    from signward.scan.detectors.known_key import _MEMO, KnownKeyDetector

    rng = random.Random(5)  # fixed keys: a test that passes or fails for every run alike
    data = bytearray(texture(9, 1 << 18))
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's group order
    ec_key = ec.derive_private_key(rng.randrange(1, order), ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    scalar = ec_key.private_numbers().private_value
    spots = {"le": 40_000, "be": 90_003, "java": 150_000}
    for representation, offset in spots.items():
        data[offset - 16:offset + 48] = b"\x00" * 16 + _encode(scalar, 32, representation) + b"\x00" * 16
    data[200_016 - 16:200_016 + 48] = b"\x00" * 16 + ed_key.private_bytes_raw() + b"\x00" * 16
    known = KnownKeys([k for k in (known_key(ec_key.public_key()), known_key(ed_key.public_key())) if k])

    def scan(c: Chunk) -> list:  # type: ignore[type-arg]
        _MEMO.clear()
        c.known = known
        return sorted((f.offset, f.kind, f.encoding) for f in KnownKeyDetector().scan(c))

    fast, slow = both(bytes(data), monkeypatch, scan)
    assert fast == slow
    found = {(offset, kind) for offset, kind, _ in fast}
    for offset in spots.values():
        assert (offset, "ec-private-scalar") in found
    assert (200_016, "ed25519-seed") in found


@pytest.mark.parametrize("seed", range(3))
def test_full_pass_candidates(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The known-key full pass's candidates: writable spans through a compacted chunk, dense
    blocks with isolated values kept, the same as the reference's three steps."""
    from signward.scan.detectors.known_key import full_pass_candidates

    rng = random.Random(seed)
    data = bytearray(heap_texture(seed) + texture(seed, 1 << 18))
    for block in (1, 4):  # values kept by themselves inside the dense blocks
        for _ in range(5):
            at = block * 65536 + 1000 + rng.randrange(0, 8000) & ~7
            data[at - 16:at] = bytes(16)
            data[at + 32:at + 48] = bytes(16)
    regions = []
    position = 0
    while position < 1 << 21:  # writable and read-only regions, not page-aligned
        size = rng.randrange(1000, 90000)
        regions.append(Region(position, size, None, writable=rng.random() < 0.7))
        position += size + rng.choice((0, 0, 100))
    layout = Layout(format="raw", size=1 << 21, regions=regions)
    pieces = [(0, 4096), (300_000, 700_000), (500_000, 1_100_003)]  # a compacted chunk

    def run(chunk: Chunk) -> Any:
        return full_pass_candidates(chunk, 32, integers.isolated_windows(chunk, 32))

    def make() -> Chunk:
        return Chunk(bytes(data), 4096, len(data), layout, KnownKeys(), pieces=pieces)

    monkeypatch.delenv(compiled.REFERENCE_ENV, raising=False)
    fast_chunk = make()
    fast = run(fast_chunk)
    spans = fast_chunk.writable_spans()
    monkeypatch.setenv(compiled.REFERENCE_ENV, "1")
    slow = run(make())
    assert len(slow) > 100 and len(spans) > 5
    same(fast, slow)
    in_dense = [o for o in fast.tolist()
                if 65536 + 1000 <= o < 65536 + 9192 or 4 * 65536 + 1000 <= o < 4 * 65536 + 9192]
    assert 0 < len(in_dense) < 50, "dense blocks: only the values kept by themselves"
    # the spans say what writable_mask says, position by position
    positions = np.arange(len(data), dtype=np.int64)
    inside = np.zeros(len(data), dtype=bool)
    for start, end in spans.tolist():
        inside[start:end] = True
    assert np.array_equal(inside, layout.writable_mask(fast_chunk.file_offsets(positions)))


def test_random_data_is_not_made_of_isolated_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random data stays in long runs of windows (a window fails only with zero bytes at both
    ends or more than 3 zeros, and a run goes on across up to 3 failing offsets), so none of it
    is tried as an isolated value. A value with zero bytes of its own, between pointers, still is."""
    rng = random.Random(3)
    noise = rng.randbytes(1 << 18)
    value = bytearray(rng.randbytes(32))
    value[5] = value[20] = 0  # two zero bytes inside the value
    pointer = (0x7F3A_1234_5678).to_bytes(8, "little")
    planted = bytes(4096) + pointer * 2 + bytes(value) + pointer * 2 + bytes(4096)
    at = 4096 + 16
    fast, slow = both(noise + planted, monkeypatch, lambda c: integers.isolated_windows(c, 32))
    same(fast, slow)
    assert int(np.sum(fast < len(noise))) < 50, "random data is not a field of isolated values"
    assert len(noise) + at in fast.tolist(), "the planted value is isolated"


def test_a_value_with_a_zero_byte_at_one_end_is_a_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    """1 key in 256 has a zero low byte (its big-endian form ends in 0x00) and 1 in 256 a zero
    top byte (its little-endian limbs end in 0x00): a window is kept when either end is nonzero,
    aligned (the full pass) and unaligned (isolated values); both ends zero is not a value."""
    from signward.scan.detectors.known_key import full_pass_candidates

    rng = random.Random(11)
    ends = {"low": lambda v: v[:-1] + b"\x00", "top": lambda v: b"\x00" + v[1:],
            "both": lambda v: b"\x00" + v[1:-1] + b"\x00"}
    for name, shape in ends.items():
        value = shape(bytes(b | 0x01 for b in rng.randbytes(32)))  # no other zero bytes
        for at in (40_000, 40_003):
            data = bytearray(texture(4, 1 << 17))
            data[at - 16:at + 48] = bytes(16) + value + bytes(16)
            isolated = both(bytes(data), monkeypatch, lambda c: integers.isolated_windows(c, 32))
            aligned = both(bytes(data), monkeypatch, lambda c: full_pass_candidates(
                c, 32, integers.isolated_windows(c, 32)))
            same(*isolated)
            same(*aligned)
            kept = at in isolated[0].tolist() or at in aligned[0].tolist()
            assert kept == (name != "both"), (name, at)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), length=st.integers(-2, 140), step=st.integers(-1, 70),
       top=st.integers(-2, 140), low=st.integers(-2, 140),
       offsets=st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=8),
       limit=st.integers(-1, 600), bridge=st.integers(-1, 5))
def test_hostile_arguments_never_read_outside(data: bytes, length: int, step: int, top: int, low: int,
                                             offsets: list[int], limit: int, bridge: int) -> None:
    """Whatever the arguments, each compiled filter returns offsets inside the data or raises
    ValueError: a malformed call from a future caller fails loudly instead of reading outside."""
    from signward.scan import _filters

    zero = np.zeros(len(data) + 1, dtype=np.uint16)
    high = np.zeros(len(data) + 1, dtype=np.uint16)
    _filters.prefix_counts(data, zero, high)
    items = np.array(offsets, dtype=np.int64)
    spans = np.array([[0, len(data)]], dtype=np.int64)
    calls: list[Any] = [
        lambda: _filters.windows(data, zero, high, length=length, step=step, top=top, low=low, top_bit=True,
                                 odd=True, max_zeros=3, high_lo=-1, high_hi=-1, block_limit=limit, max_repeats=3,
                                 min_distinct=0),
        lambda: _filters.windows(data, zero, high, length=length, step=step, top=top, low=low, top_bit=False,
                                 odd=False, max_zeros=3, high_lo=1, high_hi=20, block_limit=limit, max_repeats=3,
                                 min_distinct=23),
        lambda: _filters.aligned_candidates(data, zero, high, length=length, step=step, max_zeros=3, high_lo=1,
                                            high_hi=20, max_repeats=3, min_distinct=20, spans=spans, isolated=items,
                                            block_limit=limit),
        lambda: _filters.random_looking(data, items, length=length, max_zeros=3, high_lo=1, high_hi=20,
                                        max_repeats=3, min_distinct=20),
        lambda: _filters.short_runs(data, length=length, max_zeros=3, high_lo=1, high_hi=20, max_run=limit,
                                    bridge=bridge),
        lambda: _filters.distinct_bytes(data, items, length),
        lambda: _filters.coprime(data, items, length=length, representation=step % 3,
                                 moduli=integers._GROUP_MODULI, primes=integers._PRIMES),
    ]
    for call in calls:
        try:
            result = call()
        except ValueError:
            continue
        found = np.frombuffer(result, dtype=np.int64)
        if call is not calls[5]:  # the others return offsets of windows inside the data
            assert np.all((found >= 0) & (found + max(length, 1) <= len(data)))


def test_the_window_filters_take_their_numbers_by_name_only() -> None:
    """Six to thirteen integers in a row: a call that gives them by position is refused, so two
    swapped numbers (max_zeros and high_lo, say) can never filter quietly by the wrong rule."""
    from signward.scan import _filters

    data = bytes(100)
    counts = np.zeros(101, dtype=np.uint16)
    offsets = np.array([0], dtype=np.int64)
    assert _filters.windows(data, counts, counts, **WINDOW) == b""
    with pytest.raises(TypeError):
        _filters.windows(data, counts, counts, 32, 4, 31, 0, True, True, 3, -1, -1, 0, 3, 0)
    with pytest.raises(TypeError):
        _filters.short_runs(data, 32, 3, 6, 26, 64, 2)
    with pytest.raises(TypeError):
        _filters.random_looking(data, offsets, 32, 3, 6, 26, 3, 10)
    with pytest.raises(TypeError):
        _filters.coprime(data, offsets, 32, 0, integers._GROUP_MODULI, integers._PRIMES)
    with pytest.raises(TypeError):
        _filters.aligned_candidates(data, counts, counts, 32, 8, 3, 6, 26, 3, 10, np.zeros(2, dtype=np.int64),
                                    offsets, 8)
