"""The independent reader's joined-literals search in linear time (issue #32, cost): `"` then `\\"`
x N (either quote kind, unclosed or closed) restarted a greedy body of MAX_LITERAL at every escaped
quote (20 KB: 6 s); the keys it found are still found, after and inside such runs."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signward.scan import recheck_values as values
from signward.scan.recheck import recheck_bytes
from tests.scan.material import EC, known
from tests.scan.quoted import HOSTILE, N, as_c_literals, quote_mixes

DER = EC.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
KEY = as_c_literals(DER)


def _runs(data: bytes) -> list[tuple[int, int, bytes | None]]:
    return [(m.start(), m.end(), values._joined(m.group(0))) for m in values._pieces(data, [(0, len(data))])]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_200_kb_of_escaped_quotes_cost_under_five_seconds(name: str) -> None:
    data = HOSTILE[name]
    began = time.process_time()
    assert _runs(data) == []
    assert time.process_time() - began < 5


@pytest.mark.parametrize("before", [HOSTILE["double-unclosed"] + b"\n", HOSTILE["single-unclosed"] + b"\n",
                                    HOSTILE["single-unclosed"] + b" "])  # (the last: inside a ' body)
def test_a_key_after_an_unclosed_run_of_escaped_quotes_is_found(before: bytes) -> None:
    data = before + KEY + b";\n"
    began = time.process_time()
    found = _runs(data)
    assert time.process_time() - began < 5
    assert found == [(len(before), len(before) + len(KEY), DER)]


@pytest.mark.parametrize("count", [1_000, N])  # a literal that fits, one longer than MAX_LITERAL
def test_a_key_joined_to_a_literal_full_of_escaped_quotes_is_found(count: int) -> None:
    data = b'"' + b'\\"' * count + b'" ' + KEY + b";\n"
    found = _runs(data)
    # from the first escaped quote whose literal fits the bound (as the pattern searched alone would)
    start = 2 * max(0, count - values.MAX_LITERAL)
    assert [(low, high) for low, high, _ in found] == [(start, data.index(b";"))]
    decoded = found[0][2]
    assert decoded is not None and decoded.strip(b'"') == DER


def test_the_reader_finds_the_key_after_a_run_of_escaped_quotes() -> None:
    """End to end: the key right after 20 KB of escaped quotes (6 s in this search alone before;
    a literal of 65,536+ characters is refused by another of the reader's bounds, incomplete)."""
    data = b"x = '" + b"\\'" * 10_000 + b" " + KEY + b";\n"
    began = time.process_time()
    report = recheck_bytes(data, known(EC), "blob.c")
    assert time.process_time() - began < 5
    assert any("joined literals" in f.view and f.kind == "known-key" for f in report.findings), \
        (report.findings, report.incomplete)


def test_the_runs_are_those_of_the_pattern_searched_alone() -> None:
    parts = [b'"', b"'", b"\\", b'\\"', b"\\'", b"a", b" ", b"\n", b"\t", b"u8", b"b", b"+"]
    # rt18 group C: the joining operators and the `$`/`E` prefixes
    ops = parts + [b"$", b"E", b".", b"..", b",", b"||", b"^", b"<<", b"<", b"&", b" _\n", b"_"]
    cases = quote_mixes(parts) + quote_mixes(ops, 1_500, 18)
    for data in cases:
        marks = {q: 0 for q in values._STARTS}
        found, position = [], 0
        while (match := values._search(data, position, len(data), marks)) is not None:
            found.append(match.span())
            position = match.end()
        alone, position = [], 0
        while (match := values._JOINED.search(data, position, len(data))) is not None:
            alone.append(match.span())
            position = match.end()
        assert found == alone, data
