"""The independent reader's views of key bytes printed with non-ASCII characters (rt14 F3).

latin-1 mojibake   bytes decoded as Latin-1 and written as UTF-8 (Python `key.decode('latin-1')`
                   printed, Java `new String(key, ISO_8859_1)` logged): a cluster of at least
                   `PAIRS` `C2`/`C3` pairs, at most `SPREAD` ASCII bytes between two, with the
                   ASCII bytes around it (`EDGE` at most each side), decoded as UTF-8 and encoded
                   as Latin-1; only a cluster with a C0/C1 control character or 40 % accents
                   (random bytes have both, text with accents neither).
raw-rune literals  a quoted literal with byte escapes and raw non-ASCII characters: Python's repr
                   of a Latin-1 str (printable characters raw: each is one byte, its code point)
                   and Go's `%q` (a valid UTF-8 sequence written as its rune: its UTF-8 bytes).
                   Both readings are views; `\\u`/`\\U` escapes the same two ways. Only a
                   literal whose escapes and raw characters are 40 % of its bytes.

Its own code, written apart from the scanner's `mojibake.py` (no numpy, a hand-written unescaper).
Anchors per view are capped (`recheck_codecs.candidates`; more is incomplete, refused).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros
from .recheck_codecs import candidates

if TYPE_CHECKING:
    from .recheck import _Reader

PAIRS = 6
SPREAD = 24
EDGE = 64
ESCAPES = 8  # byte escapes and raw characters of a literal together (2 escapes at least)
SHORTEST = 16
LONGEST = 16 << 10  # bytes of one literal
# key bytes are any bytes, so the cluster holds control characters and NULs (not only printable
# text); it never spans a zero page (SPREAD is far below one), so the zero-page skipping is safe
_CLUSTER = re.compile(rb"(?:[\xc2\xc3][\x80-\xbf][\x00-\x7f]{0,%d}){%d,}" % (SPREAD, PAIRS))
_PAIR = re.compile(rb"[\xc2\xc3][\x80-\xbf]")
_NEAR_RAW = re.compile(rb"\\x[0-9a-fA-F]{2}[ -~]{0,32}?[\x80-\xf4]")  # a byte escape, then soon a non-ASCII byte
_LOW = bytes(range(0x80))
_UTF8_LEADS = bytes(range(0xC2, 0xF5))
# a literal's body up to its closing quote: escapes (a backslash and the byte after it), no raw
# control character, no unescaped quote
_CLOSING = {quote: re.compile(rb"(?:\\[\x20-\xff]|[^\\\x00-\x1f\x7f%s])*%s" % (bytes([quote]), bytes([quote])))
            for quote in b"'\""}
_HEX = frozenset(b"0123456789abcdefABCDEF")
_NAMED = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("a"): 7, ord("b"): 8, ord("f"): 12,
          ord("v"): 11, ord("\\"): 92, ord("'"): 39, ord('"'): 34}


def read_mojibake(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Both forms in one view, each decoded run a child view at its span."""
    cap = candidates(data)
    for count, match in enumerate(_clusters(data)):
        if count >= cap:
            from .recheck import _Exhausted

            raise _Exhausted(f"{name}: more than {cap} Latin-1-as-UTF-8 clusters")
        latin = match.group(0).decode("utf-8").encode("latin-1")
        accents = len(latin.translate(None, _LOW))
        if not any(byte < 0x20 and byte not in (9, 10, 13) or 0x7F <= byte < 0xA0 for byte in latin) and \
                accents * 5 < 2 * len(latin):
            continue  # accented text: no control character and few accents
        start, end = match.start(), match.end()
        while start > 0 and match.start() - start < EDGE and data[start - 1] < 0x80:
            start -= 1
        while end < len(data) and end - match.end() < EDGE and data[end] < 0x80:
            end += 1
        latin = bytes(data[start:end]).decode("utf-8").encode("latin-1")
        outer = reader.decoding(depth, start, end)
        reader.child(latin, f"{name} > latin-1 mojibake@{start}", depth + 1)
        reader.span = outer
    if data.find(b"\\x") < 0:
        return
    after = 0
    opened: set[tuple[int, int]] = set()  # (quote, where) of every opening quote read so far
    last: dict[int, tuple[int, int]] = {}
    for count, hint in enumerate(zeros.finditer(_NEAR_RAW, data)):
        if count >= cap:
            from .recheck import _Exhausted

            raise _Exhausted(f"{name}: more than {cap} escaped literals with raw characters")
        if hint.start() < after:
            continue
        for quote in b"'\"":
            span = _literal(data, hint.start(), quote, opened, last)
            if span is None:
                continue
            readings = _readings(bytes(data[span[0] + 1:span[1] - 1]))
            if readings is None:
                continue
            after = max(after, span[1])
            outer = reader.decoding(depth, *span)
            for label, plain in readings.items():
                reader.child(plain, f"{name} > {label}@{span[0]}", depth + 1)
            reader.span = outer


def _clusters(data: bytes | mmap.mmap) -> Iterator[re.Match[bytes]]:
    """`_CLUSTER`'s matches, searched only where `PAIRS` pairs lie close enough (one quick pass
    for the pairs: the cluster pattern is slow over a whole core)."""
    group: list[int] = []
    for pair in zeros.finditer(_PAIR, data):
        if group and pair.start() - group[-1] > SPREAD + 2:
            if len(group) >= PAIRS:
                yield from _CLUSTER.finditer(data, group[0], group[-1] + 2)
            group = []
        group.append(pair.start())
    if len(group) >= PAIRS:
        yield from _CLUSTER.finditer(data, group[0], group[-1] + 2)


def _literal(data: bytes | mmap.mmap, at: int, quote: int, opened: set[tuple[int, int]],
             last: dict[int, tuple[int, int]]) -> tuple[int, int] | None:
    """The quoted literal (with `quote`) around position `at`: its opening quote is the nearest
    unescaped one before `at` (passing at most 256 escaped ones), its closing one the next
    unescaped one after; None past LONGEST, or when that opening quote was read already.
    `opened` and `last` remember what earlier hints searched, so no byte is searched twice."""
    low = max(0, at - LONGEST)
    searched, nearest = last.get(quote, (0, -1))  # the previous hint's search: hints come in order
    begin = data.rfind(bytes([quote]), max(low, searched), at)
    if begin < 0:
        begin = nearest if nearest >= low else -1
    last[quote] = (at, begin)
    passed: list[int] = []
    while begin >= 0:
        if (quote, -begin - 1) in opened or len(passed) >= 256:  # walked before, or too far
            begin = -1
            break
        if begin == 0 or data[begin - 1] != 0x5C:
            break
        passed.append(begin)
        begin = data.rfind(bytes([quote]), low, begin)
    opened.update((quote, -position - 1) for position in passed)
    if begin < 0:
        return None
    if (quote, begin) in opened:
        return None
    opened.add((quote, begin))
    closing = _CLOSING[quote].match(data, begin + 1, min(len(data), begin + LONGEST))
    if closing is None or closing.end() <= at:
        return None
    return begin, closing.end()


def _readings(body: bytes) -> dict[str, bytes] | None:
    """The literal's bytes as Go writes them (raw characters as their UTF-8) and as Python's str
    repr does (a raw character below U+0100 is that byte); None unless it looks like bytes."""
    backslashes, raw_bytes = body.count(b"\\"), len(body) - len(body.translate(None, _UTF8_LEADS))
    if backslashes < 2 or (backslashes + raw_bytes) * 5 < 2 * (len(body) - 9 * backslashes - 3 * raw_bytes):
        return None  # too few escapes and raw characters for its length, however they decode
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    go, python = bytearray(), bytearray()
    escapes = raw = 0
    index = 0
    while index < len(text):
        char = text[index]
        index += 1
        if char != "\\":
            raw += ord(char) > 0x7F
            go += char.encode("utf-8")
            python += char.encode("latin-1") if ord(char) < 0x100 else char.encode("utf-8")
            continue
        kind = text[index:index + 1]
        index += 1
        width = {"x": 2, "u": 4, "U": 8}.get(kind)
        digits = text[index:index + width] if width else ""
        if width and len(digits) == width and all(ord(c) in _HEX for c in digits):
            index += width
            value = int(digits, 16)
            if kind == "x":
                escapes += 1
                go.append(value)
                python.append(value)
            else:
                rune = chr(min(value, 0x10FFFF)).encode("utf-8", "surrogatepass")
                go += rune
                python += bytes([value]) if value < 0x100 else rune
            continue
        octal = re.match(r"[0-7]{1,3}", text[index - 1:index + 2]) if kind else None
        if octal is not None:
            index += len(octal.group(0)) - 1
            escapes += 1
            go.append(int(octal.group(0), 8) & 0xFF)
            python.append(int(octal.group(0), 8) & 0xFF)
            continue
        value = _NAMED.get(ord(kind), ord(kind)) if kind else 0x5C
        go.append(value)
        python.append(value)
    if escapes < 2 or escapes + raw < max(ESCAPES, 0.4 * len(python)) or len(python) < SHORTEST:
        return None
    return {"escaped utf-8": bytes(go), "escaped latin-1": bytes(python)}


__all__ = ["read_mojibake"]
