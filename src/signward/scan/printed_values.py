"""Byte values printed as text, read as values (issue #32, session 14, red team rt14 F1, F2, F3b,
F5): this module owns reading a key that code printed as numbers in a form `printed.py`'s form
regexes do not take, and escaped literals split over lines or written with doubled backslashes.

1. Value sequences: in text, a maximal sequence of number tokens (decimal with a sign, hex with or
   without `0x`, an `h` suffix or padding, binary `0b`, three-digit octal; `u8`/`i8`/`.toByte()`
   after one) whose separators are bounded runs of whitespace, newlines, punctuation, quotes, known
   decorations (`(byte)`, `int(`, `=>`, PHP's `[N] =>`), comments (`/*...*/`, `//...`, `#...`),
   row offsets `(?:0x)?[0-9a-f]{4,16}:` (dropped) and a dump's ASCII column (dropped); round 2
   (rt14b F1): `$30`, `&H30`, `#x30` prefixes, `;`/`--`/`%` comments to the line's end (when no
   number follows the mark), MATLAB's `...`, gdb `x/xb` heads `0x... <sym+N>:`, WinDbg `db` heads
   `00000000`00401000` and its `-` between bytes 8 and 9, `ident[N] =` (generated C), sign-extended
   bytes (`ffffff81`, `ff81`) read as their low byte (base `hex-sign-extended`); rt16: Pascal's
   `{ row 1 }` and `(* row 1 *)` comments, VB.NET's ` _` line continuation. The
   sequence is read in every base that fits its tokens (a token that does not fit ends a piece),
   hex tokens of 4 or 8 digits as big-endian words (tcpdump), a strictly increasing index column
   of a decimal sequence dropped; each piece of `MIN_BYTES` or more bytes is a view. A sequence is
   matched possessively from its first number, so no search starts again inside it (linear time).
2. Adjacent quoted literals (`"\\x30..." "\\x81..."`, `"..." +`, Python pprint's `(b'...'\\n b'...')`,
   `\\`-newline, parentheses between) joined before unescaping.
3. Escapes with doubled backslashes (PostgreSQL COPY of a bytea in escape format `\\\\060\\\\201`,
   JSON-escaped `\\\\x30`).
4. Perl's `\\x{30}` escapes, in one literal or joined (`BRACED`).

Views carry the layer names `printed.py` gives the same bytes (`byte-list`, `hex`, `hex-words`,
`escaped`); their detail names this reader (`decoded byte values (dec|hex|oct|bin|...)`, `decoded
joined escaped literals`, `decoded doubled escapes`). Candidates: one byte in `STRIDE` is looked up
among text bytes (numpy); the regexes run only over spans of `MIN_SAMPLES` neighbouring text samples
(a core is mostly not text). A piece that `printed.py` already reads whole (a plain list, plain
separated hex) is left to it.
Bounded: tokens read at once (`MAX_TOKENS`; a longer run in overlapping windows), literals per join
(`MAX_PIECES`), separator and comment lengths; the views and their decoded bytes are counted by
`printed.scan_printed`'s bounds (past them the chunk is incomplete, never clean). Written apart
from the independent reader: nothing is imported from `recheck*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from .printed_chars import char_lists, od_rows
from .printed_tools import decimal_body, decimal_escapes, tool_rows
from .typed_rows import typed_rows
from .word_lists import word_lists
from .word_rows import word_rows

MIN_BYTES = 16  # an AES-128 key
MIN_TOKENS = 8  # 16 bytes as 16-bit words
MIN_ESCAPES = 8
MAX_TOKENS = 1 << 16  # a run's tokens read at once (a longer run: in windows)
OVERLAP = 1 << 13  # tokens two windows share: more than a 4096-bit key's DER holds
MAX_PIECES = 4096
STRIDE = 4  # 16 values take at least 32 characters: eight neighbouring samples
MIN_SAMPLES = 8
SAMPLED_FROM = 1 << 16

View = tuple[int, int, bytes, str, str]
# a view's layers: the names `printed.py` gives the same kind of bytes (the detail says which reader)
_LAYERS = {("values-dec", 1): "byte-list", ("values-oct", 1): "byte-list", ("values-bin", 1): "byte-list",
           ("values-hex", 1): "hex", ("values-hex", 2): "hex-words", ("values-hex", 4): "hex-words",
           ("values-hex-sign-extended", 1): "hex"}

_TEXT = np.zeros(256, dtype=bool)
_TEXT[list(range(0x20, 0x7F)) + [9, 10, 13, 0x1B, 0xEF, 0xBC, 0x8C]] = True  # ASCII text, ESC, U+FF0C's bytes

_NUM = (rb"[-+]?(?:(?:0[xX]|\$|&[hH]|\#[xX])[0-9a-fA-F]{1,8}|0[bB][01]{1,8}|[0-9a-fA-F]{1,8}[hH]?)"
        rb"(?:[ui]8|\.toByte\(\))?(?![0-9A-Za-z_])")
_NUMBER_AHEAD = rb"(?![ \t]*+[-+]?(?:0[xX]|\$|&[hH]|\#[xX])?[0-9a-fA-F]{1,8}[hH]?(?![0-9A-Za-z_]))"
# rt14b F1: comments running to the line's end (when no number follows the mark), MATLAB's `...`
_SEMICOLON_COMMENT = rb"[ \t][ \t]*+;%s[^\n]{0,200}+" % _NUMBER_AHEAD  # before `;` as a separator
_COMMENTS = rb"--%s[^\n]{0,200}+|%%(?<=[ \t]%%)[^\n]{0,200}+|\.\.\.(?=[ \t\r\n])" % _NUMBER_AHEAD
# rt16: Pascal/Delphi `{ row 1 }` (no comma inside, not one number alone: a C initializer's braces
# hold commas) and `(* row 1 *)` comments; VB.NET's ` _` line continuation (`&H30, _`)
_PASCAL_COMMENTS = (rb"\{(?![ \t]*+[-+]?(?:0[xX]|\$|&[hH])?[0-9a-fA-F]{1,8}[hH]?[ \t]*+\})[^{},\n]{1,80}+\}"
                    rb"|\(\*[^\n]{0,80}?\*\)|_(?<=[ \t]_)(?=[ \t]*+\r?\n)")
# rt14b F1: at a line's start (a class first: sre skips the branch elsewhere at once), an assembler's
# data directive (`65 db 77` is three bytes), gdb `x/NNxb` row heads `0x5555... <key+8>:`, WinDbg
# `db` row heads `00000000`00401000`
_LINE_HEADS = (rb"[\r\n:]\n?(?:[ \t]*+\.?(?:db|byte|DB|BYTE|defb|DEFB)(?=[ \t])"
               rb"|(?:0[xX])?[0-9a-fA-F]{4,16}[ \t]++<[A-Za-z_$.][\w$.@]{0,64}+(?:[+-][0-9]{1,9})?>:"
               rb"|[0-9a-fA-F]{8}`[0-9a-fA-F]{8}(?=[ \t]))")
# rt14b F1: WinDbg's `-` between bytes 8 and 9, generated C's `k[N] =` (one value a line)
_DECORATIONS = (rb"-(?<=[ \t][0-9a-fA-F]{2}-)(?=[0-9a-fA-F]{2}(?![0-9A-Za-z_]))"
                rb"|[A-Za-z_](?<![\w.$].)[\w.]{0,32}+\[[0-9]{1,7}\][ \t]*+=(?!=)")
_SEP_ITEM = (  # the common ones first (a separator tries them in this order)
    rb"%s|" % _SEMICOLON_COMMENT +  # an assembler's `;` comment
    rb"%s|" % _LINE_HEADS +  # directives, gdb and WinDbg row heads
    rb"(?<=[0-9A-Fa-f])[ \t]{2,}+(?=[^.\n]{0,32}+\.)[\x20-\x7e]{1,32}+(?=\r?\n)"  # an ASCII column
    rb"|\((?:byte|char|sbyte|uint8_t|int8_t|u8|i8|unsigned\ char)\)"  # casts
    rb"|\[[0-9]{1,7}\][ \t]*=>"  # PHP's print_r / var_dump index
    rb"|%s" % _PASCAL_COMMENTS +  # before `{` and `(` as separators
    rb"|[\s,;'\"\])}]{1,64}+|[(\[{]"
    rb"|(?:0[xX])?[0-9a-fA-F]{4,16}:(?=[ \t])"  # a row offset
    rb"|/\*[^*]{0,64}+\*/|//[^\n]{0,80}+|\#(?![xX][0-9a-fA-F])[^\n]{0,80}+"  # comments
    rb"|int\(|=>|\xef\xbc\x8c"
    rb"|%s|%s" % (_COMMENTS, _DECORATIONS)  # `--`, `%`, `...`; WinDbg's `-`, `k[N] =`
)
_SEP = rb"(?:%s){1,16}+" % _SEP_ITEM
_ASCII_COLUMN = re.compile(rb"[ \t]{2,}+(?=[^.\n]{0,32}+\.)[\x20-\x7e]{1,32}+(?=\r?\n|$)")
_WORD = rb"(?:0[xX])?(?:[0-9a-fA-F]{4}){1,2}(?![0-9A-Za-z_])"
# a run of numbers, matched possessively from its first (never searched again from inside it, so
# linear time); group 1 holds its rest when it has `MIN_BYTES` numbers
# (rt16: not from a number inside a Pascal comment, `{ row 0 }` / `(* row 0 *)`: no comma, bracket or
# brace before the `}` that closes the line's text, no `(` before the `*)`)
SEQUENCE = re.compile(rb"(?<![0-9A-Za-z_.])(?!(?:db|DB)[ \t])%s(?![^{}\[\],\n]{0,80}+\}|[^()*\n]{0,80}+\*\))"
                      rb"(?:((?:%s%s){%d,}+)|(?:%s%s)++)"
                      % (_NUM, _SEP, _NUM, MIN_BYTES - 1, _SEP, _NUM))
_WORDS = re.compile(rb"(?<![0-9A-Za-z_])%s" % _WORD)
_ITEM = re.compile(rb"(%s)|(%s)" % (_SEP_ITEM, _NUM))

_LIT = rb"""(?<![0-9A-Za-z_])(?:u8|[bBuULeE$])?(?:"(?:[^"\\\n]|\\[^\n]){0,4096}+"|'(?:[^'\\\n]|\\[^\n]){0,4096}+')"""
# between two literals: blanks, parentheses, `\`-newline and the joining operators (rt18 group C:
# `+`, PHP/Perl `.`, Lua `..`, SQL `||`, Haskell `++`, OCaml `^`, Ruby `<<`, VB `&` and its ` _`
# line continuation, the `,` of a JS `[...].join('')` / Python `b''.join([...])` list); none at all
# (bash `$'..'$'..'`; `E'..'` is PostgreSQL's escape string); at most 32 items, possessive
_JOIN = rb"(?:[ \t\r\n+(),.|^&]|<<|\\\r?\n|_(?=[ \t]*+\r?\n)){0,32}+"
JOINED = re.compile(rb"%s(?:%s%s){1,%d}+" % (_LIT, _JOIN, _LIT, MAX_PIECES - 1))
_PIECE = re.compile(_LIT)
# issue #32 (cost): where a literal may start, by quote kind, and one literal's body read to its end
_START = {q: re.compile(rb"(?<![0-9A-Za-z_])(?:u8|[bBuULeE$])?%s" % bytes([q])) for q in b"\"'"}
_BODY = {q: re.compile(rb"(?:[^%s\\\n]|\\[^\n])*+" % bytes([q])) for q in b"\"'"}
_MAX_BODY = 4096  # a literal's body items, as in `_LIT`
_ESC2 = rb"\\\\(?:[0-7]{3}|x[0-9a-fA-F]{2})"
DOUBLED = re.compile(rb"%s(?:[\x20-\x5b\x5d-\x7e]{0,24}+(?:%s|\\\\\\\\))*+" % (_ESC2, _ESC2))
_UNESCAPE = re.compile(rb"\\(?:x([0-9a-fA-F]{2})|([0-7]{1,3})|([abfnrtv\\'\"]))|([^\\]|\\)", re.DOTALL)
_SIMPLE = {b"a": 7, b"b": 8, b"f": 12, b"n": 10, b"r": 13, b"t": 9, b"v": 11, b"\\": 92, b"'": 39, b'"': 34}


def text_spans(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of `data` around `MIN_SAMPLES` neighbouring text samples (one byte in `STRIDE`) whose
    first sample lies in [start, end), each run on to where its text samples end; small data is one
    span."""
    if len(data) - start < SAMPLED_FROM:
        return [(start, len(data))]
    samples = _TEXT[np.frombuffer(data, dtype=np.uint8, offset=start)[::STRIDE]]
    # runs of text samples [first, stop): from the edges where a sample's class changes
    edges = np.flatnonzero(np.diff(samples, prepend=False, append=False))
    firsts, stops = edges[0::2], edges[1::2]
    long = stops - firsts >= MIN_SAMPLES
    firsts, lasts = firsts[long], stops[long] - MIN_SAMPLES
    spans: list[tuple[int, int]] = []
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        low = start + STRIDE * max(0, first - 1)
        if low >= end:
            break
        high = min(len(data), start + STRIDE * (last + MIN_SAMPLES + 1))
        if spans and low <= spans[-1][1]:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    return spans


def _token(text: bytes) -> tuple[str, bytes, bool]:
    """A number token's kind (`x` 0x-prefixed, `b` 0b, `h` h-suffixed, `n` bare), digits, sign."""
    negative = text[:1] == b"-"
    text = text.lstrip(b"+-")
    for suffix in (b".toByte()", b"u8", b"i8"):
        if text.endswith(suffix):
            text = text[:-len(suffix)]
    if text[:2] in (b"0x", b"0X", b"&h", b"&H", b"#x", b"#X"):
        return "x", text[2:], negative
    if text[:1] == b"$":  # Pascal
        return "x", text[1:], negative
    if text[:2] in (b"0b", b"0B") and len(text) > 2 and not text[2:].strip(b"01"):
        return "b", text[2:], negative
    if text[-1:] in b"hH" and len(text) > 1 and not text[:-1].strip(b"0123456789abcdefABCDEF"):
        return "h", text[:-1], negative
    return "n", text, negative


def _hex(kind: str, digits: bytes, negative: bool) -> tuple[int, bytes] | None:
    """A token's bytes read as hex, and their width class (1 byte, 2 or 4 bytes a word)."""
    if negative or kind not in "xhn" or not digits or digits.strip(b"0123456789abcdefABCDEF"):
        return None
    value = int(digits, 16)
    if value <= 0xFF and (len(digits) <= 2 or kind in "xh"):
        return 1, bytes([value])
    if len(digits) in (4, 8) and kind in "xn":
        return len(digits) // 2, value.to_bytes(len(digits) // 2, "big")
    return None


Read = tuple[int, bytes] | None  # a token's bytes in one base and their width class, or None
_BASES = ("values-dec", "values-hex", "values-oct", "values-bin", "values-hex-sign-extended")
Reads = tuple[Read, Read, Read, Read, Read]
_CACHE: dict[bytes, tuple[Reads, int | None, bool]] = {}
_CACHE_SIZE = 1 << 14


_SIGN_EXTENDED = re.compile(rb"(?:[fF]{2}|[fF]{6})[89a-fA-F][0-9a-fA-F]")


def _extended(kind: str, digits: bytes, negative: bool, hexa: Read) -> Read:
    """A hex token read as a byte whose sign was extended (C's `%x` of a signed char, Java's
    `Integer.toHexString(b)`: `ffffff81` is 0x81), else as `_hex` reads a byte (rt14b F1)."""
    if hexa is not None and hexa[0] == 1:
        return hexa
    if not negative and kind in "xn" and _SIGN_EXTENDED.fullmatch(digits) is not None:
        return 1, bytes([int(digits[-2:], 16)])
    return None


def _read(text: bytes) -> tuple[Reads, int | None, bool]:
    """A token read in every base of `_BASES` (None where it does not fit), its decimal value (an
    index column's), and whether it is 0x-prefixed; remembered (tokens repeat)."""
    known = _CACHE.get(text)
    if known is not None:
        return known
    kind, digits, negative = _token(text)
    value = int(digits) * (-1 if negative else 1) if kind == "n" and digits.isdigit() else None
    dec = (1, bytes([value % 256])) if value is not None and -128 <= value <= 255 else None
    fits = kind == "n" and not negative and len(digits) == 3 and not digits.strip(b"01234567")
    octal = (1, bytes([int(digits, 8)])) if fits and int(digits, 8) <= 0xFF else None
    binary = (1, bytes([int(digits, 2)])) if kind == "b" and not negative and int(digits, 2) <= 0xFF else None
    hexa = _hex(kind, digits, negative)
    result = (dec, hexa, octal, binary, _extended(kind, digits, negative, hexa)), value, kind == "x"
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[text] = result
    return result


def _pieces(read: list[tuple[int, bytes] | None]) -> Iterator[tuple[int, int]]:
    """Maximal runs [i, j) of tokens that fit, of one width class (a last shorter token may close a
    run of words), holding `MIN_BYTES` or more bytes."""
    at = 0
    while at < len(read):
        first = read[at]
        if first is None:
            at += 1
            continue
        end = at + 1
        while end < len(read) and read[end] is not None and read[end][0] == first[0]:  # type: ignore[index]
            end += 1
        nxt = read[end] if end < len(read) else None
        if nxt is not None and nxt[0] < first[0] and (end + 1 == len(read) or read[end + 1] is None):
            end += 1
        if sum(len(item[1]) for item in read[at:end] if item is not None) >= MIN_BYTES:
            yield at, end
        at = end


def _indexed(values: list[int]) -> list[int] | None:
    """The values of a decimal sequence whose every other token is a strictly increasing index."""
    for parity in (0, 1):
        index = values[parity::2]
        if len(index) >= MIN_BYTES and all(b > a for a, b in zip(index, index[1:], strict=False)):
            kept = values[1 - parity::2]
            if all(-128 <= value <= 255 for value in kept):
                return kept
    return None


def _plain(data: bytes, low: int, high: int, layer: str, prefixed: bool) -> bool:
    """Whether a match of `printed.py`'s plain list (decimal, or hex with `0x`) or plain hex covers
    data[low:high] whole (`printed.py` reads it so)."""
    from . import printed

    plains = {"values-dec": [printed.LIST],
              "values-hex": [printed.HEX[1]] + ([printed.LIST] if prefixed else [])}.get(layer, [])
    for pattern in plains:
        match = pattern.search(data, max(0, low - 8), high + 8)
        if match is not None and match.start() <= low and match.end() >= high:
            return True
    return False


def _windows(data: bytes, start: int, end: int) -> Iterator[list[tuple[int, int]]]:
    """The number tokens' spans of the run data[start:end], `MAX_TOKENS` at a time, each window
    after the first repeating the last `OVERLAP` tokens of the one before (a key across two is
    whole in one)."""
    spans: list[tuple[int, int]] = []
    fresh = 0  # tokens no window has held yet
    for item in _ITEM.finditer(data, start, end):
        if item.lastindex == 2:
            spans.append(item.span())
            fresh += 1
            if len(spans) >= MAX_TOKENS:
                yield spans
                spans, fresh = spans[-OVERLAP:], 0
    if fresh:
        yield spans


def _sequence_views(data: bytes, spans: list[tuple[int, int]]) -> Iterator[View]:
    """The views of one window of a run's number tokens (module docstring, 1)."""
    reads = [_read(data[a:b]) for a, b in spans]
    for base, layer in enumerate(_BASES):
        read = [bases[base] for bases, _, _ in reads]
        if len(read) - read.count(None) < MIN_TOKENS:
            continue
        if base == 4 and all(bases[4] is None or bases[4] == bases[1] for bases, _, _ in reads):
            continue  # no byte's sign extended: read as hex already
        for first, last in _pieces(read):
            start, end = spans[first][0], spans[last - 1][1]
            if _plain(data, start, end, layer, reads[first][2]):
                continue
            decoded = b"".join(item[1] for item in read[first:last] if item is not None)
            column = _ASCII_COLUMN.match(data, end)  # a dump's last row: its ASCII column too
            end = end if column is None else column.end()
            width = read[first][0]  # type: ignore[index]
            yield start, end, decoded, _LAYERS[layer, width], f"decoded byte values ({layer[7:]})"
    values = [value for _, value, _ in reads]
    kept = _indexed(values) if len(values) >= 2 * MIN_BYTES and None not in values else None  # type: ignore[arg-type]
    if kept is not None:
        yield spans[0][0], spans[-1][1], bytes(v % 256 for v in kept), "byte-list", \
            "decoded byte values (index column dropped)"


def value_sequences(data: bytes, low: int, high: int) -> Iterator[View]:
    """Views of the number sequences in data[low:high] (module docstring, 1)."""
    for match in SEQUENCE.finditer(data, low, high):
        if match.group(1) is None and (match.end() - match.start() < 4 * MIN_TOKENS
                                       or len(_WORDS.findall(data, match.start(), match.end())) < MIN_TOKENS):
            continue  # too few numbers for `MIN_BYTES` bytes, and too few words
        for spans in _windows(data, match.start(), match.end()):
            yield from _sequence_views(data, spans)


def unescape(text: bytes, pattern: re.Pattern[bytes] = _UNESCAPE) -> tuple[bytes, int]:
    """The bytes an escaped literal's body stands for, and how many hex or octal escapes it holds;
    `pattern` splits it into escapes and plain bytes (printed.py's own keeps a lone backslash out)."""
    out = bytearray()
    escapes = 0
    for piece in pattern.finditer(text):
        hexa, octal, simple, plain = piece.groups()
        if hexa is not None or octal is not None:
            out.append(int(hexa, 16) if hexa is not None else int(octal, 8) & 0xFF)
            escapes += 1
        else:
            out += bytes([_SIMPLE[simple]]) if simple is not None else plain
    return bytes(out), escapes


def joined_literals(data: bytes, low: int, high: int) -> Iterator[View]:
    """Adjacent quoted literals joined, then unescaped (module docstring, 2)."""
    if data.find(b"\\", low, high) < 0:
        return  # no escape
    for match in joined_runs(data, low, high):
        body = b"".join(piece.group(0).lstrip(b"u8bBuULeE$")[1:-1]
                        for piece in _PIECE.finditer(data, match.start(), match.end()))
        decoded, escapes = unescape(body)
        if escapes >= MIN_ESCAPES and len(decoded) >= MIN_BYTES:
            yield match.start(), match.end(), decoded, "escaped", "decoded joined escaped literals"
        decimal = decimal_body(body)  # rt18 group C: Lua `..`, Haskell `++`, OCaml `^` pieces
        if decimal is not None:
            yield match.start(), match.end(), decimal, "escaped", "decoded joined decimal literals"


def joined_runs(data: bytes, low: int, high: int) -> Iterator[re.Match[bytes]]:
    """`JOINED.finditer(data, low, high)` in linear time (issue #32, cost: `"` then `\\"` x N was
    tried from every escaped quote). A body's backslash always pairs with the next character, so a
    literal started at an escaped quote inside a failed literal's body of the same quote kind ends
    where that body ends: such starts are skipped (`_skip_to`); each kind keeps its own mark.
    A span without an escaped quote (where no start lies inside another's failed body) gets the
    pattern's own search: linear there and several times faster than these steps (CI: 3 MB of near
    misses cost 2.7-3.9 CPU s against a 2.5 s bound)."""
    if data.find(b'\\"', low, high) < 0 and data.find(b"\\'", low, high) < 0:
        yield from JOINED.finditer(data, low, high)
        return
    marks = {q: low for q in _START}
    nexts = {q: _next_start(data, q, low, high, marks[q]) for q in _START}
    while True:
        live = [m for m in nexts.values() if m is not None]
        if not live:
            return
        start = min(live, key=lambda m: m.start())
        kind = data[start.end() - 1]
        match = JOINED.match(data, start.start(), high)
        if match is not None:
            yield match
            position = match.end()
        else:
            marks[kind] = max(marks[kind], _skip_to(data, start, high))
            position = start.start() + 1
        for q, m in nexts.items():
            if m is not None and (m.start() < position or m.end() - 1 < marks[q]):
                nexts[q] = _next_start(data, q, position, high, marks[q])


def _next_start(data: bytes, kind: int, position: int, high: int, mark: int) -> re.Match[bytes] | None:
    """The first possible start of a `kind` literal at or after `position` whose quote is at or
    after `mark` (a prefix may begin two characters before its quote)."""
    found = _START[kind].search(data, max(position, mark - 2), high)
    while found is not None and found.end() - 1 < mark:
        found = _START[kind].search(data, found.start() + 1, high)
    return found


def _skip_to(data: bytes, start: re.Match[bytes], high: int) -> int:
    """Where the next start of the same quote kind worth trying may lie, after `JOINED` failed at
    `start`: where its body ends (its closing quote, or the first character no body holds), or,
    when that body is longer than `_MAX_BODY`, the first later escaped quote whose literal fits."""
    quote = start.end() - 1
    kind = data[quote]
    stop = _BODY[kind].match(data, quote + 1, high).end()  # type: ignore[union-attr]  # (matches empty)
    if stop >= high or data[stop] != kind or _PIECE.match(data, start.start(), high) is not None:
        return stop
    # a body too long: each quote before `stop` is an escaped one; the shorter literals from the
    # last 2 x `_MAX_BODY` characters may fit (fits is monotone: the first that does, by bisection)
    first = max(quote + 1, stop - 1 - 2 * _MAX_BODY)
    quotes = [first + i for i, c in enumerate(data[first:stop]) if c == kind]
    lo, hi = 0, len(quotes)
    while lo < hi:
        mid = (lo + hi) // 2
        if _PIECE.match(data, quotes[mid], high) is None:
            lo = mid + 1
        else:
            hi = mid
    return quotes[lo] if lo < len(quotes) else stop


def doubled_escapes(data: bytes, low: int, high: int) -> Iterator[View]:
    """Escapes written with doubled backslashes, unescaped twice (module docstring, 3)."""
    if data.find(b"\\\\", low, high) < 0:
        return
    for match in DOUBLED.finditer(data, low, high):
        decoded, escapes = unescape(match.group(0).replace(b"\\\\", b"\\"))
        if escapes >= MIN_ESCAPES and len(decoded) >= MIN_BYTES:
            yield match.start(), match.end(), decoded, "escaped", "decoded doubled escapes"


_BRACED_ONE = rb"\\x\{([0-9a-fA-F]{1,2})\}"
# rt14b F1: Perl's `\x{30}` escapes, in one literal or joined by ` . ` / ` + ` / quotes / line breaks
BRACED = re.compile(rb"%s(?:[ \t\r\n.+\"']{0,8}+%s){%d,%d}+" % (_BRACED_ONE, _BRACED_ONE, MIN_BYTES - 1, MAX_TOKENS))
_BRACED_VALUE = re.compile(_BRACED_ONE)


def braced_escapes(data: bytes, low: int, high: int) -> Iterator[View]:
    """Runs of Perl's `\\x{..}` escapes (`MIN_BYTES` or more), read as bytes."""
    if data.find(b"\\x{", low, high) < 0:
        return
    for match in BRACED.finditer(data, low, high):
        decoded = bytes(int(value, 16) for value in _BRACED_VALUE.findall(data, match.start(), match.end()))
        yield match.start(), match.end(), decoded, "escaped", "decoded braced escapes"


def value_views(data: bytes, start: int, end: int) -> Iterator[View]:
    """Every view of this module's forms that starts in data[start:end], each read to its end."""
    for low, high in text_spans(data, start, end):
        for view in typed_rows(data, low, high):  # od with several types, touching cells (typed_rows.py)
            if start <= view[0] < end:
                yield view
        for reader in (value_sequences, joined_literals, doubled_escapes, braced_escapes, od_rows, char_lists,
                       tool_rows, decimal_escapes, word_rows, word_lists):
            for view in reader(data, low, high):
                if start <= view[0] < end:
                    yield view


__all__ = ["MIN_BYTES", "text_spans", "unescape", "value_views"]
