"""The independent reader's other groupings of big decimal integers (rt16, rt17): any run of digit
groups (1-4 digits, one separator: `,` `_` `.` `'` space, U+00A0 or U+2019, a line break and
indentation allowed before or after it) is cut out by one pattern, then its shape decides: en_IN
lakh (twos, then a last three, comma or U+00A0), threes with U+2019, fours with a space or `_`, or
threes wrapped over lines. Threes on one line with an ASCII separator are
`recheck_encodings._GROUPED`'s. Also bare digits wrapped at a fixed width: a block of lines of only
digits (indentation, CRLF allowed) whose first `WIDEST_ID`+ digits wide line sets the width, the
lines after it of that width and then at most one narrower. Its own code, apart from the scanner's
`grouped_forms.py`.

rt18 (group D), `regrouped_runs`: digits in groups of one size 3-10 with one separator (the first or
the last group shorter, not both), hex in groups of 4, 8 or 16 with `_`, over lines or not: a line
break after `LINE` bytes of line or more (and indentation) beside a separator, for one, or inside a
group. Each run is cut by one pattern, then read group by group for each size, the longest reading
kept and the rest read again from where it ends (linear); each reading also without a short first
group and without its first or its last line. Digits joined by backslash line continuations too.

rt19 (group 5): separators `, ` / `. ` (on one line a different kind from `,` / `.`: a list of
`1,234,567, 89,012` amounts is no number; a separator beside a line break is compared without its
blank), `-` and U+066C too; hex by fours (8, 16) with U+202F, U+2009 or `-` as well as `_`."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator

from . import recheck_zeros as zeros

WIDEST_ID = 25  # a line of fewer digits is an identifier's, not a wrapped number's
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
        digits = b"".join(groups)
        if _shaped(mark, head, [len(group) for group in rest], b"\n" in text) and len(digits) <= MOST_DIGITS:
            yield found.span(), int(digits)  # (no key's integer is longer; int() refuses over 4,300 digits)
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


LINE = 16  # bytes a line holds before a number wraps onto the next
FEWEST = {10: 64, 16: 52}  # digits of a run that can hold a key-sized number (216 bits and more)
_BROKEN = rb"[ \t]{0,16}+(?<=[^\r\n]{%d})\r?\n[ \t]{0,64}+" % LINE
# rt19: `, ` / `. ` (a comma or dot and one space: the same kind as the bare one), `-`, U+066C
_SEPARATORS = rb"(?:_|, ?|\. ?|'| |-|\xc2\xa0|\xe2\x80\x88|\xe2\x80\x89|\xe2\x80\xaf|\xe2\x80\x99|\xd9\xac)"
_STEP = rb"(?:%s(?:%s)?|(?:%s)%s?)" % (_SEPARATORS, _BROKEN, _BROKEN, _SEPARATORS)
_DECIMAL = re.compile(rb"(?<![0-9A-Za-z_.,])[0-9]{1,10}+(?![0-9])(?:%s[0-9]{1,10}+(?![0-9])){2,1300}+" % _STEP)
_HEX_MARK = rb"(?:_|-|\xe2\x80\xaf|\xe2\x80\x89)"  # rt19: by fours with U+202F (U+2009, `-`) too
_HEX_STEP = rb"(?:%s(?:%s)?|(?:%s)%s?)" % (_HEX_MARK, _BROKEN, _BROKEN, _HEX_MARK)
_HEX = re.compile(rb"(?:(?<=0x)|(?<![0-9A-Za-z_]))[0-9a-fA-F]{1,16}+(?![0-9A-Za-z])(?:%s[0-9a-fA-F]{1,16}+"
                  rb"(?![0-9A-Za-z])){2,1300}+" % _HEX_STEP)
_ITEM = {10: re.compile(rb"[0-9]+"), 16: re.compile(rb"[0-9a-fA-F]+")}
_CONTINUATION = re.compile(rb"(?<![0-9A-Za-z_.,])[0-9]{1,2500}+(?:[ \t]{0,16}+\\\r?\n[ \t]{0,64}+[0-9]{1,2500}+)"
                           rb"{1,64}+(?![0-9])")
Item = tuple[int, int, bytes | None, int]  # offsets in the run, the separator before (None: a line break), line number


def regrouped_runs(data: bytes | mmap.mmap) -> Iterator[tuple[tuple[int, int], int, str]]:
    """((start, end), value, label) of each number in the rt18 shapes of the module docstring."""
    for pattern, base, sizes in ((_DECIMAL, 10, tuple(range(3, 11))), (_HEX, 16, (4, 8, 16))):
        label = "decimal (regrouped)" if base == 10 else "hex (regrouped)"
        for found in zeros.finditer(pattern, data):
            text = bytes(found.group(0))
            if len(text) - len(text.translate(None, _ITEM_BYTES[base])) < FEWEST[base]:
                continue
            items = _items(text, base)
            for low, high in _numbers(items, sizes):
                digits = b"".join(text[item[0]:item[1]] for item in items[low:high])
                if base == 10 and len(digits) > MOST_DIGITS:
                    continue
                yield (found.start() + items[low][0], found.start() + items[high - 1][1]), int(digits, base), label
    for found in zeros.finditer(_CONTINUATION, data):
        digits = re.sub(rb"[^0-9]", b"", bytes(found.group(0)))
        if len(digits) <= MOST_DIGITS:
            yield found.span(), int(digits), "decimal (continued lines)"


_ITEM_BYTES = {10: b"0123456789", 16: b"0123456789abcdefABCDEF"}


def _items(text: bytes, base: int) -> list[Item]:
    items: list[Item] = []
    previous, line = 0, 0
    for item in _ITEM[base].finditer(text):
        between = text[previous:item.start()]
        if b"\n" in between:
            line += 1
        if b"\n" in between:  # the separator beside a line break, marked by a trailing `\n` (or none)
            kept = bytes(byte for byte in between if byte not in b" \t\r\n")
            mark = kept + b"\n" if kept else b""
        else:
            mark = between  # rt19: on one line the whole separator: `, ` is another kind than `,`
        items.append((item.start(), item.end(), mark or None, line))
        previous = item.end()
    return items


def _groups(items: list[Item], at: int, size: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(digits, separator before it, the item after it) of each group from `at`: a group ends at a
    separator, or at a line break when the next item would not fit in it; one too long ends all."""
    length, mark = 0, None
    for index in range(at, len(items)):
        width = items[index][1] - items[index][0]
        if index > at and (items[index][2] is not None or length + width > size):
            yield length, mark, index
            length, mark = 0, items[index][2]
        length += width
        if length > size:
            return
    yield length, mark, len(items)


def _one_kind(kind: bytes, mark: bytes) -> bool:
    """Equal, or one of them beside a line break (`\n` last) and equal without blanks (`, ` and a
    `,` that ends a line)."""
    if mark == kind:
        return True
    if b"\n" not in kind + mark:
        return False
    return kind.replace(b"\n", b"").strip() == mark.replace(b"\n", b"").strip()


def _longest(items: list[Item], at: int, size: int) -> tuple[int, bool]:
    """(items of the longest number from `at` grouped by `size`, 0 if none; its first group short)."""
    head, kind, count, taken = 0, None, 0, at
    for length, mark, after in _groups(items, at, size):
        if count:
            if mark is not None and kind is not None and not _one_kind(kind, mark):
                break
            if kind is None or kind[-1:] == b"\n":  # a separator on one line sets the kind
                kind = mark or kind
            if length != size:
                if head == size:  # the last group may be short after a whole first one
                    count, taken = count + 1, after
                break
        else:
            head = length
        count, taken = count + 1, after
    return (taken - at if count >= 3 else 0), head < size


def _numbers(items: list[Item], sizes: tuple[int, ...]) -> Iterator[tuple[int, int]]:
    """Item ranges [low, high) read: each longest number, it without its first or last line, and
    after a short first group the number read again from the next item."""
    at = 0
    while at < len(items) - 1:
        count, short = _widest(items, at, sizes)
        if not count:
            at += 1
            continue
        end = at + count
        ranges = {(at, end)}
        breaks = [index for index in range(at + 1, end) if items[index][3] != items[index - 1][3]]
        if breaks:
            ranges |= {(breaks[0], end), (at, breaks[-1]), (breaks[0], breaks[-1])}
        if short:
            ranges.add((at + 1, at + 1 + _widest(items, at + 1, sizes)[0]))
        yield from sorted(pair for pair in ranges if pair[1] - pair[0] >= 3)
        at = end


def _widest(items: list[Item], at: int, sizes: tuple[int, ...]) -> tuple[int, bool]:
    """The longest reading from `at` over the sizes (one between two separators sets the size)."""
    tried = sizes
    if at + 2 < len(items) and items[at + 1][2] is not None and items[at + 2][2] is not None:
        tried = tuple(size for size in sizes if size == items[at + 1][1] - items[at + 1][0])
    return max((_longest(items, at, size) for size in tried), default=(0, False))


__all__ = ["grouped_runs", "regrouped_runs"]
