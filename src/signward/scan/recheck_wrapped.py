"""The independent reader's joining of base58 and Z85 wrapped over lines at a fixed width (rt16):
a block of adjacent lines each only of the alphabet (indentation, CRLF allowed) is cut into runs,
each of lines of one width (16 or more; base58 12 or more, rt18) and then at most one no wider
line, and each run read as one. A base58 block's lines may each start with a prefix of up to
`PREFIX` printable characters (rt17: an e-mail's `> `, a log's timestamp and level) that does not
end in a letter or digit: its rows are the base58 runs ending the lines; a Z85 block's the same,
behind a prefix that ends in a blank (Z85's alphabet holds `>`, `:` and `[`). rt19: base58 rows
from `NARROWEST_PAIR` columns are joined too (`b58_rows` gives each run's row width: the caller
keeps a narrow one only when it is a self-checking Ed25519 pair), and rows each behind a line
number touching it (`nl -s ''`, the numbers counting up by one) are joined with the numbers
taken off (`numbered_b58`). Its own code, written apart from the scanner's `wrapped_runs.py`."""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator

from . import recheck_zeros as zeros

NARROWEST = 16
NARROWEST_B58 = 12  # rt18: base58 wrapped at 15 columns (a log's tails narrower than 12 are joined by chance)
NARROWEST_PAIR = 8  # rt19: narrower base58 rows, kept by the caller only as a self-checking 64-byte pair
MOST_LINES = 256

PREFIX = 80
_B58_END = rb"(?<![0-9A-Za-z])[1-9A-HJ-NP-Za-km-z]++[ \t]*+\r?"
B58_BLOCK = re.compile(rb"(?m)(?:^[\t -~]{0,%d}?%s\n){1,4096}[\t -~]{0,%d}?%s$" % (PREFIX, _B58_END, PREFIX, _B58_END))
_B58_ROW = re.compile(rb"(?<![0-9A-Za-z])([1-9A-HJ-NP-Za-km-z]++)[ \t]*+\r?(?:\n|$)")
_Z85 = rb"-0-9a-zA-Z.:+=^!/*?&<>()\[\]{}@%$#"
# a Z85 row's prefix (Z85 holds `>`, `:`, `[`) ends in a blank, or there is none
_Z85_END = rb"(?<![^ \t\n])[%s]++[ \t]*+\r?" % _Z85
Z85_BLOCK = re.compile(rb"(?m)(?:^[\t -~]{0,%d}?%s\n){1,4096}[\t -~]{0,%d}?%s$" % (PREFIX, _Z85_END, PREFIX, _Z85_END))
_Z85_ROW = re.compile(rb"(?<![^ \t\n])([%s]++)[ \t]*+\r?(?:\n|$)" % _Z85)


def wrapped(block: re.Pattern[bytes], data: bytes | mmap.mmap, longest: int) -> Iterator[tuple[tuple[int, int], bytes]]:
    """((start, end), joined characters) of every wrapped run in the blocks `block` finds."""
    narrowest = NARROWEST_B58 if block is B58_BLOCK else NARROWEST
    for span, joined, _ in _joined(block, data, longest, narrowest):
        yield span, joined


def b58_rows(data: bytes | mmap.mmap, longest: int) -> Iterator[tuple[tuple[int, int], bytes, int]]:
    """((start, end), joined characters, row width) of every base58 run wrapped at `NARROWEST_PAIR`
    columns or more, and, where its last row is shorter (it may be the tail of the line after the
    run, `end of region`), the run without it."""
    for span, joined, width in _joined(B58_BLOCK, data, longest, NARROWEST_PAIR):
        yield span, joined, width
        tail = len(joined) % width
        if tail and len(joined) < longest and len(joined) - tail >= 2 * width:  # rt19: a shorter last row may
            # be the next line's tail; the rows before it read alone (two or more: one is a line's run)
            yield (span[0], span[1] - tail), joined[:-tail], width


def _joined(block: re.Pattern[bytes], data: bytes | mmap.mmap, longest: int,
            narrowest: int) -> Iterator[tuple[tuple[int, int], bytes, int]]:
    for found in zeros.finditer(block, data):
        cells = _B58_ROW if block is B58_BLOCK else _Z85_ROW
        rows = [(line.start(1), line.end(1), line.group(1)) for line in cells.finditer(found.group(0))]
        base = found.start()
        first = 0
        while first < len(rows) - 1:
            width = len(rows[first][2])
            if width < narrowest:  # rt17: a log's lines ending in short words, one step each
                first += 1
                continue
            after = first + 1
            while after < len(rows) and after - first < MOST_LINES and len(rows[after][2]) == width:
                after += 1
            if after < len(rows) and after - first < MOST_LINES and len(rows[after][2]) < width:
                after += 1
            if width < narrowest or after - first < 2:
                first += 1
                continue
            joined = b"".join(row[2] for row in rows[first:after])
            yield (base + rows[first][0], base + rows[after - 1][1]), joined[:longest], width
            first = after


NUMBER_DIGITS = 7
_NUMBERED_LINE = rb"^[ \t]*+[1-9][0-9A-HJ-NP-Za-km-z]*+[ \t]*+\r?"
NUMBERED_BLOCK = re.compile(rb"(?m)(?:%s\n){1,4096}+(?:%s$)?" % (_NUMBERED_LINE, _NUMBERED_LINE))
_NUMBERED_ROW = re.compile(rb"(?m)^[ \t]*+([1-9][0-9A-HJ-NP-Za-km-z]*+)")


def numbered_b58(data: bytes | mmap.mmap, longest: int) -> Iterator[tuple[tuple[int, int], bytes, int]]:
    """((start, end), joined rows, row width) of each run of 2+ adjacent lines, each a number
    (one more than the line's before) touching a base58 row, the numbers taken off; the rows of one
    width (`NARROWEST_PAIR` or more), the last no wider."""
    for found in zeros.finditer(NUMBERED_BLOCK, data):
        base = found.start()
        lines = [(line.start(1), bytes(line.group(1))) for line in _NUMBERED_ROW.finditer(found.group(0))]
        at = 0
        while at + 1 < len(lines):
            head = lines[at][1]
            taken, size = 1, 0
            for digits in range(min(NUMBER_DIGITS, len(head) - 1), 0, -1):
                if not head[:digits].isdigit():
                    continue
                start = int(head[:digits])
                count = 1
                while at + count < len(lines) and count < MOST_LINES \
                        and lines[at + count][1].startswith(str(start + count).encode()):
                    count += 1
                if count > taken:
                    taken, size = count, digits
            if taken < 2:
                at += 1
                continue
            start = int(head[:size])
            rows = [(offset + len(str(start + step)), text[len(str(start + step)):])
                    for step, (offset, text) in enumerate(lines[at:at + taken])]
            width = len(rows[0][1])
            if width >= NARROWEST_PAIR and {len(text) for _, text in rows[:-1]} == {width} \
                    and 1 <= len(rows[-1][1]) <= width and all(b"0" not in text for _, text in rows):
                span = (base + rows[0][0], base + rows[-1][0] + len(rows[-1][1]))
                yield span, b"".join(text for _, text in rows)[:longest], width
            at += taken


__all__ = ["B58_BLOCK", "NUMBERED_BLOCK", "Z85_BLOCK", "b58_rows", "numbered_b58", "wrapped"]
