"""The independent reader's other groupings of big decimal integers (rt16, rt17): any run of digit
groups (1-4 digits, one separator: `,` `_` `.` `'` space, U+00A0 or U+2019, a line break and
indentation allowed before or after it) is cut out by one pattern, then its shape decides: en_IN
lakh (twos, then a last three, comma or U+00A0), threes with U+2019, fours with a space or `_`, or
threes wrapped over lines. Threes on one line with an ASCII separator are
`recheck_encodings._GROUPED`'s. Also bare digits wrapped at a fixed width: a block of lines of only
digits (indentation, CRLF allowed) whose first `WIDEST_ID`+ digits wide line sets the width, the
lines after it of that width and then at most one narrower. Its own code, apart from the scanner's
`grouped_forms.py`."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator

from . import recheck_zeros as zeros

WIDEST_ID = 40  # a line of fewer digits is an identifier's, not a wrapped number's
MOST_DIGITS = 2500
_MARKS = rb"(?:,|_|\.|'| |\xc2\xa0|\xe2\x80\x99)"
_FOLD = rb"(?:\r?\n[ \t]*)?"
# each group ends where its digits end (inside the possessive repeat): a failed run is never retried
_RUN = re.compile(rb"(?<![0-9A-Za-z_.,])[0-9]{1,4}(?:" + _FOLD + _MARKS + _FOLD + rb"[0-9]{2,4}(?![0-9]))"
                  rb"{14,1400}+")
_CUT = re.compile(_FOLD + rb"(" + _MARKS + rb")" + _FOLD)
_DIGIT_ROWS = re.compile(rb"(?m)^(?:[ \t]*[0-9]{16,2500}[ \t]*\r?\n){1,256}[ \t]*[0-9]{1,2500}[ \t]*\r?$")
_ROW = re.compile(rb"[0-9]+")


def grouped_runs(data: bytes | mmap.mmap) -> Iterator[tuple[tuple[int, int], int]]:
    """((start, end), value) of each integer in one of the module docstring's shapes."""
    for found in zeros.finditer(_RUN, data):
        text = bytes(found.group(0))
        marks = {mark.group(1) for mark in _CUT.finditer(text)}
        if len(marks) != 1:
            continue
        mark = marks.pop()
        groups = _CUT.split(text)[::2]
        head, rest = groups[0], groups[1:]
        if _shaped(mark, head, [len(group) for group in rest], b"\n" in text):
            yield found.span(), int(b"".join(groups))
    for block in zeros.finditer(_DIGIT_ROWS, data):
        rows = list(_ROW.finditer(block.group(0)))
        at = 0
        while at < len(rows) - 1:
            width = len(rows[at].group(0))
            stop = at + 1
            while stop < len(rows) and len(rows[stop].group(0)) == width:
                stop += 1
            if stop < len(rows) and len(rows[stop].group(0)) < width:
                stop += 1
            if width < WIDEST_ID or stop - at < 2:
                at += 1
                continue
            digits = b"".join(row.group(0) for row in rows[at:stop])[:MOST_DIGITS]
            yield (block.start() + rows[at].start(), block.start() + rows[stop - 1].end()), int(digits)
            at = stop


def _shaped(mark: bytes, head: bytes, sizes: list[int], wrapped: bool) -> bool:
    """Lakh (twos then a three, comma or U+00A0), threes with U+2019 or wrapped, or fours with a
    space or `_`."""
    if head[:1] == b"0":
        return False
    if mark in (b",", b"\xc2\xa0") and sizes[-1] == 3 and set(sizes[:-1]) == {2} and len(head) <= 2:
        return True
    if set(sizes) == {3} and len(head) <= 3:
        return mark == b"\xe2\x80\x99" or wrapped
    return set(sizes) == {4} and mark in (b" ", b"_") and len(head) <= 4


__all__ = ["grouped_runs"]
