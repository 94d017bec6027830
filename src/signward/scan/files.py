"""Copying dumps: hashing while copying (capture, release, fetch) and expanding compressed
dumps within a bound (scan, sanitize, capture).

The target is always a new file (O_EXCL, O_NOFOLLOW: never through a symlink, never over a
path someone else made), written with mode 0600 and fsynced before the caller renames it
into place; on any error the partial file is removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Protocol

from ..errors import DumpFormatError
from .coverage import CoverageError, Uncovered

BLOCK = 8 << 20


def copy_hashing(source: Path | IO[bytes], target: Path, max_bytes: int | None = None) -> tuple[str, int]:
    """Copy `source` (a path or a binary stream) to the new file `target`; (sha256 hex, bytes).
    Past `max_bytes` or the free disk space it stops with DumpFormatError and removes `target`."""
    digest = hashlib.sha256()
    size = 0
    limit, what = expansion_limit(target.parent, max_bytes)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        handle = open(source, "rb") if isinstance(source, Path) else None
        stream = handle if handle is not None else source
        try:
            while block := stream.read(BLOCK):  # type: ignore[union-attr]
                if size + len(block) > limit:
                    raise DumpFormatError(f"the dump is larger than {what}; refused (nothing kept)")
                digest.update(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(descriptor, view):]
                size += len(block)
        finally:
            if handle is not None:
                handle.close()
        os.fsync(descriptor)
    except BaseException:
        os.close(descriptor)
        target.unlink(missing_ok=True)
        raise
    os.close(descriptor)
    return digest.hexdigest(), size


DEFAULT_MAX_BYTES = 64 << 30  # the largest (expanded) dump accepted unless configured otherwise
DISK_RESERVE = 256 << 20  # never fill the disk: this much stays free


def expansion_limit(directory: Path, configured: int | None = None) -> tuple[int, str]:
    """How many bytes may be written into `directory` now: the configured limit or the free space
    (less a reserve), whichever is smaller, and which of the two it is (for the refusal)."""
    limit = configured if configured is not None else DEFAULT_MAX_BYTES
    free = shutil.disk_usage(directory).free - DISK_RESERVE
    return (limit, f"the configured limit of {limit} bytes") if limit <= free else (
        max(0, free), f"the free disk space ({max(0, free)} bytes, keeping {DISK_RESERVE >> 20} MiB)")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


_SHARED: ContextVar[list[int] | None] = ContextVar("signward_shared_expansion", default=None)


@contextmanager
def shared_expansion(limit: int) -> Iterator[None]:
    """Inside: every `copy_bounded` and every `draw`, at any depth of nesting, takes from one
    budget of `limit` bytes (a bundle's members, the compressed members they hold, the bundles
    inside them and their views). A nested call shares the outermost budget."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set([limit])
    try:
        yield
    finally:
        _SHARED.reset(token)


def draw(count: int, what: str) -> None:
    """Take `count` bytes from the shared expansion budget (nothing outside `shared_expansion`)."""
    shared = _SHARED.get()
    if shared is None:
        return
    shared[0] -= count
    if shared[0] < 0:
        raise CoverageError(Uncovered.EXPANSION, f"{what}: the bundle expands past its limit; refused")


def copy_bounded(source: Readable, out: IO[bytes], directory: Path, configured: int | None = None,
                 on_block: Callable[[bytes], None] | None = None) -> int:
    """Copy `source` into `out` (a file in `directory`), refusing to write past the expansion
    limit: a decompression bomb or an endless stream is a DumpFormatError, not a full disk.
    The caller removes the partial file."""
    limit, what = expansion_limit(directory, configured)
    written = 0
    while block := source.read(BLOCK):
        written += len(block)
        if written > limit:
            raise DumpFormatError(f"the dump expands past {what}; refused (nothing kept)")
        draw(len(block), "a member")
        if on_block is not None:
            on_block(block)
        out.write(block)
    return written


__all__ = ["DEFAULT_MAX_BYTES", "copy_bounded", "copy_hashing", "draw", "expansion_limit", "shared_expansion"]
