"""The scanner's reading of memory printed as rows of numeric words (issue #32, red team rt17).

One structural reader for what debuggers and dump tools print: a row is an optional line-number
prefix (`cat -n`, `nl`: digits then a tab), an optional address (`0x7ffd... <sym+N>:` of gdb and
lldb, `00000000:` of xxd, WinDbg's `00000000`00401000`), then 1 to `MAX_TOKENS` numeric tokens apart
by blanks, then an optional ASCII column. ANSI escape sequences (`ESC[...m`) and debugger prompt
lines (`(gdb) `, `(lldb) `, `0:000> `: Enter repeats `x`) are dropped first (a finding still covers
the raw bytes; rows joined across a prompt are decorated). A label may nest `<>` (C++ templates); a
line number is not zero-led (od's offsets before an `unexpand` tab are none). Consecutive rows of
one shape (line number or not, the address's kind, the first token's prefix) form a block; a block
without an address whose first fields step by one constant (od's and hexdump's offsets, hex, octal or decimal) drops
them too, twice at most (a line number behind a blank, `awk '{print NR, $0}'`, then the offsets).
The block's tokens must share one kind, read as:

hex       `0x` + 2W digits (gdb `x/xw`, lldb `-s16`: 32 digits) or 2W bare digits, one of them a
          letter (`od -tx8`): W bytes a token;
binary    8W digits, `0b` or not (`xxd -b`, gdb `x/tb`, `x/tw`);
octal     `0`-led (gdb `x/ow`) or zero-padded to the width of W bytes (`od -to2`: 6 digits);
decimal   signed or not (`od -td4`, gdb `x/dw`, `x/uw`, `hexdump -d`'s zero-padded 5 digits).
For octal and decimal, W is the smallest of 1, 2, 4, 8, 16 whose range holds every token (negative
ones as two's complement of W bytes) and the width a zero-padded token prints; words are read
little-endian (the order od and the debuggers print on x86) and big-endian for W > 1. Each reading
of `MIN_BYTES` or more bytes is a view (layer `hex-words` or `byte-list`) whose finding covers the
block's whole rows.
Bounded: `MAX_TOKENS` tokens a row, `MAX_ROWS` rows a block (a longer run is read in blocks that
overlap by `OVERLAP_ROWS` rows, so a key cut by a block's edge is whole in the next one), `MAX_LINE`
characters a row; views and their decoded bytes are counted by `printed.scan_printed`'s bounds (past
them the chunk is incomplete, never clean). Every pattern is anchored at a line start and matched
possessively (linear). Written apart from the independent reader: nothing of `recheck*`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

import numpy as np

MIN_BYTES = 16
MAX_TOKENS = 64
MAX_ROWS = 4_096
OVERLAP_ROWS = 512
MAX_LINE = 4_096
WIDTHS = (1, 2, 4, 8, 16)

View = tuple[int, int, bytes, str, str]

_ANSI = re.compile(rb"\x1b\[[0-9;]{0,32}+[A-Za-z]")
# a debugger's prompt line between rows (Enter pressed again: gdb and lldb repeat `x`, WinDbg `dd`):
# the prompt alone or with a command; dropped as ANSI escapes are, so the rows around it join
_PROMPT = rb"(?:^|(?<=\n))(?:\((?:gdb|lldb)\)|[0-9]{1,3}:[0-9]{3}(?::[0-9a-fA-F]{1,8})?>)(?:[ \t][^\n]{0,200}+)?\n"
_DROPPED = re.compile(_ANSI.pattern + rb"|" + _PROMPT)
# a gdb label `<sym+N>`, C++ templates too (`<Holder<Key>::buf+16>`): no `:` or `>:` before a blank
LABEL = rb"<(?:[^:>\n]|:(?![ \t\r\n])|>(?!:[ \t\r\n])){1,200}+>"
_ROW = re.compile(
    rb"(?m)^([ ]{0,8}+[1-9][0-9]{0,8}+\t)?"  # a line number (od's zero-led offsets are none)
    rb"[ \t]*+(0x[0-9a-fA-F]{1,16}+(?:[ \t]++%s)?:|[0-9a-fA-F]{8}`[0-9a-fA-F]{8}(?=[ \t])"
    rb"|[0-9a-fA-F]{4,16}+:(?=[ \t]))?"  # an address
    rb"((?:[ \t]*+[-+]?(?:0[xXbB])?[0-9a-fA-F]{1,48}+(?=[ \t\r\n]|$)){1,%d}+)"  # the fields
    rb"(?:[ \t]{1,8}+[^\n]{1,80}+)?\r?$" % (LABEL, MAX_TOKENS))
_FIELD = re.compile(rb"[^ \t\r\n]++")
_OCTAL = re.compile(rb"[0-7]++")
_DECIMAL = re.compile(rb"[0-9]++")
_HEX = re.compile(rb"[0-9a-fA-F]++")
# a block's tokens joined by single spaces, all of one kind
_ALL_HEX0X = re.compile(rb"0[xX][0-9a-fA-F]++(?: 0[xX][0-9a-fA-F]++)*+")
_ALL_BINARY = re.compile(rb"(?:0[bB])?[01]++(?: (?:0[bB])?[01]++)*+")
_ALL_HEX = re.compile(rb"[0-9a-fA-F]++(?: [0-9a-fA-F]++)*+")
_ALL_DECIMAL = re.compile(rb"[-+]?[0-9]++(?: [-+]?[0-9]++)*+")
_ALL_OCTAL = re.compile(rb"[0-7]++(?: [0-7]++)*+")
_ALL_ZERO_LED = re.compile(rb"0[0-7]*+(?: 0[0-7]*+)*+")
_ANY_ZERO_LED = re.compile(rb".*? 0[0-9].*+", re.DOTALL)
_LETTER = re.compile(rb"[a-fA-F]")
# digits a zero-padded W-byte word prints in
_DEC_DIGITS = {3: 1, 5: 2, 10: 4, 20: 8, 39: 16}
_OCT_DIGITS = {6: 2, 11: 4, 22: 8, 43: 16}


def _strip_ansi(data: bytes, low: int, high: int) -> tuple[bytes, list[int], list[int]]:
    """data[low:high] without ANSI escapes and debugger prompt lines, and the map back: at stripped
    offset `starts[i]` and after, raw = stripped + `shifts[i]` (offsets relative to `low`)."""
    text = data[low:high]
    starts, shifts = [0], [0]
    if b"\x1b" not in text and b"(gdb)" not in text and b"(lldb)" not in text and b":000" not in text:
        return text, starts, shifts
    pieces: list[bytes] = []
    at = removed = 0
    for match in _DROPPED.finditer(text):
        pieces.append(text[at:match.start()])
        removed += match.end() - match.start()
        at = match.end()
        starts.append(match.end() - removed)
        shifts.append(removed)
    pieces.append(text[at:])
    return b"".join(pieces), starts, shifts


def _raw(offset: int, starts: list[int], shifts: list[int], left: bool = False) -> int:
    """A stripped offset's raw offset (`left`: before the escapes removed there, for a start)."""
    at = (bisect.bisect_left if left else bisect.bisect_right)(starts, offset) - 1
    return offset + shifts[max(at, 0)]


def _fit(values: list[int]) -> int | None:
    """The smallest word width whose range holds every value (two's complement when negative)."""
    low, high = min(values), max(values)
    for width in WIDTHS:
        bits = 8 * width
        if (low >= 0 and high < 1 << bits) or (low >= -(1 << (bits - 1)) and high < 1 << (bits - 1)):
            return width
    return None


def _words(values: list[int], width: int) -> Iterator[tuple[bytes, str]]:
    if width <= 8:
        signed = min(values) < 0
        words = np.array(values, dtype=np.int64 if signed else np.uint64).astype(f"<u{width}")
        little = words.tobytes()  # a cast between integer types wraps: two's complement of W bytes
    else:
        mask = (1 << (8 * width)) - 1
        little = b"".join((value & mask).to_bytes(width, "little") for value in values)
    yield little, "little-endian"
    if width > 1:
        yield np.frombuffer(little, dtype=np.uint8).reshape(-1, width)[:, ::-1].tobytes(), "big-endian"


def _all(pattern: re.Pattern[bytes], joined: bytes) -> bool:
    return pattern.fullmatch(joined) is not None


def _readings(tokens: list[bytes], decorated: bool) -> Iterator[tuple[bytes, str, str]]:
    """Every reading of one block's tokens (module docstring): bytes, layer, detail. Bare hex words
    of 1, 2 or 4 bytes and `0x` bytes only in `decorated` rows: plain ones are read by `printed.py`'s
    separated hex and `printed_values`' gdb `x/xb` rows."""
    lengths = {len(token) for token in tokens}
    same = len(lengths) == 1
    length = max(lengths)
    joined = b" ".join(tokens)
    if _all(_ALL_HEX0X, joined):
        width = (length - 2) // 2
        if same and length % 2 == 0 and width in WIDTHS and (width > 1 or decorated):
            for data, order in _words([int(t, 16) for t in tokens], width):
                yield data, "hex-words", f"decoded hex word rows ({order})"
        return
    if same and _all(_ALL_BINARY, joined):
        digits = length - 2 if tokens[0][:2] in (b"0b", b"0B") else length
        if digits % 8 == 0 and digits // 8 in WIDTHS:
            for data, order in _words([int(t[-digits:], 2) for t in tokens], digits // 8):
                yield data, "byte-list", f"decoded binary word rows ({order})"
            return
    if same and length % 2 == 0 and length // 2 in WIDTHS and (length >= 16 or decorated and length > 2) \
            and _all(_ALL_HEX, joined) and _LETTER.search(joined) is not None:
        for data, order in _words([int(t, 16) for t in tokens], length // 2):
            yield data, "hex-words", f"decoded hex word rows ({order})"
        return
    if _all(_ALL_DECIMAL, joined):
        values = list(map(int, tokens))
        padded = _DEC_DIGITS.get(length) if same and _all(_ANY_ZERO_LED, b" " + joined) else None
        fit = _fit(values)
        for width in sorted({w for w in (fit, padded) if fit is not None and w is not None and w >= fit}):
            if width == 1 and padded is None:
                continue  # decimal bytes: read by printed_values' value sequences
            for data, order in _words(values, width):
                yield data, "byte-list", f"decoded decimal word rows ({order})"
    if _all(_ALL_OCTAL, joined):
        led = _all(_ALL_ZERO_LED, joined)
        padded = _OCT_DIGITS.get(length) if same else None
        if led or padded is not None:
            values = [int(t, 8) for t in tokens]
            fit = _fit(values)
            for width in sorted({w for w in (fit, padded) if fit is not None and w is not None and w >= fit}):
                for data, order in _words(values, width):
                    yield data, "byte-list", f"decoded octal word rows ({order})"


def _steps(firsts: list[bytes]) -> bool:
    """Whether the rows' first fields are an offset column: hex or octal numbers rising by one
    constant step (the last row's by less: a short last row, or od's closing offset)."""
    if len(firsts) < 2 or not all(_HEX.fullmatch(field) for field in firsts):
        return False
    for base in (16, 8, 10):
        if base != 16 and not all((_OCTAL if base == 8 else _DECIMAL).fullmatch(field) for field in firsts):
            continue
        values = [int(field, base) for field in firsts]
        steps = {b - a for a, b in zip(values[:-1], values[1:], strict=True)}
        full = {b - a for a, b in zip(values[:-2], values[1:-1], strict=True)}
        if len(full) <= 1 and min(steps) > 0 and (not full or max(steps) == next(iter(full))):
            return True
    return False


def _shape(row: re.Match[bytes]) -> tuple[bool, bytes, bytes]:
    """A row's shape: a line number or not, its address's kind, its first token's prefix (and width
    when `0x`): rows of another tool right after a block start a block of their own."""
    address, fields = row.group(2), row.group(3).lstrip(b" \t")
    kind = b"" if address is None else b"0x" if address[:2] == b"0x" else b"`" if b"`" in address else b":"
    head = fields[:2] if fields[:2] in (b"0x", b"0X", b"0b", b"0B") else b""
    width = b"%d" % len(_FIELD.match(fields).group(0)) if head[:2] in (b"0x", b"0X") else b""  # type: ignore[union-attr]
    return row.group(1) is not None, kind, head + width


def _blocks(text: bytes) -> Iterator[list[re.Match[bytes]]]:
    """Consecutive rows of one shape, `MAX_ROWS` at most a block (a longer run goes on in a block
    that repeats its last `OVERLAP_ROWS` rows)."""
    block: list[re.Match[bytes]] = []
    for row in _ROW.finditer(text):
        if row.end() - row.start() > MAX_LINE:
            continue
        if block and (row.start() != block[-1].end() + 1 or len(block) >= MAX_ROWS
                      or _shape(row) != _shape(block[-1])):
            yield block
            block = block[-OVERLAP_ROWS:] if len(block) >= MAX_ROWS and row.start() == block[-1].end() + 1 else []
        block.append(row)
    if block:
        yield block


def _block_tokens(block: list[re.Match[bytes]]) -> tuple[list[bytes], int]:
    """The block's tokens, and how many counting columns were dropped before them: two are a line
    number behind a blank (`awk '{print NR, $0}'`, `nl -s' '`), then od's or hexdump's offsets."""
    addressed = all(row.group(2) is not None for row in block)
    if addressed:
        return _FIELD.findall(b" ".join(row.group(3) for row in block)), 0
    fields = [_FIELD.findall(row.group(3)) for row in block]
    columns = 0
    while columns < 2 and all(fields) and _steps([row[0] for row in fields]):
        fields = [row[1:] for row in fields]
        columns += 1
    return [token for row in fields for token in row], columns


def word_rows(data: bytes, low: int, high: int) -> Iterator[View]:
    """Blocks of numeric word rows (module docstring), each read in every width and order it allows."""
    text, starts, shifts = _strip_ansi(data, low, high)
    for block in _blocks(text):
        if len(block) < 2 and (block[0].end() - block[0].start()) < 2 * MIN_BYTES:
            continue
        tokens, columns = _block_tokens(block)
        if len(tokens) < 2:
            continue
        start = low + _raw(block[0].start(), starts, shifts, left=True)
        end = low + _raw(block[-1].end(), starts, shifts)
        dropped = len(starts) > 1 and (bisect.bisect_left(starts, block[-1].end())
                                       > bisect.bisect_right(starts, block[0].start()))  # prompts between rows
        decorated = (dropped or len(starts) > 1 and data.find(b"\x1b", start, end) >= 0
                     or block[0].group(1) is not None or columns == 2)
        for decoded, layer, detail in _readings(tokens, decorated):
            if len(decoded) >= MIN_BYTES:
                yield start, end, decoded, layer, detail


__all__ = ["word_rows"]
