"""One HTTP body decoded by its Content-Encoding list, for the scanner: decode first, text only when not a stream.

The rules (issue #32, rt15): a body is decoded as its coding (the list applied last first,
`identity` skipped). Bytes after the end of a stream are a further stream of the same coding, or
text (log lines after the body: curl's `* Connection ... left intact`, read raw by the byte
detectors); anything else there is refused (`BodyError`). A body that fails to decode is
"stored decoded" (None: read raw) only when its first PREFIX bytes already fail as its coding (at
most PREFIX bytes of input, too few to hold a key, ever reached a decoder) AND the whole body is
text; else it is incomplete. Bounded: output (`limit`, ValueError "over the view limit"), streams
per body. The independent reader has its own code (`recheck_body.py`).
"""

from __future__ import annotations

import re
import zlib

import brotli

PREFIX = 32  # a body whose first PREFIX bytes fail as its coding does not start as a stream of it
MAX_STREAMS = 64  # streams one after the other in one body
STEP = 16 << 10  # compressed bytes fed to the brotli decoder at once
OUT = 1 << 20  # output bound of one brotli call
CODINGS = ("br", "gzip", "x-gzip", "deflate")

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")


class BodyError(ValueError):
    """A body that says a coding and is neither that coding (to its end) nor text."""


def is_text(data: bytes) -> bool:
    """The WHOLE of `data` is UTF-8 without control bytes other than whitespace."""
    if _CONTROL.search(data) is not None:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def codings_of(value: str) -> list[str]:
    """The codings of a Content-Encoding value (a comma list, case folded, `identity` dropped)."""
    return [part.strip().lower() for part in value.split(",") if part.strip() and part.strip().lower() != "identity"]


def decode_body(body: bytes, codings: list[str], limit: int) -> bytes | None:
    """`body` decoded by `codings` (applied in order, so decoded last first): the plain bytes, or
    None when the body is stored decoded (text that does not start as a stream); BodyError when it
    is neither, ValueError("over the view limit") past `limit` bytes."""
    data = body
    for depth, coding in enumerate(reversed(codings)):
        if coding not in CODINGS:
            if is_text(data):
                return None if depth == 0 else data
            raise BodyError(f"the unknown Content-Encoding {coding!r} on bytes that are not text")
        try:
            data = _streams(data, coding, limit)
        except BodyError:
            if not starts_stream(data, coding) and is_text(data):
                return None if depth == 0 else data
            raise
    return None if data is body else data


def starts_stream(data: bytes, coding: str) -> bool:
    """Whether the first PREFIX bytes of `data` decode as `coding` without an error (a body that
    short is never a stream)."""
    if len(data) <= PREFIX:
        return False
    head = data[:PREFIX]
    if coding == "br":
        try:
            brotli.Decompressor().process(head, output_buffer_limit=OUT)
        except brotli.error:
            return False
        return True
    for wbits in ((31,) if coding != "deflate" else (15, -15)):
        try:
            zlib.decompressobj(wbits).decompress(head, OUT)
        except zlib.error:
            continue
        return True
    return False


def _streams(data: bytes, coding: str, limit: int) -> bytes:
    out = bytearray()
    at = 0
    for _ in range(MAX_STREAMS):
        piece, used = _one(memoryview(data)[at:], coding, limit - len(out))
        out += piece
        at += used
        tail = data[at:]
        if not tail.strip() or is_text(tail):
            return bytes(out)  # the end, or log lines after the body (read raw)
        if not starts_stream(tail, coding):
            raise BodyError(f"{len(tail)} bytes after the end of the {coding} stream are neither text nor "
                            f"another {coding} stream")
    raise BodyError(f"more than {MAX_STREAMS} {coding} streams in one body")


def _one(view: memoryview, coding: str, limit: int) -> tuple[bytes, int]:
    """One stream at the start of `view`: its output and the bytes it used."""
    if coding == "br":
        return _brotli_one(view, limit)
    failed = "not a stream"
    for wbits in ((31,) if coding != "deflate" else (15, -15)):
        engine = zlib.decompressobj(wbits)
        try:
            out = engine.decompress(view, limit + 1)
        except zlib.error as exc:
            failed = str(exc)[:60]
            continue
        if len(out) > limit:
            raise ValueError("over the view limit")
        if not engine.eof:
            raise BodyError(f"truncated: the {coding} stream does not end (cut short)")
        return out, len(view) - len(engine.unused_data)
    raise BodyError(f"not {coding} ({failed})")


def _brotli_one(view: memoryview, limit: int) -> tuple[bytes, int]:
    """One brotli stream: fed in STEP pieces; a piece that fails is fed again byte by byte from a
    fresh decoder to tell "bytes after the end" (the stream's end found) from a corrupt stream."""
    engine = brotli.Decompressor()
    out = bytearray()
    at = 0
    while at < len(view):
        piece = bytes(view[at:at + STEP])
        try:
            out += engine.process(piece, output_buffer_limit=OUT)
            _drain(engine, out, limit)
        except brotli.error:
            return _brotli_end(view, at, limit)
        at += len(piece)
        if engine.is_finished():
            return bytes(out), at
    _drain(engine, out, limit)
    if not engine.is_finished():
        raise BodyError("truncated: the br stream does not end (cut short)")
    return bytes(out), at


def _brotli_end(view: memoryview, failed_at: int, limit: int) -> tuple[bytes, int]:
    engine = brotli.Decompressor()
    out = bytearray()
    try:
        for at in range(0, failed_at, STEP):
            out += engine.process(bytes(view[at:min(at + STEP, failed_at)]), output_buffer_limit=OUT)
            _drain(engine, out, limit)
        for at in range(failed_at, min(len(view), failed_at + STEP)):
            out += engine.process(bytes(view[at:at + 1]), output_buffer_limit=OUT)
            _drain(engine, out, limit)
            if engine.is_finished():
                return bytes(out), at + 1
    except brotli.error:
        pass
    raise BodyError("not br (a corrupt brotli stream)")


def _drain(engine: brotli.Decompressor, out: bytearray, limit: int) -> None:
    """Output the decoder holds without more input (brotli 1.2: until a call gives nothing)."""
    while True:
        if len(out) > limit:
            raise ValueError("over the view limit")
        more = engine.process(b"", output_buffer_limit=OUT)
        if not more:
            return
        out += more


__all__ = ["BodyError", "codings_of", "decode_body", "is_text", "starts_stream"]
