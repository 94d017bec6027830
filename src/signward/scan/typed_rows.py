"""The scanner's reading of word rows in layouts `word_rows.py` cannot read as printed (issue #32,
red team rt18 group B, rt19 group 3).

od types  `od -td4 -tx4`, `od -tu2 -c`: od prints each offset's row once per type, the first row
          behind the offset, the others behind blanks as wide, so rows of two forms alternate. A
          stretch of lines that each begin with an offset (6 to 8 hex digits, or 9 to 22 octal) and a
          blank or tab, or with a blank or tab, is made plain first: tabs expanded to 8 columns
          (`unexpand`, `unexpand -a`), a first column of line numbers that count up by one dropped
          (`awk '{print NR, $0}'`). A listing is consecutive groups of one offset line and 1 to
          `MAX_TYPES - 1` lines behind as many blanks, every group the same line count. Each type's
          rows are one block: the group's offset is put back before each row, and the block is read
          by `word_rows` (numeric words) and `printed_tools.tool_rows` (`od -c`).
od -An    the same without offsets: a run of lines behind a blank whose forms (decimal, hex of one
          width, characters) repeat every P lines, P the shortest of 2 to `MAX_TYPES` with which all
          but 1 in 16 pairs of the first `SAMPLE_ROWS` rows agree, when neighbours differ in 1 pair in
          4 or more (one type alone is `word_rows`'s). Each type's rows, a row per P lines, a block.
touching  `hexdump -e '8/2 "%6d"'`: fixed-width cells without a separator, so values touch
          (`  1234-12345 12345`). A block is consecutive lines of blanks, digits, hex letters, `:`
          and `-` only, of one length (the last may be shorter). Behind each offset column it may
          have (none first, then 1 to `MAX_PREFIX` characters of 4 to 16 hex digits, `:`, a blank:
          `"%08_ax: "`, `"%07_ad"` touching the first cell) the cell width is the widest W of 2 to
          `MAX_CELL` that divides every row and cuts each into right-aligned numbers, decimal
          (`[ ]*-?[0-9]+`) or, with a hex letter in the rows, hex (W of 2, 4, 8, 16; each narrower
          of these is read too: two touching cells of 8 may look like one of 16), taken only when
          two cells touch somewhere (else the cells are apart and `word_rows` reads them). The
          cells, split by width and joined by blanks (hex ones spelled in decimal), are read by
          `word_rows`.
A view keeps the layer and detail of the reader that read it (its detail names the layout too), its
span is the raw rows its rows came from. Bounded: lines of `MAX_LINE` characters, `MAX_TYPES` rows a
group, `MAX_CELL` characters a cell, `MAX_PREFIX` an offset column, the width and the period chosen on
the first `SAMPLE_ROWS` rows; the rewritten text is no longer than the listing's with its tabs
expanded, read once per type (linear). Written apart from the independent reader: nothing of `recheck*`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator

from .printed_tools import tool_rows
from .word_rows import word_rows

MAX_LINE = 4_096
MAX_TYPES = 8
MAX_CELL = 24
MAX_PREFIX = 20
HEX_WIDTHS = (2, 4, 8, 16)
SAMPLE_ROWS = 64

View = tuple[int, int, bytes, str, str]
_Reader = Callable[[bytes, int, int], Iterator[View]]

# a stretch of lines an od listing may be: each begins with an offset (6 to 8 hex digits, 9 to 22
# octal) and a blank or a tab, or with a blank or a tab, maybe behind a line number (`awk '{print NR, $0}'`)
_STRETCH = re.compile(rb"(?m)^(?:(?:[1-9][0-9]{0,8}[ ])?(?:[0-7]{9,22}|[0-9a-fA-F]{6,8})?[ \t]"
                      rb"[^\n]{0,%d}+(?:\n|\Z)){2,}+" % MAX_LINE)
_NUMBERED = re.compile(rb"([1-9][0-9]{0,8})[ ]")
_OFFSET = re.compile(rb"([0-9a-fA-F]{6,8}|[0-7]{9,22})[ ]")
_DECIMAL = re.compile(rb"-?[0-9]++")
_HEX = re.compile(rb"[0-9a-fA-F]++")
_CELLS = re.compile(rb"(?m)^[ 0-9a-fA-F:-]{4,%d}+\r?$" % MAX_LINE)
_CELL = re.compile(rb"[ ]*+-?[0-9]++")
_HEX_CELL = re.compile(rb"[ ]*+[0-9a-fA-F]++")
_LETTERS = re.compile(rb"[a-fA-F]")
# an offset column before the cells: hexdump's `"%08_ax: "`, `"%07_ad"` (touching the first cell)
_PREFIX = re.compile(rb"[0-9a-fA-F]{4,16}:?[ ]?")

Line = tuple[int, int, bytes]  # the raw line's start and end, its text made plain


def typed_rows(data: bytes, low: int, high: int) -> Iterator[View]:
    """od listings of several types and hexdump rows of touching cells (module docstring), read."""
    yield from _od_types(data, low, high)
    yield from _touching(data, low, high)


def _od_types(data: bytes, low: int, high: int) -> Iterator[View]:
    for stretch in _STRETCH.finditer(data, low, high):
        lines = _plain(data, stretch.start(), stretch.end())
        yield from _offset_listings(lines)
        yield from _unnumbered_listings(lines)


def _plain(data: bytes, start: int, end: int) -> list[Line]:
    """The stretch's lines, tabs expanded (8 columns) and line numbers that count by one dropped."""
    lines: list[Line] = []
    at = start
    while at < end:
        stop = data.find(b"\n", at, end)
        stop = end if stop < 0 else stop
        lines.append((at, stop, data[at:stop].expandtabs(8)))
        at = stop + 1
    numbers = [_NUMBERED.match(text) for _, _, text in lines]
    if all(numbers) and all(int(number.group(1)) == int(numbers[0].group(1)) + index  # type: ignore[union-attr]
                            for index, number in enumerate(numbers)):
        lines = [(low, high, text[number.end():]) for (low, high, text), number  # type: ignore[union-attr]
                 in zip(lines, numbers, strict=True)]
    return lines


def _offset_listings(lines: list[Line]) -> Iterator[View]:
    """Consecutive groups of one offset line and the lines behind blanks as wide, one line count."""
    groups: list[tuple[bytes, list[Line]]] = []
    index = 0
    while index <= len(lines):
        head = _OFFSET.match(lines[index][2]) if index < len(lines) else None
        group: list[Line] = []
        if head is not None:
            offset = head.group(1)
            group = [lines[index]]
            while (len(group) < MAX_TYPES and index + len(group) < len(lines)
                   and _behind(lines[index + len(group)][2], len(offset))):
                group.append(lines[index + len(group)])
        if len(group) < 2 or (groups and len(groups[-1][1]) != len(group)):
            yield from _types([[row for row in rows] for _, rows in groups], [offset for offset, _ in groups])
            groups = []
        if len(group) >= 2:
            groups.append((head.group(1), group))  # type: ignore[union-attr]
        index += max(1, len(group))


def _behind(text: bytes, width: int) -> bool:
    return text[:width] == b" " * width and bool(text[width:].strip(b" "))


def _types(groups: list[list[Line]], offsets: list[bytes]) -> Iterator[View]:
    """Each type's rows of a listing (the group's offset put back before the others) as one block."""
    if len(groups) < 2:
        return
    spans = [(group[0][0], group[-1][1]) for group in groups]
    for kind in range(len(groups[0])):
        rows = [offset + group[kind][2][len(offset):] if kind else group[0][2]
                for offset, group in zip(offsets, groups, strict=True)]
        yield from _read(rows, spans, (word_rows, tool_rows), f"od row type {kind + 1} of {len(groups[0])}")


def _unnumbered_listings(lines: list[Line]) -> Iterator[View]:
    """`od -An` with several types: runs of lines behind a blank whose types repeat with a period."""
    run: list[Line] = []
    for line in [*lines, None]:
        if line is not None and line[2][:1] == b" " and line[2].strip(b" "):
            run.append(line)
            continue
        period = _period([text for _, _, text in run[:SAMPLE_ROWS]])
        if period is not None:
            groups = [run[at:at + period] for at in range(0, len(run) - period + 1, period)]
            spans = [(group[0][0], group[-1][1]) for group in groups]
            for kind in range(period):
                yield from _read([group[kind][2] for group in groups], spans, (word_rows, tool_rows),
                                 f"od -An row type {kind + 1} of {period}")
        run = []


def _forms(text: bytes) -> frozenset[str]:
    """Which of od's types a row may print: decimal, fixed-width hex (octal too), or characters."""
    tokens = text.split()
    forms = set()
    if all(_DECIMAL.fullmatch(token) for token in tokens):
        forms.add("d")
    if all(len(token) == len(tokens[0]) and _HEX.fullmatch(token) for token in tokens):
        forms.add("x")
    return frozenset(forms or "c")


def _period(texts: list[bytes]) -> int | None:
    """The shortest period of 2 to `MAX_TYPES` lines with which the rows' forms repeat (1 in 16
    pairs may differ: an `od -c` row of octal escapes), when neighbours differ (1 in 4 pairs)."""
    forms = [_forms(text) for text in texts]

    def differ(period: int) -> int:
        return sum(not forms[at] & forms[at + period] for at in range(len(forms) - period))

    if len(forms) < 4 or differ(1) * 4 < len(forms) - 1:
        return None
    for period in range(2, min(MAX_TYPES, len(forms) // 2) + 1):
        if differ(period) * 16 <= len(forms) - period:
            return period
    return None


def _touching(data: bytes, low: int, high: int) -> Iterator[View]:
    block: list[re.Match[bytes]] = []
    for row in _CELLS.finditer(data, low, high):
        if block and row.start() != block[-1].end() + 1:
            yield from _cells(block)
            block = []
        block.append(row)
    if block:
        yield from _cells(block)


def _width(lines: list[bytes], cell: re.Pattern[bytes] = _CELL) -> int | None:
    """The widest cell width that cuts every row into right-aligned numbers, if cells touch."""
    length = len(lines[0])
    for width in range(min(MAX_CELL, length // 2), 1, -1):
        if length % width or len(lines[-1]) % width:
            continue
        if all(cell.fullmatch(line, at, at + width) for line in lines for at in range(0, len(line), width)):
            touch = any(line[at] != 0x20 for line in lines for at in range(width, len(line), width))
            return width if touch else None
    return None


def _cells(block: list[re.Match[bytes]]) -> Iterator[View]:
    """The block's cells behind each offset column it may have (none first), decimal or hex."""
    if len(block) < 2:
        return
    lines = [row.group(0).rstrip(b"\r") for row in block]
    if any(len(line) != len(lines[0]) for line in lines[:-1]) or len(lines[-1]) > len(lines[0]):
        return
    sample = lines[:SAMPLE_ROWS - 1] + lines[-1:]
    spans = [(row.start(), row.end()) for row in block]
    for prefix in range(min(MAX_PREFIX, len(lines[-1]) - 4) + 1):
        if prefix and not all(_PREFIX.fullmatch(line, 0, prefix) for line in sample):
            continue
        bodies = [line[prefix:] for line in sample]
        hexa = any(_LETTERS.search(body) for body in bodies)
        width = _width(bodies, _HEX_CELL if hexa else _CELL)
        if width is None or (hexa and width not in HEX_WIDTHS):
            continue
        for each in (HEX_WIDTHS[:HEX_WIDTHS.index(width) + 1] if hexa else (width,)):
            yield from _cut([line[prefix:] for line in lines], spans, each, hexa, prefix)


def _cut(bodies: list[bytes], spans: list[tuple[int, int]], width: int, hexa: bool, prefix: int) -> Iterator[View]:
    """The rows' cells of `width` joined by blanks (hex ones spelled in decimal: `word_rows` takes the
    word's width from the largest), read by `word_rows`."""
    cell = _HEX_CELL if hexa else _CELL
    rows: list[bytes] = []
    for body in bodies:
        if len(body) % width or not all(cell.fullmatch(body, at, at + width) for at in range(0, len(body), width)):
            break
        cells = [body[at:at + width].strip(b" ") for at in range(0, len(body), width)]
        rows.append(b" ".join(b"%d" % int(value, 16) for value in cells) if hexa else b" ".join(cells))
    layout = f"fixed-width {'hex ' if hexa else ''}cells of {width}"
    layout += f" behind a column of {prefix}" if prefix else ""
    yield from _read(rows, spans[:len(rows)], (word_rows,), layout)


def _read(rows: list[bytes], spans: list[tuple[int, int]], readers: tuple[_Reader, ...], layout: str) -> Iterator[View]:
    """The rewritten rows (one per raw span) read by `readers`, each view at its rows' raw span."""
    if len(rows) < 2:
        return
    text = b"\n".join(rows)
    starts = [0]
    for row in rows[:-1]:
        starts.append(starts[-1] + len(row) + 1)
    for reader in readers:
        for start, end, decoded, layer, detail in reader(text, 0, len(text)):
            first = bisect.bisect_right(starts, start) - 1
            last = bisect.bisect_right(starts, max(start, end - 1)) - 1
            yield spans[first][0], spans[last][1], decoded, layer, f"{detail} ({layout})"


__all__ = ["typed_rows"]
