"""HTTP messages written as text (curl -v logs, raw captures, message logs): encoded bodies decoded.

A body after a header block that says `Content-Encoding: br` (or gzip, x-gzip, deflate) is
compressed bytes in the log; the byte detectors read them raw and find nothing. For the
scanner, this module finds each such header block in a raw file (a line `Content-Encoding: X`,
optionally behind curl's `< ` / `> `, inside lines that are headers up to a blank line), takes the
body (`Content-Length` bytes when the block gives it, else up to the next start line or the end
of the file, less a few trailing log lines when a brotli stream is followed by them), decodes it
and runs every chosen detector over what it decodes to. A finding is reported at the WHOLE raw
body (redaction overwrites all of it). A body that is text is stored decoded and read raw; one
that is neither its encoding nor text is incomplete (scan exit 1, sanitize refuses).

Bounded: header lines per block, blocks per file, bytes decoded per file (the views budget; each
body also draws from a bundle's shared expansion budget). The independent reader has its own
parser (`recheck_brotli.py`).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .body_codec import codings_of, decode_body, is_text, starts_stream
from .chunks import Chunk, Learned
from .files import draw
from .findings import Finding
from .formats import Layout, Region
from .knownkeys import KnownKeys
from .views import Budget

if TYPE_CHECKING:
    from .detectors.base import Detector

MAX_BLOCKS = 10_000  # encoded bodies per file (more: incomplete)
MAX_HEADERS = 200  # header lines walked either way from the encoding line
MAX_HEADER_BYTES = 64 << 10  # bytes of header block walked after the encoding line
LEADING_LINES = 4  # text lines before a body's stream (curl's closing line) skipped
MAX_PREFIX = 256  # bytes of a line before the header name (timestamps, `< `, log prefixes)

_NAME = re.compile(rb"(?i)-encoding[ \t]*:")  # after `content` (checked): fast, `-` has one case
_MARKER = re.compile(rb"[^<>\r\n]{0,200}[<>] ?")  # a log prefix ending in curl's `< ` / `> `
_LENGTH = re.compile(rb"(?i)(?<![A-Za-z0-9-])content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?$")
_START = re.compile(rb"HTTP/\d(?:\.\d)? \d{3}\b|[A-Z]+ [!-~]+ HTTP/\d(?:\.\d)?\r?$")
_MESSAGE_START = re.compile(rb"\n(?:[^\n<>]{0,64}[<>] ?)?"
                            rb"(?:HTTP/\d(?:\.\d)? \d{3}\b|[A-Z]+ [!-~]+ HTTP/\d(?:\.\d)?\r?\n)")


def has_encoded_bodies(data: bytes | mmap.mmap) -> bool:
    """A cheap test: does the text name a Content-Encoding anywhere (any case)?"""
    return any(_is_encoding_name(data, match.start()) for match in _NAME.finditer(data))


def _names_an_encoding(path: Path, piece: int = 16 << 20) -> bool:
    """`has_encoded_bodies` over the file read in pieces (overlapping by a header name's length):
    a file that names no Content-Encoding is read once in bounded memory, not mapped whole (a
    mapped 2 GiB raw image counts 2 GiB against the process's peak)."""
    with open(path, "rb") as handle:
        tail = b""
        while block := handle.read(piece):
            if has_encoded_bodies(tail + block):
                return True
            tail = block[-32:]
    return False


def _is_encoding_name(data: bytes | mmap.mmap, at: int) -> bool:
    return at >= 7 and bytes(data[at - 7:at]).lower() == b"content"


def _line(data: bytes | mmap.mmap, start: int) -> tuple[bytes, int]:
    """The line at `start` (at most MAX_HEADER_BYTES, without its newline) and where the next starts."""
    end = data.find(b"\n", start, start + MAX_HEADER_BYTES)
    if end < 0:
        end = min(len(data), start + MAX_HEADER_BYTES)
        return bytes(data[start:end]), end + (0 if end == len(data) else 1)
    return bytes(data[start:end]), end + 1


def _content(line: bytes) -> bytes:
    """The line without a log prefix ending in `< ` / `> ` (curl -v), and without its `\r`."""
    marker = _MARKER.match(line)
    return (line[marker.end():] if marker is not None else line).rstrip(b"\r")


def _encoding_lines(data: bytes | mmap.mmap, budget: Budget) -> Iterator[tuple[int, int, bytes]]:
    """(line start, after the line, the value) of each `Content-Encoding:` header line, the name in
    any case and anywhere in the first MAX_PREFIX bytes of its line."""
    for count, match in enumerate(_NAME.finditer(data)):
        if count >= 4 * MAX_BLOCKS:
            budget.note(f"http: more than {4 * MAX_BLOCKS} Content-Encoding names")
            return
        if not _is_encoding_name(data, match.start()):
            continue
        line_start = data.rfind(b"\n", max(0, match.start() - 7 - MAX_PREFIX), match.start()) + 1
        if line_start == 0 and match.start() - 7 > MAX_PREFIX:
            continue
        line, after = _line(data, line_start)
        yield line_start, after, line[match.end() - line_start:].strip()


def bodies(data: bytes | mmap.mmap, budget: Budget) -> Iterator[tuple[int, int, str, bytes]]:
    """(start, end, encoding, decoded) of each encoded body in `data`; what cannot be decoded goes to
    `budget.incomplete`."""
    blocks = 0
    resume = 0
    for line_start, after, value in _encoding_lines(data, budget):
        if line_start < resume:
            continue  # inside a body read already
        found = _body_span(data, line_start, after, value)
        if found is None:
            continue
        start, end, codings = found
        if not codings:
            continue  # identity
        blocks += 1
        if blocks > MAX_BLOCKS:
            budget.note(f"http: more than {MAX_BLOCKS} encoded bodies")
            return
        resume = end
        body = bytes(data[start:end])
        encoding = "+".join(codings)
        decoded = _decoded(body, codings, budget, start)
        if decoded is not None and budget.take(len(decoded), f"an HTTP {encoding} body at {start}"):
            draw(len(decoded), "an HTTP body")
            yield start, end, encoding, decoded


def _body_span(data: bytes | mmap.mmap, line_start: int, after: int,
               value: bytes) -> tuple[int, int, list[str]] | None:
    """The body after the header block holding the encoding line: (start, end, codings), or None
    when no blank line ends a block of header lines. Folded values (obs-fold) join the value; the
    Content-Length is the block's own (walked back to its start line, never the request's)."""
    length = _length_above(data, line_start)
    position = after
    folding = True
    for _ in range(MAX_HEADERS):
        if position >= len(data) or position > after + MAX_HEADER_BYTES:
            return None
        line, following = _line(data, position)
        content = _content(line)
        if not content.strip():
            start = following
            codings = codings_of(value.decode("latin-1"))
            message = _MESSAGE_START.search(data, start)
            end = message.start() + 1 if message is not None else len(data)
            if length is not None and is_text(bytes(data[min(end, start + length):end])):
                return start, min(len(data), start + length), codings
            return start, end, codings  # no length, or one that leaves bytes that are not text behind
        if folding and content[:1] in (b" ", b"\t"):
            value += b" " + content.strip()
            position = following
            continue
        folding = False
        if b":" not in line[:MAX_PREFIX + 256]:
            return None
        sized = _LENGTH.search(line)
        if sized is not None:
            length = int(sized.group(1))
        position = following
    return None


def _length_above(data: bytes | mmap.mmap, line_start: int) -> int | None:
    """A Content-Length among the header lines above the encoding line, up to the start line."""
    cursor = line_start
    for _ in range(MAX_HEADERS):
        if cursor <= 0:
            return None
        previous = data.rfind(b"\n", max(0, cursor - 1 - MAX_HEADER_BYTES), cursor - 1) + 1
        line = bytes(data[previous:cursor - 1])
        content = _content(line)
        if not content.strip() or b":" not in line:
            return None
        sized = _LENGTH.search(line)
        if sized is not None:
            return int(sized.group(1))
        if _START.search(content):
            return None
        cursor = previous
    return None


def _decoded(body: bytes, codings: list[str], budget: Budget, at: int) -> bytes | None:
    """The decoded body, or None: a text body (stored decoded), or one that does not decode (noted)."""
    if not body.strip():
        return None
    limit = min(budget.max_view_bytes, max(0, budget.max_bytes - budget.used))
    encoding = ", ".join(codings)
    try:
        return decode_body(body, codings, limit)
    except ValueError as exc:  # BodyError, or over the view limit
        first = exc
    rest = body
    for _ in range(LEADING_LINES):  # curl may write `* Connection ... left intact` before the body bytes
        line, newline, rest = rest.partition(b"\n")
        if not newline or not is_text(line):
            break
        if starts_stream(rest, codings[-1]):
            try:
                return decode_body(rest, codings, limit)
            except ValueError as exc:
                first = exc
            break
    budget.note(f"http: a {encoding} body at {at} does not decode ({first})")
    return None


def scan_file(path: Path, known: KnownKeys, detectors: list[Detector]) -> tuple[list[Finding], list[str]]:
    """The findings of every chosen detector in every encoded HTTP body of the text file at `path`
    (each at the whole raw body), and what could not be decoded."""
    from .detectors import select

    size = path.stat().st_size
    if size == 0 or not _names_an_encoding(path):
        return [], []
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        budget = Budget.for_size(size)
        fresh = select([d.name for d in detectors])
        findings: set[Finding] = set()
        for start, end, encoding, decoded in bodies(data, budget):
            layout = Layout(format="raw", size=len(decoded), regions=[Region(0, len(decoded), None)])
            chunk = Chunk(decoded, 0, len(decoded), layout, known, Learned())
            for detector in fresh:
                for found in detector.scan(chunk):
                    findings.add(Finding(start, end - start, found.detector, found.kind, f"http-{encoding}+"
                                         f"{found.encoding}", kid=found.kid, verified=found.verified,
                                         advisory=found.advisory, detail=f"decoded HTTP {encoding} body"))
        incomplete = list(budget.incomplete)
        for detector in fresh:
            incomplete.extend(f"{detector.name}: {item}" for item in detector.incomplete())
    return sorted(findings), sorted(set(incomplete))


__all__ = ["bodies", "has_encoded_bodies", "scan_file"]
