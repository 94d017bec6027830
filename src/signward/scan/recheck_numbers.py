"""The independent reader's "text integers" view: keys printed as numbers (issue #32, F1-F3).

Standard tools print key material as numbers, not as an encoding: `openssl pkey -text` (hex pairs
with `:` over indented lines), `openssl asn1parse` (one hex run per INTEGER), xxd, `hexdump -C`,
`od -An -tx1`, hex with spaces over lines, C arrays (`0x30, 0x82`, `48, 130`), decimal numbers
(Python `RSAPrivateNumbers(p=...)`, Java's toString of the private exponent). This module owns
reading them back: hex dump lines are joined into one byte string per block (offsets and the ASCII
column dropped), decimal runs of >= `MIN_DECIMAL` digits read as big-endian integers, decimal byte
arrays as bytes; each becomes a child view of the reader (DER loader, known-key windows), and every
integer of RSA size is checked against the known RSA public keys as a private exponent d or a CRT
exponent dp/dq (`rsa_part`). `text_block` gives the run of printable text around a finding, which
sanitize redacts whole so that no sibling value (d, dp, dq, qi, the other prime) stays.

Bounded: at most `MAX_BLOCKS` blocks (more: the read is incomplete, refused) and
`MAX_INTEGER_CHECKS` exponent checks per recheck, blocks of
at most `MAX_BLOCK_BYTES`, decimal runs of at most `MAX_DECIMAL` digits; only lines that look like a
dump are joined (a regex prefilter, so a large core costs one pass per pattern).
"""

from __future__ import annotations

import itertools
import mmap
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros
from .recheck_bytelists import read_bytelists
from .recheck_codecs import Oversized
from .recheck_forms import gdb_row

if TYPE_CHECKING:
    from .recheck import RecheckFinding, _Reader

MIN_DECIMAL = 60
MAX_DECIMAL = 2_500  # a 8192-bit number has 2,467 digits
MIN_BLOCK_BYTES = 16
MAX_BLOCK_BYTES = 64 << 10
MAX_BLOCKS = 20_000
MAX_INTEGER_CHECKS = 2_000
TEXT_REACH = 16 << 10
PRINTABLE = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_PROBE = 0x5157A2D1C3  # the fixed message of the exponent checks

# a line of a hex dump: an optional offset (xxd, hexdump, od), then >= 4 hex groups with `:`, `,`,
# spaces or a 0x prefix between them, then anything (the ASCII column, dropped below)
# (a short line with an offset, or after a line that ends in `:` or `,`, is the end of a block)
_GROUP = rb"(?:(?:0[xX])?[0-9a-fA-F]{2,8}[ \t]*[:,]?[ \t]*)"
_HEX_LINE = re.compile(rb"^[ \t]*(?:[0-9a-fA-F]{4,8}:?[ \t]+%s+|(?:[0-9a-fA-F]{4,8}:?[ \t]+)?%s{4,})[^\n]*\n?"
                       rb"|(?<=[:,]\n)[ \t]*%s+[^\n]*\n?" % (_GROUP, _GROUP, _GROUP), re.M)
_LINE_HEAD = re.compile(rb"\n[ \t]*[0-9a-fA-F]")  # every _HEX_LINE match starts after one (or at 0)
LINE_HEADS_PER_KIB = 16
_OFFSET = re.compile(rb"[ \t]*([0-9a-fA-F]{4,8})(:?)[ \t]+")
_COLUMNS = re.compile(rb"[ \t]{2,}")
_TOKEN_SPLIT = re.compile(rb"[\s:,]+")
_HEX_TOKEN = re.compile(rb"(?:0[xX])?((?:[0-9a-fA-F]{2})+)")
_LONG_HEX = re.compile(rb"[0-9a-fA-F]{64,4096}")
_DECIMAL = re.compile(rb"(?<![0-9])[0-9]{%d,%d}(?![0-9])" % (MIN_DECIMAL, MAX_DECIMAL))
_DECIMAL_BYTES = re.compile(rb"(?:(?<![0-9])(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])[ \t]*,[ \t\r\n]*){16,}"
                            rb"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?![0-9])")


def _hex_line(line: bytes) -> bytes | None:
    """The bytes one dump line spells, or None when it is not a dump line."""
    tokens = _hex_tokens(line)
    return None if tokens is None else bytes.fromhex(b"".join(tokens).decode("ascii"))


def _hex_tokens(line: bytes) -> list[bytes] | None:
    """The hex groups of one dump line as printed (without `0x`), or None when it is not one."""
    body = line.rstrip(b"\r\n")
    offset = _OFFSET.match(body)
    if offset is not None:
        rest = body[offset.end():]
        if offset.group(2):  # xxd: `00000000: 3082 04bd ...  ASCII`
            rest = rest.split(b"  ", 1)[0]
        else:  # hexdump -C: `00000000  30 82 ...  |ASCII|`; od: `0000000 30 82 ...`
            rest = rest.split(b"|", 1)[0]
        # certutil, Format-Hex: the ASCII column after two or more spaces (a gap mid-row too)
        columns = _COLUMNS.split(rest.strip())
        candidates = [b" ".join(columns[:k]) for k in range(len(columns), 0, -1)]
        candidates.append(body)  # a line of bare groups may begin with one that looks like an offset
    else:
        candidates = [body]
    for text in candidates:
        tokens = [t for t in _TOKEN_SPLIT.split(text.strip()) if t]
        if not tokens:
            continue
        out = []
        for token in tokens:
            match = _HEX_TOKEN.fullmatch(token)
            if match is None:
                break
            out.append(match.group(1))
        else:
            return out
    return None


def _swapped(tokens: list[bytes]) -> bytes | None:
    """A word dump's line (`hexdump`'s and `od -x`'s 16-bit, `xxd -e`'s 32-bit, `xxd -e -g8`'s 64-bit
    little-endian words) read byte-swapped; None when its groups are not all words of one width."""
    widths = {len(t) for t in tokens}
    if widths not in ({4}, {8}, {16}):
        return None
    return b"".join(bytes.fromhex(t.decode("ascii"))[::-1] for t in tokens)


def hex_lines(data: bytes | mmap.mmap) -> Iterator[re.Match[bytes]]:
    """`_HEX_LINE.finditer(data)`, tried only where a match can start: every match starts at the
    view's start or just after a newline (`^` in MULTILINE, or after `:\n`/`,\n`) and, past
    blanks, at a hex digit (`_LINE_HEAD` finds those places by a newline, memchr-fast, where the
    line pattern tries every offset). Past LINE_HEADS_PER_KIB heads a KiB (a view written to make
    the heads many) the rest is `_HEX_LINE.finditer` itself."""
    size = len(data)
    cap = size * LINE_HEADS_PER_KIB // 1024 + 1024
    done = 0
    heads = _LINE_HEAD.finditer(data)
    for count, head in enumerate(itertools.chain((None,), heads)):
        at = 0 if head is None else head.start() + 1
        if count > cap:
            yield from _HEX_LINE.finditer(data, max(done, at))
            return
        if at < done:
            continue
        match = _HEX_LINE.match(data, at)
        if match is not None:
            done = match.end()
            yield match


def hex_blocks(data: bytes | mmap.mmap,
               words: list[tuple[int, int, bytes]] | None = None) -> list[tuple[int, int, bytes]]:
    """[start, end) and bytes of each block of consecutive hex dump lines (>= MIN_BLOCK_BYTES);
    a block of words of one width (`hexdump`, `od -x`, `xxd -e`) also byte-swapped into `words`."""
    blocks: list[tuple[int, int, bytes]] = []
    start = end = -1
    parts: list[bytes] = []
    swaps: list[bytes] | None = []
    size = 0

    def close() -> None:
        last = end
        if parts:  # a short last line (od, hex over lines) the line pattern did not take
            stop = data.find(b"\n", end, end + 256)
            line = bytes(data[end:stop + 1 if stop >= 0 else min(len(data), end + 256)])
            tokens = _hex_tokens(line) if line.strip() and (stop >= 0 or end + 256 >= len(data)) else None
            spelled = None if tokens is None else bytes.fromhex(b"".join(tokens).decode("ascii"))
            if tokens is not None and spelled is not None and len(spelled) <= 16:
                parts.append(spelled)
                _add_swap(tokens)
                last = end + len(line)
        if sum(map(len, parts)) >= MIN_BLOCK_BYTES:
            if len(blocks) >= MAX_BLOCKS:
                raise Oversized(f"more than {MAX_BLOCKS} hex dump blocks")
            blocks.append((start, last, b"".join(parts)))
            if words is not None and swaps:
                words.append((start, last, b"".join(swaps)))

    def _add_swap(tokens: list[bytes]) -> None:
        nonlocal swaps
        swap = _swapped(tokens)
        swaps = None if swap is None or swaps is None else [*swaps, swap]

    # over the whole view, not recheck_zeros' kept spans: a dump line ends in `[^\n]*`, which runs
    # on over zero bytes to its newline, and the next line joins the block only where it ended
    for match in hex_lines(data):
        tokens = _hex_tokens(match.group(0))
        if tokens is None or gdb_row(match.group(0)):  # (read as gdb rows by recheck_forms)
            continue
        spelled = bytes.fromhex(b"".join(tokens).decode("ascii"))
        if match.start() != end or size + len(spelled) > MAX_BLOCK_BYTES:
            close()
            start, parts, swaps, size = match.start(), [], [], 0
        parts.append(spelled)
        _add_swap(tokens)
        size += len(spelled)
        end = match.end()
    close()
    return blocks


def read_numbers(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """The text integers of one view: each as a child view, and each RSA-sized one checked as d/dp/dq."""
    words: list[tuple[int, int, bytes]] = []
    for start, end, spelled in hex_blocks(data, words):
        outer = reader.decoding(depth, start, end)
        _child(reader, spelled, f"{name} > hex-dump", depth, (start, end))
        _check_integer(reader, int.from_bytes(spelled, "big"), name, (start, end))
        reader.span = outer
    for start, end, spelled in words:  # a word dump's bytes in memory order
        outer = reader.decoding(depth, start, end)
        _child(reader, spelled, f"{name} > hex-words", depth, (start, end))
        _check_integer(reader, int.from_bytes(spelled, "big"), name, (start, end))
        reader.span = outer
    for match in zeros.finditer(_LONG_HEX, data):  # asn1parse's `INTEGER :C3AB...` and bare hex
        _check_integer(reader, int(match.group(0), 16), name, (match.start(), match.end()))
    for match in zeros.finditer(_DECIMAL, data):
        value = int(match.group(0))
        width = max(32, (value.bit_length() + 7) // 8)
        outer = reader.decoding(depth, match.start(), match.end())
        _child(reader, value.to_bytes(width, "big"), f"{name} > decimal", depth, (match.start(), match.end()))
        _check_integer(reader, value, name, (match.start(), match.end()))
        reader.span = outer
    for match in zeros.finditer(_DECIMAL_BYTES, data):
        spelled = bytes(int(t) for t in _TOKEN_SPLIT.split(match.group(0)) if t)
        outer = reader.decoding(depth, match.start(), match.end())
        _child(reader, spelled, f"{name} > decimal-bytes", depth, (match.start(), match.end()))
        reader.span = outer
    read_bytelists(reader, data, name, depth)  # printed bytes: lists, escapes, joined pieces


def _child(reader: _Reader, data: bytes, name: str, depth: int, here: tuple[int, int]) -> None:
    """A child view of the number spelled at `here` (`reader.decoding` made it the span of what is
    found below); the same bytes printed again elsewhere (a log line copied in a heap), or reached
    through another route (a JWK's "d", a base64 run), are read once and each copy is a finding of
    its own (`_Reader.child` makes the first reading's findings again at each copy's span)."""
    reader.child(data, name, depth + 1)


def _check_integer(reader: _Reader, value: int, name: str, here: tuple[int, int]) -> None:
    for kid, n, e in _rsa_publics(reader):
        part = rsa_part(value, n, e, reader)
        if part is not None:
            reader.found("known-key", name, f"RSA {part} of known kid {kid}", here)
            return


def _rsa_publics(reader: _Reader) -> list[tuple[str, int, int]]:
    return reader.rsa_publics


def rsa_part(value: int, n: int, e: int, reader: _Reader | None = None) -> str | None:
    """'d' when `value` is a private exponent of (n, e), 'dp/dq' when a CRT exponent, else None.
    Only integers of a fitting size are tested (a modular exponentiation each)."""
    bits, nbits = value.bit_length(), n.bit_length()
    if not (nbits // 2 - 24 <= bits <= nbits) or value >= n or value < 3:
        return None
    if reader is not None:
        reader.integer_checks += 1
        if reader.integer_checks > MAX_INTEGER_CHECKS:
            from .recheck import _Exhausted

            raise _Exhausted(f"more than {MAX_INTEGER_CHECKS} RSA exponent checks")
    cipher = pow(_PROBE, e, n)
    if bits > nbits // 2 + 24 and pow(cipher, value, n) == _PROBE:
        return "d"
    if bits <= nbits // 2 + 8:
        from math import gcd

        factor = gcd(pow(cipher, value, n) - _PROBE, n)
        if 1 < factor < n:
            return "dp/dq"
    return None


def printed_number(finding: RecheckFinding) -> bool:
    """A finding in a number view (a hex run or dump, a decimal number or byte array) or an RSA
    exponent: its siblings are printed next to it."""
    return (bool(re.search(r"> (?:hex|decimal|byte-list|escaped)", finding.view))
            or finding.key.startswith(("RSA d ", "RSA dp/dq ")))


def text_block(data: bytes | mmap.mmap, start: int, end: int, reach: int = TEXT_REACH) -> tuple[int, int]:
    """The run of printable text (at most `reach` bytes either way) around [start, end) when that
    span is itself printable text; the span unchanged otherwise."""
    span = bytes(data[start:end])
    if not span or span.translate(None, PRINTABLE):
        return start, end
    before = bytes(data[max(0, start - reach):start])
    after = bytes(data[end:end + reach])
    return start - (len(before) - len(before.rstrip(PRINTABLE))), end + len(after) - len(after.lstrip(PRINTABLE))


__all__ = ["hex_blocks", "printed_number", "read_numbers", "rsa_part", "text_block"]
