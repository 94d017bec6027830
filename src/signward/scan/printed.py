"""Bytes printed as text (issue #32, session 13, red team F1): this module owns finding a key that
code logged as a byte list, an escaped string literal, separated hex or a word dump, or as base64
split into pieces, decoding each as a view of its own and running every detector over it.

`print(key)`, `Arrays.toString(key)`, Go's `%v`, .NET's `BitConverter.ToString`, `hexdump` and
source code that wraps a base64 key print forms that no detector reads, so `dumps scan`, sanitize's
redaction and the store's intake re-scan passed them. Read here, in this order:

1. Byte lists: `MIN_BYTES` or more integers in [-128, 255] apart by commas and/or spaces, with or
   without brackets (Python lists, Java's signed `[48, -127, ...]`, Go's `[48 130 4 ...]`, Rust's
   `[0x30, 0x82, ...]`), each read mod 256. A value out of range ends a list.
2. Escaped-bytes string literals: Python's `b'0\\x81\\x87...'` repr (escapes and printable characters
   mixed), C's octal `"\\060\\202..."`, bare `\\xNN` runs; at least `MIN_ESCAPES` hex or octal escapes.
3. Hex with any separator (`30-82-04-BD`, `30:82`, `30 82`, `30, 82`) in 1-, 2- or 4-byte groups,
   and dumps of them over several lines (`hexdump`, `xxd`, `xxd -e`, `od -x`, certutil, Format-Hex):
   the offset and ASCII columns are not read, and a multi-line dump's finding covers its whole lines.
   Word groups are read in their order and byte-swapped (`hexdump`'s and `xxd -e`'s little-endian
   words).
4. Base64 split into quoted pieces, `\\`-continued lines or groups of 4 (`decoded_runs.split_runs`:
   joined, then decoded like any base64 run, and runs inside what it decodes to once more).

Candidates: one byte in `STRIDE` is looked up among the characters numbers, hex and escapes are
written with (numpy); the regexes of forms 1 to 3 search only spans of three neighbouring samples
in that class (a core is mostly not text). Split base64 is found from its joints in the whole chunk
(`bytes.find` of quotes and backslashes, a regex led by a space for groups of 4). Every detector reads a chunk's
views in one batch (`decoded_runs.scan_batch`); a finding is reported at the whole raw span of the
printed form (encoding `byte-list+...`, `escaped+...`, `hex+...`, `hex-words-swapped+...`,
`base64-split+...`), so redaction overwrites all of it. A view inside a finding already made is not
read again.

Bounded: views per chunk (`MAX_VIEWS`) and their decoded bytes together (the chunk's size plus
16 MiB; printed bytes take at least two characters each, so only a swapped word dump reaches half
of it): past either the chunk's scan is incomplete (never clean). Written apart from the
independent reader: nothing is imported from `recheck*`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .chunks import Chunk
from .decoded_runs import grouped_runs, scan_batch, split_runs
from .decoded_runs import runs as base64_runs
from .findings import Finding, merge_spans
from .printed_values import unescape, value_views

if TYPE_CHECKING:
    from .detectors.base import Detector

MIN_BYTES = 16  # an AES-128 key
MIN_ESCAPES = 8
MAX_VIEWS = 1 << 16
STRIDE = 12  # a form of 60 characters or more (a printed 20-byte value and up) holds four neighbouring samples
SAMPLED_FROM = 1 << 16
MERGE = 0  # regions this close are searched as one (fewer, longer searches)
MAX_LINE_GAP = 128  # characters between two rows of a dump: the ASCII column, a newline, the offset
# what numbers, hex and escapes are written with (a Python repr's printable bytes aside)
_PRINTED = np.zeros(256, dtype=bool)
_PRINTED[list(b"0123456789abcdefABCDEFxX\\,:;-+[]{}() \t\r\n'\"")] = True

_NUM = rb"(?:0[xX][0-9a-fA-F]{1,2}|[-+]?[0-9]{1,3})(?![\w.])"
LIST = re.compile(rb"(?<![\w.+-])" + _NUM + rb"(?:(?:[ \t]*,\s{0,64}|[ \t]{1,8})" + _NUM + rb"){%d,}"
                  % (MIN_BYTES - 1))
_TOKEN = re.compile(_NUM)
_ESC = rb"\\(?:x[0-9a-fA-F]{2}|[0-7]{1,3}|[abfnrtv\\'\"])"
_GAP = rb"[\x20-\x5b\x5d-\x7e]{1,24}"
_QGAP = rb"[\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]{1,24}"  # printable, no quote nor backslash
ESCAPED = re.compile(rb"(?:%s(?:%s(?=\\))?)++(?:%s)?" % (_ESC, _GAP, _QGAP))  # from its first escape
_QUOTELESS = bytes(set(range(0x20, 0x7F)) - set(b"\\'\""))
_PIECE = re.compile(rb"\\(?:x([0-9a-fA-F]{2})|([0-7]{1,3})|([abfnrtv\\'\"]))|([^\\])", re.DOTALL)
_SEP = rb"(?:[ \t]{1,3}|[-:]|,[ \t]?)"
# a word dump's last group may be shorter (`xxd -e` pads it to its column): whole bytes
HEX = {width: re.compile(rb"(?<![0-9A-Fa-f])%s(?:%s%s)+(?:[ \t]{1,12}(?:[0-9A-Fa-f]{2}){1,%d}(?![0-9A-Fa-f]))?"
                         % (group, _SEP, group, max(1, width - 1)) if width > 1 else
                         rb"(?<![0-9A-Fa-f])%s(?:%s%s)+" % (group, _SEP, group))
       for width, group in ((w, rb"[0-9A-Fa-f]{%d}(?![0-9A-Fa-f])" % (2 * w)) for w in (1, 2, 4))}
_GROUP = {width: re.compile(rb"[0-9A-Fa-f]{%d}" % (2 * width)) for width in (1, 2, 4)}
_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]")
_OFFSET = re.compile(rb"[ \t]*(?:[0-9A-Fa-f]{4,16}:?[ \t]+)?")
# a dump's last row may hold one group: after the offset column
_LAST = {width: re.compile(rb"[ \t]*(?:[0-9A-Fa-f]{4,16}:?[ \t]+)?([0-9A-Fa-f]{%d})(?![0-9A-Fa-f])" % (2 * width))
         for width in (1, 2, 4)}

View = tuple[int, int, bytes, str, str]


def regions(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of `data` around neighbouring printable samples, one byte in `STRIDE`, whose first
    sample lies in [start, end); each runs on to where its printable samples end (a form that starts
    in the span is read to its end). Small data is one span."""
    if len(data) - start < SAMPLED_FROM:
        return [(start, len(data))]
    samples = _PRINTED[np.frombuffer(data, dtype=np.uint8, offset=start)[::STRIDE]]
    pairs = np.flatnonzero(samples[:-3] & samples[1:-2] & samples[2:-1] & samples[3:])
    if not len(pairs):
        return []
    breaks = np.flatnonzero(np.diff(pairs) > 1)
    firsts = pairs[np.concatenate(([0], breaks + 1))]
    lasts = pairs[np.concatenate((breaks, [len(pairs) - 1]))]
    spans: list[tuple[int, int]] = []
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        low = start + STRIDE * max(0, first - 1)
        if low >= end:
            break
        high = min(len(data), start + STRIDE * (last + 5))
        if spans and low <= spans[-1][1] + MERGE:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


def byte_lists(data: bytes, low: int, high: int) -> Iterator[View]:
    """Lists of `MIN_BYTES` or more integers in [-128, 255] (mod 256), split where one is not."""
    for match in LIST.finditer(data, low, high):
        segment: list[tuple[int, int, int]] = []
        for token in [*_TOKEN.finditer(data, match.start(), match.end()), None]:
            value = None if token is None else int(token.group(0), 0 if token.group(0)[1:2] in b"xX" else 10)
            if token is not None and value is not None and -128 <= value <= 255:
                segment.append((token.start(), token.end(), value % 256))
                continue
            if len(segment) >= MIN_BYTES:
                yield (segment[0][0], segment[-1][1], bytes(v for _, _, v in segment), "byte-list",
                       "decoded byte list")
            segment = []


def escaped(data: bytes, low: int, high: int) -> Iterator[View]:
    """Escaped-bytes literals (`ESCAPED`) with at least `MIN_ESCAPES` hex or octal escapes."""
    for match in ESCAPED.finditer(data, low, high):
        head = data[max(0, match.start() - 24):match.start()]
        start = match.start() - (len(head) - len(head.rstrip(_QUOTELESS)))  # printable bytes before it
        decoded, escapes = unescape(data[start:match.end()], _PIECE)
        if escapes >= MIN_ESCAPES and len(decoded) >= MIN_BYTES:
            yield start, match.end(), decoded, "escaped", "decoded escaped string"


def _joins(data: bytes, rows: list[tuple[int, int, int]], start: int, groups: int) -> bool:
    """Whether a run at `start` of `groups` groups is the next row of the dump `rows` (start, end,
    groups): the line after the last row, nothing before it on its line but an offset column, every
    row before it as long as the first, itself no longer."""
    end = rows[-1][1]
    newline = data.find(b"\n", end, start)
    return (newline >= 0 and start - end <= MAX_LINE_GAP and data.find(b"\n", newline + 1, start) < 0
            and _OFFSET.fullmatch(data, newline + 1, start) is not None
            and rows[-1][2] == rows[0][2] and groups <= rows[0][2])


def _rows(data: bytes, low: int, high: int, width: int) -> list[list[tuple[int, int, int]]]:
    """Runs of separated hex groups `width` bytes wide (start, end, groups), those on following
    lines joined as the rows of one dump (`_joins`); the first run of a line only (a second one is
    its ASCII column), and a last row of one group."""
    dumps: list[list[tuple[int, int, int]]] = []
    line_end = -1
    for match in HEX[width].finditer(data, low, high):
        if match.start() <= line_end:
            continue
        line_end = data.find(b"\n", match.end())
        line_end = len(data) if line_end < 0 else line_end
        groups = len(_GROUP[width].findall(match.group(0)))
        if dumps and _joins(data, dumps[-1], match.start(), groups):
            dumps[-1].append((match.start(), match.end(), groups))
        else:
            dumps.append([(match.start(), match.end(), groups)])
    for rows in dumps:
        if len(rows) > 1 and rows[-1][2] == rows[0][2]:
            after = data.find(b"\n", rows[-1][1]) + 1
            last = _LAST[width].match(data, after) if after else None
            if last is not None and data.find(b"\n", after, last.end()) < 0:
                rows.append((last.start(1), last.end(1), 1))
    return dumps


def separated_hex(data: bytes, low: int, high: int) -> Iterator[View]:
    """Separated hex groups of 1, 2 or 4 bytes, one line or a dump's rows (module docstring)."""
    for width in (1, 2, 4):
        for rows in _rows(data, low, high, width):
            digits = b"".join(_NOT_HEX.sub(b"", data[a:b]) for a, b, _ in rows)
            decoded = bytes.fromhex(digits.decode())
            if len(decoded) < MIN_BYTES:
                continue
            start, end = rows[0][0], rows[-1][1]
            if len(rows) > 1:  # a dump: its whole lines, offsets and ASCII columns too
                start = data.rfind(b"\n", 0, start) + 1
                end = len(data) if data.find(b"\n", end) < 0 else data.find(b"\n", end)
            if width == 1:
                yield start, end, decoded, "hex", "decoded separated hex"
                continue
            yield start, end, decoded, "hex-words", "decoded hex words"
            swapped = b"".join(decoded[at:at + width][::-1] for at in range(0, len(decoded), width))
            yield start, end, swapped, "hex-words-swapped", "decoded hex words, byte-swapped"


def split_base64(data: bytes, low: int, high: int, grouped: bool = False) -> Iterator[View]:
    """Base64 split into pieces (or groups of 4), joined and decoded, and base64 runs inside what it
    decodes to."""
    for start, end, decoded in (grouped_runs if grouped else split_runs)(data, low, high):
        yield start, end, decoded, "base64-split", "decoded split base64 run"
        for _, _, inner in base64_runs(decoded):
            yield start, end, inner, "base64-split+base64", "decoded split base64 run (2 levels)"


def printed_views(data: bytes, start: int, end: int) -> Iterator[View]:
    """Every printed form's view that starts in data[start:end], each read to its end."""
    for low, high in regions(data, start, end):
        for reader in (byte_lists, escaped, separated_hex):
            for view in reader(data, low, high):
                if start <= view[0] < end:
                    yield view
    # split base64: its joints (quotes, backslashes, a space and 4 characters) are found fast in the whole chunk
    yield from split_base64(data, start, end)
    yield from split_base64(data, start, end, grouped=True)
    yield from value_views(data, start, end)  # numbers read as values, joined literals (printed_values)


def scan_printed(chunk: Chunk, detectors: Sequence[Detector], incomplete: set[str],
                 covered: Sequence[Finding] = (), max_views: int = MAX_VIEWS) -> list[Finding]:
    """Every detector's findings in the printed forms of `chunk` (module docstring), each at the
    whole raw span of its form; past a bound (`max_views` views, their decoded bytes) the chunk's
    scan is added to `incomplete`."""
    limit = len(chunk.data) + (16 << 20)
    spans = merge_spans([(f.offset, f.end) for f in covered if not f.advisory])
    starts = [low for low, _ in spans]
    used = 0
    views: list[View] = []
    for view in printed_views(chunk.data, 0, chunk.own_end):
        low = chunk.file_offset(view[0])
        index = bisect.bisect_right(starts, low) - 1
        if index >= 0 and low + (view[1] - view[0]) <= spans[index][1]:
            continue
        if len(views) >= max_views or used + len(view[2]) > limit:
            incomplete.add(f"printed: more than {max_views} printed byte forms or {limit} decoded bytes in one chunk")
            break
        used += len(view[2])
        views.append(view)
    return scan_batch(chunk, detectors, views)


__all__ = ["MIN_BYTES", "printed_views", "regions", "scan_printed"]
