"""The scanner's joining of a run wrapped over lines at a fixed width (rt16): lines (indented or
not, LF or CRLF) that are each only characters of one alphabet, all but the last of one width and
the last no longer, are one run; used for base58 and Z85 (`printed_encodings.py`). For base58 the
run may also end lines behind a prefix (rt17: an e-mail's `> `, a log's timestamp and level):
`tail_pattern`'s run at each line's end, after a byte that is no letter or digit; for Z85 (whose
alphabet holds `>`, `:` and `[`) `blank_tail_pattern`'s run, after a blank or at the line's start.
rt19: base58 rows each behind its line number touching it (`nl -s ''`: `     1` then the row, the
numbers counting up by one), the numbers taken off (`numbered_runs`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

MIN_WIDTH = 16  # a line narrower than this is not a wrapped run's line (40/64/76/80 in practice; base58: 12, rt18)
MAX_LINES = 256  # lines joined into one run at most (bounded; the alphabets' maxima are 4 KiB / 8 KiB)

Run = tuple[int, int, bytes]


def line_pattern(alphabet: bytes) -> re.Pattern[bytes]:
    """One whole line of `alphabet` characters (a character class body), indentation allowed (the
    last line of a wrapped run may be one character)."""
    return re.compile(rb"(?m)^[ \t]*+([%s]++)[ \t]*+\r?$" % alphabet)


def tail_pattern(alphabet: bytes) -> re.Pattern[bytes]:
    """The run of `alphabet` characters that ends a line (trailing blanks allowed), behind any
    prefix that does not end in a letter or digit (linear: a run is tried only at its start)."""
    return re.compile(rb"(?m)(?<![0-9A-Za-z])([%s]++)[ \t]*+\r?$" % alphabet)


def blank_tail_pattern(alphabet: bytes) -> re.Pattern[bytes]:
    """The run of `alphabet` characters that ends a line, at the line's start or behind a prefix
    that ends in a blank (`> `, `2026-12-07T10:00:00Z INFO `): for an alphabet with punctuation,
    where only a blank marks where a prefix ends (linear: a run is tried only at its start)."""
    return re.compile(rb"(?m)(?<![^ \t\n])([%s]++)[ \t]*+\r?$" % alphabet)


def wrapped_runs(data: bytes, low: int, high: int, lines: re.Pattern[bytes], longest: int,
                 narrowest: int = MIN_WIDTH) -> Iterator[Run]:
    """(start, end, joined characters) of each run of two or more adjacent lines of `lines` where
    all but the last have one width and the last is no wider; `longest` characters at most.
    Lines narrower than `narrowest` start no run. Linear: each line is matched once and belongs to one run."""
    block: list[re.Match[bytes]] = []
    for match in lines.finditer(data, low, high):
        if block and (data[block[-1].end():block[-1].end() + 1] != b"\n"
                      or data.find(b"\n", block[-1].end() + 1, match.start()) >= 0):  # not the next line
            yield from _split(block, longest, narrowest)
            block = []
        block.append(match)
    yield from _split(block, longest, narrowest)


def _split(block: list[re.Match[bytes]], longest: int, narrowest: int) -> Iterator[Run]:
    """Adjacent lines into runs: from each line, the lines of its width, then one shorter."""
    index = 0
    while index < len(block):
        width = len(block[index].group(1))
        if width < narrowest:  # rt17: lines ending in short words are many (linear: no run from here)
            index += 1
            continue
        last = index + 1
        while last < len(block) and len(block[last].group(1)) == width and last - index < MAX_LINES:
            last += 1
        if last < len(block) and len(block[last].group(1)) < width and last - index < MAX_LINES:
            last += 1
        if last - index >= 2 and width >= narrowest:
            joined = b"".join(match.group(1) for match in block[index:last])[:longest]
            yield block[index].start(1), block[last - 1].end(1), joined
            index = last
        else:
            index += 1


MAX_NUMBER = 7  # digits of a row number at most
NUMBERED_B58 = re.compile(rb"(?m)^[ \t]*+([0-9]{1,%d}[1-9A-HJ-NP-Za-km-z]++)[ \t]*+\r?$" % MAX_NUMBER)
NumberedRun = tuple[int, int, bytes, int]  # start, end, joined rows, the first row's width


def numbered_runs(data: bytes, low: int, high: int, longest: int, narrowest: int) -> Iterator[NumberedRun]:
    """(start, end, joined rows, width) of each run of two or more adjacent lines that are each a
    line number (counting up by one) touching a base58 row: the numbers taken off, all rows but the
    last of one width (`narrowest` or more) and the last no wider. Linear: each line is matched
    once; a line's number is tried at each of its `MAX_NUMBER` lengths."""
    block: list[re.Match[bytes]] = []
    for match in NUMBERED_B58.finditer(data, low, high):
        if block and match.start() != block[-1].end() + 1:  # not the next line
            yield from _unnumbered(block, longest, narrowest)
            block = []
        block.append(match)
    yield from _unnumbered(block, longest, narrowest)


def _unnumbered(block: list[re.Match[bytes]], longest: int, narrowest: int) -> Iterator[NumberedRun]:
    index = 0
    while index < len(block) - 1:
        first = block[index].group(1)
        count, digits = 1, 0
        for length in range(1, MAX_NUMBER + 1):  # the first number's length: the longest count of lines
            if not first[:length].isdigit() or first[:1] == b"0" or length >= len(first):
                break
            number, lines = int(first[:length]), 1
            while index + lines < len(block) and lines < MAX_LINES and \
                    block[index + lines].group(1).startswith(b"%d" % (number + lines)):
                lines += 1
            count, digits = max((count, digits), (lines, length))
        if count < 2:
            index += 1
            continue
        number = int(first[:digits])
        rows = [(match.start(1) + len(b"%d" % (number + at)), match.end(1))
                for at, match in enumerate(block[index:index + count])]
        texts = [block[index].string[start:end] for start, end in rows]
        width = len(texts[0])
        if width >= narrowest and all(len(text) == width for text in texts[:-1]) and 0 < len(texts[-1]) <= width \
                and not any(b"0" in text for text in texts):
            yield rows[0][0], rows[-1][1], b"".join(texts)[:longest], width
        index += count


__all__ = ["NUMBERED_B58", "blank_tail_pattern", "line_pattern", "numbered_runs", "tail_pattern", "wrapped_runs"]
