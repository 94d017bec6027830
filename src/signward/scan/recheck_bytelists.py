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
refused), a run as long as its pattern's bound (`MAX_TOKENS` numbers or pieces, `MAX_LITERAL` characters)
is incomplete too (the regex would read the rest apart, a key split in two).
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

_TEXT = re.compile(rb"[\t\n\r -~]{%d,}" % MIN_TEXT)
_SEP_DEC = rb"(?:[ \t]*[,;][ \t\r\n]*|[ \t]*\r?\n(?:[0-7]{7}|[0-9a-fA-F]{8}:?)?[ \t]*|[ \t]+)"
_DEC_RUN = re.compile(rb"(?<![\w.+-])(?:-?[0-9]{1,3}%s){15,16384}-?[0-9]{1,3}(?![\w.])" % _SEP_DEC)
_DEC_TOKEN = re.compile(rb"-?[0-9]+")
_UNSIGNED = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_COMMA_LIST = re.compile(rb"(?:%s[ \t]*,[ \t\r\n]*){16,}%s" % (_UNSIGNED, _UNSIGNED))
_ROW_OFFSET = re.compile(rb"\n(?:[0-7]{7}|[0-9a-fA-F]{8}:?)")
_OCTAL = re.compile(rb"[0-3][0-7]{2}")
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
_CONTINUED = re.compile(rb"[A-Za-z0-9+/=_-]{8,4096}(?:\\\r?\n[ \t]*[A-Za-z0-9+/=_-]{4,4096}){1,4096}")
_GROUPS = re.compile(rb"(?<![A-Za-z0-9+/=])(?:[A-Za-z0-9+/]{4}[ \t]){7,16384}[A-Za-z0-9+/=]{2,4}(?![A-Za-z0-9+/=])")
_JOINERS = re.compile(rb"\\?\r?\n|[ \t]")


def read_bytelists(reader: _Reader, data: bytes | mmap.mmap, name: str, depth: int) -> None:
    """Every printed-bytes form of one view: each reading a child view at its run's span."""
    # every form is printable text of MIN_TEXT or more characters: the forms' patterns run only
    # in such runs (one cheap pass; a core is mostly binary, where 7 patterns cost ~8x as much)
    texts = [(match.start(), match.end()) for match in zeros.finditer(_TEXT, data)]
    for literal, pattern, reading, label in _FORMS:
        if literal and data.find(literal) < 0:
            continue
        cap = candidates(data)
        count = 0
        for start, end in texts:
            for match in pattern.finditer(data, start, end):
                count += 1
                if count > cap:
                    from .recheck import _Exhausted

                    raise _Exhausted(f"{name}: more than {cap} {label} runs")
                _read_run(reader, match, reading(match), name, label, depth)


def _read_run(reader: _Reader, match: re.Match[bytes], readings: Iterator[bytes], name: str, label: str,
              depth: int) -> None:
    for spelled in readings:
        if len(spelled) >= MIN_BYTES:
            outer = reader.decoding(depth, match.start(), match.end())
            reader.child(spelled, f"{name} > {label}", depth + 1)
            reader.span = outer


def _decimal(match: re.Match[bytes]) -> Iterator[bytes]:
    """Signed or unsigned bytes (mod 256), split where a token leaves [-128, 255]; and 3-digit
    octal tokens also as octal."""
    text = _ROW_OFFSET.sub(b"\n", match.group(0))
    tokens = _DEC_TOKEN.findall(text)
    _bounded(len(tokens), MAX_TOKENS - 1, "numbers in a byte list")
    if _COMMA_LIST.fullmatch(match.group(0)):
        return  # unsigned with commas: recheck_numbers' decimal-bytes view reads it (read once)
    run: list[int] = []
    for token in tokens:
        value = int(token)
        if -128 <= value <= 255:
            run.append(value % 256)
            continue
        yield bytes(run)
        run = []
    yield bytes(run)
    octal: list[int] = []
    for token in tokens:  # (a number before the dump's first offset ends no octal run)
        if _OCTAL.fullmatch(token):
            octal.append(int(token, 8))
            continue
        yield bytes(octal)
        octal = []
    yield bytes(octal)


def _hex(match: re.Match[bytes]) -> Iterator[bytes]:
    tokens = _HEX_TOKEN.findall(match.group(0))
    _bounded(len(tokens), MAX_TOKENS - 1, "hex bytes in a list")
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


def _escaped(match: re.Match[bytes]) -> Iterator[bytes]:
    body = match.group(1) if match.group(1) is not None else match.group(2)
    _bounded(len(body), MAX_LITERAL, "characters in an escaped literal")
    if body.count(b"\\") >= 4:
        yield unescape(body)


def _bare(match: re.Match[bytes]) -> Iterator[bytes]:
    _bounded(match.group(0).count(b"\\"), MAX_LITERAL, "escapes in a run")
    yield unescape(match.group(0))


def _pieces(match: re.Match[bytes]) -> Iterator[bytes]:
    pieces = _PIECE_BODY.findall(match.group(0))
    _bounded(len(pieces), 4097, "quoted pieces joined")
    yield b"".join(pieces)


def _joined(match: re.Match[bytes]) -> Iterator[bytes]:
    _bounded(len(_JOINERS.findall(match.group(0))), 4096, "joined lines or groups")
    yield _JOINERS.sub(b"", match.group(0))


# each form: a literal every run of it holds (b"" when none: the regex alone), its run, its readings
_FORMS: list[tuple[bytes, re.Pattern[bytes], Callable[[re.Match[bytes]], Iterator[bytes]], str]] = [
    (b"", _DEC_RUN, _decimal, "byte-list"),
    (b"", _HEX_RUN, _hex, "hex-list"),
    (b"\\", _QUOTED, _escaped, "escaped"),
    (b"\\", _BARE_ESCAPES, _bare, "escaped"),
    (b"", _QUOTED_PIECES, _pieces, "joined"),
    (b"\\", _CONTINUED, _joined, "joined"),
    (b"", _GROUPS, _joined, "joined"),
]

__all__ = ["read_bytelists", "unescape"]
