"""Brotli without a `.br` name, for the scanner: a sniffed whole-file stream, and brotli named inside gzip (refused).

Brotli has no magic, so a file or member that is not named `.br` is brotli here only when its
WHOLE content decodes as one brotli stream ending exactly at its last byte with some output
(`sniffed_brotli`; random bytes pass the first bytes of a brotli decoder often, ending exactly
at the end with ISLAST almost never). Bounded: files up to SNIFF_MAX bytes, output up to
OUT_MAX (past it: brotli, decoded by the strict container reader under its own bound). A gzip
file whose inner name says brotli (the outer name minus `.gz`, or the gzip header's stored
FNAME, ending `.br`) is refused (`brotli_inside`): the scanner opens one container per file.
"""

from __future__ import annotations

from pathlib import Path

import brotli

from .formats import sniff_container

SNIFF_MAX = 256 << 20  # bytes of a file a sniff reads
OUT_MAX = 1 << 30  # output of a sniff (more: it is brotli, decoded under the container's bound)
FEED = 64 << 10
HEAD_FAILS = 32  # a file whose first bytes fail as brotli is not sniffed further
_CODEC_SUFFIXES = {"gzip": (".gz", ".gzip", ".tgz"), "xz": (".xz",), "bz2": (".bz2",), "zst": (".zst",),
                   "lz4": (".lz4",)}


def sniffed_brotli(path: Path) -> bool:
    """Whether the file at `path` is one whole brotli stream with output (see module)."""
    try:
        size = path.stat().st_size
        if size <= HEAD_FAILS or size > SNIFF_MAX:
            return False
        engine = brotli.Decompressor()
        produced = 0
        with open(path, "rb") as handle:
            while piece := handle.read(FEED):
                produced += len(engine.process(piece, output_buffer_limit=FEED))
                while more := engine.process(b"", output_buffer_limit=FEED):
                    produced += len(more)
                    if produced > OUT_MAX:
                        return True
                if engine.is_finished() and handle.read(1):
                    return False
        return engine.is_finished() and produced > 0
    except (brotli.error, OSError):
        return False


def gzip_name(path: Path) -> str:
    """The file name a gzip header stores (FNAME), or ''."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(10 + 256)
    except OSError:
        return ""
    if head[:2] != b"\x1f\x8b" or len(head) < 10 or not head[3] & 0x08 or head[3] & 0x04:
        return ""
    return head[10:].split(b"\0", 1)[0].decode("latin-1")


def brotli_inside(path: Path, name: str, container: str) -> str | None:
    """Why a compressed file holds brotli by its inner name (refused), or None."""
    last = name.replace("!", "/").rsplit("/", 1)[-1].casefold()
    for suffix in _CODEC_SUFFIXES.get(container, ()):
        if last.endswith(suffix) and last[:-len(suffix)].endswith(".br") and len(last) > len(suffix) + 3:
            return f"a brotli stream inside {container} ({name!r}): decompress the outer layer and read the .br"
    stored = gzip_name(path) if container == "gzip" else ""
    if stored.casefold().endswith(".br") and len(stored) > 3:
        return f"a brotli stream inside gzip (stored name {stored[-60:]!r}): decompress it and read the .br"
    return None


def container_with_sniff(head: bytes, path: Path) -> str:
    """`sniff_container(head)`, or 'br' for a file with no magic that is a whole brotli stream."""
    found = sniff_container(head)
    if found == "none" and sniffed_brotli(path):
        return "br"
    return found


__all__ = ["brotli_inside", "container_with_sniff", "gzip_name", "sniffed_brotli"]
