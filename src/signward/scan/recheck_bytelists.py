"""The independent reader's "printed bytes" views (issue #32, round 13, F1): a key's bytes as
runtimes print a `bytes`/`byte[]` value, each form read back into a child view where every
detector of the reader runs.

byte-list  16+ integers in [-128, 255] split by commas and/or whitespace, brackets or not: Python
           lists, Java `Arrays.toString` (signed), Go `%v` (`[48 130 4 ...]`), Rust `{:?}`; read
           mod 256; a run of 3-digit octal tokens (`od -b`, its offset column dropped) also as
           octal
hex-list   16+ two-digit hex tokens (`0x` or not) split by `-`, `:`, `,`, `;` or spaces: .NET
           `BitConverter` (`30-82-04-BD`), `30:82`, Rust `{:02x?}` / `[0x30, ...]`, Node buffers
escaped    quoted literals holding backslash escapes: Python `b'0\\x81...'` repr (escapes mixed
           with printable characters), C/Go octal and `\\x` strings (`"\\060\\202..."`), and bare
           `\\xNN` runs
joined     adjacent quoted pieces joined (Java `"..." +` lines, Python implicit concatenation,
           C adjacent literals), shell `\\`-newline continuations, base64 in space-separated
           groups of 4 (8 or more groups): the joined text is a child view (its base64/hex read there)

(Hex dumps in rows, word dumps and their byte-swapped reading: recheck_numbers.hex_blocks.)
Bounded: each form's runs per view are capped (`recheck_codecs.candidates`: more is incomplete,
refused); a list as long as its pattern's bound (`MAX_TOKENS` numbers) is joined to the match that goes
on after it, up to `MAX_JOINED` characters (a longer list: in windows of that many characters that
share one whole match, rt16); an escaped literal of `MAX_LITERAL` characters, or 4,096
joined pieces, lines or groups, is incomplete (read apart, a key there would be split in two).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from . import recheck_zeros as zeros
from .recheck_codecs import Oversized, candidates

if TYPE_CHECKING:
    from .recheck import _Reader

MIN_BYTES = 16
MIN_TEXT = 31  # the shortest form: 16 one-digit numbers and 15 spaces
MAX_TOKENS = 16_385  # numbers of one list, pieces of one joined run (a 16384-bit PKCS#8 is < 10 KiB)
MAX_LITERAL = 65_536  # characters of one escaped literal
MAX_JOINED = 2 << 20  # characters of one list read as one view (its pieces at the bound joined)

_TEXT = re.compile(rb"[\t\n\r -~]{%d,}" % MIN_TEXT)
_SEP_DEC = rb"(?:[ \t]*[,;][ \t\r\n]*|[ \t]*\r?\n(?:[0-7]{7}|[0-9a-fA-F]{8}:?)?[ \t]*|[ \t]+)"
_DEC_RUN = re.compile(rb"(?<![\w.+-])(?:-?[0-9]{1,3}%s){15,16384}-?[0-9]{1,3}(?![\w.])" % _SEP_DEC)
_DEC_TOKEN = re.compile(rb"-?[0-9]+")
_UNSIGNED = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_COMMA_LIST = re.compile(rb"(?:%s[ \t]*,[ \t\r\n]*){16,}%s" % (_UNSIGNED, _UNSIGNED))
_ROW_OFFSET = re.compile(rb"\n(?:[0-7]{7}|[0-9a-fA-F]{8}:?)")
_OCTAL = re.compile(rb"[0-3][0-7]{2}")
_OCTAL_TOKEN = re.compile(rb"(?<![0-9])[0-3][0-7]{2}(?![0-9])")
_HEX_RUN = re.compile(rb"(?<![\w.-])(?:(?:0[xX])?[0-9a-fA-F]{2}(?:[ \t]*[-:,;][ \t\r\n]*|[ \t]+)){15,16384}"
                      rb"(?:0[xX])?[0-9a-fA-F]{2}(?![\w])")
_HEX_TOKEN = re.compile(rb"(?:0[xX])?([0-9a-fA-F]{2})")
# a quoted literal with a backslash escape in its first 64 characters (cheap over binary: bodies
# are printable ASCII only, as a repr or a source literal is); its closing quote is not needed (a
# literal cut short, or longer than the bound, is still read)
_QUOTED = re.compile(rb"""(?<![\w])[bB]?(?:'(?=[^'\\\n]{0,64}\\)((?:[ -&(-\[\]-~]|\\[ -~]){16,65536})'?"""
                     rb'''|"(?=[^"\\\n]{0,64}\\)((?:[ !#-\[\]-~]|\\[ -~]){16,65536})"?)''')
_BARE_ESCAPES = re.compile(rb"(?:(?:\\x[0-9a-fA-F]{2}|\\[0-7]{3})[^\\\s'\"]{0,3}){16,65536}")
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|u[0-9a-fA-F]{4}|[ -~])|([ -~])")
_SIMPLE = {b"n": 10, b"t": 9, b"r": 13, b"a": 7, b"b": 8, b"f": 12, b"v": 11, b"e": 27}
_PIECE = rb"""(?:"[A-Za-z0-9+/=_-]{1,4096}"|'[A-Za-z0-9+/=_-]{1,4096}')"""
_JOIN = rb"[ \t]*(?:[+.&]{1,2}|\\?\r?\n)?[ \t\r\n]*(?:[+.&]{1,2}[ \t]*)?"
_QUOTED_PIECES = re.compile(rb"(?:%s%s){1,4096}%s" % (_PIECE, _JOIN, _PIECE))
_PIECE_BODY = re.compile(rb"""["']([A-Za-z0-9+/=_-]+)["']""")
# (from a run's start only: tried at every character of a long run, as a redacted core's
# `REDACTEDREDACTED...` is, each try walked 4,096 characters back)
_CONTINUED = re.compile(rb"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{8,4096}"
                        rb"(?:\\\r?\n[ \t]*[A-Za-z0-9+/=_-]{4,4096}){1,4096}")
# (rt16: not a row of `0x30` bytes, gdb `x/8xb`'s: hex, read as such; 3 MB of them were 40,000 runs)
_GROUPS = re.compile(rb"(?<![A-Za-z0-9+/=])(?!(?:0x[0-9a-fA-F]{2}[ \t]){7})(?:[A-Za-z0-9+/]{4}[ \t]){7,16384}"
                     rb"[A-Za-z0-9+/=]{2,4}(?![A-Za-z0-9+/=])")
_JOINERS = re.compile(rb"\\?\r?\n|[ \t]")


def read_bytelists(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every printed-bytes form of one view: each reading a child view at its run's span."""
    # every form is printable text of MIN_TEXT or more characters: the forms' patterns run only
    # in such runs (one cheap pass; a core is mostly binary, where 7 patterns cost ~8x as much)
    texts = [(match.start(), match.end()) for match in zeros.finditer(_TEXT, data)]
    for literal, pattern, reading, label, token in _FORMS:
        if literal and data.find(literal) < 0:
            continue
        for start, end, text in _runs(pattern, data, texts, token, name, label):
            for spelled in reading(text):
                if len(spelled) >= MIN_BYTES:
                    outer = reader.decoding(depth, start, end)
                    reader.child(spelled, f"{name} > {label}", depth + 1)
                    reader.span = outer


def _runs(pattern: re.Pattern[bytes], data: bytes | mmap.mmap, texts: list[tuple[int, int]],
          token: re.Pattern[bytes] | None, name: str, label: str) -> Iterator[tuple[int, int, bytes]]:
    """[start, end) and text of each run; a list as long as its pattern's bound goes on in the next
    match, which is joined to it (`od -An -tu1` of a large file) up to MAX_JOINED characters; a
    longer one in windows of MAX_JOINED characters overlapping by one whole match (rt16)."""
    cap = candidates(data)
    count = 0
    pending: list[tuple[int, int, bytes]] = []
    size = 0  # characters in `pending`
    capped = False
    for start, end in texts:
        for match in pattern.finditer(data, start, end):
            count += 1
            if count > cap:
                from .recheck import _Exhausted

                raise _Exhausted(f"{name}: more than {cap} {label} runs")
            text = match.group(0)
            if pending and capped and match.start() - pending[-1][1] <= 16:
                if size + len(text) > MAX_JOINED and len(pending) > 1:
                    # rt16: a longer list (`od -b` of a 670 KB file) is read in windows of
                    # MAX_JOINED characters that share a whole match (MAX_TOKENS numbers: more than
                    # a 16384-bit key's DER), so a key across a window's edge is whole in the next
                    yield pending[0][0], pending[-1][1], b" ".join(part for _, _, part in pending)
                    pending = pending[-1:]
                    size = len(pending[0][2])
            elif pending:
                yield pending[0][0], pending[-1][1], b" ".join(part for _, _, part in pending)
                pending, size = [], 0
            pending.append((match.start(), match.end(), text))
            size += len(text)
            capped = token is not None and len(token.findall(text)) >= MAX_TOKENS - 1
    if pending:
        yield pending[0][0], pending[-1][1], b" ".join(part for _, _, part in pending)


def _decimal(run: bytes) -> Iterator[bytes]:
    """Signed or unsigned bytes (mod 256), split where a token leaves [-128, 255]; and 3-digit
    octal tokens also as octal."""
    tokens = _DEC_TOKEN.findall(_ROW_OFFSET.sub(b"\n", run))
    if len(tokens) < MAX_TOKENS and _COMMA_LIST.fullmatch(run):
        return  # unsigned with commas: recheck_numbers' decimal-bytes view reads it (read once)
    values: list[int] = []
    for token in tokens:
        value = int(token)
        if -128 <= value <= 255:
            values.append(value % 256)
            continue
        if values:
            yield bytes(values)
        values = []
    yield bytes(values)
    if not _OCTAL_TOKEN.search(run):
        return  # (no 3-digit token: no octal run; one empty reading per token was 800,000 of them)
    octal: list[int] = []
    for token in tokens:  # (a number before the dump's first offset ends no octal run)
        if _OCTAL.fullmatch(token):
            octal.append(int(token, 8))
            continue
        if octal:
            yield bytes(octal)
        octal = []
    yield bytes(octal)


def _hex(run: bytes) -> Iterator[bytes]:
    tokens = _HEX_TOKEN.findall(run)
    yield bytes.fromhex(b"".join(tokens).decode("ascii"))


def _bounded(count: int, limit: int, what: str) -> None:
    """A run as long as its pattern's bound may go on past it (the rest read apart, a key split
    in two): the read is incomplete, refused."""
    if count >= limit:
        raise Oversized(f"{limit} or more {what}")


def unescape(body: bytes) -> bytes:
    """The bytes a Python/C/Go escaped literal's body spells (escapes and printable characters)."""
    out = bytearray()
    for escape in _ESCAPE.finditer(body):
        code, plain = escape.group(1), escape.group(2)
        if plain is not None:
            out += plain
        elif code[:1] == b"x" and len(code) == 3:
            out.append(int(code[1:], 16))
        elif code[:1] == b"u" and len(code) == 5:
            out += chr(int(code[1:], 16)).encode("utf-8", "surrogatepass")
        elif code[:1] in b"01234567" and code[:1]:
            out.append(int(code, 8) & 0xFF)
        else:
            out.append(_SIMPLE.get(code, code[0]))
    return bytes(out)


def _escaped(run: bytes) -> Iterator[bytes]:
    match = _QUOTED.match(run)
    if match is None:
        return
    body = match.group(1) if match.group(1) is not None else match.group(2)
    _bounded(len(body), MAX_LITERAL, "characters in an escaped literal")
    if body.count(b"\\") >= 4:
        yield unescape(body)


def _bare(run: bytes) -> Iterator[bytes]:
    _bounded(run.count(b"\\"), MAX_LITERAL, "escapes in a run")
    yield unescape(run)


def _pieces(run: bytes) -> Iterator[bytes]:
    pieces = _PIECE_BODY.findall(run)
    _bounded(len(pieces), 4097, "quoted pieces joined")
    yield b"".join(pieces)


def _joined(run: bytes) -> Iterator[bytes]:
    _bounded(len(_JOINERS.findall(run)), 4096, "joined lines or groups")
    yield _JOINERS.sub(b"", run)


# each form: a literal every run of it holds (b"" when none: the regex alone), its run, its readings
# each form: a literal every run of it holds (b"" when none: the regex alone), its run, its
# readings, its view's name, and for lists the token whose count tells a run cut at its bound
_FORMS: list[tuple[bytes, re.Pattern[bytes], Callable[[bytes], Iterator[bytes]], str, re.Pattern[bytes] | None]] = [
    (b"", _DEC_RUN, _decimal, "byte-list", _DEC_TOKEN),
    (b"", _HEX_RUN, _hex, "hex-list", _HEX_TOKEN),
    (b"\\", _QUOTED, _escaped, "escaped", None),
    (b"\\", _BARE_ESCAPES, _bare, "escaped", None),
    (b"", _QUOTED_PIECES, _pieces, "joined", None),
    (b"\\", _CONTINUED, _joined, "joined", None),
    (b"", _GROUPS, _joined, "joined", None),
]

__all__ = ["read_bytelists", "unescape"]
