"""The keystore magic search's fast path (`keystore_starts`: the two magics by `bytes.find`, each
confirmed by the pattern) finds exactly where `KEYSTORE.finditer` matches, on bytes built from
the magics, their near misses and runs of each other."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan.detectors.der import KEYSTORE, keystore_starts

PIECES = [b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce", b"\x00\x00\x00\x01", b"\x00\x00\x00\x02", b"\x00\x00\x00\x03",
          b"\x00", b"\xfe", b"\xed", b"\xce", b"\xfe\xed", b"x", b"\xfe\xed\xfe\xed\x00\x00\x00\x02"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30), st.binary(max_size=40))
def test_the_fast_search_finds_what_finditer_finds(pieces: list[bytes], noise: bytes) -> None:
    data = noise + b"".join(pieces) + noise
    assert keystore_starts(data) == [m.start() for m in KEYSTORE.finditer(data)]


def test_both_magics_at_any_offset() -> None:
    jks, jceks = b"\xfe\xed\xfe\xed\x00\x00\x00\x02", b"\xce\xce\xce\xce\x00\x00\x00\x02"
    for at in range(0, 9):
        data = b"\xfe" * at + jks + b"\xce" * at + jceks
        assert keystore_starts(data) == [at, 2 * at + 8] == [m.start() for m in KEYSTORE.finditer(data)]
