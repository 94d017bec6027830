"""The independent reader's reading of word rows in layouts its row reader (`recheck_words`) does
not read as printed (issue #32, red team rt18 group B, rt19 group 3).

od types  `od -td4 -tx4`, `od -tu2 -c`: each offset's row is printed once per type, the first behind
          the offset, the others behind blanks as wide (rows of two forms alternate). Lines that may
          be a listing (an offset of 6 to 22 digits or nothing, then a blank or a tab; maybe behind a
          line number and a blank) are taken with tabs expanded to 8 columns (`unexpand`, `-a`) and,
          when every one begins with a number counting up by one (`awk '{print NR, $0}'`), without
          it. A group is an offset line and the 1 to `MAX_TYPES - 1` lines after it that begin with
          as many blanks as the offset has digits; consecutive groups of one line count are a
          listing. Each type is read apart: its rows, the group's offset put back before each, are
          rows of `recheck_words` (each at its group's raw span, joined as adjacent lines) read as
          its blocks are.
od -An    no offsets: a run of lines behind a blank is a listing of P types when the rows' shapes
          (signed decimal, digits of one width, characters) agree P lines apart (all but a sixteenth
          of the first `SAMPLE_ROWS`) and differ between neighbours (a quarter or more), P the
          smallest of 2 to `MAX_TYPES`; each type's rows, one per P lines at the P lines' span.
cells     `hexdump -e '8/2 "%6d"'`: cells of one width without a separator (values touch:
          `  1234-12345 12345`). Consecutive lines of blanks, digits, hex letters, `:` and `-` of
          one length (the last no longer); behind each offset column they may have (none, or 1 to
          `MAX_COLUMN` characters of 4 to 16 hex digits, `:`, a blank: `"%08_ax: "`, `"%07_ad"`), cut
          by the widest width of 2 to `MAX_CELL` that divides them and makes every cell a
          right-aligned number (decimal; hex when a hex letter is there, widths 2, 4, 8, 16 and every
          narrower one of these read too), when some cell touches the one before it: the cells are
          a row's fields (hex ones in decimal), read as `recheck_words` blocks.
Bounded: lines of at most `MAX_LINE` bytes, `MAX_ROWS` rows a block (a longer run in blocks that
repeat `OVERLAP_ROWS` rows), the width and period chosen on the first `SAMPLE_ROWS` rows; blocks
counted against the view's cap (`recheck_codecs.candidates`). The reader's own code: it imports
nothing of the scanner.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from . import recheck_words as words
from .recheck_codecs import Oversized, candidates

if TYPE_CHECKING:
    from .recheck import _Reader

MAX_LINE = 512
MAX_TYPES = 8
MAX_CELL = 24
MAX_COLUMN = 20
MAX_ROWS = 4_096
OVERLAP_ROWS = 256
SAMPLE_ROWS = 64

# lines an od listing may be made of: an offset (6 to 22 digits) or nothing, then a blank or a tab,
# the whole maybe behind a line number and a blank (awk's NR)
_LISTING = re.compile(rb"(?m)(?:^(?:[1-9][0-9]{0,8} )?(?:[0-9a-fA-F]{6,22})?[ \t][^\n]{0,%d}(?:\n|$)){2,}"
                      % MAX_LINE)
_HEAD = re.compile(rb"([0-9a-fA-F]{6,22}) ")
_LINENO = re.compile(rb"[1-9][0-9]{0,8} ")
_SIGNED = re.compile(rb"-?[0-9]+")
_HEXDIGITS = re.compile(rb"[0-9a-fA-F]+")
_NUMBERS = re.compile(rb"(?m)^[ 0-9a-fA-F:-]{4,%d}\r?$" % MAX_LINE)
_NUMBER = re.compile(rb" *-?[0-9]+")
_HEXNUMBER = re.compile(rb" *[0-9a-fA-F]+")
_OFFSET_COLUMN = re.compile(rb"[0-9a-fA-F]{4,16}:? ?")  # hexdump's "%08_ax: ", "%07_ad" before the cells

Group = tuple[int, int, bytes, list[bytes]]  # start, end, the offset, the group's lines
Line = tuple[int, int, bytes]  # raw start, raw end, the text with tabs expanded and awk's numbers dropped


def read_typed(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every od listing of several types and every block of touching cells, read as word rows."""
    cap = candidates(data)
    count = 0
    for start, end in words._texts(data):
        for match in _LISTING.finditer(data, start, end):
            lines = _lines(data, match.start(), match.end())
            for rows in _od_types(lines):
                count = _read(reader, data, f"{name} > od rows of one type", depth, rows, count, cap)
            for rows in _an_types(lines):
                count = _read(reader, data, f"{name} > od -An rows of one type", depth, rows, count, cap)
        for rows in _cells(data, start, end):
            count = _read(reader, data, f"{name} > fixed-width cells", depth, rows, count, cap)


def _lines(data: bytes | mmap.mmap, start: int, end: int) -> list[Line]:
    """The listing's lines; a first column of line numbers that count up by one is dropped."""
    raw = bytes(data[start:end])
    lines: list[Line] = []
    at = 0
    for text in raw.split(b"\n"):
        if text or at < len(raw):
            lines.append((start + at, start + at + len(text), text.expandtabs(8)))
        at += len(text) + 1
    heads = [_LINENO.match(text) for _, _, text in lines]
    counted = [int(head.group(0)) if head is not None else -1 for head in heads]
    if counted[0] > 0 and counted == list(range(counted[0], counted[0] + len(lines))):
        lines = [(low, high, text[text.index(b" ") + 1:]) for low, high, text in lines]
    return lines


def _od_types(lines: list[Line]) -> Iterator[list[words.Row | None]]:
    """Each listing's rows of one type (module docstring), a row per group."""
    groups: list[Group] = []
    at = 0
    while at < len(lines):
        head = _HEAD.match(lines[at][2])
        size = 1
        if head is not None:
            offset = head.group(1)
            while (size < MAX_TYPES and at + size < len(lines)
                   and lines[at + size][2][:len(offset)] == b" " * len(offset)
                   and lines[at + size][2][len(offset):].strip()):
                size += 1
        if groups and (size == 1 or len(groups[-1][3]) != size):
            yield from _types(groups)
            groups = []
        if head is not None and size > 1:
            groups.append((lines[at][0], lines[at + size - 1][1], head.group(1),
                           [text for _, _, text in lines[at:at + size]]))
        at += size
    yield from _types(groups)


def _types(groups: list[Group]) -> Iterator[list[words.Row | None]]:
    if len(groups) < 2:
        return
    for kind in range(len(groups[0][3])):
        yield [words._row(offset + texts[kind][len(offset):] if kind else texts[0], start, end)
               for start, end, offset, texts in groups]


def _an_types(lines: list[Line]) -> Iterator[list[words.Row | None]]:
    """`od -An -tA -tB`: a run of lines behind a blank whose types repeat every P lines (P of 2 to
    `MAX_TYPES`), each type's rows a row per P lines (its span the P lines')."""
    run: list[Line] = []
    for line in [*lines, (0, 0, b"")]:
        if line[2].startswith(b" ") and line[2].strip():
            run.append(line)
            continue
        period = _repeats([_shape(text) for _, _, text in run[:SAMPLE_ROWS]])
        if period:
            for kind in range(period):
                yield [words._row(run[at + kind][2], run[at][0], run[at + period - 1][1])
                       for at in range(0, len(run) - period + 1, period)]
        run = []


def _shape(text: bytes) -> set[str]:
    """The od types the row could be printed in: signed decimal, hex (or octal) of one width, else characters."""
    fields = text.split()
    shape = set()
    if all(_SIGNED.fullmatch(field) for field in fields):
        shape.add("decimal")
    if all(_HEXDIGITS.fullmatch(field) and len(field) == len(fields[0]) for field in fields):
        shape.add("digits")
    return shape or {"chars"}


def _repeats(shapes: list[set[str]]) -> int:
    """The period, 0 if none: neighbouring rows unlike in a quarter of pairs or more, rows P apart
    alike in all but a sixteenth (an `od -c` row of escapes only looks like numbers)."""
    def unlike(step: int) -> int:
        return sum(1 for at in range(len(shapes) - step) if not shapes[at] & shapes[at + step])

    if len(shapes) < 4 or 4 * unlike(1) < len(shapes) - 1:
        return 0
    return next((step for step in range(2, min(MAX_TYPES, len(shapes) // 2) + 1)
                 if 16 * unlike(step) <= len(shapes) - step), 0)


def _cells(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[list[words.Row | None]]:
    """Each block of touching fixed-width cells (behind each offset column it may have), a row per line."""
    block: list[tuple[int, int, bytes]] = []
    for match in [*_NUMBERS.finditer(data, start, end), None]:
        line = (match.start(), match.end(), match.group(0).rstrip(b"\r")) if match is not None else (-1, -1, b"")
        if match is not None and block and block[-1][1] + 1 == line[0] \
                and len(line[2]) <= len(block[0][2]) == len(block[-1][2]):
            block.append(line)
            continue
        if len(block) >= 2:
            yield from _columns(block)
        block = [line] if match is not None else []


def _columns(block: list[tuple[int, int, bytes]]) -> Iterator[list[words.Row | None]]:
    texts = [text for _, _, text in block[:SAMPLE_ROWS]] + [block[-1][2]]
    for column in range(0, min(MAX_COLUMN, len(block[-1][2]) - 4) + 1):
        if column and any(_OFFSET_COLUMN.fullmatch(text[:column]) is None for text in texts):
            continue
        cut = [text[column:] for text in texts]
        hexa = any(re.search(rb"[a-fA-F]", text) for text in cut)
        width = _width(cut, _HEXNUMBER if hexa else _NUMBER)
        if width is None or (hexa and width not in (2, 4, 8, 16)):
            continue
        for each in [w for w in (2, 4, 8, 16) if w <= width] if hexa else [width]:
            yield [_split(low, high, text[column:], each, hexa) for low, high, text in block]


def _split(start: int, end: int, text: bytes, width: int, hexa: bool = False) -> words.Row | None:
    cells = [text[at:at + width] for at in range(0, len(text), width)]
    if len(text) % width or not all((_HEXNUMBER if hexa else _NUMBER).fullmatch(cell) for cell in cells):
        return None
    if hexa:  # in decimal: the width of a word is the reading's, from the largest
        return start, end, "n", [str(int(cell, 16)).encode() for cell in cells]
    return start, end, "n", [cell.strip(b" ") for cell in cells]


def _width(texts: list[bytes], number: re.Pattern[bytes] = _NUMBER) -> int | None:
    """The widest cell width cutting every line into right-aligned numbers, when cells touch."""
    for width in range(min(MAX_CELL, len(texts[0]) // 2), 1, -1):
        if any(len(text) % width for text in texts):
            continue
        cells = [(text[at:at + width], at) for text in texts for at in range(0, len(text), width)]
        if all(number.fullmatch(cell) for cell, _ in cells):
            return width if any(at and cell[:1] != b" " for cell, at in cells) else None
    return None


def _read(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int, rows: Iterable[words.Row | None],
          count: int, cap: int) -> int:
    """The rows' blocks (adjacent rows of one kind and field count), each read by `recheck_words`."""
    block: list[words.Row] = []
    for row in [*rows, None]:
        if row is not None and block and words._joins(data, block, row) and len(block) < MAX_ROWS:
            block.append(row)
            continue
        if len(block) >= 2:
            count += 1
            if count > cap:
                raise Oversized(f"more than {cap} typed word-row blocks in a view of {len(data)} bytes")
            words._block(reader, name, depth, block)
            if len(block) >= MAX_ROWS and row is not None and words._joins(data, block, row):
                block = block[-OVERLAP_ROWS:] + [row]
                continue
        block = [row] if row is not None else []
    return count


__all__ = ["read_typed"]
