"""The scanner's reading of dump-tool rows and decimal escapes (issue #32, red team rt16 part B).

rows      blocks of consecutive rows of one tool, each read as the bytes it prints (offsets, heads
          and ASCII columns dropped): `od -c` / `od -An -c` (4-column cells: a character, `\\0 \\n`
          escapes, 3-digit octal; offsets up to 22 octal digits), `xxd -b` (offsets of 8 to 16 hex
          digits, up to 256 groups of 1 to 8 bytes a row: `-c`, `-g`, `-o`), gdb `x/tb` (8-bit
          binary groups) and `x/th x/tw x/tg` (binary words, little-endian), gdb `x/cb`
          (`48 '0'` pairs: the number, low byte), WinDbg `dw`/`dd`/`dq`/`dc` (little-endian words,
          `dq`'s backtick inside a word) and lldb `memory read -s2/-s4/-s8 -fx` (little-endian
          words); `MIN_BYTES` or more bytes a view (layer `byte-list`).
decimal   quoted literals with `MIN_ESCAPES` or more decimal escapes (`\\048\\130`: Haskell `show`
          of a ByteString with its `\\SOH` names and `\\&`, Lua `%q`, OCaml `%S`), one of them with
          an 8 or 9, a Haskell name or `\\&` (else it reads as octal, done elsewhere: a key
          whose every escape is also octal, 1 in 2,000 32-byte keys, is missed) (layer `escaped`).
          A backslash escapes any byte, a newline too (Lua `%q`). Literals are found in one pass
          (`_literals`: no search restarts inside a body already read); one of more than
          `MAX_LITERAL` characters is read in overlapping windows (`_windows`).
Bounded: `MAX_ROWS` rows a block (a longer block is read in pieces overlapping by `OVERLAP_ROWS`),
windows of `MAX_LITERAL` pieces; every pattern is anchored at a line start or a quote and
matched possessively (linear). Written apart from the independent reader: nothing of `recheck*`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import pairwise

MIN_BYTES = 16
MIN_ESCAPES = 8
MIN_LITERAL = 16
MAX_LITERAL = 65_536
MAX_ROWS = 8_192
OVERLAP_ROWS = 1_024

View = tuple[int, int, bytes, str, str]

_OD_CELL = rb"(?:[ ]{3}[ -~]|[ ]{2}\\[0abfnrtv]|[ ][0-7]{3})"
_OD_C = re.compile(rb"(?m)^(?:[0-7]{7,22}|[0-9a-fA-F]{6,16})?((?:%s){1,32}+)\r?$" % _OD_CELL)
_OD_C_CELL = re.compile(rb"[ ]{3}([ -~])|[ ]{2}\\([0abfnrtv])|[ ]([0-7]{3})")
_ESCAPE = {b"0": 0, b"a": 7, b"b": 8, b"f": 12, b"n": 10, b"r": 13, b"t": 9, b"v": 11}
_GDB_HEAD = rb"0x[0-9a-fA-F]{1,16}(?:[ \t]+<[^<>\n]{1,200}+>)?:"
_BITS = re.compile(rb"(?m)^" + _GDB_HEAD + rb"((?:[ \t][01]{8}){1,16}+)(?:[ ]{2}[^\n]{0,16}+)?[ \t]*\r?$")
_XXD_BITS = re.compile(rb"(?m)^[0-9a-fA-F]{8,16}:((?:[ ](?:[01]{8}){1,8}+){1,256}+)(?:[ ]{2}[^\n]{0,1024}+)?"
                       rb"[ \t]*\r?$")
_GDB_WORD_BITS = re.compile(rb"(?m)^" + _GDB_HEAD + rb"((?:\t[01]{16}){1,8}+|(?:\t[01]{32}){1,4}+|(?:\t[01]{64}){1,2}+)"
                            rb"[ \t]*\r?$")
_BIT_GROUP = re.compile(rb"[01]{8}")
_WORD_GROUP = re.compile(rb"[01]{16,64}")
_CB = re.compile(rb"(?m)^0x[0-9a-fA-F]{1,16}(?:[ \t]+<[^<>\n]{1,200}+>)?:"
                 rb"((?:\t-?[0-9]{1,3}[ ]'(?:[^'\\\n]|\\[^\n]{1,3}?)'){1,16}+)[ \t]*\r?$")
_CB_NUMBER = re.compile(rb"\t(-?[0-9]{1,3})[ ]'")
_WORDS = re.compile(rb"(?m)^(?:[0-9a-fA-F]{8}`)?[0-9a-fA-F]{8}[ ]{2}"
                    rb"((?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{8}|[0-9a-fA-F]{4})"
                    rb"(?:[ ](?:[0-9a-fA-F]{8}`[0-9a-fA-F]{8}|[0-9a-fA-F]{8}|[0-9a-fA-F]{4})){0,15}+)"
                    rb"(?:[ ]{2}[ -~]{1,16}+)?\r?$")
_LLDB = re.compile(rb"(?m)^0x[0-9a-fA-F]{1,16}:((?:[ ]0x(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{8}|[0-9a-fA-F]{4})){1,16}+)"
                   rb"[ \t]*\r?$")
_HEX_WORD = re.compile(rb"[0-9a-fA-F`]{4,17}")

_NAMES = {b"NUL": 0, b"SOH": 1, b"STX": 2, b"ETX": 3, b"EOT": 4, b"ENQ": 5, b"ACK": 6, b"BEL": 7, b"BS": 8,
          b"HT": 9, b"LF": 10, b"VT": 11, b"FF": 12, b"CR": 13, b"SO": 14, b"SI": 15, b"DLE": 16, b"DC1": 17,
          b"DC2": 18, b"DC3": 19, b"DC4": 20, b"NAK": 21, b"SYN": 22, b"ETB": 23, b"CAN": 24, b"EM": 25,
          b"SUB": 26, b"ESC": 27, b"FS": 28, b"GS": 29, b"RS": 30, b"US": 31, b"SP": 32, b"DEL": 127}
_LITERAL_BODY = re.compile(rb'(?:[^"\\\n]|\\[\s\S])*+')
_LITERAL_PIECES = re.compile(rb'(?:[^"\\\n]|\\[\s\S]){1,%d}' % (MAX_LITERAL // 2))
_DECIMAL_HINT = re.compile(rb"\\(?:[0-9]{0,2}[89]|[A-Z]{2,3}|&)")
_DECIMAL_PIECE = re.compile(rb"\\(?:([0-9]{1,3})|(SOH|SO|[A-Z][A-Z0-9]{1,2})|&|\^([@-_])|(.))|([^\\])", re.DOTALL)


def _od_c(row: bytes) -> bytes:
    out = bytearray()
    for cell in _OD_C_CELL.finditer(row):
        char, escape, octal = cell.groups()
        out.append(char[0] if char is not None else _ESCAPE[escape] if escape is not None else int(octal, 8) & 0xFF)
    return bytes(out)


def _bits(row: bytes) -> bytes:
    return bytes(int(group, 2) for group in _BIT_GROUP.findall(row))


def _bit_words(row: bytes) -> bytes:
    return b"".join(int(group, 2).to_bytes(len(group) // 8, "little") for group in _WORD_GROUP.findall(row))


def _cb(row: bytes) -> bytes:
    return bytes(int(number) & 0xFF for number in _CB_NUMBER.findall(row))


def _little(row: bytes) -> bytes:
    return b"".join(bytes.fromhex(word.replace(b"`", b"").decode("ascii"))[::-1] for word in _HEX_WORD.findall(row))


def _od_row_ok(row: bytes) -> bool:
    return row.strip(b" ") != b"" and (b"\\" in row or re.search(rb" [0-7]{3}", row) is not None)


_FORMS: tuple[tuple[re.Pattern[bytes], Callable[[bytes], bytes], str, bytes], ...] = (
    (_OD_C, _od_c, "od -c rows", b"  "),
    (_BITS, _bits, "binary rows (gdb x/tb)", b"0"),
    (_XXD_BITS, _bits, "binary rows (xxd -b)", b"0"),
    (_GDB_WORD_BITS, _bit_words, "binary rows (gdb x/th x/tw x/tg, little-endian)", b"0"),
    (_CB, _cb, "gdb x/cb rows", b"'\t"),
    (_WORDS, _little, "WinDbg word rows (little-endian)", b"  "),
    (_LLDB, _little, "lldb word rows (little-endian)", b": 0x"),
)


def _blocks(pattern: re.Pattern[bytes], data: bytes, low: int, high: int) -> Iterator[list[re.Match[bytes]]]:
    """Consecutive rows of one pattern (each next row starting on the line after), `MAX_ROWS` at
    most a block: a longer run goes on in a block that repeats its last `OVERLAP_ROWS` rows."""
    block: list[re.Match[bytes]] = []
    for row in pattern.finditer(data, low, high):
        if block and (row.start() != block[-1].end() + 1 or len(block) >= MAX_ROWS):
            yield block
            block = block[-OVERLAP_ROWS:] if len(block) >= MAX_ROWS and row.start() == block[-1].end() + 1 else []
        block.append(row)
    if block:
        yield block


def tool_rows(data: bytes, low: int, high: int) -> Iterator[View]:
    """Blocks of dump-tool rows (module docstring), each read as the bytes its rows print."""
    for pattern, decode, detail, mark in _FORMS:
        if data.find(mark, low, high) < 0:
            continue
        for block in _blocks(pattern, data, low, high):
            rows = [row.group(1) for row in block]
            if pattern is _OD_C and not all(_od_row_ok(row) for row in rows):
                continue
            values = b"".join(decode(row) for row in rows)
            if len(values) >= MIN_BYTES:
                yield block[0].start(), block[-1].end(), values, "byte-list", f"decoded {detail}"


def _decimal(body: bytes) -> tuple[bytes, int] | None:
    out = bytearray()
    escapes = 0
    for piece in _DECIMAL_PIECE.finditer(body):
        number, name, control, other, plain = piece.groups()
        if plain is not None:
            out += plain
        elif number is not None:
            if int(number) > 255:
                return None
            out.append(int(number))
            escapes += 1
        elif name is not None:
            size = next((size for size in (3, 2) if name[:size] in _NAMES), 0)
            if not size:
                return None
            out.append(_NAMES[name[:size]])
            out += name[size:]
            escapes += 1
        elif control is not None:
            out.append(control[0] - 64)
        elif other is not None:
            out.append(_ESCAPE.get(other, other[0]) if other != b"0" else 0)
    return bytes(out), escapes


def decimal_body(body: bytes) -> bytes | None:
    """The bytes a literal's body (or joined bodies) spells read with decimal escapes, when it holds
    a decimal hint (an 8 or 9, a Haskell name, `\\&`) and `MIN_ESCAPES` or more escapes (rt18 group
    C: Lua `..`, Haskell `++`, OCaml `^` pieces are joined by `printed_values.joined_literals`)."""
    if _DECIMAL_HINT.search(body) is None:
        return None
    read = _decimal(body)
    return read[0] if read is not None and read[1] >= MIN_ESCAPES and len(read[0]) >= MIN_BYTES else None


def _literals(data: bytes, low: int, high: int) -> Iterator[tuple[int, int]]:
    """[start, end) of each quoted literal (quotes included; a backslash escapes any byte, a newline
    too: Lua `%q`), found in one pass: a quote opens, the body is read possessively to its closing
    quote; where none closes it (a bare newline, the end), every quote in between was escaped in
    that body, so a start there ends at the same place: the search goes on after it (linear)."""
    at = data.find(b'"', low, high)
    while at >= 0:
        body = _LITERAL_BODY.match(data, at + 1, high)
        end = body.end() if body is not None else at + 1  # (it matches the empty body too)
        if end < high and data[end] == 0x22:
            yield at, end + 1
            end += 1
        at = data.find(b'"', end, high)


def _windows(data: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A literal of at most `MAX_LITERAL` characters whole; a longer one in windows of two pieces
    of `MAX_LITERAL // 2` escapes/characters each, the next window starting at the last one's
    second piece (so whatever fits in half the bound is whole in one window)."""
    if end - start - 2 <= MAX_LITERAL:
        yield start + 1, end - 1
        return
    pieces = [(piece.start(), piece.end()) for piece in _LITERAL_PIECES.finditer(data, start + 1, end - 1)]
    for first, second in pairwise(pieces):
        yield first[0], second[1]


def decimal_escapes(data: bytes, low: int, high: int) -> Iterator[View]:
    """Quoted literals of decimal escapes (module docstring), each read as the bytes it spells."""
    if data.find(b"\\", low, high) < 0:
        return
    for start, end in _literals(data, low, high):
        if end - start - 2 < MIN_LITERAL:
            continue
        for body_start, body_end in _windows(data, start, end):
            body = data[body_start:body_end]
            if _DECIMAL_HINT.search(body) is None:
                continue  # octal, or no escape: read elsewhere
            read = _decimal(body)
            if read is not None and read[1] >= MIN_ESCAPES and len(read[0]) >= MIN_BYTES:
                yield body_start - 1, body_end + 1, read[0], "escaped", "decoded decimal escapes"


__all__ = ["decimal_body", "decimal_escapes", "tool_rows"]
