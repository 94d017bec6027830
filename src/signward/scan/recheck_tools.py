"""The independent reader's reading of dump-tool rows and decimal-escaped literals (issue #32, rt16 B).

Each line of a printable run is classified alone (`_line`): `od -c` (4-column cells: a character,
`\\0 \\n ...`, 3-digit octal; with or without an offset of up to 22 octal digits), binary groups
(`xxd -b` with offsets of 8 to 16 hex digits and groups of 1 to 8 bytes in order, gdb `x/tb`; gdb
`x/th x/tw x/tg` words little-endian), gdb `x/cb` (`-126 '\\202'`: the number's low byte), WinDbg
`dw`/`dd`/`dq`/`dc` and lldb `memory read -fx` word rows (each word's bytes reversed: little-endian);
consecutive lines of one kind are one block, read as the bytes they print (at most `MAX_LINES` lines
a block; a longer one in pieces that repeat `OVERLAP_LINES` lines). Quoted literals with 8 or more
decimal escapes, one holding an 8 or 9 (or a Haskell name, `\\&`) (Haskell `show`, Lua `%q`, OCaml
`%S`), are read with decimal escapes (Haskell's names, `\\&`).
Literals are found by `_quoted` in one pass (backslash-run parity; a backslash-newline goes on:
Lua `%q`), never searched again from inside a body already read.
Bounded: lines of at most `MAX_LINE` bytes are classified, literals of at most `MAX_LITERAL` read
whole (a longer one refused); blocks and literals counted against the view's cap. The reader's own
code: it imports nothing of the scanner.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import recheck_values as values
from .recheck_codecs import Oversized

if TYPE_CHECKING:
    from .recheck import _Reader

MAX_LINE = 2_048
MAX_LITERAL = 1 << 24
MAX_LINES = 8_192
OVERLAP_LINES = 1_024

_LINE = re.compile(rb"(?m)^[^\n]{1,%d}+(?=\n|$)" % MAX_LINE)
_OD_BODY = re.compile(rb"(?:(?:[0-7]{7,22}|[0-9a-fA-F]{6,16})(?=[ ]))?"
                      rb"((?:[ ]{3}[!-~ ]|[ ]{2}\\[0abfnrtv]|[ ][0-7]{3})+)")
_OD_CELLS = re.compile(rb"[ ]{3}([!-~ ])|[ ]{2}\\([0abfnrtv])|[ ]([0-7]{3})")
_ADDRESS = re.compile(rb"(?:0x[0-9a-fA-F]{1,16}(?:[ \t]+<[^<>]{1,200}>)?|[0-9a-fA-F]{8,16}):")
_BITS = re.compile(rb"(?:[01]{8}){1,8}")
_CB_PAIR = re.compile(rb"\t(-?\d{1,3}) '(?:\\.{1,3}?|[^\\'])'")
_WINDBG = re.compile(rb"(?:[0-9a-fA-F]{8}`)?[0-9a-fA-F]{8}  ((?:[0-9a-fA-F]{4}|[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?)"
                     rb"(?: (?:[0-9a-fA-F]{4}|[0-9a-fA-F]{8}(?:`[0-9a-fA-F]{8})?)){0,15})(?:  [ -~]{1,16})?")
_LLDB = re.compile(rb"0x[0-9a-fA-F]{1,16}:((?: 0x(?:[0-9a-fA-F]{4}|[0-9a-fA-F]{8}|[0-9a-fA-F]{16})){1,16})[ \t]*")
_ESCAPES = {"0": 0, "a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
_CONTROL = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM "
            "SUB ESC FS GS RS US SP").split()
_NAMED = {name: code for code, name in enumerate(_CONTROL)} | {"DEL": 127}
_STOP = re.compile(rb'["\n]')
_DECIMAL_HINT = re.compile(rb"\\(?:\d{0,2}[89]|[A-Z]{2,3}|&)")


def _line(text: bytes) -> tuple[str, bytes] | None:
    """One line's kind and the bytes it prints, or None (no row of a form read here)."""
    text = text.rstrip(b"\r")
    od = _OD_BODY.fullmatch(text)
    if od is not None and od.group(1).strip() and (b"\\" in text or re.search(rb" [0-7]{3}", od.group(1))):
        out = bytearray()
        for char, escape, octal in _OD_CELLS.findall(od.group(1)):
            out.append(char[0] if char else _ESCAPES[escape.decode()] if escape else int(octal, 8) & 0xFF)
        return "od -c", bytes(out)
    head = _ADDRESS.match(text)
    if head is not None:
        rest = text[head.end():]
        column = rest.find(b"  ", 1)
        binary = _binary(head.group(0), rest if column < 0 else rest[:column])
        if binary is not None and (column < 0 or column >= 9):
            return binary
        pairs = _CB_PAIR.findall(rest)
        if pairs and _CB_PAIR.sub(b"", rest).strip() == b"":
            return "gdb x/cb", bytes(int(number) & 0xFF for number in pairs)
    lldb = _LLDB.fullmatch(text)
    if lldb is not None:
        return "lldb words", _reversed(lldb.group(1).replace(b"0x", b"").split())
    windbg = _WINDBG.fullmatch(text)
    if windbg is not None:
        return "WinDbg words", _reversed(windbg.group(1).split())
    return None


def _binary(head: bytes, cells: bytes) -> tuple[str, bytes] | None:
    """Groups of bits behind an address: `xxd -b` (bare hex offset, `-g N`: N bytes a group, in
    order), gdb `x/tb` (8 bits a group) and `x/th x/tw x/tg` (16/32/64-bit words, little-endian)."""
    if cells[:1] not in (b" ", b"\t"):
        return None
    groups = cells.split()
    if not groups or len(groups) > 256 or any(_BITS.fullmatch(group) is None for group in groups):
        return None
    sizes = {len(group) for group in groups}
    if not head.startswith(b"0x") or sizes == {8}:
        return "binary", b"".join(int(group, 2).to_bytes(len(group) // 8, "big") for group in groups)
    if len(sizes) == 1 and sizes <= {16, 32, 64} and len(groups) * len(groups[0]) <= 128 and b" " not in cells:
        return "gdb binary words", b"".join(int(group, 2).to_bytes(len(group) // 8, "little") for group in groups)
    return None


def _reversed(words: list[bytes]) -> bytes:
    return b"".join(bytes.fromhex(word.replace(b"`", b"").decode())[::-1] for word in words)


def read_tools(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
               texts: list[tuple[int, int]], cap: int) -> None:
    """Dump-tool row blocks and decimal-escaped literals of one view, each read as a child view."""
    count = 0
    for start, end in texts:
        block: list[tuple[int, int, bytes]] = []
        kind = ""
        for line in _LINE.finditer(data, start, end):
            got = _line(line.group(0))
            if got is not None and block and got[0] == kind and line.start() == block[-1][1] + 1 \
                    and len(block) < MAX_LINES:
                block.append((line.start(), line.end(), got[1]))
                continue
            if block:
                count += 1
                if count > cap:
                    raise Oversized(f"more than {cap} dump-tool row blocks in a view of {len(data)} bytes")
                _block(reader, name, depth, kind, block)
                if len(block) >= MAX_LINES and got is not None and got[0] == kind \
                        and line.start() == block[-1][1] + 1:
                    block = block[-OVERLAP_LINES:] + [(line.start(), line.end(), got[1])]
                    continue
            block, kind = ([(line.start(), line.end(), got[1])], got[0]) if got is not None else ([], "")
        if block:
            _block(reader, name, depth, kind, block)
    if data.find(b"\\") >= 0:
        count = _decimals(reader, data, name, depth, texts, cap, count)


def _block(reader: _Reader, name: str, depth: int, kind: str, block: list[tuple[int, int, bytes]]) -> None:
    spelled = b"".join(part for _, _, part in block)
    values._child(reader, spelled, f"{name} > byte-list values ({kind} rows, tool)", depth, block[0][0], block[-1][1])


def _decimals(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
              texts: list[tuple[int, int]], cap: int, count: int) -> int:
    for start, end in texts:
        for opened, closed in _quoted(data, start, end):
            if closed - opened - 1 < 16:
                continue
            if closed - opened - 1 > MAX_LITERAL:
                raise Oversized(f"a quoted literal of more than {MAX_LITERAL} bytes in a view of {len(data)} bytes")
            body = bytes(data[opened + 1:closed])
            if _DECIMAL_HINT.search(body) is None:
                continue
            count += 1
            if count > cap:
                raise Oversized(f"more than {cap} decimal-escaped literals in a view of {len(data)} bytes")
            spelled = _decimal(body)
            if spelled is not None:
                values._child(reader, spelled, f"{name} > escaped (decimal)", depth, opened, closed + 1)
    return count


def _quoted(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(opening quote, closing quote) of each quoted literal in [start, end): the stops after a quote
    are the next quote or newline; one behind an odd run of backslashes is escaped (Lua `%q` writes a
    newline byte as a backslash and a real newline), the first unescaped one ends it (a quote closes,
    a newline drops it). Every quote passed over was escaped, so a literal opened there would stop at
    the same place: the next one is looked for after it (each byte looked at a bounded number of times)."""
    at = data.find(b'"', start, end)
    while at >= 0:
        stop = at
        for found in _STOP.finditer(data, at + 1, end):
            stop = found.start()
            run = 0
            while data[stop - 1 - run] == 0x5C:
                run += 1
            if run % 2 == 0:
                break
        else:
            return
        if data[stop] == 0x22:
            yield at, stop
            stop += 1
        at = data.find(b'"', stop, end)


def _decimal(body: bytes) -> bytes | None:
    """A literal's bytes with decimal escapes (`\\130`, at most 3 digits, at most 255), Haskell's
    names (`\\SOH`, the longest that fits) and `\\&` (nothing); None if it is not one (fewer than 8)."""
    out = bytearray()
    escapes = 0
    at = 0
    while at < len(body):
        char = body[at]
        at += 1
        if char != 0x5C:
            out.append(char)
            continue
        digits = re.match(rb"\d{1,3}", body[at:at + 3])
        if digits is not None:
            number = int(digits.group(0))
            if number > 255:
                return None
            out.append(number)
            escapes += 1
            at += len(digits.group(0))
            continue
        word = body[at:at + 3].decode("latin-1")
        named = next((size for size in (3, 2) if word[:size] in _NAMED), 0)
        if named:
            out.append(_NAMED[word[:named]])
            at += named
            escapes += 1
        elif word[:1] == "&":
            at += 1
        elif word[:1] == "^" and len(word) > 1:
            out.append(ord(word[1]) & 0x1F)
            at += 2
        elif word:
            out.append(_ESCAPES.get(word[0], ord(word[0])))
            at += 1
    return bytes(out) if escapes >= 8 and len(out) >= values.MIN_VALUES else None


__all__ = ["read_tools"]
