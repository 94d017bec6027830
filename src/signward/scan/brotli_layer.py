"""Brotli for the scanner: a file or member named `*.br` is a compressed layer, decoded strictly.

Brotli has no magic number, so only a name says a stream is brotli (`named_brotli`): a file or
bundle member whose last path part ends in `.br` (case folded). `container_of` is the scanner's
and sanitize's one decision of a file's container: the name first (a `.br` that does not decode
as brotli is refused, never read raw), then the magic of the other codecs (`sniff_container`).
Brotli's framing format (magic CE B2 CF 81) is another format and stays refused (`formats.py`).

`BrotliStream` reads like `StrictStream`: compressed bytes fed in pieces, the output of one call
bounded, a stream that does not end refused `truncated`, bytes after its end or bytes that are not
brotli a `DumpFormatError` (exit 2); bodies held in memory (HAR and HTTP) are `body_codec.py`'s.
`BrotliWriter` writes the sanitized output back as brotli. The independent reader has its own
decoder (`recheck_brotli.py`).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import brotli

from ..errors import DumpFormatError
from .coverage import CoverageError, Uncovered
from .formats import sniff_container

SUFFIX = ".br"
FEED = 64 << 10  # compressed bytes given to the decoder at once
OUT_STEP = 1 << 20  # the output buffer bound of one decoder call (brotli may return up to about twice it)
QUALITY = 5  # of the sanitized output (11 is 20x slower for a few percent)


def named_brotli(name: str) -> bool:
    """Whether `name` (a path, or `bundle!member`) names a brotli file: its last part ends in `.br`."""
    last = name.replace("!", "/").rsplit("/", 1)[-1]
    return len(last) > len(SUFFIX) and last.casefold().endswith(SUFFIX)


def container_of(head: bytes, name: str, path: Path | None = None) -> str:
    """The container of a file: 'br' when `name` says brotli, else `sniff_container(head)`; with
    the file's `path`, also 'br' for a whole brotli stream under another name, and a refusal
    (DumpFormatError) for brotli named inside gzip (brotli_sniff.py)."""
    if named_brotli(name):
        return "br"
    if path is None:
        return sniff_container(head)
    from .brotli_sniff import brotli_inside, container_with_sniff

    found = container_with_sniff(head, path)
    inside = brotli_inside(path, name, found)
    if inside is not None:
        raise DumpFormatError(f"{inside}; refused")
    return found


class BrotliStream:
    """The content of a brotli stream read from `raw`, that must end properly (see module)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.decoder = brotli.Decompressor()
        self.pending = b""  # compressed bytes read, not yet fed
        self.draining = False  # the decoder holds output that needs no more input
        self.ended = False

    def _process(self, data: bytes) -> bytes:
        try:
            out: bytes = self.decoder.process(data, output_buffer_limit=OUT_STEP)
        except brotli.error:
            raise DumpFormatError("the stream does not decode as brotli (corrupt, or bytes after its end)") from None
        return out

    def read(self, count: int = -1) -> bytes:
        while not self.ended:
            if self.draining:
                out = self._process(b"")
                self.draining = bool(out)  # brotli 1.2: until a call gives nothing
            else:
                if not self.pending:
                    self.pending = self.raw.read(1 << 20)
                    if not self.pending:
                        if self.decoder.is_finished():
                            self.ended = True
                            break
                        raise CoverageError(Uncovered.TRUNCATED, "the brotli stream ends before its last "
                                                                 "meta-block (cut short)")
                if self.decoder.is_finished():
                    raise DumpFormatError("bytes after the end of the brotli stream")
                piece, self.pending = self.pending[:FEED], self.pending[FEED:]
                out = self._process(piece)
                self.draining = bool(out) or not self.decoder.can_accept_more_data()
            if out:
                return out
        return b""

    def close(self) -> None:
        pass

    def __enter__(self) -> BrotliStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BrotliWriter:
    """A binary writer that brotli-compresses into `raw` (closed by its owner, not here)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.compressor = brotli.Compressor(quality=QUALITY)

    def write(self, data: bytes) -> int:
        self.raw.write(self.compressor.process(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self.raw.write(self.compressor.flush())

    def __enter__(self) -> BrotliWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.raw.write(self.compressor.finish())


__all__ = ["BrotliStream", "BrotliWriter", "container_of", "named_brotli"]
