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
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .brotli_layer import decode_bounded
from .chunks import Chunk, Learned
from .files import draw
from .findings import Finding
from .formats import Layout, Region
from .knownkeys import KnownKeys
from .views import Budget

if TYPE_CHECKING:
    from .detectors.base import Detector

MAX_BLOCKS = 10_000  # encoded bodies per file (more: incomplete)
MAX_HEADERS = 200  # header lines walked after the encoding line
MAX_HEADER_BYTES = 64 << 10  # bytes of header block walked after the encoding line
TRAILING_LINES = 8  # log lines after a brotli stream without a length that may be dropped
ENCODINGS = ("br", "gzip", "x-gzip", "deflate")

_ENCODING_LINE = re.compile(rb"(?im)(?:[<>] ?)?content-encoding[ \t]*:[ \t]*(br|gzip|x-gzip|deflate)[ \t]*\r?$")
_HEADER_LINE = re.compile(rb"(?:[<>] ?)?[A-Za-z0-9!#$%&'*+.^_`|~-]+[ \t]*:[^\n]{0,8192}\n")
_BLANK_LINE = re.compile(rb"(?:[<>] ?)?[ \t]*\r?\n")
_CONTENT_LENGTH = re.compile(rb"(?im)^(?:[<>] ?)?content-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?$")
_MESSAGE_START = re.compile(rb"\n(?:[<>] ?)?(?:HTTP/\d(?:\.\d)? \d{3}\b|[A-Z]+ [!-~]+ HTTP/\d(?:\.\d)?\r?\n)")


NEEDLES = (b"ontent-Encoding", b"ontent-encoding", b"ONTENT-ENCODING")


def has_encoded_bodies(data: bytes | mmap.mmap) -> bool:
    """A cheap test: does the text name a Content-Encoding anywhere (three common casings)?"""
    return any(data.find(needle) >= 0 for needle in NEEDLES)


def _encoding_lines(data: bytes | mmap.mmap, budget: Budget) -> Iterator[re.Match[bytes]]:
    """Each `Content-Encoding: X` header line, found from the needles (memchr-fast in a large file)."""
    starts: set[int] = set()
    for needle in NEEDLES:
        at = data.find(needle)
        while at >= 0:
            if len(starts) >= 4 * MAX_BLOCKS:
                budget.note(f"http: more than {4 * MAX_BLOCKS} Content-Encoding names")
                break
            starts.add(data.rfind(b"\n", max(0, at - 4), at) + 1)
            at = data.find(needle, at + 1)
    for start in sorted(starts):
        match = _ENCODING_LINE.match(data, start)
        if match is not None:
            yield match


def bodies(data: bytes | mmap.mmap, budget: Budget) -> Iterator[tuple[int, int, str, bytes]]:
    """(start, end, encoding, decoded) of each encoded body in `data`; what cannot be decoded goes to
    `budget.incomplete`."""
    blocks = 0
    resume = 0
    for match in _encoding_lines(data, budget):
        if match.start() < resume:
            continue  # inside a body read already
        blocks += 1
        if blocks > MAX_BLOCKS:
            budget.note(f"http: more than {MAX_BLOCKS} encoded bodies")
            return
        found = _body_span(data, match)
        if found is None:
            continue
        start, end, sized = found
        resume = end
        body = bytes(data[start:end])
        encoding = match.group(1).decode().lower()
        decoded = _decoded(body, encoding, sized, budget, start)
        if decoded is not None and budget.take(len(decoded), f"an HTTP {encoding} body at {start}"):
            draw(len(decoded), "an HTTP body")
            yield start, end, encoding, decoded


def _body_span(data: bytes | mmap.mmap, match: re.Match[bytes]) -> tuple[int, int, bool] | None:
    """The body after the header block holding `match`: (start, end, has a length), or None when
    no blank line ends a block of header lines."""
    block_start = data.rfind(b"\n\n", max(0, match.start() - MAX_HEADER_BYTES), match.start())
    block_start = max(block_start, data.rfind(b"\n\r\n", max(0, match.start() - MAX_HEADER_BYTES), match.start()))
    position = match.end() + 1
    limit = position + MAX_HEADER_BYTES
    for _ in range(MAX_HEADERS):
        if position > len(data) or position > limit:
            return None
        blank = _BLANK_LINE.match(data, position)
        if blank is not None:
            head = bytes(data[max(0, block_start):position])
            length = _CONTENT_LENGTH.search(head)
            start = blank.end()
            if length is not None:
                return start, min(len(data), start + int(length.group(1))), True
            following = _MESSAGE_START.search(data, start)
            return start, following.start() + 1 if following is not None else len(data), False
        header = _HEADER_LINE.match(data, position)
        if header is None:
            return None
        position = header.end()
    return None


def _is_text(body: bytes) -> bool:
    sample = body[:1 << 16]
    text = sample.decode("utf-8", "replace")
    if text.count("\ufffd") > 3:
        return False
    return not any(ord(c) < 0x20 and c not in "\t\r\n\f" for c in text)


def _decoded(body: bytes, encoding: str, sized: bool, budget: Budget, at: int) -> bytes | None:
    """The decoded body, or None: a text body (stored decoded), or one that does not decode (noted)."""
    if not body.strip() or _is_text(body):
        return None
    limit = min(budget.max_view_bytes, max(0, budget.max_bytes - budget.used))
    try:
        if encoding == "br":
            return _unbrotli(body, sized, limit)
        for wbits in ((31,) if encoding != "deflate" else (15, -15)):
            decoder = zlib.decompressobj(wbits)
            try:
                out = decoder.decompress(body, limit + 1)
            except zlib.error:
                continue
            if len(out) > limit:
                raise ValueError("over the view limit")
            if not decoder.eof:
                raise EOFError("the stream does not end")
            return out
        raise ValueError(f"not {encoding}")
    except ValueError as exc:
        budget.note(f"http: a {encoding} body at {at} does not decode ({exc})")
    except EOFError as exc:
        budget.note(f"http: a {encoding} body at {at} is truncated ({exc})")
    return None


def _unbrotli(body: bytes, sized: bool, limit: int) -> bytes:
    """Brotli-decoded; without a length, the log lines after the stream may be dropped (a few)."""
    try:
        return decode_bounded(body, limit)
    except (ValueError, EOFError) as exc:
        if sized or "view limit" in str(exc):
            raise
        first = exc
    end = len(body)
    for _ in range(TRAILING_LINES):  # the stream ends before one of the last newlines (or its \r)
        end = body.rfind(b"\n", 0, end)
        if end <= 0:
            break
        for cut in ((end - 1, end) if body[end - 1:end] == b"\r" else (end,)):
            try:
                return decode_bounded(body[:cut], limit)
            except (ValueError, EOFError) as exc:
                if "view limit" in str(exc):
                    raise
    raise first


def scan_file(path: Path, known: KnownKeys, detectors: list[Detector]) -> tuple[list[Finding], list[str]]:
    """The findings of every chosen detector in every encoded HTTP body of the text file at `path`
    (each at the whole raw body), and what could not be decoded."""
    from .detectors import select

    size = path.stat().st_size
    if size == 0:
        return [], []
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if not has_encoded_bodies(data):
            return [], []
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
