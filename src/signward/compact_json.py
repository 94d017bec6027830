"""Compact JSON text in one C call (issue 39): what `json.JSONEncoder(separators=(",", ":"), ...)
.encode` returns, without building the C encoder again for every call.

`JSONEncoder.encode` makes a new `c_make_encoder` object (and its circular-reference table)
on every call; on the token path that was about 3 us of each of the four or five encodings a
token needs (its claims, the response, the audit details and the record body). Here the C
encoder is made once. It keeps no table of the containers it is in: a container that holds
itself ends in RecursionError instead of ValueError (the callers encode flat dicts and lists
they built). Without the C accelerator, or for a value that is not a dict or a list, the
standard encoder answers, with the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json import encoder as _std
from typing import Any


class CompactEncoder:
    """`encode(obj)`: `json.JSONEncoder(separators=(",", ":"), sort_keys=..., ensure_ascii=...,
    default=...).encode(obj)`, the same text."""

    def __init__(self, *, sort_keys: bool = False, ensure_ascii: bool = True,
                 default: Callable[[Any], Any] | None = None) -> None:
        self.standard = json.JSONEncoder(separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=ensure_ascii,
                                         default=default)
        make = getattr(_std, "c_make_encoder", None)
        strings = _std.encode_basestring_ascii if ensure_ascii else _std.encode_basestring
        self._once: Callable[[Any, int], Any] | None = None if make is None else make(
            None, self.standard.default, strings, None, ":", ",", sort_keys, False, True)

    def encode(self, obj: Any) -> str:
        once = self._once
        if once is None or not isinstance(obj, (dict, list)):
            return self.standard.encode(obj)
        return "".join(once(obj, 0))


__all__ = ["CompactEncoder"]
