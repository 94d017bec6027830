"""The independent reader's LIST reader for printed memory as words (issue #32, rt18): integers wider
than a byte apart by commas (Python, JSON, Java, C, Rust, node, numpy repr, gdb `p/x`) or, inside `[`,
by blanks (Go, numpy str), read as the bytes of 2-, 4- or 8-byte words.

number  an optional quote, a sign, `0x` and hex digits, or decimal digits, or bare hex digits with a
        letter and a digit (Go `%x`), a C/Java/Rust suffix (`U`, `L`, `UL`, `ULL`, `u32`, `i64`...),
        the closing quote.
list    numbers apart by a comma (blanks and newlines around it) or a row join (`],\\n [`); when the
        list opens with `[` (or `[[`), blanks and newlines alone apart them too. Matched from its first
        number to its last, possessively (no search starts inside one: linear). All `0x`, all bare
        hex, or all decimal; else no reading.
reading for each W in (2, 4, 8) whose range holds every number (negative as two's complement), the
        parts of the list where the words are full (the most significant byte not zero, as 255 in 256
        random words are), `MIN_RUN` bytes or more, single non-full words inside kept, `PAD` bytes
        either side; little-endian and big-endian, each a child view at the list's raw span (a
        finding there redacts the whole list). A list of small integers has no such part, a list
        shorter than `SHORTEST` characters (a CSV row) cannot hold one: not read.

Bounded: numbers of a list read `MAX_NUMBERS` at a time (a longer list in windows sharing `SHARED`
numbers; a window whose numbers are all in [0, 99] has no full word and is not parsed: linear in
the list, session 19), lists with a reading per view capped (`recheck_codecs.candidates`: more is incomplete);
decoded bytes count against the reader's budget as every view's do. The reader's own code: it
imports nothing of the scanner.
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

WORD_SIZES = (2, 4, 8)
MIN_RUN = 32
PAD = 64
FEWEST = 4  # numbers: a 32-byte scalar as 8-byte words
SHORTEST = 64  # characters: MIN_RUN bytes of full words print more (4 of 8 bytes: 17+ digits each)
MAX_NUMBERS = 16_384
SHARED = 2_048
NEAR = 256
JOINED_BYTES = 64 << 10

_TEXT = re.compile(rb"[\t\n\r -~]{15,}")
_NUMBER = (rb"(?<![\w.$'\"])['\"]?+[-+]?+(?:0[xX][0-9A-Fa-f]{1,16}+|[0-9]{1,20}+(?![A-Fa-f])"
           rb"|(?=[0-9]{0,15}+[A-Fa-f])(?=[A-Fa-f]{0,15}+[0-9])[0-9A-Fa-f]{2,16}+)"
           rb"(?:[uU][lL]{0,2}+|[lL]{1,2}+|_?+[uUiI](?:8|16|32|64|128|size))?+['\"]?+(?![\w.])")
_GAP = rb"(?:[ \t\r\n]*+,[ \t\r\n]*+|[ \t\r\n]*+\][ \t\r\n]*+,?+[ \t\r\n]*+\[[ \t\r\n]*+|(?(1)[ \t\r\n]++|(?!)))"
_LIST = re.compile(rb"(\[[ \t\r\n]*+(?:\[[ \t\r\n]*+)?+)?+%s(?:%s%s)*+" % (_NUMBER, _GAP, _NUMBER))
_PIECES = re.compile(rb"(-?)(0[xX])?([0-9A-Fa-f]+)")
_ONE = re.compile(_NUMBER)
_WIDE = re.compile(rb"[0-9]{3}|[-xXA-Fa-f]")  # a number that may be 100 or more, or negative


def read_wordlists(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every list of words of one view (module docstring), each reading a child view at its span;
    lists at most `NEAR` characters apart (a log's lists, line after line) are read as one: each
    reading's bytes joined, one child view at the span from the first list to the last (at most
    `JOINED_BYTES` bytes a child), so a log of many lists is few views."""
    cap = candidates(data)
    pending: dict[str, bytearray] = {}
    span = [0, 0]
    joins = 0

    def flush() -> None:
        nonlocal joins
        joins += 1
        if joins > cap:
            raise Oversized(f"more than {cap} word lists in a view of {len(data)} bytes")
        for label, spelled in pending.items():
            outer = reader.decoding(depth, span[0], span[1])
            reader.child(bytes(spelled), f"{name} > word list ({label})", depth + 1)
            reader.span = outer
        pending.clear()

    for low, high, readings in _lists(data):
        if pending and (low < span[1] or low - span[1] > NEAR
                        or sum(map(len, pending.values())) + sum(len(r[1]) for r in readings) > JOINED_BYTES):
            flush()
        if not pending:
            span[0] = low
        span[1] = high
        for label, spelled in readings:
            pending.setdefault(label, bytearray()).extend(spelled)
    if pending:
        flush()


def _lists(data: bytes | mmap.mmap) -> Iterator[tuple[int, int, list[tuple[str, bytes]]]]:
    """Each list (a longer one: each window of it) with readings: its span and its readings."""
    for text in zeros.finditer(_TEXT, data):
        for match in _LIST.finditer(data, text.start(), text.end()):
            if match.end() - match.start() < SHORTEST:
                continue  # (a CSV row, a short list: no MIN_RUN bytes of full words)
            body = match.group(0)  # (once: a group per number copied the whole list, quadratic)
            numbers = [(one.start(), one.end()) for one in _ONE.finditer(body)]
            if len(numbers) < FEWEST:
                continue
            at = 0
            while True:  # windows of MAX_NUMBERS numbers
                last = min(len(numbers), at + MAX_NUMBERS)
                whole = at == 0 and last == len(numbers)
                low = match.start() if whole else match.start() + numbers[at][0]
                high = match.end() if whole else match.start() + numbers[last - 1][1]
                first, final = numbers[at][0], numbers[last - 1][1]
                # (no number of 3 digits, sign or hex: all in [0, 99], no word of 2+ bytes full)
                small = _WIDE.search(body, first, final) is None
                readings = [] if small else _read([body[a:b] for a, b in numbers[at:last]])
                if readings:
                    yield low, high, readings
                if last == len(numbers):
                    break
                at = last - SHARED


def _read(tokens: list[bytes]) -> list[tuple[str, bytes]]:
    """Each (label, bytes) reading of one list's numbers (module docstring)."""
    pieces = [_PIECES.search(token.strip(b"'\"+")) for token in tokens]
    prefixes = {piece.group(2) is not None for piece in pieces if piece is not None}
    if None in pieces or len(prefixes) != 1:
        return []
    hexa = prefixes == {True} or any(not piece.group(3).isdigit() for piece in pieces)  # type: ignore[union-attr]
    values = [int(piece.group(3), 16 if hexa else 10) * (-1 if piece.group(1) else 1)  # type: ignore[union-attr]
              for piece in pieces]
    smallest, largest = min(values), max(values)
    out: list[tuple[str, bytes]] = []
    for size in WORD_SIZES:
        bits = 8 * size
        if smallest < -(1 << bits - 1) or largest >= 1 << bits:
            continue
        words = [value % (1 << bits) for value in values]
        for first, last in _full_parts(words, size):
            for order in ("little", "big"):
                spelled = b"".join(word.to_bytes(size, order) for word in words[first:last])
                out.append((f"{'hex' if hexa else 'decimal'}, {size}-byte, {order}", spelled))
    return out


def _full_parts(words: list[int], size: int) -> list[tuple[int, int]]:
    """[first, last) of each part of full words (module docstring), padded, overlapping ones joined."""
    full = [word >> 8 * (size - 1) != 0 for word in words]
    parts: list[list[int]] = []
    for index, is_full in enumerate(full):
        if not is_full:
            continue
        if parts and index - parts[-1][1] <= 1:  # one non-full word between: the same part
            parts[-1][1] = index + 1
        else:
            parts.append([index, index + 1])
    pad = PAD // size
    joined: list[tuple[int, int]] = []
    for first, last in parts:
        if (last - first) * size < MIN_RUN:
            continue
        first, last = max(0, first - pad), min(len(words), last + pad)
        if joined and first <= joined[-1][1]:
            joined[-1] = (joined[-1][0], last)
        else:
            joined.append((first, last))
    return joined


__all__ = ["read_wordlists"]
