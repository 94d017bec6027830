"""The scanner's other groupings of a big decimal integer (rt16, rt17): en_IN lakh (`12,34,56,789`,
or with U+00A0 between the groups), by threes with U+2019 (de_CH `1’234’567`), by fours with a
space or `_`, grouped by threes wrapped over lines (`{:,}` at 64 columns, the next line indented,
the line break after the separator or before it: `,` starting the next line, CRLF), and bare digits
wrapped at a fixed width (lines of only digits, `MIN_WRAP` or more wide, all but the last of one
width and the last no wider: `wrapped_runs.py`). Bounded like `printed_encodings.MAX_DIGITS`; the
values are read as `printed_encodings.integer_views` reads its own.

rt18 (group D): digit groups of any one size 3-10 (`MIN_GROUP`-`MAX_GROUP`) with one separator kind
(Mathematica/PARI blocks of 5 or 10, `{:_}` regrouped), the first or the last group shorter, and
hex grouped by `_` every 4, 8 or 16 (`0x` or not), each wrapped over lines or not: a line break
(and indentation) may stand beside a separator, for one, or inside a group (`{:_}` cut at 40
columns). `regrouped_integers` cuts runs of short digit pieces and their joints with one
possessive pattern, then walks the pieces once per group size, keeping the longest prefix of one
shape (a run that stops fitting is read again from where it stopped: linear). Besides the whole
prefix it reads it without a short first group and without its first or last line (a number
written just before or after a key is not joined into it unnoticed). Decimal digits joined by
backslash line continuations (`d = 1234... \\` then the rest) are read as one number too.

rt19 (group 5): the separators also `, ` and `. ` (the blank part of the separator: on one line `, `
and `,` are two kinds, so a list of `{:,}` amounts joined by `, ` is no number; beside a line break
they agree), `-` and U+066C (Arabic thousands separator, whose bytes end the text spans: searched
`AROUND` bytes either side of each one no span holds); hex also by U+202F, U+2009 or `-`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .wrapped_runs import line_pattern, wrapped_runs

MIN_WRAP = 25  # digits a wrapped line holds at least (32/64/76/80 in practice; a column of IDs: under 25)
MAX_DIGITS = 2_500
_BEFORE = rb"(?<![0-9A-Za-z_.,])"
# each group ends where its digits end, inside the possessive repeat: a run is never retried
_FORMS = (
    re.compile(_BEFORE + rb"[1-9][0-9]?(,|\xc2\xa0)[0-9]{2}(?![0-9])(?:\1[0-9]{2}(?![0-9])){27,1249}+"
               rb"\1[0-9]{3}(?![0-9])"),  # lakh, with a comma or U+00A0
    re.compile(_BEFORE + rb"[1-9][0-9]{0,2}(?:\xe2\x80\x99[0-9]{3}(?![0-9])){19,840}+"),  # U+2019
    re.compile(_BEFORE + rb"[1-9][0-9]{0,3}( |_)[0-9]{4}(?![0-9])(?:\1[0-9]{4}(?![0-9])){13,629}+"),  # by fours
)
_BREAK = rb"(?:\r?\n[ \t]*+)?"
_WRAPPED = re.compile(_BEFORE + rb"[1-9][0-9]{0,2}" + _BREAK + rb"([,_.'])" + _BREAK + rb"[0-9]{3}"
                      rb"(?:" + _BREAK + rb"\1" + _BREAK + rb"[0-9]{3}(?![0-9])){18,840}+")
_DIGIT_LINE = line_pattern(rb"0-9")
_DIGITS = re.compile(rb"[^0-9]+")


MIN_GROUP, MAX_GROUP = 3, 10  # decimal group sizes read
HEX_GROUPS = (4, 8, 16)
MIN_GROUPS = 3  # a run of fewer groups is no grouped number
MIN_LINE = 16  # bytes of a number a line holds before it wraps (40/64/76 in practice)
FEWEST_DIGITS = {10: 64, 16: 52}  # a run of fewer holds no key-sized number (216 bits and more)
MAX_PIECES = 1_300  # pieces of one run (2,500 digits by threes at most, wrapped mid-group)
# rt19: `, ` and `. ` (the space read as part of the separator), `-`, U+066C (Arabic thousands separator)
_SEP = rb"(?:[,.] ?|[_'\- ]|\xc2\xa0|\xe2\x80[\x88\x89\xaf\x99]|\xd9\xac)"
HEX_SEP = rb"(?:[_\-]|\xe2\x80[\x89\xaf])"  # rt19: hex by fours with U+202F (or U+2009, `-`) too
# a line break after `MIN_LINE` bytes of line or more (a short line is no wrapped number's: a column of small numbers)
_FOLD = rb"(?:[ \t]{0,16}+(?<=[^\r\n]{%d})\r?\n[ \t]{0,64}+)" % MIN_LINE
_JOINT = rb"(?:" + _SEP + _FOLD + rb"?|" + _FOLD + _SEP + rb"?)"
_DECIMAL_RUN = re.compile(_BEFORE + rb"[0-9]{1,10}+(?![0-9])(?:" + _JOINT + rb"[0-9]{1,10}+(?![0-9])){2,%d}+"
                          % MAX_PIECES)
_HEX_RUN = re.compile(rb"(?:(?<=0x)|(?<![0-9A-Za-z_]))[0-9a-fA-F]{1,16}+(?![0-9A-Za-z])(?:(?:" + HEX_SEP + _FOLD
                      + rb"?|" + _FOLD + HEX_SEP + rb"?)[0-9a-fA-F]{1,16}+(?![0-9A-Za-z])){2,%d}+" % MAX_PIECES)
ARABIC_COMMA = b"\xd9\xac"  # U+066C: outside the text spans' bytes, searched near one (`AROUND` bytes either side)
AROUND = 16 << 10
_HEX_DIGITS = {10: b"0123456789", 16: b"0123456789abcdefABCDEF"}
_PIECE = {10: re.compile(rb"[0-9]+"), 16: re.compile(rb"[0-9a-fA-F]+")}
_CONTINUED = re.compile(_BEFORE + rb"[0-9]{1,2500}+(?:[ \t]{0,16}+\\\r?\n[ \t]{0,64}+[0-9]{1,2500}+){1,64}+(?![0-9])")
# start, end, the separator of the joint before it (None: a bare line break), where its line starts
Piece = tuple[int, int, bytes | None, int]


def _pieces(data: bytes, match: re.Match[bytes], base: int) -> list[Piece]:
    """Each digit piece of a run with the separator of the joint before it and where its line starts
    (the first line's start looked for `MIN_LINE` bytes back at most)."""
    out: list[Piece] = []
    last = match.start()
    line = data.rfind(b"\n", max(0, last - MIN_LINE), last) + 1 or max(0, last - MIN_LINE)
    for piece in _PIECE[base].finditer(data, match.start(), match.end()):
        joint = data[last:piece.start()]
        folded = b"\n" in joint
        mark: bytes | None = joint  # on one line the joint is the separator (rt19: `, ` is not `,`)
        if folded:  # a separator beside a line break (ending in `\n`), or none
            mark = joint.replace(b"\r", b"").replace(b"\n", b"").strip(b" \t") + b"\n" if joint.strip() else None
            line = last + joint.rfind(b"\n") + 1
        out.append((piece.start(), piece.end(), mark or None, line))
        last = piece.end()
    return out


def _agrees(kind: bytes, mark: bytes) -> bool:
    """One separator kind: the same joint, or one beside a line break (ending in `\n`) whose
    separator is the other's without its blank (`,` then a line break in a run of `, `)."""
    if kind == mark:
        return True
    return (kind.endswith(b"\n") or mark.endswith(b"\n")) and kind.rstrip(b" \n") == mark.rstrip(b" \n")


def _fit(pieces: list[Piece], first: int, size: int) -> tuple[int, bool]:
    """How many pieces from `first` are one number grouped by `size` (0: none of `MIN_GROUPS`
    groups), and whether its first group is short: groups of `size` with one separator, the first
    or the last shorter (not both); a bare line break joins within a group or stands for a separator."""
    length = pieces[first][1] - pieces[first][0]
    if length > size:
        return 0, False
    short_head = length < size
    kind: bytes | None = None
    closed, fitted = 0, 0
    at = first + 1
    while at < len(pieces):
        start, end, mark, _ = pieces[at]
        width = end - start
        if mark is None and length + width <= size:
            length += width  # wrapped inside a group
            at += 1
            continue
        if mark is not None and kind is not None and not _agrees(kind, mark) or width > size:
            break
        if length != size and (closed or length < 1):
            break
        if mark is not None and (kind is None or kind.endswith(b"\n")):
            kind = mark
        closed += 1
        fitted, length = at, width
        at += 1
    if length == size or not short_head:  # the open group ends the number
        closed, fitted = closed + 1, at
    return (fitted - first, short_head) if closed >= MIN_GROUPS and fitted > first else (0, short_head)


def _best(pieces: list[Piece], first: int, sizes: Sequence[int]) -> tuple[int, bool]:
    """The longest `_fit` from `first` over the group sizes (a second group between two separators
    sets the size)."""
    tried = sizes
    if first + 2 < len(pieces) and pieces[first + 1][2] is not None and pieces[first + 2][2] is not None:
        tried = [size for size in sizes if size == pieces[first + 1][1] - pieces[first + 1][0]]
    return max((_fit(pieces, first, size) for size in tried), default=(0, False))


def _readings(pieces: list[Piece], sizes: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Piece ranges [low, high) read: each longest number of one shape in a run's pieces, and it
    without its first or last line; with a short first group, the number read again without it (a
    number written before a key, `n 7 12345 67890 ...`, is not joined into it unnoticed)."""
    first = 0
    while first < len(pieces) - 1:
        count, short_head = _best(pieces, first, sizes)
        if not count:
            first += 1
            continue
        last = first + count
        lines = [at for at in range(first + 1, last) if pieces[at][3] != pieces[at - 1][3]]
        ranges = {(low, high) for low in {first, *lines[:1]} for high in {last, *lines[-1:]}}
        if short_head:
            again, _ = _best(pieces, first + 1, sizes)
            ranges.add((first + 1, first + 1 + again))
        yield from sorted((low, high) for low, high in ranges if high - low >= MIN_GROUPS)
        first = last


def regrouped_integers(data: bytes, own_end: int,
                       spans: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int, int, str]]:
    """(start, end, value, detail) of each number grouped by a size 3-10 (decimal) or 4/8/16 (hex,
    `_`), wrapped or not (module docstring), starting before `own_end`."""
    arabic = _arabic_areas(data, own_end, spans)
    for pattern, base, sizes in ((_DECIMAL_RUN, 10, range(MIN_GROUP, MAX_GROUP + 1)), (_HEX_RUN, 16, HEX_GROUPS)):
        for (low, high), near in [*((span, False) for span in spans), *((area, True) for area in arabic)]:
            for match in pattern.finditer(data, low, high):
                if match.start() >= own_end:
                    break
                text = match.group(0)
                if near and ARABIC_COMMA not in text:  # the text spans read it already
                    continue
                if len(text) - len(text.translate(None, _HEX_DIGITS[base])) < FEWEST_DIGITS[base]:
                    continue
                pieces = _pieces(data, match, base)
                for low_piece, high_piece in _readings(pieces, sizes):
                    digits = b"".join(data[start:end] for start, end, _, _ in pieces[low_piece:high_piece])
                    if base == 10 and len(digits) > MAX_DIGITS:
                        continue  # no key's integer is longer (and int() refuses over 4,300 digits)
                    yield (pieces[low_piece][0], pieces[high_piece - 1][1], int(digits, base),
                           "decimal integer (regrouped)" if base == 10 else "hex integer (regrouped)")
    for low, high in spans:
        for match in _CONTINUED.finditer(data, low, high):
            digits = _DIGITS.sub(b"", match.group(0))
            if match.start() < own_end and len(digits) <= MAX_DIGITS:
                yield match.start(), match.end(), int(digits), "decimal integer (continued lines)"


def _arabic_areas(data: bytes, own_end: int, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Areas `AROUND` bytes either side of each U+066C before `own_end` (merged) that no text span
    holds whole: the text spans stop at its bytes."""
    areas: list[tuple[int, int]] = []
    at = data.find(ARABIC_COMMA, 0, own_end)
    while at >= 0:
        low, high = max(0, at - AROUND), min(len(data), at + AROUND)
        if areas and low <= areas[-1][1]:
            areas[-1] = (areas[-1][0], high)
        else:
            areas.append((low, high))
        at = data.find(ARABIC_COMMA, at + 2, own_end)
    return [area for area in areas if not any(low <= area[0] and area[1] <= high for low, high in spans)]


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
        for start, end, digits in wrapped_runs(data, low, high, _DIGIT_LINE, MAX_DIGITS):
            first = data.find(b"\n", start, end)  # the first line's digits: a wrapping width, not an ID's
            if start < own_end and len(data[start:first].rstrip(b"\r \t")) >= MIN_WRAP:
                yield start, end, int(digits)


__all__ = ["grouped_integers", "regrouped_integers"]
