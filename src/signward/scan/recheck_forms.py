"""The independent reader's reading of printed forms that only the scanner read (issue #32, brief
forms): each rewritten in place, same length, into text `recheck_values` reads, and keys declared
in two halves joined.

rewritten  in each printable run, before its value sequences are read again: gdb `x/NNxb` row heads
           `0x... <sym+N>:` (blanked); gdb `x/NNxh`, `x/NNxw`, `x/NNxg` rows: each 4/8/16-digit word
           written byte-reversed (gdb prints the little-endian words as numbers: the reversed
           digits read big-endian are the memory's bytes; the digits as printed are read by
           recheck_values); WinDbg `db` rows (the ``00000000`00401000`` head, the `-` between
           bytes 8 and 9 and the ASCII column blanked); comments to the line's end after `;`, `--`
           or `%` (assembler, Lisp, SQL/Lua, TeX/Erlang/MATLAB) when no number follows the mark;
           the prefixes `$30` (Pascal, 6502), `&H30` (VB) and `#x30` (Lisp) written `0x`.
           Only the sequences a rewrite touched are read (the others are read as printed already).
perl       Perl's `\\x{30}` escapes, in one literal or literals joined by `.` over lines, unescaped.
halves     two neighbouring value sequences (at most `HALF_GAP` bytes and two line breaks apart,
           each of at most `MAX_HALF` numbers: short of a key alone) read as one: a key declared as
           `k1[]` and `k2[]` on consecutive lines.

Bounded as recheck_values is: sequences per run capped (`candidates`), long runs in its windows,
rewritten runs at most 64 KiB of comment per line; linear in the view. The reader's own code: it
imports nothing of the scanner.
"""

from __future__ import annotations

import mmap
import re
from bisect import bisect_left
from itertools import chain
from typing import TYPE_CHECKING

from . import recheck_values as values
from .recheck_bytelists import unescape
from .recheck_codecs import Oversized, candidates

if TYPE_CHECKING:
    from .recheck import _Reader

HALF_GAP = 160  # bytes between two halves (`};\nstatic const uint8_t k2[] = {`)
MAX_HALF = 1_024  # numbers in a half (an RSA-4096 DER in halves: about 1,200 each; its primes are whole in one)
MAX_PERL = 65_536  # `\x{..}` escapes in one run

# a cheap test first: a run holds one of these marks or nothing is rewritten
_MARKS = re.compile(rb"`[0-9a-fA-F]{8}[ \t]|[ \t,](?:;|--|%)|[$]|&[hH][0-9a-fA-F]|\#[xX][0-9a-fA-F]")
_NUMBER_AHEAD = rb"(?=[ \t]*[-+]?(?:0[xX]|\$|&[hH]|\#[xX])?[0-9a-fA-F]{1,16}[hH]?(?![0-9A-Za-z_]))"
# one gdb `x/` row: an address, a `<sym+N>` label or not, then units of one width (2, 4, 8 or 16 digits)
_GDB_ROW = re.compile(rb"(?m)^[ \t]*0x[0-9a-fA-F]{4,16}(?:[ \t]+<[^<>\n]{1,200}>)?:((?:\t0x[0-9a-fA-F]{16}){1,16}"
                      rb"|(?:\t0x[0-9a-fA-F]{8}){1,16}|(?:\t0x[0-9a-fA-F]{4}){1,16}|(?:\t0x[0-9a-fA-F]{2}){1,16})[ \t]*\r?$")
_GDB_UNIT = re.compile(rb"0x([0-9a-fA-F]{16}|[0-9a-fA-F]{8}|[0-9a-fA-F]{4}|[0-9a-fA-F]{2})(?![0-9a-fA-F])")
_WINDBG_ROW = re.compile(rb"(?m)^[0-9a-fA-F]{8}`[0-9a-fA-F]{8}[ ]{2}((?:[0-9a-fA-F]{2}[ -]){0,15}[0-9a-fA-F]{2})[^\n]*$")
_REWRITES = re.compile(
    rb"(?<=[ \t,]);(?!%s)[^\n]{0,200}|(?<=[ \t,])--(?!%s)[^\n]{0,200}|(?<=[ \t,])%%(?!%s)[^\n]{0,200}"
    rb"|(?<![0-9A-Za-z_$])\$(?=[0-9a-fA-F]{1,2}(?![0-9A-Za-z_]))"
    rb"|(?<![0-9A-Za-z_])(?:&[hH]|\#[xX])(?=[0-9a-fA-F]{1,2}(?![0-9A-Za-z_]))"
    % (_NUMBER_AHEAD, _NUMBER_AHEAD, _NUMBER_AHEAD))
_PERL = re.compile(rb"(?:\\x\{[0-9a-fA-F]{1,2}\}(?:[^\"\\\n]|\"[ \t]*\.[ \t]*\r?\n[ \t]*\"){0,32}){16,%d}" % MAX_PERL)
_PERL_ESCAPE = re.compile(rb"\\x\{([0-9a-fA-F]{1,2})\}|\"[ \t]*\.[ \t]*\r?\n[ \t]*\"")

Sequence = tuple[int, int, bytes]  # [start, end) in the view and the sequence's text


def read_forms(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
               texts: list[tuple[int, int]], sequences: list[Sequence]) -> None:
    """The rewritten forms, Perl's braced escapes and keys in two halves of one view, each reading
    a child view at its span (`sequences`: the view's value sequences as recheck_values read them)."""
    cap = candidates(data)
    count = 0
    for start, end in texts:
        run = bytes(data[start:end])
        if _MARKS.search(run) is None:
            continue
        rewritten, changed = rewrite(run)
        if not changed:
            continue
        for first, last, text in values._sequences(rewritten, [(0, len(rewritten))], name, cap):
            count += 1
            if count > cap:
                raise Oversized(f"more than {cap} rewritten value sequences in a view of {len(data)} bytes")
            touched = bisect_left(changed, first)
            if touched == len(changed) or changed[touched] >= last:
                continue  # read as printed already
            for label, spelled, low, high in values._readings(text):
                values._child(reader, spelled, f"{name} > byte-list values ({label}, rewritten)", depth,
                              start + first + low, start + first + high)
    if data.find(b":\t0x") >= 0:
        _gdb(reader, data, name, depth, texts, cap)
    if data.find(b"\\x{") >= 0:
        _perl(reader, data, name, depth, texts, cap)
    _halves(reader, data, name, depth, sequences)


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
            if row is not None and block and row.start() - block[-1].end() <= 2:
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


def _perl_byte(escape: re.Match[bytes]) -> bytes:
    digits = escape.group(1)
    return b"\\x%02x" % int(digits, 16) if digits is not None else b""


def _halves(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int, sequences: list[Sequence]) -> None:
    """Each two neighbouring short sequences read as one; only readings that take numbers of both."""
    for (a_start, a_end, a_text), (b_start, _b_end, b_text) in zip(sequences, sequences[1:], strict=False):
        if not 0 <= b_start - a_end <= HALF_GAP or max(len(a_text), len(b_text)) > 8 * MAX_HALF:
            continue
        if bytes(data[a_end:b_start]).count(b"\n") > 2:
            continue
        joined = a_text + b"\n" + b_text
        cut = len(a_text)
        for label, spelled, low, high in values._readings(joined):
            if not low < cut < high:
                continue  # one half alone: read already
            values._child(reader, spelled, f"{name} > byte-list values ({label}, halves)", depth,
                          a_start + low, b_start + high - cut - 1)


__all__ = ["gdb_row", "read_forms", "rewrite"]
