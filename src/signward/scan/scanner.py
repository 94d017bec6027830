"""Scan one dump: decompress if needed, walk it in overlapping chunks, run every detector,
then search the whole dump again for the exact bytes of every private value proven on the
way (a prime found as limbs gives d, the CRT values and their other layouts).

Memory stays bounded by the chunk size whatever the dump's size: the file is read one chunk
(plus overlap) at a time; compressed dumps are first streamed to a private
temporary file. Chunks are independent (every detector's bounds and state are per chunk), so
a pool of processes scans them in parallel, each result taken in file order: the findings
are the same for any pool size, and at most two chunks per process are in flight.
"""

from __future__ import annotations

import bisect
import collections
import ctypes
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import DumpFormatError
from . import har, http_text
from .brotli_layer import container_of
from .bundles import MAX_DEPTH, OUTSIDE, bundle_kind, bundle_session, extracted
from .chunks import CHUNK, OVERLAP, Chunk, Learned
from .coverage import CoverageError, Uncovered
from .decoded_runs import scan_decoded_runs
from .detectors import Detector, select
from .detectors.der_ber import BerPass
from .detectors.der_cut import chunk_budget
from .detectors.der_cut_pass import CutHeadPass
from .detectors.openpgp import OpenPgpPass
from .detectors.ssh_binary import SshBinaryPass
from .detectors.win_blobs import WinBlobPass
from .ed25519_pairs import scan_ed25519_pairs
from .embedded import scan_embedded
from .files import copy_bounded
from .findings import FileReport, Finding, merge_spans
from .formats import Layout, Region, head_of, open_decompressed, read_layout, refuse_unread
from .knownkeys import KnownKeys
from .legacy_text import scan_legacy_text
from .lone_values import scan_lone_values
from .mojibake import scan_mojibake
from .printed import scan_printed
from .printed_encodings import scan_encodings
from .regions import compact
from .scratch import Scratch, renamed

Progress = Callable[[int, int], None]
MAX_WORKERS = 8  # the default pool: one process per core, at most this many (each holds about 0.5 GB)


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


def read_chunk(descriptor: int, path: Path, layout: Layout, start: int, known: KnownKeys, learned: Learned,
               chunk_size: int = CHUNK) -> Chunk | None:
    """The chunk at `start`: `chunk_size` bytes plus OVERLAP of the next, long zero runs left
    out (`regions.py`); None when it is all zeros."""
    size = layout.size
    end = min(size, start + chunk_size + OVERLAP)
    own_end = chunk_size if start + chunk_size < size else end - start
    data = os.pread(descriptor, end - start, start)  # one chunk resident at a time, whatever the size
    if len(data) != end - start:
        raise DumpFormatError(f"{path}: shrank while being read (at offset {start + len(data)})")
    packed = compact(data, own_end)
    if packed is None:
        return None  # all zeros: nothing any detector could find
    joined, pieces, owned = packed
    return Chunk(joined, start, owned, layout, known, learned,
                 pieces=[(position, start + offset) for position, offset in pieces], covers=own_end)


def iter_chunks(path: Path, layout: Layout, known: KnownKeys, learned: Learned,
                chunk_size: int = CHUNK) -> Iterator[Chunk]:
    """Every chunk of the dump that is not all zeros, in order."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        for start in range(0, layout.size, chunk_size):
            chunk = read_chunk(descriptor, path, layout, start, known, learned, chunk_size)
            if chunk is not None:
                yield chunk
    finally:
        os.close(descriptor)


@dataclass
class ChunkResult:
    """What scanning one chunk gives: its findings, the private values proven in it, the
    bounded passes it cut short, and where in the file it ends."""

    findings: list[Finding]
    learned: dict[bytes, tuple[str, str, str, str | None]]
    incomplete: list[str]
    end: int


_HEAP_KEPT = False
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def keep_freed_buffers() -> None:
    """Every chunk allocates and frees buffers of tens of MiB (its bytes, running counts,
    candidate offsets). glibc returns buffers that size to the kernel at once, and on a virtual
    machine touching fresh pages costs more than the filters themselves (measured here: the
    running counts of a 32 MiB chunk take 20 ms in reused memory, up to 180 ms in fresh). So a
    scanning process keeps freed buffers in its heap for the next chunk: it holds its peak,
    which the chunk size bounds. Once per process; nothing where mallopt is missing."""
    global _HEAP_KEPT
    if _HEAP_KEPT:
        return
    _HEAP_KEPT = True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, 1 << 30)
    mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1)


def scan_chunk(path: Path, layout: Layout, start: int, detectors: Sequence[Detector], known: KnownKeys,
               chunk_size: int = CHUNK) -> ChunkResult:
    """Scan the chunk at `start` with every detector. A detector's state lives for one chunk
    (its bounds are per chunk), so the result depends on the chunk alone: chunks can be
    scanned in any process, in any order, and give the same findings."""
    keep_freed_buffers()
    learned = Learned()
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunk = read_chunk(descriptor, path, layout, start, known, learned, chunk_size)
    finally:
        os.close(descriptor)
    end = min(layout.size, start + chunk_size)
    if chunk is None:
        return ChunkResult([], {}, [], end)
    with chunk_budget() as rsa_budget:  # keys cut short: one RSA work budget for the chunk and its views
        findings, cut = _scan_views(chunk, path, layout, with_cut_heads(detectors))
    incomplete = sorted(cut | set(rsa_budget.incomplete()))
    return ChunkResult(findings, learned.patterns, incomplete, end)


def with_cut_heads(detectors: Sequence[Detector]) -> list[Detector]:
    """The detectors, and with `der` its pass over the heads of keys cut short that its anchor
    does not match (`detectors/der_cut_pass.py`), its pass over BER (`detectors/der_ber.py`) and
    its passes over Windows key blobs (`win_blobs.py`), OpenPGP keys (`openpgp.py`) and OpenSSH keys
    without armour (`ssh_binary.py`)."""
    chosen = list(detectors)
    if not any(detector.name == "der" for detector in chosen):
        return chosen
    return chosen + [CutHeadPass(), BerPass(), WinBlobPass(), OpenPgpPass(), SshBinaryPass()]


def _scan_views(chunk: Chunk, path: Path, layout: Layout,
                detectors: Sequence[Detector]) -> tuple[list[Finding], set[str]]:
    """Every detector over the chunk and the views decoded from it: the findings and the bounded
    passes cut short."""
    findings = [finding for detector in detectors for finding in detector.scan(chunk)]
    cut: set[str] = set()
    if layout.format != "har":  # base64 runs in any text (a HAR's strings are decoded by `har.scan_views`)
        findings += scan_decoded_runs(chunk, detectors, cut, covered=findings)
        if any(detector.name == "known-key" for detector in detectors):  # a lone JWK `d` (`lone_values.py`)
            findings += scan_lone_values(chunk, cut)
            findings += scan_ed25519_pairs(chunk, cut)  # 64-byte seed || public key (`ed25519_pairs.py`)
    findings += scan_printed(chunk, detectors, cut, covered=findings)  # byte lists, hex dumps (`printed.py`)
    findings += scan_mojibake(chunk, detectors, cut)  # Latin-1 as UTF-8, literals with raw runes (`mojibake.py`)
    findings += scan_encodings(chunk, detectors, cut)  # cp1252, grouped integers, base58, Z85, yEnc
    findings += scan_legacy_text(chunk, detectors, cut)  # uuencoded files, EBCDIC PEM (`legacy_text.py`)
    # compressed streams at any offset and UTF-16 runs in binary, each a view of its own (`embedded.py`)
    findings += scan_embedded(chunk, detectors, cut, more=_file_reader(path, layout.size), covered=findings)
    cut.update(item for detector in detectors for item in detector.incomplete())
    return findings, cut


def _file_reader(path: Path, size: int) -> Callable[[int, int], bytes]:
    """`read(offset, length)`: the file's bytes there (a stream that goes on past its chunk)."""
    def read(offset: int, length: int) -> bytes:
        with open(path, "rb") as stream:
            return os.pread(stream.fileno(), max(0, min(length, size - offset)), offset)
    return read


def _scan_chunk_job(job: tuple[Path, Layout, int, Sequence[Detector], KnownKeys, int]) -> ChunkResult:
    return scan_chunk(*job)


def pool_size(workers: int | None, size: int, chunk_size: int = CHUNK) -> int:
    """Processes for a dump of `size` bytes: `workers` (0 or None: one per core, at most
    MAX_WORKERS), never more than it has chunks."""
    wanted = workers or min(MAX_WORKERS, os.cpu_count() or 1)
    return max(1, min(wanted, -(-size // chunk_size)))


def chunk_results(path: Path, layout: Layout, detectors: Sequence[Detector], known: KnownKeys,
                  workers: int | None = 1, chunk_size: int = CHUNK) -> Iterator[ChunkResult]:
    """Every chunk's result, in file order, from a pool of `pool_size` processes (or this one).
    At most 2 x workers chunks are in flight, so memory stays bounded by the pool's size."""
    starts = range(0, layout.size, chunk_size)
    processes = pool_size(workers, layout.size, chunk_size)
    if processes == 1:
        for start in starts:
            yield scan_chunk(path, layout, start, detectors, known, chunk_size)
        return
    if str(path).startswith("/proc/self/fd/"):  # a nameless Scratch copy: the workers reach it through us
        path = Path(f"/proc/{os.getpid()}/fd/{Path(path).name}")
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        pending: collections.deque[Future[ChunkResult]] = collections.deque()
        jobs = iter(starts)
        for start in jobs:
            pending.append(pool.submit(_scan_chunk_job, (path, layout, start, detectors, known, chunk_size)))
            if len(pending) >= 2 * processes:
                break
        while pending:
            result = pending.popleft().result()
            for start in jobs:
                pending.append(pool.submit(_scan_chunk_job, (path, layout, start, detectors, known, chunk_size)))
                break
            yield result


BLOCK = 8  # an anchored pattern is at least 2 x BLOCK long: every occurrence holds an aligned block of it
MAX_ANCHOR_HITS = 1 << 16  # more candidate blocks than this in one chunk: `bytes.find` per pattern instead


def anchor_table(patterns: Sequence[bytes]) -> dict[int, list[tuple[bytes, int]]]:
    """For each pattern of at least 2 x BLOCK bytes and each of the BLOCK ways its start can sit
    against an aligned block: one whole aligned block inside it (the one with the most distinct
    bytes), as a little-endian integer -> (pattern, its offset in the pattern). Any occurrence of
    a pattern covers an aligned block, and it is that shift's anchor."""
    table: dict[int, list[tuple[bytes, int]]] = {}
    for pattern in patterns:
        if len(pattern) < 2 * BLOCK:
            continue
        for shift in range(BLOCK):
            back = max(range(shift, len(pattern) - BLOCK + 1, BLOCK),
                       key=lambda at: len(set(pattern[at:at + BLOCK])))
            table.setdefault(int.from_bytes(pattern[back:back + BLOCK], "little"), []).append((pattern, back))
    return table


def find_all(data: bytes, patterns: Sequence[bytes],
             table: dict[int, list[tuple[bytes, int]]] | None = None) -> Iterator[tuple[int, bytes]]:
    """Every (position, pattern) where a pattern occurs in `data`, overlapping ones too: the
    positions `bytes.find` gives for each pattern, found with one pass over the aligned blocks
    (a sorted lookup of every block among the anchors, then an exact compare) instead of one
    pass per pattern. Short patterns, and a chunk where anchors hit too often, use `bytes.find`."""
    table = anchor_table(patterns) if table is None else table
    anchored = {pattern for entries in table.values() for pattern, _ in entries}
    slow = [pattern for pattern in patterns if pattern not in anchored]
    if table:
        blocks = np.frombuffer(data, dtype="<u8", count=len(data) // BLOCK)
        keys = np.array(sorted(table), dtype=np.uint64)
        index = np.searchsorted(keys, blocks)
        index[index == len(keys)] = 0
        hits = np.flatnonzero(keys[index] == blocks)
        if len(hits) > MAX_ANCHOR_HITS:
            slow = list(patterns)
        else:
            for block in hits.tolist():
                for pattern, back in table[int(blocks[block])]:
                    position = block * BLOCK - back
                    if position >= 0 and data.startswith(pattern, position):
                        yield position, pattern
    for pattern in slow:
        position = data.find(pattern)
        while position >= 0:
            yield position, pattern
            position = data.find(pattern, position + 1)


def exact_pass(path: Path, layout: Layout, known: KnownKeys, learned: Learned,
               chunk_size: int = CHUNK) -> list[Finding]:
    """Every occurrence of every learned private value, in every chunk."""
    found: list[Finding] = []
    patterns = list(learned.patterns)
    table = anchor_table(patterns)
    for chunk in iter_chunks(path, layout, known, Learned(), chunk_size):
        for position, pattern in find_all(chunk.data, patterns, table):
            if chunk.owns(position):
                detector, kind, encoding, kid = learned.patterns[pattern]
                found.append(chunk.finding(position, len(pattern), detector, kind, encoding, kid=kid,
                                           verified=kid is not None))
    return found


def scan_plain(path: Path, layout: Layout, detectors: Sequence[Detector], known: KnownKeys,
               progress: Progress | None = None, workers: int | None = 1,
               chunk_size: int = CHUNK) -> tuple[list[Finding], list[str]]:
    """Findings (sorted, unique) and the bounded passes that were cut short; the same whatever
    the number of `workers` (0 or None: one per core)."""
    learned = Learned()
    findings: list[Finding] = []
    incomplete: set[str] = set()
    for result in chunk_results(path, layout, detectors, known, workers, chunk_size):
        findings.extend(result.findings)
        incomplete.update(result.incomplete)
        for pattern, meaning in result.learned.items():  # in file order: the first proof names it
            learned.patterns.setdefault(pattern, meaning)
        if progress is not None:
            progress(result.end, layout.size)
    if progress is not None:
        progress(layout.size, layout.size)
    if layout.format == "har" or (layout.format == "raw" and har.looks_like_json(head_of(path))):
        # its secrets, and every detector over every layer a reader decodes (any JSON document)
        with chunk_budget() as rsa_budget:
            har_findings, har_incomplete = har.scan_file(path, known, with_cut_heads(detectors), layout.format == "har")
        har_incomplete = [*har_incomplete, *rsa_budget.incomplete()]
        findings[:0] = har_findings  # first: a string the chunk's decoded runs found too keeps the JSON view's detail
        incomplete.update(har_incomplete)
    if layout.format == "raw":  # HTTP messages written as text: br/gzip/deflate bodies decoded (http_text.py)
        with chunk_budget() as rsa_budget:
            http_findings, http_incomplete = http_text.scan_file(path, known, with_cut_heads(detectors))
        http_incomplete = [*http_incomplete, *rsa_budget.incomplete()]
        findings.extend(http_findings)
        incomplete.update(http_incomplete)
    if learned.patterns:
        spans = merge_spans([(f.offset, f.end) for f in findings])
        starts = [start for start, _ in spans]
        for extra in exact_pass(path, layout, known, learned, chunk_size):
            index = bisect.bisect_right(starts, extra.offset) - 1
            if index < 0 or extra.end > spans[index][1]:  # not already inside a first-pass finding
                findings.append(extra)
    return sorted(set(findings)), sorted(incomplete)


def scan_path(path: str | Path, detectors: Sequence[str] | str | None = None, known: KnownKeys | None = None,
              progress: Progress | None = None, workdir: str | None = None,
              max_bytes: int | None = None, workers: int | None = 1, depth: int = 0, *,
              name: str | None = None) -> FileReport:
    """Scan one file (any supported format or container, or a bundle of them); DumpFormatError
    if it cannot be read or expands past `max_bytes` (default `files.DEFAULT_MAX_BYTES`) or the
    free disk space. Reports and errors call the file `name` (default: `path`), never by the
    private copy the work happens on; a bundle's members are `name!member`."""
    path = Path(path)
    name = str(path) if name is None else name
    began = time.monotonic()
    if not path.is_file():
        raise DumpFormatError(f"{name}: no such file" if not path.exists() else f"{name}: not a regular file")
    chosen = select(detectors)
    known = known if known is not None else KnownKeys()
    try:
        refuse_unread(head_of(path), name)  # 7z, RAR, brotli...: by magic or by name
        container = container_of(head_of(path), name, path)  # by magic; brotli (no magic) by a `.br` name
        with plain_copy(path, container, workdir, max_bytes) as plain:
            kind = bundle_kind(plain)
            if kind is not None:
                return _scan_bundle(name, plain, kind, container, detectors, known, workdir, max_bytes, workers,
                                    depth, began)
            layout = read_layout(plain)
            findings, incomplete = scan_plain(plain, layout, chosen, known, progress, workers)
    except DumpFormatError as exc:  # about this file's bytes: named as its reader knows it
        renamed(exc, name)
        raise
    return FileReport(file=name, format=layout.format, bytes=layout.size,
                      seconds=time.monotonic() - began, findings=findings, container=container,
                      incomplete=incomplete)


def _scan_bundle(name: str, plain: Path, kind: str, container: str, detectors: Sequence[str] | str | None,
                 known: KnownKeys, workdir: str | None, max_bytes: int | None, workers: int | None, depth: int,
                 began: float) -> FileReport:
    """Every member scanned with the scanner for its format (`bundles.py` for the limits)."""
    if depth >= MAX_DEPTH:
        raise CoverageError(Uncovered.TOO_DEEP, f"{name}: bundles nested deeper than {MAX_DEPTH}; refused")
    reports: list[FileReport] = []
    folder = Path(workdir if workdir is not None else tempfile.gettempdir())
    with bundle_session(max_bytes), extracted(plain, kind, folder, max_bytes) as copies:
        for member, copy in copies:
            if member.name == OUTSIDE:  # headers, padding, comments, extra fields: scanned as raw bytes
                layout = Layout(format="raw", size=member.size, regions=[Region(0, member.size, None)])
                found, cut = scan_plain(copy.path, layout, select(detectors), known, None, workers)
                report = FileReport(file=f"{name}!{OUTSIDE}", format="bundle-outside", bytes=member.size,
                                    seconds=0.0, findings=found, incomplete=cut)
            else:
                report = scan_path(copy.path, detectors, known, None, workdir, max_bytes, workers, depth + 1,
                                   name=f"{name}!{member.name}")
            reports.append(report)
    members = [report.file[len(name) + 1:] for report in reports]
    findings = [replace(f, detail=member + (f": {f.detail}" if f.detail else ""))
                for member, report in zip(members, reports, strict=True) for f in report.findings]
    return FileReport(file=name, format=f"{kind}-bundle", bytes=plain.stat().st_size,
                      seconds=time.monotonic() - began, findings=findings, container=container,
                      incomplete=sorted({i for r in reports for i in r.incomplete}), members=reports)


__all__ = ["ChunkResult", "anchor_table", "chunk_results", "exact_pass", "find_all", "iter_chunks", "plain_copy",
           "pool_size", "read_chunk", "scan_chunk", "scan_path", "scan_plain"]
