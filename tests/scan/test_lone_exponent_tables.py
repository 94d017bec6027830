"""The lone-exponent tables read in one compiled pass for every known RSA key of a chunk
(`lone_exponent.tables_hits`, `_filters.table_hits`): the same hits as the numpy reference, key by
key, and a d found whichever place its key has among the known keys (the pass's combined bitmap
and per-key masks must never say no for a key whose table holds the window)."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from signward.scan.chunks import Chunk
from signward.scan.compiled import AVAILABLE
from signward.scan.detectors import lone_exponent
from signward.scan.detectors.known_key import KnownKeyDetector
from signward.scan.formats import Layout, Region
from signward.scan.knownkeys import KnownKey, KnownKeys, known_key
from tests.scan.test_lone_exponent import D_LAM, KEY, KID, _be, _noise


def _small_tables(count: int) -> list[lone_exponent.Table]:
    """Tables of made-up moduli with small exponents (built in milliseconds)."""
    rng = random.Random(5)
    return [lone_exponent.Table(rng.getrandbits(1024) | (1 << 1023) | 1, rng.choice((3, 5, 17, 257)))
            for _ in range(count)]


def _planted(tables: list[lone_exponent.Table], size: int, seed: int) -> bytes:
    """Random bytes with entries of every table written at random offsets, both byte orders, each
    table's at offsets 0, 3 and 1 modulo 8 (what phases 0 and 5 and no phase read)."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(size))
    for built in tables:
        for order in ("be", "le"):
            for number in range(6):
                value = int(built.values[order][rng.randrange(len(built.values[order]))])
                at = 8 * rng.randrange(size // 8 - 1) + (0, 3, 1)[number % 3]
                data[at:at + 8] = value.to_bytes(8, "big" if order == "be" else "little")
    return bytes(data)


@pytest.mark.skipif(not AVAILABLE, reason="the compiled filters were not built")
@pytest.mark.parametrize("phase", [None, 0, 5])
def test_compiled_pass_gives_the_reference_hits_for_every_key(phase: int | None) -> None:
    tables = _small_tables(11)  # more than one pass's 8 keys: two groups
    data = _planted(tables, 1 << 18, 7)
    expected = [lone_exponent._reference_hits(data, built, phase) for built in tables]
    assert all(expected)  # every table's planted windows are there to find
    assert lone_exponent.tables_hits(data, tables, phase) == expected
    assert [lone_exponent.hits(data, built, phase) for built in tables] == expected


def test_d_of_a_later_known_key_is_found_in_the_shared_pass() -> None:
    # three other RSA keys are known first: d of the fourth, raw big-endian in random bytes, is
    # found by the one pass over the chunk for all four (and by nothing else: no modulus, no prime)
    others = [rsa.generate_private_key(65537, 2048) for _ in range(3)]
    known = KnownKeys()
    for key in [*others, KEY]:
        known.add(known_key_of(key))
    body = _noise(4096, 1) + _be(D_LAM) + _noise(4096, 2)
    layout = Layout(format="raw", size=len(body), regions=[Region(0, len(body), None)])
    chunk = Chunk(body, 0, len(body), layout, known)
    found = [(f.kind, f.kid, f.offset) for f in KnownKeyDetector().scan(chunk)]
    assert found == [("rsa-private-exponent", KID, 4096)]


def known_key_of(key: rsa.RSAPrivateKey) -> KnownKey:
    made = known_key(key.public_key())
    assert made is not None
    return made


def test_the_process_keeps_the_tables_of_the_last_keys_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived sanitizer meets every rotated key in turn: the tables kept are the `MAX_TABLES`
    last used (64 MiB each), and a key used again is the last evicted."""
    monkeypatch.setattr(lone_exponent, "MAX_TABLES", 2)
    monkeypatch.setattr(lone_exponent, "_TABLES", type(lone_exponent._TABLES)())
    rng = random.Random(11)
    keys = [KnownKey(f"k{i}", "rsa", rsa.RSAPublicNumbers(3, rng.getrandbits(1024) | (1 << 1023) | 1).public_key())
            for i in range(3)]
    first = lone_exponent.table(keys[0])
    lone_exponent.table(keys[1])
    assert lone_exponent.table(keys[0]) is first  # kept, and now the last used
    lone_exponent.table(keys[2])
    assert list(lone_exponent._TABLES) == [(keys[0].rsa_n, 3), (keys[2].rsa_n, 3)]  # keys[1] evicted
