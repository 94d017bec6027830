"""The scanner's other groupings of a big decimal integer (rt16): en_IN lakh (`12,34,56,789`), by
threes with U+2019 (de_CH `1’234’567`), by fours with a space, and grouped by threes wrapped over
lines (`{:,}` at 64 columns, the next line indented). Bounded like `printed_encodings.MAX_DIGITS`;
the values are read as `printed_encodings.integer_views` reads its own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

_BEFORE = rb"(?<![0-9A-Za-z_.,])"
# each group ends where its digits end, inside the possessive repeat: a run is never retried
_FORMS = (
    re.compile(_BEFORE + rb"[1-9][0-9]?(?:,[0-9]{2}(?![0-9])){28,1250}+,[0-9]{3}(?![0-9])"),  # lakh
    re.compile(_BEFORE + rb"[1-9][0-9]{0,2}(?:\xe2\x80\x99[0-9]{3}(?![0-9])){19,840}+"),  # U+2019
    re.compile(_BEFORE + rb"[1-9][0-9]{0,3}(?: [0-9]{4}(?![0-9])){14,630}+"),  # by fours
)
_WRAPPED = re.compile(_BEFORE + rb"[1-9][0-9]{0,2}([,_.'])(?:\r?\n[ \t]*+)?[0-9]{3}"
                      rb"(?:\1(?:\r?\n[ \t]*+)?[0-9]{3}(?![0-9])){18,840}+")
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


__all__ = ["grouped_integers"]
