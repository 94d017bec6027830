"""The scanner's reading of word rows in two layouts `word_rows.py` cannot read as printed (issue #32,
red team rt18 group B).

od types  `od -td4 -tx4`, `od -tu2 -c`: od prints each offset's row once per type, the first row
          behind the offset, the others behind blanks as wide, so rows of two forms alternate. A
          listing is consecutive groups of one offset line (6 to 8 hex digits, or 9 to 22 octal)
          and 1 to `MAX_TYPES - 1` lines behind as many blanks, every group the same line count. Each
          type's rows are one block: the group's offset is put back before each row, and the block
          is read by `word_rows` (numeric words) and `printed_tools.tool_rows` (`od -c`).
touching  `hexdump -e '8/2 "%6d"'`: fixed-width decimal cells without a separator, so values touch
          (`  1234-12345 12345`). A block is consecutive lines of blanks, digits and `-` only, of one
          length (the last may be shorter); the cell width is the widest W of 2 to `MAX_CELL` that
          divides every row and cuts each into right-aligned numbers (`[ ]*-?[0-9]+`), taken only
          when two cells touch somewhere (else the cells are apart and `word_rows` reads them). The
          cells, split by width and joined by blanks, are read by `word_rows`.
A view keeps the layer and detail of the reader that read it (its detail names the layout too), its
span is the raw rows its rows came from. Bounded: lines of `MAX_LINE` characters, `MAX_TYPES` rows a
group, `MAX_CELL` characters a cell, the width chosen on the first `SAMPLE_ROWS` rows; the rewritten
text is no longer than the listing, read once per type (linear). Written apart from the independent
reader: nothing of `recheck*`.
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
SAMPLE_ROWS = 64

View = tuple[int, int, bytes, str, str]
_Reader = Callable[[bytes, int, int], Iterator[View]]

# one offset and its row, then the other types' rows behind blanks (at least 6: od's narrowest offset)
_GROUP = re.compile(rb"(?m)^([0-9a-fA-F]{6,8}|[0-7]{9,22})[ ][^\n]{1,%d}+(?:\n|\Z)"
                    rb"(?:[ ]{6}[^\n]{0,%d}+(?:\n|\Z)){1,%d}+" % (MAX_LINE, MAX_LINE, MAX_TYPES - 1))
_CELLS = re.compile(rb"(?m)^[ 0-9-]{4,%d}+\r?$" % MAX_LINE)
_CELL = re.compile(rb"[ ]*+-?[0-9]++")


def typed_rows(data: bytes, low: int, high: int) -> Iterator[View]:
    """od listings of several types and hexdump rows of touching cells (module docstring), read."""
    if data.find(b"\n      ", low, high) >= 0:
        yield from _od_types(data, low, high)
    yield from _touching(data, low, high)


def _listings(data: bytes, low: int, high: int) -> Iterator[list[re.Match[bytes]]]:
    """Runs of consecutive od groups of one line count."""
    run: list[re.Match[bytes]] = []
    for group in _GROUP.finditer(data, low, high):
        if run and (group.start() != run[-1].end() or len(_lines(group)) != len(_lines(run[-1]))):
            yield run
            run = []
        run.append(group)
    if run:
        yield run


def _lines(group: re.Match[bytes]) -> list[bytes]:
    return group.group(0).rstrip(b"\n").split(b"\n")


def _od_types(data: bytes, low: int, high: int) -> Iterator[View]:
    for run in _listings(data, low, high):
        if len(run) < 2:
            continue
        spans = [(group.start(), group.end() - (group.group(0)[-1:] == b"\n")) for group in run]
        groups = [_lines(group) for group in run]
        for kind in range(len(groups[0])):
            rows: list[bytes] = []
            for group, lines in zip(run, groups, strict=True):
                offset = group.group(1)
                line = lines[kind]
                if kind and line[:len(offset)].strip(b" "):
                    break  # not behind blanks as wide as the offset: the listing's rows end here
                rows.append(offset + line[len(offset):] if kind else line)
            yield from _read(rows, spans, (word_rows, tool_rows), f"od row type {kind + 1} of {len(groups[0])}")


def _touching(data: bytes, low: int, high: int) -> Iterator[View]:
    block: list[re.Match[bytes]] = []
    for row in _CELLS.finditer(data, low, high):
        if block and row.start() != block[-1].end() + 1:
            yield from _cells(block)
            block = []
        block.append(row)
    if block:
        yield from _cells(block)


def _width(lines: list[bytes]) -> int | None:
    """The widest cell width that cuts every row into right-aligned numbers, if cells touch."""
    length = len(lines[0])
    for width in range(min(MAX_CELL, length // 2), 1, -1):
        if length % width or len(lines[-1]) % width:
            continue
        if all(_CELL.fullmatch(line, at, at + width) for line in lines for at in range(0, len(line), width)):
            touch = any(line[at] != 0x20 for line in lines for at in range(width, len(line), width))
            return width if touch else None
    return None


def _cells(block: list[re.Match[bytes]]) -> Iterator[View]:
    if len(block) < 2:
        return
    lines = [row.group(0).rstrip(b"\r") for row in block]
    if any(len(line) != len(lines[0]) for line in lines[:-1]) or len(lines[-1]) > len(lines[0]):
        return
    width = _width(lines[:SAMPLE_ROWS - 1] + lines[-1:])
    if width is None:
        return
    rows: list[bytes] = []
    for line in lines:
        if len(line) % width or not all(_CELL.fullmatch(line, at, at + width) for at in range(0, len(line), width)):
            break
        rows.append(b" ".join(line[at:at + width].strip(b" ") for at in range(0, len(line), width)))
    spans = [(row.start(), row.end()) for row in block]
    yield from _read(rows, spans, (word_rows,), f"fixed-width cells of {width}")


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
