"""compact_json.CompactEncoder: the same text as json.JSONEncoder with the same options, for every
value (issue 39: the token path's encodings without a C encoder built per call)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from signward.compact_json import CompactEncoder

_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)
_OPTIONS = [dict(sort_keys=s, ensure_ascii=a) for s in (False, True) for a in (False, True)]


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_the_same_text_as_the_standard_encoder_with_each_option(value: Any) -> None:
    for options in _OPTIONS:
        expected = json.JSONEncoder(separators=(",", ":"), **options).encode(value)  # type: ignore[arg-type]
        assert CompactEncoder(**options).encode(value) == expected  # type: ignore[arg-type]


def test_default_is_used_for_what_json_cannot_encode() -> None:
    encoder = CompactEncoder(sort_keys=True, ensure_ascii=False, default=str)
    assert encoder.encode({"b": object, "a": "é"}) == '{"a":"é","b":"<class \'object\'>"}'
    assert CompactEncoder().encode({"a": "é"}) == '{"a":"\\u00e9"}'


def test_what_json_refuses_is_refused() -> None:
    for bad in ({"a": object()}, [{1j: 2}]):
        try:
            CompactEncoder().encode(bad)
        except TypeError:
            continue
        raise AssertionError(f"{bad!r} was encoded")
