"""The scanner's other groupings of a big decimal integer (rt16, rt17): en_IN lakh (`12,34,56,789`,
or with U+00A0 between the groups), by threes with U+2019 (de_CH `1’234’567`), by fours with a
space or `_`, grouped by threes wrapped over lines (`{:,}` at 64 columns, the next line indented,
the line break after the separator or before it: `,` starting the next line, CRLF), and bare digits
wrapped at a fixed width (lines of only digits, `MIN_WRAP` or more wide, all but the last of one
width and the last no wider: `wrapped_runs.py`). Bounded like `printed_encodings.MAX_DIGITS`; the
values are read as `printed_encodings.integer_views` reads its own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .wrapped_runs import line_pattern, wrapped_runs

MIN_WRAP = 40  # digits a wrapped line holds at least (64/70/76/80 in practice; a column of IDs: under 25)
MAX_DIGITS = 2_500
_BEFORE = rb"(?<![0-9A-Za-z_.,])"
# each group ends where its digits end, inside the possessive repeat: a run is never retried
_FORMS = (
    re.compile(_BEFORE + rb"[1-9][0-9]?(,|\xc2\xa0)[0-9]{2}(?![0-9])(?:\1[0-9]{2}(?![0-9])){27,1249}+"
               rb"\1[0-9]{3}(?![0-9])"),  # lakh, with a comma or U+00A0
    re.compile(_BEFORE + rb"[1-9][0-9]{0,2}(?:\xe2\x80\x99[0-9]{3}(?![0-9])){19,840}+"),  # U+2019
    re.compile(_BEFORE + rb"[1-9][0-9]{0,3}( |_)[0-9]{4}(?![0-9])(?:\1[0-9]{4}(?![0-9])){13,629}+"),  # by fours
)
_BREAK = rb"(?:\r?\n[ \t]*+)?"
_WRAPPED = re.compile(_BEFORE + rb"[1-9][0-9]{0,2}" + _BREAK + rb"([,_.'])" + _BREAK + rb"[0-9]{3}"
                      rb"(?:" + _BREAK + rb"\1" + _BREAK + rb"[0-9]{3}(?![0-9])){18,840}+")
_DIGIT_LINE = line_pattern(rb"0-9")
_DIGITS = re.compile(rb"[^0-9]+")


def grouped_integers(data: bytes, own_end: int, spans: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int, int]]:
    """(start, end, value) of each integer in one of this module's groupings, starting before `own_end`."""
    areas = list(spans)
    if b"\xe2\x80\x99" in data:  # U+2019 is outside the text spans' bytes: searched in the whole chunk
        areas.append((0, len(data)))
    for form in _FORMS:
        for low, high in (areas if form is _FORMS[1] else spans):
            for match in form.finditer(data, low, high):
                if match.start() < own_end:
                    yield match.start(), match.end(), int(_DIGITS.sub(b"", match.group(0)))
    for low, high in spans:
        for match in _WRAPPED.finditer(data, low, high):
            if match.start() < own_end and b"\n" in match.group(0):  # on one line: `_INTEGER` reads it
                yield match.start(), match.end(), int(_DIGITS.sub(b"", match.group(0)))
        for start, end, digits in wrapped_runs(data, low, high, _DIGIT_LINE, MAX_DIGITS):
            first = data.find(b"\n", start, end)  # the first line's digits: a wrapping width, not an ID's
            if start < own_end and len(data[start:first].rstrip(b"\r \t")) >= MIN_WRAP:
                yield start, end, int(digits)


__all__ = ["grouped_integers"]
