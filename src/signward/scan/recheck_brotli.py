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
from collections.abc import Iterator
from dataclasses import dataclass

import brotli

from .recheck_body import Overflow, decode, plain_text

MAX_MESSAGES = 10_000  # encoded bodies read in one view (more: Oversized for the caller)
MAX_HEADER_LINES = 200  # lines of one header block walked (either way from the encoding line)
MAX_LINE = 8192  # bytes of one header line
BODY_MAX = 64 << 20  # bytes one body may decode to (more: TooLarge, as the scanner's view bound)
MAX_PREFIX = 256  # bytes before `content-encoding` on its line (a timestamp, a log prefix, `< `)
PIECE = 16 << 10
HEAD = 32  # a view this short is never sniffed as brotli
SNIFF_VIEW = 64 << 20  # bytes of a view without a `.br` name tried as brotli
SNIFF_OUT = 256 << 20  # output a sniff counts before it calls the view brotli

_NAME = re.compile(r"(?:.*[/! ])?[^/! ]*\.br\Z", re.IGNORECASE | re.DOTALL)
_DASH = re.compile(rb"-[Ee][Nn][Cc][Oo][Dd][Ii][Nn][Gg][ \t]*:")
_ENCODING = re.compile(rb"content-encoding[ \t]*:[ \t]*([^\r\n]{0,512}?)[ \t]*\r?\Z", re.IGNORECASE)
_PREFIX = re.compile(rb"[^<>\r\n]{0,200}[<>] ?")
_START_LINE = re.compile(rb"HTTP/[0-9.]{1,3} [0-9]{3}|[A-Z]{3,10} [^ \r\n]{1,4096} HTTP/[0-9.]{1,3}")
_LENGTH = re.compile(rb"(?<![A-Za-z0-9-])content-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*\r?\Z", re.IGNORECASE)
_NEXT = re.compile(rb"\n(?:[^\n<>]{0,64}[<>] ?)?"
                   rb"(?:HTTP/[0-9.]{1,3} [0-9]{3}|[A-Z]{3,10} [^ \r\n]{1,4096} HTTP/[0-9.]{1,3})")


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


def looks_brotli(data: bytes | mmap.mmap) -> bool:
    """A view with no `.br` name that is brotli all the same: all of it (at most SNIFF_VIEW bytes)
    one stream that ends at its last byte with output (random bytes pass a brotli decoder's first
    bytes often; ending exactly at the end, almost never). Output is counted, not kept."""
    if not HEAD < len(data) <= SNIFF_VIEW:
        return False
    engine = brotli.Decompressor()
    produced = 0
    try:
        for at in range(0, len(data), PIECE):
            produced += len(engine.process(bytes(data[at:at + PIECE]), output_buffer_limit=PIECE))
            while more := engine.process(b"", output_buffer_limit=PIECE):
                produced += len(more)
                if produced > SNIFF_OUT:
                    return True  # decoded (and bounded) by unbrotli
            if engine.is_finished():
                return at + PIECE >= len(data) and produced > 0
    except brotli.error:
        return False
    return False


def unbrotli(data: bytes | mmap.mmap | memoryview, limit: int) -> bytes:
    """The whole of `data` brotli-decoded: Undecodable when it is not brotli, does not end, or has
    bytes after its end; TooLarge past `limit` bytes."""
    engine = brotli.Decompressor()
    out = bytearray()
    view = memoryview(data)
    at = 0
    try:
        while True:  # brotli 1.2: output may wait while it takes input; drain it until a call gives none
            if at < len(view) and engine.can_accept_more_data():
                piece, at = bytes(view[at:at + PIECE]), at + PIECE
            else:
                piece = b""
            fresh = engine.process(piece, output_buffer_limit=PIECE * 16)
            if not piece and not fresh:
                break
            out += fresh
            if len(out) > limit:
                raise TooLarge(f"a brotli stream expands past {limit} bytes")
    except brotli.error:
        raise Undecodable("not brotli, or bytes after the end of the stream") from None
    if not engine.is_finished():
        raise Undecodable("the brotli stream does not end (cut short)")
    return bytes(out)


def _line_at(data: bytes | mmap.mmap, start: int) -> tuple[bytes | None, int]:
    """The line starting at `start` (without its newline) and where the next starts; None for a
    line longer than MAX_LINE (no header line, no blank line)."""
    end = data.find(b"\n", start, start + MAX_LINE)
    if end < 0:
        end = min(len(data), start + MAX_LINE)
        return (bytes(data[start:end]) if end == len(data) else None), end
    return bytes(data[start:end]), end + 1


def _bare(line: bytes) -> bytes:
    """A line without what a log writes before a header (a timestamp, curl's `< ` / `> `)."""
    marker = _PREFIX.match(line)
    return line[marker.end():] if marker is not None else line


def http_bodies(data: bytes | mmap.mmap, limit: int) -> Iterator[Body]:
    """Every body in `data` whose header block names br, gzip or deflate (see module), decoded to at
    most `limit` bytes in all, broken bodies counted too (more: TooLarge); a text body that is no
    stream is stored decoded and is skipped."""
    spent, count, last_end = 0, 0, -1
    for hit in _finditer(data):
        line_start = data.rfind(b"\n", max(0, hit - MAX_PREFIX), hit) + 1
        if (line_start == 0 and hit > MAX_PREFIX) or line_start < last_end:
            continue  # too far into a line, or inside a body read already
        line, cursor = _line_at(data, line_start)
        found = _ENCODING.match(line, hit - line_start) if line is not None else None
        if found is None:
            continue
        value = found.group(1)
        count += 1
        if count > MAX_MESSAGES:
            raise TooLarge(f"more than {MAX_MESSAGES} encoded HTTP bodies in a view")
        length = _length_before(data, line_start)
        body_start = None
        folded = True
        for _ in range(MAX_HEADER_LINES):
            if cursor >= len(data):
                break
            line, after = _line_at(data, cursor)
            if line is None:
                break
            bare = _bare(line)
            if not bare.strip():
                body_start = after
                break
            if folded and bare[:1] in (b" ", b"\t"):  # obs-fold: the value goes on
                value += b" " + bare.strip()
                cursor = after
                continue
            folded = False
            if b":" not in line:
                break  # not a header block (or a redacted one): no body
            sized = _LENGTH.search(line)
            if sized is not None:
                length = int(sized.group(1))
            cursor = after
        codings = [c.strip().lower() for c in value.decode("latin-1").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if body_start is None or not codings:
            continue
        following = _NEXT.search(data, body_start)
        body_end = following.start() + 1 if following is not None else len(data)
        if length is not None and plain_text(bytes(data[min(body_end, body_start + length):body_end])):
            body_end = min(len(data), body_start + length)  # else the length is short: read on
        body = bytes(data[body_start:body_end])
        last_end = body_end
        if not body.strip():
            continue
        try:
            result = decode(body, codings, min(BODY_MAX, limit - spent))
            spent += result.spent
            lead = body
            for _ in range(4 if result.broken is not None else 0):  # curl's `* ...` line before the bytes
                line, _, lead = lead.partition(b"\n")
                if not lead or not plain_text(line):
                    break
                retry = decode(lead, codings, min(BODY_MAX, limit - spent))
                spent += retry.spent
                if retry.broken is None and retry.plain is not None:
                    result = retry
                    break
        except Overflow as exc:
            raise TooLarge(str(exc)) from None
        codec = "+".join(codings)
        if result.broken is not None:
            yield Body(body_start, body_end, codec, b"", f"an HTTP body at {body_start} says {codec}: {result.broken}")
        elif result.plain is not None:
            yield Body(body_start, body_end, codec, result.plain)


def _finditer(data: bytes | mmap.mmap) -> Iterator[int]:
    """Where each `content-encoding` (any case) starts."""
    for number, match in enumerate(_DASH.finditer(data)):
        if number >= 4 * MAX_MESSAGES:
            raise TooLarge(f"more than {4 * MAX_MESSAGES} Content-Encoding names in a view")
        if match.start() >= 7 and bytes(data[match.start() - 7:match.start()]).lower() == b"content":
            yield match.start() - 7


def _length_before(data: bytes | mmap.mmap, line_start: int) -> int | None:
    """A Content-Length among the header lines above the encoding line (up to the start line)."""
    cursor = line_start
    for _ in range(MAX_HEADER_LINES):
        if cursor <= 0:
            return None
        previous = data.rfind(b"\n", max(0, cursor - 1 - MAX_LINE), cursor - 1) + 1
        line = bytes(data[previous:cursor - 1])
        if not _bare(line).strip():
            return None
        sized = _LENGTH.search(line)
        if sized is not None:
            return int(sized.group(1))
        if _START_LINE.search(line) or b":" not in line:
            return None
        cursor = previous
    return None


__all__ = ["Body", "TooLarge", "Undecodable", "http_bodies", "looks_brotli", "named_brotli", "unbrotli"]
