"""The independent reader's VALUE reader (issue #32, round 14, F1, F2, F3b, F5): printed bytes read
as sequences of numbers, whatever decorates them, not as one regex per writer's form.

values     in each printable run, every maximal sequence of 16+ number tokens whose separators are
           bounded runs of whitespace, newlines, punctuation and quotes, known decorations
           (`(byte)`, `(char)`, `(uint8_t)`, `.toByte()`, `u8`/`i8`, `int(`, `[N] =>`, `db`, a line's
           `ident[N] =` of one assignment a line),
           comments (`/*...*/`, `//...` and `#...` to the line end) and full-width commas; a row
           offset at a line's head (`0x0010:`, `00000010`, `0000020`) is dropped and so is a dump
           row's ASCII column. Each sequence is read in every base that fits its tokens (decimal
           signed or not, mod 256; hex with `0x`, `\\x`, `&#x`, an `h` suffix or bare, padded or
           not, and 4/8/16-digit groups big-endian, a byte sign-extended to 32 bits (`ffffff81`) as
           its low byte; binary `0b`; octal), split where a token does
           not fit, and also without a strictly increasing index column (`[1] => 48`, `1: 48`).
           Java/Kotlin casts, Python `hex()`/`bin()` lists, JS hex strings, Rust `{:x?}`, NASM
           `030h`, PHP print_r/var_dump, one `%02x` per line, C arrays with comments, tcpdump -x/-X.
joined     adjacent quoted literals with escapes (`b`/`L`/`u8` prefixes; whitespace, newlines,
           `+`, `\\`-newline, parentheses between), joined before unescaping: C adjacent literals,
           JS/Java `"..." +`, Python pprint of bytes `(b'...'\\n b'...')`.
pg-escape  backslash escapes written with doubled backslashes (PostgreSQL COPY of a bytea in
           escape format, `\\\\060\\\\201`), read once more unescaped.

Each reading is a child view at its run's span, where every rule of the reader runs. Bounded as
recheck_bytelists is: runs per view capped (`recheck_codecs.candidates`: more is incomplete); a
longer sequence is read in windows of `MAX_TOKENS` numbers overlapping by `OVERLAP` (at most 4 + one
per `WINDOW_BYTES` of the view: more is incomplete; rt16: a window of random-looking bytes without
the known-key window search, which the run's joined view does once), joined literals in windows of `MAX_PIECES`
overlapping by `PIECE_OVERLAP`, each window at most `MAX_JOINED` characters of bodies.
The reader's own code: it imports nothing of the scanner.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from itertools import chain, islice
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros
from .recheck_bytelists import unescape
from .recheck_codecs import Oversized, candidates

if TYPE_CHECKING:
    from .recheck import _Reader

MIN_VALUES = 16
MAX_TOKENS = 16_385
MAX_JOINED = 2 << 20
OVERLAP = 8_192  # tokens a window shares with the one before (a key: a few thousand)
WINDOW_BYTES = 8_192  # a view's windows: 4 + one per WINDOW_BYTES (a window moves 16K+ bytes)
PIECE_OVERLAP = 64
MAX_LITERAL = 65_536
MAX_PIECES = 4_096

# a number token: a sign, a base prefix, up to 16 digits, an `h` or `u8`/`i8` suffix
_NUM = rb"[-+]?(?:0[xXbB]|\\x|&\#[xX]?)?[0-9A-Fa-f]{1,16}(?:[hH]|_?[uUiI]8)?"
_TOKEN = rb"(?<![0-9A-Za-z_.&#\\])%s(?![0-9A-Za-z_])" % _NUM
# what may stand between two numbers (printable text only): separators, decorations, comments
# (to the line end, bounded), a full-width comma, a dump row's ASCII column before the next row
_DECORATION = (rb"\((?:byte|sbyte|char|unsigned char|u?int8_t|uint8|int8|u8|i8)\)|\.toU?Byte\(\)"
               rb"|\bint\(|\[[0-9]{1,9}\][ \t]*=>|=>|(?:\n|^)[ \t]*(?:\.?db|DB|defb|DEFB|\.byte)[ \t]+"
               rb"(?![0-9A-Fa-f]{2}[ ][0-9A-Fa-f]{2}[ -])"  # (not a WinDbg `db` row's first byte 0xdb: `db 23 09-`)
               rb"|(?:\n|^)[ \t]*[A-Za-z_][\w.>-]{0,64}\[(?=[0-9]{1,9}\][ \t]*=)")  # `k[3] = 0x30;` a line
_COMMENT = rb"//[\t -~]{0,200}|/\*[\t -)+-~]{0,200}\*/|(?<![&\w])\#[\t -~]{0,200}"
_ASCII_COLUMN = rb"[ ]{2,}[ -~]{1,34}?(?=\r?\n[ \t]*(?:0[xX])?[0-9A-Fa-f]{4,16}:?[ \t])"
_SEP = rb"(?:%s|%s|%s|[ \t\r\n,;:'\"\[\](){}<>=|]|\xef\xbc\x8c){1,64}+" % (_ASCII_COLUMN, _DECORATION, _COMMENT)
# (runs of 4 or more, counted after: a pattern asking for 16 would be tried again at each of a
# near miss's 15 numbers, quadratic in the run)
_SEQUENCE = re.compile(rb"(?:%s%s){3,16384}%s" % (_TOKEN, _SEP, _TOKEN))
_TOKENS = re.compile(_TOKEN)
_PRINTABLE_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_TEXT = re.compile(rb"[\t\n\r -~]{31,}")
_FULL_WIDTH = re.compile(rb"(?:[-+]?[0-9A-Fa-fxX]{1,4}[ \t]*\xef\xbc\x8c[ \t]*){15,16384}[-+]?[0-9A-Fa-fxX]{1,4}")
# inside one sequence: what is blanked (same length, so positions hold) before its tokens are read
_BLANK = re.compile(rb"%s|%s|_?[uUiI]8\b|\xef\xbc\x8c" % (_COMMENT, _DECORATION))
_PARTS = re.compile(rb"(?<![0-9A-Za-z_.&#\\])([-+]?)(0[xXbB]|\\x|&\#[xX]?)?([0-9A-Fa-f]{1,16})([hH])?(?![0-9A-Za-z_])")
_HEAD = re.compile(rb"(?m)^[ \t]*(?:0[xX])?([0-9A-Fa-f]{4,16})(:?)[ \t]+(?:0[xX])?([0-9A-Fa-f]+)")
_NOT_NEWLINE = re.compile(rb"[^\n]")
_COLUMN = re.compile(rb"[^ \t\n]+(?:[ \t][^ \t\n]+)*")
_ROW_PART = re.compile(rb"(?:[0-9A-Fa-f]{2,16}[ \t])*[0-9A-Fa-f]{2,16}")

_Token = tuple[bytes, bytes, bytes, bytes]  # sign, prefix, digits, suffix


def read_values(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int,
                texts: list[tuple[int, int]] | None = None) -> None:
    """Every value sequence and joined or doubled escape run of one view, each reading a child
    view at its run's span. `texts`: the view's printable runs when the caller has them."""
    if texts is None:
        texts = [(match.start(), match.end()) for match in zeros.finditer(_TEXT, data)]
    cap = candidates(data)
    sequences = list(_sequences(data, texts, name, cap))
    readings = [list(_readings(text)) for _start, _end, text in sequences]
    reach = -1  # where the last long run's window ends
    for (start, end, text), read in zip(sequences, readings, strict=True):
        # rt16: a window of a run longer than one window (`od -b` of a 670 KB file) whose bytes are
        # random-looking is read without the known-key window search, whose every offset in each
        # half-overlapping window cost two scalar checks a byte (refused): the run's joined
        # byte-list / hex-list view (recheck_bytelists) is searched once, as a raw file of its size
        windowed = start < reach or _count_at_least(text, MAX_TOKENS - 1)
        if windowed:
            reach = max(reach, end)
        for label, spelled, first, last in read:
            _child(reader, spelled, f"{name} > byte-list values ({label})", depth, start + first, start + last,
                   windows=not (windowed and _random_looking(spelled)))
    from .recheck_forms import read_forms  # gdb/WinDbg rows, comments, prefixes, halves (it uses this module)

    read_forms(reader, data, name, depth, texts, sequences, readings)
    if data.find(b"\\") < 0:
        return
    count = 0
    for pattern, reading, label in _ESCAPES:
        for match in _pieces(data, texts) if pattern is _JOINED else _matches(pattern, data, texts):
            start = match.start()
            head = _HEAD_CHARS.search(bytes(data[max(0, start - 32):start])) if reading is _doubled else None
            if head is not None:  # a doubled escape's run may begin with printable bytes
                start -= len(head.group(0))
            run = bytes(data[start:match.end()])
            unescaped = reading(run)
            decimal = _joined_decimal(run) if reading is _joined else None
            if unescaped is None and decimal is None and reading is _joined:
                continue  # (rt18: ordinary code's `"\n" . 'x'` joins, read for nothing, are not counted)
            count += 1
            if count > cap:
                from .recheck import _Exhausted

                raise _Exhausted(f"{name}: more than {cap} escaped runs")
            if unescaped is not None:
                _child(reader, unescaped, f"{name} > escaped ({label})", depth, start, match.end())
            if decimal is not None:  # rt18 group C: Lua `..`, Haskell `++`, OCaml `^` pieces
                _child(reader, decimal, f"{name} > escaped (joined decimal literals)", depth, start, match.end())


def _child(reader: _Reader, spelled: bytes, name: str, depth: int, start: int, end: int,
           windows: bool = True) -> None:
    if len(spelled) >= MIN_VALUES:
        outer = reader.decoding(depth, start, end)
        reader.child(spelled, name, depth + 1, windows)
        reader.span = outer


def _random_looking(spelled: bytes) -> bool:
    """Whether a quarter or more of the bytes are outside printable ASCII (random bytes: 63 %)."""
    return 4 * len(spelled.translate(None, _PRINTABLE_BYTES)) >= len(spelled)


def _count_at_least(text: bytes, tokens: int) -> bool:
    """Whether a sequence holds `tokens` numbers (a window of a longer run)."""
    return next(islice(_TOKENS.finditer(text), tokens - 1, None), None) is not None


def _matches(pattern: re.Pattern[bytes], data: bytes | mmap.mmap,
             texts: list[tuple[int, int]]) -> Iterator[re.Match[bytes]]:
    for start, end in texts:
        yield from pattern.finditer(data, start, end)


def _sequences(data: bytes | mmap.mmap, texts: list[tuple[int, int]], name: str,
               cap: int) -> Iterator[tuple[int, int, bytes]]:
    """[start, end) and text of each value sequence; one longer than the pattern's bound is read
    in windows of MAX_TOKENS tokens, each starting OVERLAP tokens before the last one's end."""
    found: Iterator[tuple[re.Match[bytes], int]] = _windows(data, texts, name)
    if data.find(b"\xef\xbc\x8c") >= 0:  # full-width commas split the printable runs: the whole view
        found = chain(found, ((match, _count(match)) for match in zeros.finditer(_FULL_WIDTH, data)))
    long = (match for match, tokens in found
            if len(match.group(0)) >= 2 * MIN_VALUES - 1 and tokens >= MIN_VALUES)
    matches = list(islice(long, cap + 1))  # (all counted before any is read)
    if len(matches) > cap:
        from .recheck import _Exhausted

        raise _Exhausted(f"{name}: more than {cap} value sequences")
    for match in matches:
        yield match.start(), match.end(), match.group(0)


def _count(match: re.Match[bytes]) -> int:
    return len(_TOKENS.findall(match.group(0)))


def _windows(data: bytes | mmap.mmap, texts: list[tuple[int, int]],
             name: str) -> Iterator[tuple[re.Match[bytes], int]]:
    """Each sequence match and its token count; past a match cut at MAX_TOKENS the next window
    starts OVERLAP tokens before its end (a key across the cut is whole in one of the two).
    Windows of a view: at most 4 + one per WINDOW_BYTES of it (more: incomplete)."""
    limit = 4 + len(data) // WINDOW_BYTES
    windows = 0
    for start, end in texts:
        position = start
        while (match := _SEQUENCE.search(data, position, end)) is not None:
            tokens = _count(match)
            yield match, tokens
            if tokens < MAX_TOKENS - 1:
                position = match.end()
                continue
            windows += 1
            if windows > limit:
                raise Oversized(f"more than {limit} value windows in a view of {len(data)} bytes")
            back = next(islice(_TOKENS.finditer(match.group(0)), tokens - OVERLAP, None))
            position = match.start() + back.start()


def _blank(match: re.Match[bytes]) -> bytes:
    return _NOT_NEWLINE.sub(b" ", match.group(0))


def _clean(text: bytes) -> bytes:
    """The sequence with decorations, comments, row offsets and ASCII columns blanked (in place:
    every token keeps its position)."""
    text = _BLANK.sub(_blank, text)
    if _HEAD.search(text) is None:
        return text
    lines = text.split(b"\n")
    for index, line in enumerate(lines):
        head = _HEAD.match(line)
        if head is None or not (head.group(2) or len(head.group(1)) != len(head.group(3))):
            continue
        offset_end = head.start(3) - (2 if line[head.start(3) - 2:head.start(3)].lower() == b"0x" else 0)
        cut = len(line)
        kept = 0
        for column in _COLUMN.finditer(line, offset_end):  # the hex columns, then the ASCII column
            if not _ROW_PART.fullmatch(column.group(0)):
                cut = column.start() if kept else cut
                break
            kept += 1
        lines[index] = b" " * offset_end + line[offset_end:cut] + b" " * (len(line) - cut)
    return b"\n".join(lines)


def _readings(text: bytes) -> Iterator[tuple[str, bytes, int, int]]:
    """Each base's reading of one sequence (split where a token does not fit it), and each
    reading without a strictly increasing index column; with the [start, end) of its tokens."""
    cleaned = _clean(text)
    tokens: list[_Token] = _PARTS.findall(cleaned)
    found: list[re.Match[bytes]] = []  # the tokens' places, found when a reading is made

    def place(first: int, last: int) -> tuple[int, int]:
        if not found:
            found.extend(_PARTS.finditer(cleaned))
        return found[first].start(), found[last].end()

    # hex in groups (`3081 8702`) only where most tokens are groups: else a group is no byte
    wide = sum(len(token[2]) > 2 and _extended(token[2]) is None for token in tokens) * 2 > len(tokens)
    for label, parse in _BASES:
        if parse is _binary and not any(token[1] in (b"0b", b"0B") for token in tokens):
            continue  # (cheap tests: most sequences hold no binary or 3-digit octal token)
        if parse is _octal and sum(len(token[2]) == 3 for token in tokens) < MIN_VALUES:
            continue
        values = [parse(token) for token in tokens]
        if parse is _hex and not wide:
            values = [None if value is not None and len(value) > 1 else value for value in values]
        for first, last, run in _split(enumerate(values)):
            yield label, b"".join(run), *place(first, last)
        if len(values) >= 2 * MIN_VALUES:
            for parity in (0, 1):
                for first, last, run in _unindexed(tokens, values, parity):
                    yield label + ", indexed", b"".join(run), *place(first, last)


def _split(values: Iterable[tuple[int, bytes | None]]) -> Iterator[tuple[int, int, list[bytes]]]:
    """Maximal runs of MIN_VALUES or more values that fit (not None): first and last position."""
    run: list[bytes] = []
    first = last = 0
    for position, value in values:
        if value is None:
            if len(run) >= MIN_VALUES:
                yield first, last, run
            run = []
            continue
        if not run:
            first = position
        run.append(value)
        last = position
    if len(run) >= MIN_VALUES:
        yield first, last, run


def _unindexed(tokens: list[_Token], values: list[bytes | None],
               parity: int) -> Iterator[tuple[int, int, list[bytes]]]:
    """The values at every other position where the tokens between them count up strictly."""
    indexes = [_integer(token) for token in tokens[parity::2]]
    if not all(a is not None and b is not None and a < b
               for a, b in zip(indexes[:3], indexes[1:4], strict=False)):
        return  # (a cheap test first: most sequences have no index column)
    pairs: list[tuple[int, bytes | None]] = []
    last: int | None = None
    for step, index in enumerate(indexes):
        position = parity + 2 * step + 1
        if position >= len(values):
            break
        if index is None or (last is not None and index <= last):
            pairs.append((position, None))  # the index column stops counting up: a split
        pairs.append((position, values[position]))
        last = index
    for first, final, run in _split(pairs):
        yield first - 1, final, run


def _integer(token: _Token) -> int | None:
    sign, prefix, digits, suffix = token
    if prefix or suffix or not digits.isdigit():
        return None
    return int(digits)


@lru_cache(maxsize=4_096)  # (a list repeats its few distinct tokens)
def _decimal(token: _Token) -> bytes | None:
    sign, prefix, digits, suffix = token
    if prefix not in (b"", b"&#") or suffix or not digits.isdigit() or len(digits) > 3:
        return None
    value = int(digits) * (-1 if sign == b"-" else 1)
    return bytes([value % 256]) if -128 <= value <= 255 else None


@lru_cache(maxsize=4_096)  # (a list repeats its few distinct tokens)
def _hex(token: _Token) -> bytes | None:
    sign, prefix, digits, suffix = token
    if prefix.lower() == b"0b":  # not binary here: `0B1h` (MASM), `0b` (0x0b unpadded)
        prefix, digits = b"", prefix + digits
    if sign or prefix == b"&#":
        return None
    if suffix and len(digits) == 3 and digits[:1] == b"0":
        digits = digits[1:]  # NASM/MASM: `0FFh`, `030h`
    if len(digits) <= 2:
        return bytes([int(digits, 16)])
    extended = _extended(digits)
    if extended is not None:
        return extended
    return bytes.fromhex(digits.decode("ascii")) if len(digits) in (4, 8, 16) else None


def _extended(digits: bytes) -> bytes | None:
    """A signed byte printed sign-extended to 32 bits (`ffffff81`, Java's `Integer.toHexString`,
    C's `%x` of a `char`): its low byte."""
    if len(digits) == 8 and digits[:6].lower() == b"ffffff" and digits[6:7] in b"89abcdefABCDEF":
        return bytes([int(digits[6:], 16)])
    return None


@lru_cache(maxsize=4_096)  # (a list repeats its few distinct tokens)
def _binary(token: _Token) -> bytes | None:
    sign, prefix, digits, suffix = token
    if sign or prefix.lower() != b"0b" or suffix or len(digits) > 8 or digits.strip(b"01"):
        return None
    return bytes([int(digits, 2)])


@lru_cache(maxsize=4_096)  # (a list repeats its few distinct tokens)
def _octal(token: _Token) -> bytes | None:
    sign, prefix, digits, suffix = token
    if sign or prefix or suffix or len(digits) > 3 or digits.strip(b"01234567"):
        return None
    value = int(digits, 8)
    return bytes([value]) if value <= 255 else None


_BASES: list[tuple[str, Callable[[_Token], bytes | None]]] = [
    ("decimal", _decimal), ("hex", _hex), ("binary", _binary), ("octal", _octal)]

# adjacent quoted literals holding escapes, joined: C, JS/Java `+`, Python pprint's pieces
_PIECE = (rb"""(?:[bBLuUeE$]|u8)?(?:'(?:[ -&(-\[\]-~]|\\[ -~]){0,%d}'|"(?:[ !#-\[\]-~]|\\[ -~]){0,%d}")"""
          % (MAX_LITERAL, MAX_LITERAL))
# (rt18 group C: the operators that join literals too, `+ . .. || ++ ^ << & _` and the `,` of a
# JS `[...].join('')` or a Python `b''.join([...])` list; `$'..'` is bash's ANSI-C quoting,
# `E'..'` PostgreSQL's escape string)
_JOINED = re.compile(rb"(?<![\w'\"])%s(?:[ \t\r\n+\\().,|^&<_]{0,64}+%s){1,%d}" % (_PIECE, _PIECE, MAX_PIECES))
_PIECE_ONE = re.compile(_PIECE)
# issue #32 (cost): where a literal may start, by quote kind, and one literal's body read to its end
_STARTS = {q: re.compile(rb"(?<![\w'\"])(?:[bBLuUeE$]|u8)?%s" % bytes([q])) for q in b"'\""}
_BODIES = {ord("'"): re.compile(rb"(?:[ -&(-\[\]-~]|\\[ -~])*+"),
           ord('"'): re.compile(rb"(?:[ !#-\[\]-~]|\\[ -~])*+")}
_PIECE_BODY = re.compile(rb"""[bBLuUeE8$]*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""", re.S)
# escapes with doubled backslashes (PostgreSQL COPY of bytea, escape format), printable text between
_PRINTED = rb"(?:[!-\[\]-~]|\\\\\\\\){0,32}"  # printable characters, a doubled escaped backslash
# (from the first escape: the printable characters before it are taken in `_head`; a pattern that
# began with them would be tried at every character of a text)
_DOUBLED = re.compile(rb"(?:\\\\(?:[0-7]{3}|x[0-9a-fA-F]{2}|\\\\)%s){8,%d}" % (_PRINTED, MAX_LITERAL))
_HEAD_CHARS = re.compile(rb"[!-\[\]-~]{1,32}$")


def _pieces(data: bytes | mmap.mmap, texts: list[tuple[int, int]]) -> Iterator[re.Match[bytes]]:
    """Each run of joined literals; past one cut at MAX_PIECES + 1 pieces the next window starts
    PIECE_OVERLAP pieces before its end. (Windows are counted with the escaped runs.)"""
    for start, end in texts:
        position = start
        marks = {q: start for q in _STARTS}
        # a literal can start inside another's failed body only at an escaped quote of its kind: a text
        # without one gets the pattern's own search (linear there, and several times faster than
        # `_search`'s steps: 3 MB of near misses 2.6-3.5 s -> about 1 s)
        plain = data.find(b'\\"', start, end) < 0 and data.find(b"\\'", start, end) < 0
        while (match := _JOINED.search(data, position, end) if plain
               else _search(data, position, end, marks)) is not None:
            yield match
            starts = [piece.start() for piece in _PIECE_ONE.finditer(match.group(0))]
            if len(starts) <= MAX_PIECES:
                position = match.end()
                continue
            position = match.start() + starts[len(starts) - PIECE_OVERLAP]


def _search(data: bytes | mmap.mmap, position: int, end: int, marks: dict[int, int]) -> re.Match[bytes] | None:
    """`_JOINED.search(data, position, end)` in linear time over a text (issue #32, cost: `"` then
    `\\"` x N was tried from every escaped quote). A body's backslash always pairs with the next
    character, so a literal started at an escaped quote inside a failed literal's body of the same
    quote kind ends where that body ends: such starts (quote before `marks[kind]`) are skipped."""
    nexts = {q: _start_from(data, q, position, end, marks[q]) for q in _STARTS}
    while True:
        live = [m for m in nexts.values() if m is not None]
        if not live:
            return None
        start = min(live, key=lambda m: m.start())
        match = _JOINED.match(data, start.start(), end)
        if match is not None:
            return match
        kind = data[start.end() - 1]
        marks[kind] = max(marks[kind], _body_end(data, start, end))
        position = start.start() + 1
        for q, m in nexts.items():
            if m is not None and (m.start() < position or m.end() - 1 < marks[q]):
                nexts[q] = _start_from(data, q, position, end, marks[q])


def _start_from(data: bytes | mmap.mmap, kind: int, position: int, end: int, mark: int) -> re.Match[bytes] | None:
    """The first possible start of a `kind` literal at or after `position` whose quote is at or
    after `mark` (a prefix begins at most two characters before its quote)."""
    found = _STARTS[kind].search(data, max(position, mark - 2), end)
    while found is not None and found.end() - 1 < mark:
        found = _STARTS[kind].search(data, found.start() + 1, end)
    return found


def _body_end(data: bytes | mmap.mmap, start: re.Match[bytes], end: int) -> int:
    """Where the next start of the same kind worth trying may lie, after `_JOINED` failed at
    `start`: where the body ends (its closing quote or the first character no body holds), or, for a
    body longer than `MAX_LITERAL`, the first later escaped quote whose literal fits."""
    quote = start.end() - 1
    kind = data[quote]
    stop = _BODIES[kind].match(data, quote + 1, end).end()  # type: ignore[union-attr]  # (matches empty)
    if stop >= end or data[stop] != kind or _PIECE_ONE.match(data, start.start(), end) is not None:
        return stop
    # every quote of this kind before `stop` is escaped; of the last 2 x MAX_LITERAL characters'
    # shorter literals the first that fits is found by bisection (fitting is monotone)
    first = max(quote + 1, stop - 1 - 2 * MAX_LITERAL)
    window = bytes(data[first:stop])
    quotes = [first + m.start() for m in re.finditer(re.escape(bytes([kind])), window)]
    lo, hi = 0, len(quotes)
    while lo < hi:
        mid = (lo + hi) // 2
        if _PIECE_ONE.match(data, quotes[mid], end) is None:
            lo = mid + 1
        else:
            hi = mid
    return quotes[lo] if lo < len(quotes) else stop


def _joined(run: bytes) -> bytes | None:
    bodies = [a or b for a, b in _PIECE_BODY.findall(run)]
    if sum(map(len, bodies)) > MAX_JOINED:
        raise Oversized(f"joined literals of more than {MAX_JOINED} characters")
    joined = b"".join(bodies)
    if joined.count(b"\\") < 4:
        return None
    return unescape(joined)


def _joined_decimal(run: bytes) -> bytes | None:
    """The joined bodies read with decimal escapes (`\\48\\129`), when one holds an 8 or 9, a
    Haskell name or `\\&` (`_joined` read them as octal); the bound was checked by `_joined`."""
    from .recheck_tools import _DECIMAL_HINT, _decimal  # (it imports this module)

    joined = b"".join(a or b for a, b in _PIECE_BODY.findall(run))
    return _decimal(joined) if _DECIMAL_HINT.search(joined) is not None else None


def _doubled(run: bytes) -> bytes | None:
    if run.count(b"\\\\") >= MAX_LITERAL:
        raise Oversized(f"{MAX_LITERAL} or more doubled-backslash escapes in a run")
    return unescape(run.replace(b"\\\\", b"\\"))


_ESCAPES: list[tuple[re.Pattern[bytes], Callable[[bytes], bytes | None], str]] = [
    (_JOINED, _joined, "joined literals"),
    (_DOUBLED, _doubled, "doubled backslashes"),
]

__all__ = ["read_values"]
