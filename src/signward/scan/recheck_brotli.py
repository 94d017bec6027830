"""The independent reader's brotli and HTTP bodies in text: its own decoding, none of the scanner's.

Brotli has no magic number: a view whose name's last part ends in `.br` (a file, an archive
member) is decoded as brotli whole, and one that does not decode to its end is not read as raw
(the caller marks it incomplete). An HTTP message written as text (a curl -v log, a mitmproxy or
raw capture, a message log) whose header block says `Content-Encoding: br`, `gzip` or `deflate`
has its body (after the blank line; `Content-Length` bytes when given, else up to the next
message or the view's end, less trailing log lines that follow the stream) decoded here: each is
a `Body` with its raw span, and a body that is neither its encoding nor text is `broken`.
Bounded: header lines per message, messages per view, bytes decoded (the caller's budget).
"""

from __future__ import annotations

import mmap
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import brotli

MAX_MESSAGES = 10_000  # encoded bodies read in one view (more: Oversized for the caller)
MAX_HEADER_LINES = 200  # lines of one header block walked (either way from the encoding line)
MAX_LINE = 8192  # bytes of one header line
MAX_TRIMS = 8  # trailing lines dropped from a body without a length before it is called broken
PIECE = 16 << 10

_NAME = re.compile(r"(?:.*[/! ])?[^/! ]*\.br\Z", re.IGNORECASE | re.DOTALL)
_NEEDLES = (b"ontent-encoding", b"ontent-Encoding", b"ONTENT-ENCODING")
_ENCODING = re.compile(rb"[<> ]{0,2}content-encoding[ \t]*:[ \t]*([A-Za-z0-9_-]{1,32})[ \t]*\r?\Z", re.IGNORECASE)
_HEADER = re.compile(rb"[<> ]{0,2}[!#-'*+.0-9A-Za-z^_`|~-]{1,64}[ \t]*:[^\r\n]*\r?\Z")
_START_LINE = re.compile(rb"[<> ]{0,2}(?:HTTP/[0-9.]{1,3} [0-9]{3}|[A-Z]{3,10} [^ \r\n]{1,4096} HTTP/[0-9.]{1,3})")
_BLANK = re.compile(rb"[<> ]{0,2}\r?\Z")
_LENGTH = re.compile(rb"[<> ]{0,2}content-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*\r?\Z", re.IGNORECASE)
_NEXT = re.compile(rb"\n[<> ]{0,2}(?:HTTP/[0-9.]{1,3} [0-9]{3}|[A-Z]{3,10} [^ \r\n]{1,4096} HTTP/[0-9.]{1,3})")


class Undecodable(Exception):
    """Bytes that do not decode as brotli to their end."""


class TooLarge(Exception):
    """A stream that expands past the caller's bound."""


@dataclass(frozen=True)
class Body:
    """An HTTP body in a text view: [start, end), its encoding, what decoded, why it broke (or None)."""

    start: int
    end: int
    codec: str
    plain: bytes
    broken: str | None = None


def named_brotli(name: str) -> bool:
    """Whether a view's `name` says brotli (its last part, after `/`, `!` or ` `, ends in `.br`)."""
    return bool(_NAME.match(name)) and len(re.split(r"[/! ]", name)[-1]) > 3


def unbrotli(data: bytes | mmap.mmap | memoryview, limit: int) -> bytes:
    """The whole of `data` brotli-decoded: Undecodable when it is not brotli, does not end, or has
    bytes after its end; TooLarge past `limit` bytes."""
    engine = brotli.Decompressor()
    out = bytearray()
    view = memoryview(data)
    at = 0
    try:
        while at < len(view) or not engine.can_accept_more_data():
            if engine.can_accept_more_data():
                piece, at = bytes(view[at:at + PIECE]), at + PIECE
            else:
                piece = b""
            out += engine.process(piece, output_buffer_limit=PIECE * 16)
            if len(out) > limit:
                raise TooLarge(f"a brotli stream expands past {limit} bytes")
    except brotli.error:
        raise Undecodable("not brotli, or bytes after the end of the stream") from None
    if not engine.is_finished():
        raise Undecodable("the brotli stream does not end (cut short)")
    return bytes(out)


def _text(body: bytes) -> bool:
    try:
        text = body[:1 << 16].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < min(len(body), 1 << 16) - 3:
            return False
        text = body[:exc.start].decode("utf-8")
    return all(ord(c) >= 0x20 or c in "\t\r\n\f" for c in text)


def _line_at(data: bytes | mmap.mmap, start: int) -> tuple[bytes | None, int]:
    """The line starting at `start` (without its newline) and where the next starts; None for a
    line longer than MAX_LINE (no header line, no blank line)."""
    end = data.find(b"\n", start, start + MAX_LINE)
    if end < 0:
        end = min(len(data), start + MAX_LINE)
        return (bytes(data[start:end]) if end == len(data) else None), end
    return bytes(data[start:end]), end + 1


def _inflate(body: bytes, codec: str, limit: int) -> bytes:
    """gzip or deflate (zlib-wrapped or raw): bytes after the stream's end are allowed (a log goes on)."""
    tries = (31,) if codec in ("gzip", "x-gzip") else (15, -15)
    for bits in tries:
        engine = zlib.decompressobj(bits)
        try:
            out = engine.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit:
            raise TooLarge(f"a {codec} body expands past {limit} bytes")
        if engine.eof:
            return out
        raise Undecodable(f"the {codec} body does not end (cut short)")
    raise Undecodable(f"the body is not {codec}")


def _decode(body: bytes, codec: str, sized: bool, limit: int) -> bytes:
    if codec != "br":
        return _inflate(body, codec, limit)
    try:
        return unbrotli(body, limit)
    except Undecodable:
        if sized:
            raise
    newline = len(body)  # no length: the log may go on after the stream; drop its last lines
    for _ in range(MAX_TRIMS):
        newline = body.rfind(b"\n", 0, newline)
        if newline <= 0:
            break
        ends = [newline, newline - 1] if body[newline - 1] == 0x0D else [newline]
        for end in ends:
            try:
                return unbrotli(memoryview(body)[:end], limit)
            except Undecodable:
                continue
    raise Undecodable("the br body does not decode as brotli")


def http_bodies(data: bytes | mmap.mmap, limit: int) -> Iterator[Body]:
    """Every body in `data` whose header block names br, gzip or deflate (see module), decoded to at
    most `limit` bytes in all (more: TooLarge); a text body is stored decoded and is skipped."""
    hits = sorted({at for needle in _NEEDLES for at in _finditer(data, needle) if at >= 0})
    spent, count, last_end = 0, 0, -1
    for hit in hits:
        line_start = data.rfind(b"\n", max(0, hit - 8), hit) + 1
        if hit - line_start > 4 or line_start < last_end:
            continue  # not at a line's start (prefix `< ` and `C` at most), or inside a body read already
        line, cursor = _line_at(data, line_start)
        found = _ENCODING.fullmatch(line) if line is not None else None
        if found is None:
            continue
        codec = found.group(1).decode().lower()
        if codec not in ("br", "gzip", "x-gzip", "deflate"):
            continue
        count += 1
        if count > MAX_MESSAGES:
            raise TooLarge(f"more than {MAX_MESSAGES} encoded HTTP bodies in a view")
        length = _length_before(data, line_start)
        body_start = None
        for _ in range(MAX_HEADER_LINES):
            if cursor >= len(data):
                break
            line, after = _line_at(data, cursor)
            if line is None:
                break
            if _BLANK.fullmatch(line):
                body_start = after
                break
            if not _HEADER.fullmatch(line):
                break  # not a header block (or a redacted one): no body
            sized = _LENGTH.fullmatch(line)
            if sized is not None:
                length = int(sized.group(1))
            cursor = after
        if body_start is None:
            continue
        if length is not None:
            body_end = min(len(data), body_start + length)
        else:
            following = _NEXT.search(data, body_start)
            body_end = following.start() if following is not None else len(data)
        body = bytes(data[body_start:body_end])
        last_end = body_end
        if not body.strip() or _text(body):
            continue
        try:
            plain = _decode(body, codec, length is not None, limit - spent)
        except Undecodable as exc:
            yield Body(body_start, body_end, codec, b"", f"an HTTP body at {body_start} says {codec}: {exc}")
            continue
        spent += len(plain)
        yield Body(body_start, body_end, codec, plain)


def _finditer(data: bytes | mmap.mmap, needle: bytes) -> Iterator[int]:
    at = data.find(needle)
    for _ in range(4 * MAX_MESSAGES):
        if at < 0:
            return
        yield at - 1  # the `C`/`c` before it
        at = data.find(needle, at + 1)
    if at >= 0:
        raise TooLarge(f"more than {4 * MAX_MESSAGES} Content-Encoding names in a view")


def _length_before(data: bytes | mmap.mmap, line_start: int) -> int | None:
    """A Content-Length among the header lines above the encoding line (up to the start line)."""
    cursor = line_start
    for _ in range(MAX_HEADER_LINES):
        if cursor <= 0:
            return None
        previous = data.rfind(b"\n", max(0, cursor - 1 - MAX_LINE), cursor - 1) + 1
        line = bytes(data[previous:cursor - 1])
        sized = _LENGTH.fullmatch(line)
        if sized is not None:
            return int(sized.group(1))
        if _START_LINE.match(line) or not _HEADER.fullmatch(line):
            return None
        cursor = previous
    return None


__all__ = ["Body", "TooLarge", "Undecodable", "http_bodies", "named_brotli", "unbrotli"]
