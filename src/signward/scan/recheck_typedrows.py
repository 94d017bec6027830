"""The independent reader's reading of word rows in two layouts its row reader (`recheck_words`) does
not read as printed (issue #32, red team rt18 group B).

od types  `od -td4 -tx4`, `od -tu2 -c`: each offset's row is printed once per type, the first behind
          the offset, the others behind blanks as wide (rows of two forms alternate). A group is an
          offset line (6 to 22 digits, a blank, a row) and the 1 to `MAX_TYPES - 1` lines after it
          that begin with as many blanks as the offset has digits; consecutive groups of one line
          count are a listing. Each type is read apart: its rows, the group's offset put back before
          each, are rows of `recheck_words` (each at its group's raw span, joined as adjacent lines)
          read as its blocks are.
cells     `hexdump -e '8/2 "%6d"'`: decimal cells of one width without a separator (values touch:
          `  1234-12345 12345`). Consecutive lines of blanks, digits and `-` of one length (the last
          no longer), cut by the widest width of 2 to `MAX_CELL` that divides them and makes every
          cell a right-aligned number, when some cell touches the one before it (no blank between):
          the cells are a row's fields, read as `recheck_words` blocks.
Bounded: lines of at most `MAX_LINE` bytes, `MAX_ROWS` rows a block (a longer run in blocks that
repeat `OVERLAP_ROWS` rows), the width chosen on the first `SAMPLE_ROWS` rows; blocks counted against
the view's cap (`recheck_codecs.candidates`). The reader's own code: it imports nothing of the scanner.
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
MAX_ROWS = 4_096
OVERLAP_ROWS = 256
SAMPLE_ROWS = 64

_GROUP = re.compile(rb"(?m)^([0-9a-fA-F]{6,22}) [^\n]{1,%d}\n(?: {6}[^\n]{1,%d}(?:\n|$)){1,%d}"
                    % (MAX_LINE, MAX_LINE, MAX_TYPES - 1))
_NUMBERS = re.compile(rb"(?m)^[ 0-9-]{4,%d}\r?$" % MAX_LINE)
_NUMBER = re.compile(rb" *-?[0-9]+")

Group = tuple[int, int, bytes, list[bytes]]  # start, end, the offset, the group's lines


def read_typed(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every od listing of several types and every block of touching cells, read as word rows."""
    cap = candidates(data)
    count = 0
    for start, end in words._texts(data):
        if data.find(b"\n      ", start, end) >= 0:
            for rows in _od_types(data, start, end):
                count = _read(reader, data, f"{name} > od rows of one type", depth, rows, count, cap)
        for rows in _cells(data, start, end):
            count = _read(reader, data, f"{name} > fixed-width cells", depth, rows, count, cap)


def _od_types(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[list[words.Row | None]]:
    """Each listing's rows of one type (module docstring), a row per group."""
    groups: list[Group] = []
    for match in _GROUP.finditer(data, start, end):
        offset = match.group(1)
        lines = match.group(0).split(b"\n")
        size = 1
        while (size < len(lines) and lines[size][:len(offset)] == b" " * len(offset)
               and lines[size][len(offset):].strip()):
            size += 1
        group = (match.start(), match.start() + len(b"\n".join(lines[:size])), offset, lines[:size])
        if groups and (size == 1 or len(groups[-1][3]) != size or groups[-1][1] + 1 != group[0]):
            yield from _types(groups)
            groups = []
        if size > 1:
            groups.append(group)
    yield from _types(groups)


def _types(groups: list[tuple[int, int, bytes, list[bytes]]]) -> Iterator[list[words.Row | None]]:
    if len(groups) < 2:
        return
    for kind in range(len(groups[0][3])):
        yield [words._row(offset + texts[kind][len(offset):] if kind else texts[0], start, end)
               for start, end, offset, texts in groups]


def _cells(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[list[words.Row | None]]:
    """Each block of touching fixed-width cells, a row of fields per line."""
    block: list[tuple[int, int, bytes]] = []
    for match in [*_NUMBERS.finditer(data, start, end), None]:
        line = (match.start(), match.end(), match.group(0).rstrip(b"\r")) if match is not None else (-1, -1, b"")
        if match is not None and block and block[-1][1] + 1 == line[0] \
                and len(line[2]) <= len(block[0][2]) == len(block[-1][2]):
            block.append(line)
            continue
        if len(block) >= 2:
            width = _width([text for _, _, text in block[:SAMPLE_ROWS]] + [block[-1][2]])
            if width is not None:
                yield [_split(low, high, text, width) for low, high, text in block]
        block = [line] if match is not None else []


def _split(start: int, end: int, text: bytes, width: int) -> words.Row | None:
    cells = [text[at:at + width] for at in range(0, len(text), width)]
    if len(text) % width or not all(_NUMBER.fullmatch(cell) for cell in cells):
        return None
    return start, end, "n", [cell.strip(b" ") for cell in cells]


def _width(texts: list[bytes]) -> int | None:
    """The widest cell width cutting every line into right-aligned numbers, when cells touch."""
    for width in range(min(MAX_CELL, len(texts[0]) // 2), 1, -1):
        if any(len(text) % width for text in texts):
            continue
        cells = [(text[at:at + width], at) for text in texts for at in range(0, len(text), width)]
        if all(_NUMBER.fullmatch(cell) for cell, _ in cells):
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
