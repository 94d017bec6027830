"""The Vault/OpenBao token search's fast path (`vault_token_matches`: candidates by
`bytes.find`, the pattern tried only there) finds exactly what the pattern's own `finditer`
finds, on text built from the pieces that make the pattern's edge cases: `hv` prefixes, the
three literals back to back, a dot or a word character just before, bodies at and around the
length bounds, overlapping candidates."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from signward.scan.detectors.text import VAULT_TOKEN, vault_token_matches

PIECES = [b"s.", b"b.", b"r.", b"hv", b"hvs.", b"hvb.", b"hvr.", b"h", b"v", b".", b"-", b"_", b" ", b"\n",
          b"x", b"\x00", b"\xff", b"AbCdEfGh1JkLmNoPqRsTuVwX", b"aB3_-" * 18, b"aB3_-" * 80, b"Q" * 23,
          b"zY9" * 8, b"s.s.", b"hvhvs."]


def _same(text: bytes) -> None:
    assert [m.span() for m in vault_token_matches(text)] == [m.span() for m in VAULT_TOKEN.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_the_fast_search_finds_what_finditer_finds(pieces: list[bytes]) -> None:
    _same(b"".join(pieces))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 600), st.sampled_from(PIECES[4:7]))
def test_a_token_at_any_offset_in_any_bytes(noise: bytes, at: int, prefix: bytes) -> None:
    at = min(at, len(noise))
    _same(noise[:at] + prefix + b"AbCdEfGh1JkLmNoPqRsTuVwX" + noise[at:])


def test_the_cases_that_decide() -> None:
    body = b"AbCdEfGh1JkLmNoPqRsTuVwX"
    cases = [(b"s." + body, [(0, 26)]), (b"xs." + body, []), (b".s." + body, []),
             (b"hvs." + body, [(0, 28)]), (b"hvhvs." + body, []), (b"s.s." + body, []),
             (b"hvs." + body + b"-", [(0, 29)]), (b"s." + body + b"-", []),
             (b"s." + body + b" s." + body, [(0, 26), (27, 53)])]
    for text, spans in cases:
        assert [m.span() for m in vault_token_matches(text)] == spans, text
        _same(text)
