"""The independent reader's other groupings of big decimal integers (rt16): any run of digit groups
(1-4 digits, one separator: `,` `_` `.` `'` space or U+2019, a line break and indentation allowed
after it) is cut out by one pattern, then its shape decides: en_IN lakh (twos, then a last three,
comma), threes with U+2019, fours with a space, or threes wrapped over lines. Threes on one line
with an ASCII separator are `recheck_encodings._GROUPED`'s. Its own code, apart from the scanner's
`grouped_forms.py`."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator

from . import recheck_zeros as zeros

# each group ends where its digits end (inside the possessive repeat): a failed run is never retried
_RUN = re.compile(rb"(?<![0-9A-Za-z_.,])[0-9]{1,4}(?:(?:,|_|\.|'| |\xe2\x80\x99)(?:\r?\n[ \t]*)?[0-9]{2,4}(?![0-9]))"
                  rb"{14,1400}+")
_CUT = re.compile(rb"(,|_|\.|'| |\xe2\x80\x99)(?:\r?\n[ \t]*)?")


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


def _shaped(mark: bytes, head: bytes, sizes: list[int], wrapped: bool) -> bool:
    """Lakh (twos then a three, comma), threes with U+2019 or wrapped, or fours with a space."""
    if head[:1] == b"0":
        return False
    if mark == b"," and sizes[-1] == 3 and set(sizes[:-1]) == {2} and len(head) <= 2:
        return True
    if set(sizes) == {3} and len(head) <= 3:
        return mark == b"\xe2\x80\x99" or wrapped
    return set(sizes) == {4} and mark == b" " and len(head) <= 4


__all__ = ["grouped_runs"]
