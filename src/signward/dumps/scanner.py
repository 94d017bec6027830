"""Scan one dump: decompress if needed, walk it in overlapping chunks, run every detector,
then search the whole dump again for the exact bytes of every private value proven on the
way (a prime found as limbs gives d, the CRT values and their other layouts).

Memory stays bounded by the chunk size whatever the dump's size: the file is read one chunk
(plus overlap) at a time; compressed dumps are first streamed to a private
temporary file.
"""

from __future__ import annotations

import bisect
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import DumpFormatError
from .chunks import CHUNK, OVERLAP, Chunk, Learned
from .detectors import Detector, select
from .findings import FileReport, Finding, merge_spans
from .files import copy_bounded
from .formats import Layout, head_of, open_decompressed, read_layout, sniff_container
from .knownkeys import KnownKeys
from .regions import compact
from .scratch import Scratch

Progress = Callable[[int, int], None]


@contextmanager
def plain_copy(path: Path, container: str, directory: str | None = None,
               max_bytes: int | None = None) -> Iterator[Path]:
    """The uncompressed dump: `path` itself, or a nameless private file (`Scratch`) decompressed
    from it (at most `max_bytes`, and never more than the free disk space)."""
    if container == "none":
        yield path
        return
    folder = Path(directory if directory is not None else tempfile.gettempdir())
    with Scratch(folder) as target:
        try:
            with open_decompressed(path, container) as stream, open(target.path, "wb") as out:
                copy_bounded(stream, out, folder, max_bytes)
        except DumpFormatError:
            raise
        except Exception as exc:  # OSError, EOFError, lzma/zlib/zstandard/lz4 errors
            raise DumpFormatError(f"{path}: corrupt or truncated {container} data ({exc})") from None
        yield target.path


def iter_chunks(path: Path, layout: Layout, known: KnownKeys, learned: Learned) -> Iterator[Chunk]:
    """CHUNK bytes at a time plus OVERLAP of the next, long zero runs left out (`regions.py`)."""
    size = layout.size
    descriptor = os.open(path, os.O_RDONLY)
    try:
        for start in range(0, size, CHUNK):
            end = min(size, start + CHUNK + OVERLAP)
            own_end = CHUNK if start + CHUNK < size else end - start
            data = os.pread(descriptor, end - start, start)  # one chunk resident at a time, whatever the size
            if len(data) != end - start:
                raise DumpFormatError(f"{path}: shrank while being read (at offset {start + len(data)})")
            packed = compact(data, own_end)
            if packed is None:
                continue  # all zeros: nothing any detector could find
            joined, pieces, owned = packed
            yield Chunk(joined, start, owned, layout, known, learned,
                        pieces=[(position, start + offset) for position, offset in pieces], covers=own_end)
    finally:
        os.close(descriptor)


def exact_pass(path: Path, layout: Layout, known: KnownKeys, learned: Learned) -> list[Finding]:
    """Every occurrence of every learned private value, in every chunk."""
    found: list[Finding] = []
    for chunk in iter_chunks(path, layout, known, Learned()):
        for pattern, (detector, kind, encoding, kid) in learned.patterns.items():
            position = chunk.data.find(pattern)
            while position >= 0:
                if chunk.owns(position):
                    found.append(chunk.finding(position, len(pattern), detector, kind, encoding, kid=kid,
                                               verified=kid is not None))
                position = chunk.data.find(pattern, position + 1)
    return found


def scan_plain(path: Path, layout: Layout, detectors: Sequence[Detector], known: KnownKeys,
               progress: Progress | None = None) -> tuple[list[Finding], list[str]]:
    """Findings (sorted, unique) and the bounded passes that were cut short."""
    learned = Learned()
    findings: list[Finding] = []
    for chunk in iter_chunks(path, layout, known, learned):
        for detector in detectors:
            findings.extend(detector.scan(chunk))
        if progress is not None:
            progress(min(layout.size, chunk.start + chunk.covers), layout.size)
    if progress is not None:
        progress(layout.size, layout.size)
    if learned.patterns:
        spans = merge_spans([(f.offset, f.end) for f in findings])
        starts = [start for start, _ in spans]
        for extra in exact_pass(path, layout, known, learned):
            index = bisect.bisect_right(starts, extra.offset) - 1
            if index < 0 or extra.end > spans[index][1]:  # not already inside a first-pass finding
                findings.append(extra)
    unique = sorted(set(findings))
    incomplete = sorted({item for detector in detectors for item in detector.incomplete()})
    return unique, incomplete


def scan_path(path: str | Path, detectors: Sequence[str] | str | None = None, known: KnownKeys | None = None,
              progress: Progress | None = None, workdir: str | None = None,
              max_bytes: int | None = None) -> FileReport:
    """Scan one file (any supported format or container); DumpFormatError if it cannot be read
    or expands past `max_bytes` (default `files.DEFAULT_MAX_BYTES`) or the free disk space."""
    path = Path(path)
    began = time.monotonic()
    if not path.is_file():
        raise DumpFormatError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    container = sniff_container(head_of(path))
    chosen = select(detectors)
    with plain_copy(path, container, workdir, max_bytes) as plain:
        layout = read_layout(plain)
        findings, incomplete = scan_plain(plain, layout, chosen, known if known is not None else KnownKeys(),
                                          progress)
    return FileReport(file=str(path), format=layout.format, bytes=layout.size,
                      seconds=time.monotonic() - began, findings=findings, container=container,
                      incomplete=incomplete)


__all__ = ["exact_pass", "iter_chunks", "plain_copy", "scan_path", "scan_plain"]
