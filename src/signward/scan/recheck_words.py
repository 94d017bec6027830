"""The independent reader's row reader for printed memory as WORDS (issue #32, rt17): rows of
multi-byte numbers in any base, whatever tool printed them, read by their shape, not one form at a time.

row     a line (ANSI escape sequences `ESC[...X` stripped first) of: an optional line number and tab
        (`cat -n`, `nl`), an optional address or label ending in `:` (`0x7ffd... <sym+N>:`,
        `00000010:`) or a WinDbg ``xxxxxxxx`xxxxxxxx`` address, then 1 to `MAX_FIELDS` numeric tokens
        of one kind (`0x` hex of one digit count; bare hex or decimal digits, signed or not), then an
        optional ASCII column (the first field of another kind or width ends the tokens).
block   consecutive rows of one kind and field count (the last may be shorter), at most `MAX_ROWS`
        (a longer run in blocks that repeat `OVERLAP_ROWS` rows, so a key across a cut is whole in
        one). A first column that counts up by a constant step in base 16, 8 or 10 (od, hexdump,
        WinDbg x86 offsets) is an offset column and dropped (a counting column before it too: a line
        number behind a blank). Rows apart by debugger prompt lines only (`(gdb) `, `(lldb) `,
        `0:000> `: Enter repeats the command) still join; a label may nest `<>` (C++ templates).
reading the block's tokens decoded for each word width W in {1, 2, 4, 8, 16} they allow: hex, its
        digits / 2 bytes; binary of 8, 16, 32... digits, digits / 8; octal (gdb's leading `0`, or
        zero-padded to an octal word's width: `od -to2`) and decimal (signed as two's complement),
        the smallest W whose range holds every token and the W a zero-padded width gives
        (`hexdump -d`); each W > 1 little-endian first, then big-endian. Each reading of 32 bytes or
        more is a child view at the block's raw span (a finding there redacts the whole block).

Bounded: lines of at most `MAX_LINE` bytes, fields of at most 48 characters, blocks per view capped
(`recheck_codecs.candidates` and one more per `BYTES_A_BLOCK` bytes of the view: more is incomplete),
every reading at most the bytes of its block's text (its decoded bytes count against the reader's
budget as every view's do). The reader's own code: it imports nothing of the scanner.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros
from .recheck_codecs import Oversized, candidates

if TYPE_CHECKING:
    from .recheck import _Reader

MAX_LINE = 512
MAX_FIELDS = 64
MAX_ROWS = 4_096
OVERLAP_ROWS = 256
MIN_BYTES = 32
WINDOW_BYTES = 16 << 10  # byte rows searched at every offset up to this size
MIN_FULL = 32  # bytes a run of full words spans (a 32-byte scalar, seed or AES-256 key)
GAP_WORDS = 1  # words that are not full inside a run
MARGIN = 64
# blocks a view may hold beyond the candidate cap: one per this many bytes (rows of two od types
# alternate, `od -td4 -tx4`: a block of two lines per 112 bytes of random memory's listing)
BYTES_A_BLOCK = 32
WIDTHS = (1, 2, 4, 8, 16)
_DECIMAL_PADDED = {3: 1, 5: 2, 10: 4, 20: 8, 39: 16}  # digits of a W-byte word's largest value
_OCTAL_PADDED = {3: 1, 6: 2, 11: 4, 22: 8, 43: 16}

_TEXT = re.compile(rb"[\t\n\r\x1b -~]{31,}")  # printable runs, ANSI escapes' ESC included
_LINE = re.compile(rb"(?m)^[^\n]{1,%d}+(?=\n|$)" % MAX_LINE)
_ANSI = re.compile(rb"\x1b\[[0-9;?]{0,32}[@-~]")
# a gdb label: `<sym+N>`, a C++ template's nested brackets too (`<Holder<Key>::buf+16>`)
LABEL = rb"<(?:[^:>\n]|:(?![ \t\r\n])|>(?!:[ \t\r\n])){1,200}>"
_PREFIX = re.compile(rb"[ \t]*(?:[1-9][0-9]{0,8}\t[ \t]*)?"  # a line number and a tab (not zero-led: od offsets)
                     rb"(?:(?:0[xX])?[0-9a-fA-F]{1,16}(?:`[0-9a-fA-F]{8})?(?:[ \t]+%s)?:"
                     rb"|[0-9a-fA-F]{8}`[0-9a-fA-F]{8}(?=[ \t]))?" % LABEL)
_CANDIDATE = re.compile(rb"(?m)^(?=%s[ \t]*(?:0[xX])?-?[0-9a-fA-F]{1,43}(?:`[0-9a-fA-F]{8})?(?![^ \t\r\n]))"
                        rb"[^\n]{1,%d}+(?=\n|$)" % (_PREFIX.pattern, MAX_LINE))
# the text between two rows that still join: debugger prompt lines (Enter pressed again: gdb and lldb
# repeat `x`, WinDbg `dd`), each the prompt alone or with a command
_PROMPTS = re.compile(rb"\r?\n(?:(?:\((?:gdb|lldb)\)|[0-9]{1,3}:[0-9]{3}(?::[0-9a-fA-F]{1,8})?>)"
                      rb"(?:[ \t][^\n]{0,200})?\n){1,8}")
MAX_GAP = 8 * 220
_FIELD = re.compile(rb"[^ \t\r]{1,48}(?![^ \t\r])|[^ \t\r]+")
_HEX0X = re.compile(rb"0[xX]([0-9a-fA-F]{2,32})")
_BARE = re.compile(rb"-?[0-9a-fA-F]{1,43}|[0-9a-fA-F]{8}`[0-9a-fA-F]{8}")
_LETTER = re.compile(rb"[a-fA-F]")

Row = tuple[int, int, str, list[bytes]]  # [start, end) of the line in the view, its kind, its fields


def read_words(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every block of word rows of one view, each reading a child view at the block's span."""
    cap = candidates(data) + len(data) // BYTES_A_BLOCK
    count = 0
    for start, end in _texts(data):
        block: list[Row] = []
        for row in _rows(data, start, end):
            if row is not None and block and _joins(data, block, row) and len(block) < MAX_ROWS:
                block.append(row)
                continue
            if block:
                count += 1
                if count > cap:
                    raise Oversized(f"more than {cap} word-row blocks in a view of {len(data)} bytes")
                _block(reader, name, depth, block)
                if len(block) >= MAX_ROWS and row is not None and _joins(data, block, row):
                    block = block[-OVERLAP_ROWS:] + [row]
                    continue
            block = [row] if row is not None else []
        if block:
            _block(reader, name, depth, block)


def _rows(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[Row | None]:
    """Each line of a printable run that may be a row, parsed (lines between are not rows: a row
    after one does not join the block before it). Without an ANSI escape in the run, only lines
    that begin as a row does (a prefix, then a numeric field) are parsed."""
    lines = _LINE if data.find(b"\x1b", start, end) >= 0 else _CANDIDATE
    for line in lines.finditer(data, start, end):
        yield _row(line.group(0), line.start(), line.end())


def _texts(data: bytes | mmap.mmap) -> list[tuple[int, int]]:
    return [(match.start(), match.end()) for match in zeros.finditer(_TEXT, data)]


def _row(text: bytes, start: int, end: int) -> Row | None:
    """One line as a row of numeric fields (its kind: `x` for 0x-hex, `n` for bare), or None."""
    if b"\x1b" in text:
        text = _ANSI.sub(b"", text)
    head = _PREFIX.match(text)
    at = head.end() if head is not None else 0
    fields: list[bytes] = []
    kind = ""
    width = 0
    for field in _FIELD.finditer(text, at):
        token = field.group(0)
        hex0x = _HEX0X.fullmatch(token)
        this = "x" if hex0x is not None else "n" if _BARE.fullmatch(token) else ""
        if not this or (kind and this != kind) or (this == "x" and width and len(token) != width):
            break  # an ASCII column, or text: the tokens end here
        kind, width = this, len(token)
        fields.append(token.replace(b"`", b""))
        if len(fields) > MAX_FIELDS:
            return None
    if not fields or (kind == "n" and len(fields) < 2 and not text[:at].strip()):  # (a lone number: no row)
        return None
    if kind == "x" and b":\t0x" in text[:at + 3]:
        return None  # gdb `x/x` rows: recheck_forms reads them as gdb blocks, 8-byte aligned (a stack dump's
        # thousands of pointer rows would cost a window search each here)
    return start, end, kind, fields


def prompt_gap(data: bytes | mmap.mmap, end: int, start: int) -> bool:
    """Whether only debugger prompt lines lie between a row ending at `end` and one starting at `start`."""
    return 0 < start - end <= MAX_GAP and _PROMPTS.fullmatch(data, end, start) is not None


def _joins(data: bytes | mmap.mmap, block: list[Row], row: Row) -> bool:
    """The row continues the block: adjacent line (or apart by prompt lines only), same kind, same
    field count (a shorter last row ends it: the row before must be full)."""
    first, last = block[0], block[-1]
    return ((row[0] == last[1] + 1 or prompt_gap(data, last[1], row[0])) and row[2] == first[2]
            and len(last[3]) == len(first[3]) and len(row[3]) <= len(first[3]))


def _block(reader: _Reader, name: str, depth: int, block: list[Row]) -> None:
    rows = [fields for _, _, _, fields in block]
    kind = block[0][2]
    readings: list[tuple[str, int, list[int]]] = []
    steps = _steps(rows) if kind == "n" else set()
    if steps and len(rows[0]) > 2 and _steps([fields[1:] for fields in rows]):
        rows = [fields[1:] for fields in rows]  # a line number behind a blank (`awk '{print NR, $0}'`), offsets
        steps = _steps(rows)
    if steps:  # an offset column: it counts the bytes of each row (a W that does not fit is no reading)
        per = len(rows[0]) - 1
        readings = [reading for reading in _readings([token for fields in rows for token in fields[1:]], kind)
                    if 0 in steps or reading[1] * per in steps]
    if not readings:
        readings = _readings([token for fields in rows for token in fields], kind)
    low, high = block[0][0], block[-1][1]
    for label, width, values in readings:
        if len(values) * width < MIN_BYTES:
            continue
        for first, last in _dense(values, width):
            for order in ("little", "big") if width > 1 else ("bytes",):
                spelled = b"".join(value.to_bytes(width, "big" if order == "big" else "little")
                                   for value in values[first:last])
                outer = reader.decoding(depth, low, high)
                # byte rows of more than WINDOW_BYTES (od -b of random memory): the recognisers run, the
                # every-offset window search does not (the byte-list reader's joined view has it, at 8-byte
                # steps as a raw file of that size; 4,096 rows of 16 cost 65,000 scalar checks a block)
                reader.child(spelled, f"{name} > word rows ({label}, {width}-byte, {order})", depth + 1,
                             width > 1 or len(spelled) <= WINDOW_BYTES)
                reader.span = outer


def _dense(values: list[int], width: int) -> list[tuple[int, int]]:
    """[first, last) of each stretch of the block worth reading as memory: for W > 1, runs of full
    words (the most significant byte not zero: a key's words, 255 in 256 of random ones; a DER
    header's too, mostly) of `MIN_FULL` bytes or more, gaps of at most `GAP_WORDS` words joined,
    each widened by `MARGIN` bytes either side (the header before a key, the key after a header);
    for W = 1 the whole block. A table of small integers holds few such runs."""
    if width == 1:
        return [(0, len(values))]
    floor = 1 << 8 * (width - 1)
    runs: list[tuple[int, int]] = []
    start = -1
    gap = 0
    for index, value in enumerate(values):
        if value >= floor:
            if start < 0:
                start = index
            elif gap > GAP_WORDS:
                runs.append((start, index - gap))
                start = index
            gap = 0
        elif start >= 0:
            gap += 1
    if start >= 0:
        runs.append((start, len(values) - gap))
    margin = max(2, MARGIN // width)
    out: list[tuple[int, int]] = []
    for first, last in runs:
        if (last - first) * width < MIN_FULL:
            continue
        first, last = max(0, first - margin), min(len(values), last + margin)
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return [(first, last) for first, last in out if (last - first) * width >= MIN_BYTES]


def _steps(rows: list[list[bytes]]) -> set[int]:
    """The constant steps (in base 16, 8 or 10) by which the rows' first fields count up: an offset
    column's (od, hexdump, WinDbg x86), each row's byte count; {0} for one row whose first field is
    a zero-padded zero (an offset column of one row), nothing for any other first column."""
    heads = [fields[0] for fields in rows if len(fields) > 1]
    if len(heads) < 2:
        return {0} if heads and len(heads[0]) >= 6 and not heads[0].strip(b"0") else set()
    found: set[int] = set()
    for base in (16, 8, 10):
        try:
            numbers = [int(head, base) for head in heads]
        except ValueError:
            continue
        step = numbers[1] - numbers[0]
        if step > 0 and all(b - a == step for a, b in zip(numbers, numbers[1:], strict=False)):
            found.add(step)
    return found


def _readings(tokens: list[bytes], kind: str) -> list[tuple[str, int, list[int]]]:
    """Each (base, W, the tokens' values) the tokens allow (module docstring)."""
    if kind == "x":
        digits = len(tokens[0]) - 2
        if digits % 2 or digits // 2 not in WIDTHS:
            return []
        return [("hex", digits // 2, [int(token, 16) for token in _same_width(tokens)])]
    if any(_LETTER.search(token) for token in tokens):  # bare hex: of one digit count
        if any(token[:1] == b"-" for token in tokens):
            return []
        kept = _same_width(tokens)
        digits = len(kept[0])
        if digits % 2 or digits // 2 not in WIDTHS:
            return []
        return [("hex", digits // 2, [int(token, 16) for token in kept])]
    size = len(tokens[0])
    same = all(len(token) == size for token in tokens[:-1])
    if same and size % 8 == 0 and size // 8 in WIDTHS and not any(token.strip(b"01") for token in tokens):
        return [("binary", size // 8, [int(token, 2) for token in _same_width(tokens)])]
    padded = same and size > 1 and any(token[:1] == b"0" for token in tokens)
    readings: list[tuple[str, int, list[int]]] = []
    octal = not any(token.strip(b"01234567") for token in tokens) and (
        all(token[:1] == b"0" for token in tokens) or (padded and size in _OCTAL_PADDED))
    if octal:
        values = [int(token, 8) for token in tokens]
        for width in _widths(values, _OCTAL_PADDED.get(size) if padded else None):
            readings.append(("octal", width, values))
    if not octal or (padded and size in _DECIMAL_PADDED):
        values = [int(token) for token in tokens]
        for width in _widths(values, _DECIMAL_PADDED.get(size) if padded else None):
            readings.append(("decimal", width, [value % (1 << 8 * width) for value in values]))
    return readings


def _same_width(tokens: list[bytes]) -> list[bytes]:
    """The tokens up to the first of another width (a last, shorter word)."""
    size = len(tokens[0])
    for index, token in enumerate(tokens):
        if len(token) != size:
            return tokens[:index]
    return tokens


def _widths(values: list[int], padded: int | None) -> list[int]:
    """The smallest W whose range holds every value (negative ones as two's complement), and the W
    a zero-padded printed width gives."""
    low, high = min(values), max(values)
    found = [width for width in WIDTHS if -(1 << 8 * width - 1) <= low and high < 1 << 8 * width][:1]
    if padded is not None and padded not in found and -(1 << 8 * padded - 1) <= low and high < 1 << 8 * padded:
        found.append(padded)
    return found


__all__ = ["read_words"]
