"""The independent reader's reading of printed forms that only the scanner read (issue #32, brief
forms): each rewritten in place, same length, into text `recheck_values` reads, and keys declared
in two halves joined.

rewritten  in each printable run, before its value sequences are read again: gdb `x/NNxb` row heads
           `0x... <sym+N>:` (blanked); gdb `x/NNxh`, `x/NNxw`, `x/NNxg` rows: each 4/8/16-digit word
           written byte-reversed (gdb prints the little-endian words as numbers: the reversed
           digits read big-endian are the memory's bytes; the digits as printed are read by
           recheck_values); WinDbg `db` rows (the ``00000000`00401000`` head, the `-` between
           bytes 8 and 9 and the ASCII column blanked); comments to the line's end after `;`, `--`
           or `%` (assembler, Lisp, SQL/Lua, TeX/Erlang/MATLAB) between rows of numbers, MATLAB's `...`;
           the prefixes `$30` (Pascal, 6502), `&H30` (VB) and `#x30` (Lisp) written `0x`; rt16:
           Pascal's `{ row 1 }` and `(* row 1 *)` comments before a number and VB.NET's ` _`
           continuation between two numbers (blanked).
           Only the sequences a rewrite touched are read (the others are read as printed already).
chars      lists of character literals (`'0', '\\x82', '\\001', '\\u0081'`: C/Java arrays of char).
perl       Perl's `\\x{30}` escapes, in one literal or literals joined by `.` over lines, unescaped.
halves     two neighbouring value sequences (at most `HALF_GAP` bytes and two line breaks apart,
           each of at most `MAX_HALF` numbers) read as one where what they spell together, less up
           to two leading numbers of each half (`k1[16] = {`), is key-shaped: two equal halves of
           32, 48, 64 or 66 bytes, or a DER SEQUENCE of its own length: a key declared as `k1[]` and `k2[]` on
           consecutive lines (each half 16 numbers or more: an AES-128 key in halves of 8 is not read).

Bounded as recheck_values is: sequences per run capped (`candidates`), long runs in its windows,
rewritten runs at most 64 KiB of comment per line; linear in the view. The reader's own code: it
imports nothing of the scanner.
"""

from __future__ import annotations

import mmap
import re
from bisect import bisect_left
from collections.abc import Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING

from . import recheck_values as values
from . import recheck_words as words
from .recheck_bytelists import unescape
from .recheck_codecs import Oversized, candidates
from .recheck_tools import read_tools

if TYPE_CHECKING:
    from .recheck import _Reader

HALF_GAP = 160  # bytes between two halves (`};\nstatic const uint8_t k2[] = {`)
MAX_HALF = 1_024  # numbers in a half (an RSA-4096 DER in halves: about 1,200 each; its primes are whole in one)
MAX_PERL = 65_536  # `\x{..}` escapes in one run
MAX_CHARS = 65_536  # character literals read at once (a longer list: in pieces)
CHARS_OVERLAP = 8_192
REACH = 4_096  # changes this close are one cluster; its search starts this far before it

# a cheap test first: a run holds one of these marks or nothing is rewritten
_MARKS = re.compile(rb"`[0-9a-fA-F]{8}[ \t]|[ \t,](?:;|--|%)|[$]|&[hH][0-9a-fA-F]|\#[xX][0-9a-fA-F]"
                    rb"|\{[^{},\n]{1,200}\}|\(\*|[ \t]_[ \t]*\r?\n")
_NUMBER_AHEAD = rb"(?=[ \t]*[-+]?(?:0[xX]|\$|&[hH]|\#[xX])?[0-9a-fA-F]{1,16}[hH]?(?![0-9A-Za-z_]))"
# one gdb `x/` row: an address, a `<sym+N>` label or not, then units of one width (2, 4, 8 or 16 digits)
_GDB_ROW = re.compile(rb"(?m)^[ \t]*0x[0-9a-fA-F]{4,16}(?:[ \t]+%s)?:" % words.LABEL +
                      rb"((?:\t0x[0-9a-fA-F]{16}){1,16}|(?:\t0x[0-9a-fA-F]{8}){1,16}"
                      rb"|(?:\t0x[0-9a-fA-F]{4}){1,16}|(?:\t0x[0-9a-fA-F]{2}){1,16})[ \t]*\r?$")
_GDB_UNIT = re.compile(rb"0x([0-9a-fA-F]{16}|[0-9a-fA-F]{8}|[0-9a-fA-F]{4}|[0-9a-fA-F]{2})(?![0-9a-fA-F])")
_WINDBG_ROW = re.compile(rb"(?m)^[0-9a-fA-F]{8}`[0-9a-fA-F]{8}[ ]{2}((?:[0-9a-fA-F]{2}[ -]){0,15}[0-9a-fA-F]{2})"
                         rb"[^\n]*$")
# a comment between rows of numbers: after a number (`_AFTER_NUMBER`), no number after the mark, to
# the line's end, and the next line begins with a number (or an assembler's data directive)
_NEXT_ROW = rb"(?=\r?\n[ \t]*(?:(?:\.?db|DB|defb|DEFB|\.byte)[ \t]+)?%s)" % _NUMBER_AHEAD[3:-1]
# rt16: a Pascal/Delphi `{ row 1 }` (no comma inside, not one number alone: C's braces hold a list)
# or `(* row 1 *)` comment, or VB.NET's ` _` continuation, with a number after it (on this line or
# the next ones) and, for ` _`, before it (`_AFTER_ROW`)
_NUMBER_AFTER = rb"(?=[ \t\r\n]{0,64}%s)" % _NUMBER_AHEAD[3:-1]
_REWRITES = re.compile(
    rb"(?<=[ \t,])(?:;|--|%%)(?!%s)[^\n]{0,200}%s"
    rb"|(?<=[0-9A-Fa-f][ \t])\.\.\.(?=[ \t]*(?:%%[^\n]{0,200})?\r?\n)"  # MATLAB's continuation
    rb"|(?<![0-9A-Za-z_$])\$(?=[0-9a-fA-F]{1,2}(?![0-9A-Za-z_]))"
    rb"|(?<![0-9A-Za-z_])(?:&[hH]|\#[xX])(?=[0-9a-fA-F]{1,2}(?![0-9A-Za-z_]))"
    rb"|\{(?!%s[ \t]*\})[^{},\n]{1,200}\}%s|\(\*[^\n]{0,200}?\*\)%s"  # Pascal's comments
    rb"|(?<=[ \t])_(?=[ \t]*\r?\n%s)"  # VB.NET's continuation
    % (_NUMBER_AHEAD, _NEXT_ROW, _NUMBER_AHEAD[3:-1], _NUMBER_AFTER, _NUMBER_AFTER, _NUMBER_AFTER))
_AFTER_ROW = re.compile(rb"(?<![0-9A-Za-z_])(?:0[xX]|\$|&[hH]|\#[xX])?[0-9a-fA-F]{1,16}[hH]?[ \t,\r\n]{1,64}$")
_AFTER_NUMBER = re.compile(rb"(?<![0-9A-Za-z_])(?:0[xX]|\$|&[hH]|\#[xX])?[0-9a-fA-F]{1,16}[hH]?[ \t,]{1,32}"
                           rb"(?:\.\.\.[ \t]{1,32})?$")
_CHAR_ITEM = rb"'(?:[ -&(-\[\]-~]|\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u00[0-9a-fA-F]{2}|[abfnrtv0\\'\"?]))'"
_CHAR_LIST = re.compile(rb"(?<![\w'])%s(?:[ \t]*+,[ \t\r\n]*+%s){15,%d}+" % (_CHAR_ITEM, _CHAR_ITEM, 65_535))
_CHAR_BODY = re.compile(rb"'([^'\\]|\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u00[0-9a-fA-F]{2}|[^xu0-7]))'")
_PERL = re.compile(rb"(?:\\x\{[0-9a-fA-F]{1,2}\}(?:[^\"\\\n]|\"[ \t]*\.[ \t]*\r?\n[ \t]*\"){0,32}){16,%d}" % MAX_PERL)
_PERL_ESCAPE = re.compile(rb"\\x\{([0-9a-fA-F]{1,2})\}|\"[ \t]*\.[ \t]*\r?\n[ \t]*\"")

_KEY_LENGTHS = frozenset({32, 48, 64, 66})
_BYTE_READINGS = frozenset({"decimal", "hex", "octal", "binary"})
_TRIMS = [(first, second) for first in range(3) for second in range(3)]  # leading numbers left out of each half

Sequence = tuple[int, int, bytes]  # [start, end) in the view and the sequence's text
Reading = tuple[str, bytes, int, int]  # a base's label, the bytes, [first, last) in the sequence


def read_forms(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
               texts: list[tuple[int, int]], sequences: list[Sequence], readings: list[list[Reading]]) -> None:
    """The rewritten forms, Perl's braced escapes and keys in two halves of one view, each reading
    a child view at its span (`sequences`: the view's value sequences as recheck_values read them,
    `readings`: each one's readings)."""
    cap = candidates(data)
    count = 0
    for start, end in texts:
        if _MARKS.search(data, start, end) is None:
            continue
        run = bytes(data[start:end])
        rewritten, changed = rewrite(run)
        printed = [(low - start, high - start) for low, high, _ in sequences]
        for first, _last, text in _touched(rewritten, changed, printed, name):
            count += 1
            if count > cap:
                raise Oversized(f"more than {cap} rewritten value sequences in a view of {len(data)} bytes")
            for label, spelled, low, high in values._readings(text):
                values._child(reader, spelled, f"{name} > byte-list values ({label}, rewritten)", depth,
                              start + first + low, start + first + high)
    if data.find(b":\t0x") >= 0:
        _gdb(reader, data, name, depth, texts, cap)
    if data.find(b"\\x{") >= 0:
        _perl(reader, data, name, depth, texts, cap)
    if data.find(b"',") >= 0:
        _chars(reader, data, name, depth, texts, cap)
    _halves(reader, data, name, depth, sequences, readings)
    read_tools(reader, data, name, depth, texts, cap)  # rt16 B: od -c, xxd -b, gdb x/tb x/cb, WinDbg, lldb


def _touched(rewritten: bytes, changed: list[int], printed: list[tuple[int, int]],
             name: str) -> Iterator[Sequence]:
    """The value sequences of the rewritten run that hold a change (the others are read as printed).
    Changes are taken in clusters (`REACH` apart at most); each cluster's search starts `REACH`
    before its first change, or at the start of a printed sequence running across that point (a
    sequence the rewrite joins to text before it begins there), and ends past its last change: the
    cost follows the rewritten text, not the run."""
    position = 0
    index = 0
    while index < len(changed):
        last = index
        while last + 1 < len(changed) and changed[last + 1] - changed[last] <= REACH:
            last += 1
        begin = max(0, changed[index] - REACH)
        across = bisect_left(printed, (begin + 1,)) - 1  # the printed sequence starting at or before `begin`
        if across >= 0 and printed[across][1] > begin:
            begin = printed[across][0]
        for match, tokens in values._windows(rewritten, [(max(begin, position), len(rewritten))], name):
            if match.start() > changed[last]:
                break
            position = match.end()
            touched = bisect_left(changed, match.start())
            if tokens >= values.MIN_VALUES and touched < len(changed) and changed[touched] < match.end():
                yield match.start(), match.end(), match.group(0)
        index = last + 1


def rewrite(run: bytes) -> tuple[bytes, list[int]]:
    """The run with the forms above rewritten (same length) and the sorted offsets it changed."""
    out = bytearray(run)
    changed: list[int] = []
    for row in _WINDBG_ROW.finditer(run):
        out[row.start():row.start(1)] = b" " * (row.start(1) - row.start())
        out[row.end(1):row.end()] = b" " * (row.end() - row.end(1))
        out[row.start(1):row.end(1)] = run[row.start(1):row.end(1)].replace(b"-", b" ")
        changed.append(row.start())
    for mark in _REWRITES.finditer(run):
        text = mark.group(0)
        if text[:1] in b";-%" and _AFTER_NUMBER.search(run, max(0, mark.start() - 64), mark.start()) is None:
            continue  # a comment that follows no number
        if text[:1] == b"_" and _AFTER_ROW.search(run, max(0, mark.start() - 96), mark.start()) is None:
            continue  # a VB continuation that follows no number (a Pascal comment may open the list)
        out[mark.start():mark.end()] = b"0x" if len(text) == 2 and text[:1] in b"&#" else b" " * len(text)
        changed.append(mark.start())
    changed.sort()
    return bytes(out), changed


def gdb_row(line: bytes) -> bool:
    """Whether one line is a gdb `x/` row (read here as gdb rows, not as a dump line with an offset)."""
    return _GDB_ROW.match(line.rstrip(b"\n")) is not None


def _gdb(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
         texts: list[tuple[int, int]], cap: int) -> None:
    """Blocks of consecutive gdb `x/` rows, each decoded whole: byte rows where a row has a `<sym>`
    label (rows without one are read by recheck_values), word rows always, little-endian (and
    big-endian where recheck_values reads no sequence: fewer than its 16 numbers)."""
    count = 0
    for start, end in texts:
        block: list[re.Match[bytes]] = []
        for row in chain(_GDB_ROW.finditer(data, start, end), [None]):
            if row is not None and block and (row.start() - block[-1].end() <= 2
                                              or words.prompt_gap(data, block[-1].end(), row.start())):
                block.append(row)
                continue
            if block:
                count += 1
                if count > cap:
                    raise Oversized(f"more than {cap} gdb row blocks in a view of {len(data)} bytes")
                _gdb_block(reader, name, depth, block)
            block = [row] if row is not None else []


def _gdb_block(reader: _Reader, name: str, depth: int, block: list[re.Match[bytes]]) -> None:
    words = [digits for row in block for digits in _GDB_UNIT.findall(row.group(1))]
    wide = len(words[0]) > 2
    if not wide and not any(b"<" in row.group(0) for row in block):
        return
    raw = [bytes.fromhex(digits.decode("ascii")) for digits in words]
    orders = [(b"little", b"".join(word[::-1] for word in raw))] if wide else [(b"bytes", b"".join(raw))]
    if wide and len(words) < values.MIN_VALUES:
        orders.append((b"big", b"".join(raw)))
    low, high = block[0].start(), block[-1].end()
    for order, spelled in orders:
        values._child(reader, spelled, f"{name} > gdb rows ({order.decode()})", depth, low, high)


def _perl(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
          texts: list[tuple[int, int]], cap: int) -> None:
    count = 0
    for start, end in texts:
        for match in _PERL.finditer(data, start, end):
            count += 1
            if count > cap:
                raise Oversized(f"more than {cap} braced-escape runs in a view of {len(data)} bytes")
            spelled = unescape(_PERL_ESCAPE.sub(_perl_byte, match.group(0)))
            values._child(reader, spelled, f"{name} > escaped (braced)", depth, match.start(), match.end())


def _chars(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
           texts: list[tuple[int, int]], cap: int) -> None:
    """Lists of 16 or more character literals (`'0', '\\x82', '\\001', '\\u0081'`), each literal one
    byte; a longer list than MAX_CHARS is read in pieces overlapping by CHARS_OVERLAP literals."""
    count = 0
    for start, end in texts:
        position = start
        while (match := _CHAR_LIST.search(data, position, end)) is not None:
            count += 1
            if count > cap:
                raise Oversized(f"more than {cap} character-literal lists in a view of {len(data)} bytes")
            bodies = _CHAR_BODY.findall(match.group(0))
            spelled = b"".join(_char(body) for body in bodies)
            values._child(reader, spelled, f"{name} > escaped (character literals)", depth, match.start(), match.end())
            if len(bodies) < MAX_CHARS:
                position = match.end()
            else:
                position = match.start() + [m.start() for m in _CHAR_BODY.finditer(match.group(0))][-CHARS_OVERLAP]


def _char(body: bytes) -> bytes:
    if body[:2] == b"\\u":
        return bytes([int(body[2:], 16)])
    return unescape(body)[:1]


def _perl_byte(escape: re.Match[bytes]) -> bytes:
    digits = escape.group(1)
    return b"\\x%02x" % int(digits, 16) if digits is not None else b""


def _halves(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int, sequences: list[Sequence],
            readings: list[list[Reading]]) -> None:
    """Each two neighbouring sequences read as one: a reading that ends the first and one in the
    same base that begins at one of the second's first three numbers, joined where, less up to two
    leading numbers of each (an array's size, an index), they are key-shaped (`_key_shaped`)."""
    for index in range(len(sequences) - 1):
        (a_start, a_end, a_text), (b_start, _b_end, b_text) = sequences[index], sequences[index + 1]
        if not 0 <= b_start - a_end <= HALF_GAP or max(len(a_text), len(b_text)) > 8 * MAX_HALF:
            continue
        if bytes(data[a_end:b_start]).count(b"\n") > 2:
            continue
        ends = {label: (spelled, first) for label, spelled, first, last in readings[index]
                if last == len(a_text) and label in _BYTE_READINGS}
        heads = {part.start() for part in islice(values._PARTS.finditer(b_text), 3)}
        for label, second, first_b, last in readings[index + 1]:
            if first_b not in heads or label not in ends:
                continue  # (a reading may begin past a size that fits no byte: `k2[596] = {`)
            first, low = ends[label]
            for skip, skip_b in _TRIMS:
                halves = first[skip:] + second[skip_b:]
                if _key_shaped(halves, len(first) - skip):
                    values._child(reader, halves, f"{name} > byte-list values ({label}, halves)", depth,
                                  a_start + low, b_start + last)


def _key_shaped(spelled: bytes, first: int) -> bool:
    """Two equal halves (`first` bytes the first) of a raw key's length (a 32-byte AES key, EC
    scalar or Ed25519 seed; P-384; an Ed25519 seed and public key; P-521), or a DER SEQUENCE whose
    header gives the whole length."""
    size = len(spelled)
    if size in _KEY_LENGTHS and 2 * first == size:
        return True
    if size < 4 or spelled[0] != 0x30:
        return False
    header = spelled[1]
    if header < 0x80:
        return header + 2 == size
    if header == 0x81:
        return spelled[2] + 3 == size
    return header == 0x82 and int.from_bytes(spelled[2:4], "big") + 4 == size


__all__ = ["gdb_row", "read_forms", "rewrite"]
