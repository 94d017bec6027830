"""The independent reader's decoding of one HTTP body by its Content-Encoding list (none of body_codec's code).

A body is decoded first, every coding of its list (last first, `identity` skipped). After the end
of a stream come more streams of the same coding, or text (log lines: read raw by the reader's
detectors), else the body is broken. A body that fails is text stored decoded only when no decoder
got past its first HEAD bytes (too few to hold a key) and all of it is UTF-8 without control
bytes; else it is broken. Every byte decoded counts, broken or not (`Decoded.spent`); past the
caller's limit: Overflow.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import brotli

HEAD = 32  # bytes a decoder may read before it fails and the body still counts as "not a stream"
MAX_STREAMS = 64  # streams in one body
FEED = 8 << 10  # compressed bytes fed to brotli at once
CHUNK = 256 << 10  # output of one decoder call
KNOWN = ("br", "gzip", "x-gzip", "deflate")


class Overflow(Exception):
    """A body that decodes past the caller's limit."""


class _Broken(Exception):
    pass


@dataclass
class Decoded:
    """What decoding a body gave: `plain` (None: read raw), why it broke, bytes decoded in all."""

    plain: bytes | None
    broken: str | None
    spent: int


def plain_text(data: bytes) -> bool:
    """All of `data` is UTF-8 and holds no control byte but tab, CR, LF, FF."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(c < " " and c not in "\t\r\n\f" for c in text)


def decode(body: bytes, codings: list[str], limit: int) -> Decoded:
    """`body` decoded by `codings` (see module); Overflow past `limit` decoded bytes."""
    meter = [0]
    data = body
    for index, coding in enumerate(reversed([c for c in codings if c != "identity"])):
        try:
            if coding not in KNOWN:
                raise _Broken(f"the unknown Content-Encoding {coding!r}")
            data = _all_streams(data, coding, limit, meter)
        except _Broken as exc:
            if not _reads_head(data, coding) and plain_text(data):
                return Decoded(None if index == 0 else data, None, meter[0])
            return Decoded(None, f"{coding}: {exc}", meter[0])
    return Decoded(None if data is body else data, None, meter[0])


def _reads_head(data: bytes, coding: str) -> bool:
    """Does a decoder of `coding` read the first HEAD bytes of `data` without an error?"""
    if len(data) <= HEAD or coding not in KNOWN:
        return False
    if coding == "br":
        try:
            brotli.Decompressor().process(data[:HEAD])
            return True
        except brotli.error:
            return False
    for bits in ((31,) if coding in ("gzip", "x-gzip") else (15, -15)):
        try:
            zlib.decompressobj(bits).decompress(data[:HEAD], CHUNK)
            return True
        except zlib.error:
            pass
    return False


def _all_streams(data: bytes, coding: str, limit: int, meter: list[int]) -> bytes:
    parts: list[bytes] = []
    rest = data
    for _ in range(MAX_STREAMS):
        plain, rest = (_brotli(rest, limit, meter) if coding == "br" else _zlib(rest, coding, limit, meter))
        parts.append(plain)
        if plain_text(rest):  # nothing, or log lines after the body
            return b"".join(parts)
        if not _reads_head(rest, coding):
            raise _Broken(f"{len(rest)} bytes after the end of the stream are neither text nor a stream")
    raise _Broken(f"more than {MAX_STREAMS} streams")


def _count(meter: list[int], size: int, limit: int) -> None:
    meter[0] += size
    if meter[0] > limit:
        raise Overflow(f"an HTTP body decodes past {limit} bytes")


def _zlib(data: bytes, coding: str, limit: int, meter: list[int]) -> tuple[bytes, bytes]:
    """One gzip/zlib/raw deflate stream: its output and the bytes after it."""
    for bits in ((31,) if coding in ("gzip", "x-gzip") else (15, -15)):
        engine = zlib.decompressobj(bits)
        out: list[bytes] = []
        pending = data
        try:
            while pending and not engine.eof:
                piece = engine.decompress(pending, CHUNK)
                _count(meter, len(piece), limit)
                out.append(piece)
                pending = engine.unconsumed_tail
        except zlib.error:
            continue
        if not engine.eof:
            raise _Broken("the stream does not end (cut short)")
        return b"".join(out), engine.unused_data
    raise _Broken(f"not {coding}")


def _brotli(data: bytes, limit: int, meter: list[int]) -> tuple[bytes, bytes]:
    """One brotli stream: its output and the bytes after it. A piece that fails is walked again
    byte by byte (a fresh decoder) to find where the stream ended; those bytes are counted again."""
    engine = brotli.Decompressor()
    out: list[bytes] = []
    for at in range(0, len(data), FEED):
        try:
            out.append(engine.process(data[at:at + FEED], output_buffer_limit=CHUNK))
            _count(meter, len(out[-1]), limit)
            _flush(engine, out, limit, meter)
        except brotli.error:
            return _brotli_walk(data, at, limit, meter)
        if engine.is_finished():
            return b"".join(out), data[at + FEED:]
    _flush(engine, out, limit, meter)
    if not engine.is_finished():
        raise _Broken("the stream does not end (cut short)")
    return b"".join(out), b""


def _brotli_walk(data: bytes, bad: int, limit: int, meter: list[int]) -> tuple[bytes, bytes]:
    engine = brotli.Decompressor()
    out: list[bytes] = []
    try:
        for at in range(0, bad, FEED):
            out.append(engine.process(data[at:at + FEED], output_buffer_limit=CHUNK))
            _count(meter, len(out[-1]), limit)
            _flush(engine, out, limit, meter)
        for at in range(bad, min(len(data), bad + FEED)):
            out.append(engine.process(data[at:at + 1], output_buffer_limit=CHUNK))
            _count(meter, len(out[-1]), limit)
            _flush(engine, out, limit, meter)
            if engine.is_finished():
                return b"".join(out), data[at + 1:]
    except brotli.error:
        pass
    raise _Broken("not brotli (corrupt)")


def _flush(engine: brotli.Decompressor, out: list[bytes], limit: int, meter: list[int]) -> None:
    """brotli 1.2 may hold output while it says it takes more input: call until it gives none."""
    while True:
        more = engine.process(b"", output_buffer_limit=CHUNK)
        if not more:
            return
        _count(meter, len(more), limit)
        out.append(more)


__all__ = ["Decoded", "Overflow", "decode", "plain_text"]
