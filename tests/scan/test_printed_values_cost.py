"""The scanner's joined-literals search in linear time (issue #32, cost): `"` then `\\"` x N (either
quote kind, unclosed or closed) was tried from every escaped quote (200 KB: minutes); the keys it
found are still found, after and inside such runs."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import serialization

from signward.scan.printed_values import JOINED, joined_literals, joined_runs
from tests.scan.material import EC
from tests.scan.quoted import HOSTILE, N, as_c_literals, quote_mixes

DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
MAX_BODY = 4096  # printed_values' literal body bound
KEY = as_c_literals(DER)


def _decoded(data: bytes) -> list[tuple[int, int, bytes]]:
    return [(start, end, decoded) for start, end, decoded, *_ in joined_literals(data, 0, len(data))]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_200_kb_of_escaped_quotes_cost_under_five_seconds(name: str) -> None:
    data = HOSTILE[name]
    began = time.process_time()
    assert _decoded(data) == []
    assert time.process_time() - began < 5


@pytest.mark.parametrize("before", [HOSTILE["double-unclosed"] + b"\n", HOSTILE["single-unclosed"] + b"\n",
                                    HOSTILE["single-unclosed"] + b" "])  # (the last: inside a ' body)
def test_a_key_after_an_unclosed_run_of_escaped_quotes_is_found(before: bytes) -> None:
    data = before + KEY + b";\n"
    began = time.process_time()
    found = _decoded(data)
    assert time.process_time() - began < 5
    assert [(start, end) for start, end, _ in found] == [(len(before), len(before) + len(KEY))]
    assert found[0][2] == DER


@pytest.mark.parametrize("count", [1_000, N])  # a literal that fits, one longer than the body bound
def test_a_key_joined_to_a_literal_full_of_escaped_quotes_is_found(count: int) -> None:
    data = b'"' + b'\\"' * count + b'" ' + KEY + b";\n"
    found = _decoded(data)
    # from the first escaped quote whose literal fits the bound (as the pattern searched alone would)
    start = 2 * max(0, count - MAX_BODY)
    assert [(low, high) for low, high, _ in found] == [(start, data.index(b";"))]
    assert found[0][2].endswith(DER) and found[0][2].strip(b'"') == DER


def test_the_runs_are_those_of_the_pattern_searched_alone() -> None:
    parts = [b'"', b"'", b"\\", b'\\"', b"\\'", b"a", b" ", b"\n", b"u8", b"b", b"+"]
    # rt18 group C: the joining operators and the `$`/`E` prefixes
    ops = parts + [b"$", b"E", b".", b"..", b",", b"||", b"^", b"<<", b"<", b"&", b" _\n", b"_"]
    cases = quote_mixes(parts) + quote_mixes(ops, 1_500, 18)
    cases.append(b'"' + b'\\"' * (MAX_BODY + 100) + b'" "ab\\x41" \'\\\'\' "c"')  # a body past the bound
    for data in cases:
        for low, high in ((0, len(data)), (1, len(data) - 2)):
            assert [m.span() for m in joined_runs(data, low, high)] == \
                [m.span() for m in JOINED.finditer(data, low, high)], (data, low, high)
