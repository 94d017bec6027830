"""Dump formats by content: compression containers, ELF cores, Windows minidumps, raw images.

`sniff_container` names the compression (systemd-coredump writes .zst, .xz or .lz4);
`open_decompressed` streams the dump inside it. `read_layout` parses an uncompressed dump
into a `Layout`: its memory regions with their virtual addresses, and the byte ranges that
are structure (headers, program headers, note headers, minidump directories) and must
never be overwritten. Anything that does not parse as what its magic claims is a
`DumpFormatError`: a truncated core is refused, never scanned as if it were whole.
"""

from __future__ import annotations

import bisect
import bz2
import gzip
import logging
import lzma
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from ..errors import DumpFormatError
from .coverage import CoverageError, Uncovered

CONTAINERS: dict[str, bytes] = {
    "zst": b"\x28\xb5\x2f\xfd",
    "xz": b"\xfd7zXZ\x00",
    "lz4": b"\x04\x22\x4d\x18",
    "gzip": b"\x1f\x8b",
    "bz2": b"BZh",  # and a level digit, then a block or end-of-stream magic (`_BZ2_NEXT`)
}
_BZ2_NEXT = (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90")
ELF_MAGIC = b"\x7fELF"
MINIDUMP_MAGIC = b"MDMP"
PT_LOAD, PT_NOTE, PF_W = 1, 4, 2


@dataclass(frozen=True)
class Region:
    """A stretch of dumped memory: `size` bytes at file `offset`, mapped at `vaddr`."""

    offset: int
    size: int
    vaddr: int | None
    writable: bool = True
    kind: str = "memory"  # "load" (ELF PT_LOAD), "note" (ELF PT_NOTE), "memory" (minidump/raw)

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass
class Layout:
    """How an uncompressed dump is laid out; `protected` ranges are structure, never redacted."""

    format: str  # "elf-core", "minidump", "hprof", "har", "raw"
    size: int
    regions: list[Region] = field(default_factory=list)
    protected: list[tuple[int, int]] = field(default_factory=list)
    machine: str = ""
    notes: list[tuple[str, int, int, int]] = field(default_factory=list)  # (type, desc offset, desc size, name)

    def __post_init__(self) -> None:
        self.regions.sort(key=lambda r: r.offset)
        self._starts = [r.offset for r in self.regions]

    def region_at(self, offset: int) -> Region | None:
        index = bisect.bisect_right(self._starts, offset) - 1
        if index >= 0 and offset < self.regions[index].end:
            return self.regions[index]
        return None

    def vaddr(self, offset: int) -> int | None:
        region = self.region_at(offset)
        if region is None or region.vaddr is None:
            return None
        return region.vaddr + (offset - region.offset)

    def writable_mask(self, offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """For each file offset: does it lie in writable memory (where a live key can be)?"""
        starts = np.array(self._starts, dtype=np.int64)
        ends = np.array([r.end for r in self.regions], dtype=np.int64)
        flags = np.array([r.writable for r in self.regions], dtype=bool)
        index = np.searchsorted(starts, offsets, side="right") - 1
        valid = index >= 0
        clipped = np.maximum(index, 0)
        return valid & (offsets < ends[clipped]) & flags[clipped] if len(starts) else np.zeros(len(offsets), bool)

    def writable_spans(self) -> list[tuple[int, int]]:
        """The file ranges `writable_mask` calls writable, ascending and disjoint: it asks the
        last region starting at or before an offset, so each region decides up to the next
        one's start."""
        regions = self.regions
        return [(region.offset, min(region.end, regions[number + 1].offset) if number + 1 < len(regions)
                 else region.end) for number, region in enumerate(regions) if region.writable]

    def is_protected(self, start: int, end: int) -> bool:
        return any(start < p_end and p_start < end for p_start, p_end in self.protected)


# archives and compressors no reader here opens: their content would be scanned as raw bytes
# (compressed, so unread), so a file or bundle member in one is refused (`unread_format`)
UNREAD_MAGIC: dict[str, tuple[bytes, ...]] = {
    "7-Zip": (b"7z\xbc\xaf\x27\x1c",),
    "RAR": (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00"),
    "lzip": (b"LZIP\x00", b"LZIP\x01"),
    "lzop": (b"\x89LZO\x00\r\n\x1a\n",),
    "cab": (b"MSCF\x00\x00\x00\x00",),
    "squashfs": (b"hsqs", b"sqsh"),
    "lz4 legacy": (b"\x02\x21\x4c\x18",),
    "xar": (b"xar!\x00\x1c",),
    "brotli framing": (b"\xce\xb2\xcf\x81",),
}
UNREAD_SUFFIXES = {".7z": "7-Zip", ".rar": "RAR", ".lz": "lzip", ".lzo": "lzop",
                   ".z": "compress", ".cab": "cab", ".sqsh": "squashfs",  # (.lzma: the reader decodes it)
                   ".squashfs": "squashfs", ".xar": "xar", ".arj": "ARJ", ".lrz": "lrzip", ".zpaq": "zpaq"}
# (.br: decoded, by name: brotli_layer.py)


def unread_format(head: bytes, name: str = "") -> str | None:
    """The archive or compressor no reader opens that `head` starts with or `name` ends in
    (case folded), else None. Unix compress (`.Z`) is its 2-byte magic and a valid flag byte."""
    for label, magics in UNREAD_MAGIC.items():
        if head.startswith(magics):
            return label
    if head[:2] == b"\x1f\x9d" and len(head) > 2 and not head[2] & 0x60 and 9 <= head[2] & 0x1F <= 16:
        return "compress"
    suffix = name[name.rfind("."):].casefold() if "." in name.rsplit("/", 1)[-1] else ""
    return UNREAD_SUFFIXES.get(suffix)


def refuse_unread(head: bytes, name: str = "") -> None:
    """A CoverageError (`unread_format`) for a file or member in a format no reader opens."""
    label = unread_format(head, name)
    if label is not None:
        raise CoverageError(Uncovered.UNREAD_FORMAT, f"{name or 'input'}: a {label} file: no reader here "
                                                     f"opens it, its content would go unread; refused")


def sniff_container(head: bytes) -> str:
    """'zst', 'xz', 'lz4', 'gzip', 'bz2' or 'none' from the first bytes of a file."""
    for name, magic in CONTAINERS.items():
        if head.startswith(magic) and (name != "bz2" or _is_bz2(head)):
            return name
    if len(head) >= 4 and int.from_bytes(head[:4], "little") in SKIPPABLE:
        return "zst"  # a skippable frame first (zstd's or lz4's): refused as such when read
    return "none"


def _is_bz2(head: bytes) -> bool:
    """`BZh`, a level 1-9, then a block or an end-of-stream magic (text starting `BZh` is not bz2)."""
    return head.startswith(b"BZh") and head[3:4] in [b"%d" % n for n in range(1, 10)] and head[4:10] in _BZ2_NEXT


# a new frame of each codec must start with these bytes; zstd and lz4 skippable frames start
# with 0x184D2A50..5F (little-endian), which every decoder skips unread
SKIPPABLE = range(0x184D2A50, 0x184D2A60)
MAX_GZIP_NAME = 255  # bytes of the original file name a gzip header may carry (NAME_MAX): the decoder skips
# it, so a longer one (or one with control characters) could hide what no detector reads
STRICT_INPUT = 64 << 10  # compressed bytes fed at once to a decoder with an output bound
ZSTD_INPUT = 1024  # zstd's has none; its ratio is below 1 << 15 (a 3-byte block header, 128 KiB out), so
# one feed of this many bytes gives at most about 32 MiB


class _Codec:
    """One frame's decoder with a bounded output per call (`step`), its end and the bytes after it."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.tail = b""
        self.at = 0
        self.decoder: Any
        if container == "zst":
            import zstandard

            self.decoder = zstandard.ZstdDecompressor().decompressobj()
        elif container == "xz":
            self.decoder = lzma.LZMADecompressor()
        elif container == "bz2":
            self.decoder = bz2.BZ2Decompressor()  # the same interface as lzma's
        elif container == "lz4":
            import lz4.frame

            self.decoder = lz4.frame.LZ4FrameDecompressor()
        else:
            self.decoder = zlib.decompressobj(31)
        self.flushing = False  # output is waiting that needs no more input

    def _piece(self, size: int) -> bytes:
        """The next `size` bytes of the input held (an index, not a copy of the rest)."""
        piece = self.tail[self.at:self.at + size]
        self.at += len(piece)
        if self.at >= len(self.tail):
            self.tail, self.at = b"", 0
        return piece

    def step(self, data: bytes, limit: int) -> bytes:
        if data:
            self.tail = self.tail[self.at:] + data if self.tail else data
            self.at = 0
        if self.container == "zst":
            out: bytes = self.decoder.decompress(self._piece(ZSTD_INPUT))
            return out
        if self.container == "gzip":
            out = self.decoder.decompress(self.tail, limit)
            self.tail = self.decoder.unconsumed_tail
            self.flushing = len(out) >= limit
            return out
        out = self.decoder.decompress(self._piece(STRICT_INPUT), limit)
        self.flushing = not self.decoder.needs_input
        return out

    @property
    def eof(self) -> bool:
        return bool(self.decoder.eof)

    def unused(self) -> bytes:
        """Input after the end of this frame (valid once `eof`)."""
        if self.container == "gzip":  # zlib's unused_data already holds its unconsumed tail
            return bytes(self.decoder.unused_data)
        return bytes(self.decoder.unused_data or b"") + self.tail[self.at:]

    @property
    def hungry(self) -> bool:
        return not self.tail and not self.flushing


def _frame_start(container: str, head: bytes) -> None:
    """Refuse a frame that starts with what no decoder of `container` reads as content."""
    if len(head) >= 4 and int.from_bytes(head[:4], "little") in SKIPPABLE and container in ("zst", "lz4"):
        raise CoverageError(Uncovered.SKIPPABLE_FRAME, f"a {container} skippable frame: bytes no decoder reads")
    if container == "gzip" and len(head) >= 4 and head[:2] == CONTAINERS["gzip"] and head[3] & 0x14:
        raise CoverageError(Uncovered.HIDDEN_HEADER, "a gzip header with a comment or extra field: bytes the "
                                                     "decoder skips")
    if container == "gzip" and len(head) >= 4 and head[:2] == CONTAINERS["gzip"] and head[3] & 0x08:
        name = head[10:10 + MAX_GZIP_NAME + 1].split(b"\0", 1)
        if len(name) < 2 and len(head) < 11 + MAX_GZIP_NAME:  # the stream ended inside the name
            raise CoverageError(Uncovered.TRUNCATED, "the gzip stream ends inside its header (cut short)")
        if len(name) < 2 or any(byte < 0x20 or byte == 0x7F for byte in name[0]):
            raise CoverageError(Uncovered.HIDDEN_HEADER, f"a gzip header whose file name is over {MAX_GZIP_NAME} "
                                                         f"bytes or holds control characters: bytes the decoder skips")
    if not head.startswith(CONTAINERS[container]) or (container == "bz2" and not _is_bz2(head)):
        raise CoverageError(Uncovered.TRAILING_DATA, f"bytes after the last {container} frame that are not "
                                                     f"another frame")


class StrictStream:
    """The content of a `container` stream that must end properly: frame after frame, each read
    to its end, nothing after the last but zero bytes. A stream cut inside a frame is refused
    `truncated`, anything else after the last frame `trailing_data`, a skippable frame
    `skippable_frame`, a gzip comment or extra field `hidden_header` (each a `CoverageError`)."""

    def __init__(self, raw: Any, container: str) -> None:
        if container not in CONTAINERS:
            raise DumpFormatError(f"unknown container {container!r}")
        self.raw, self.container = raw, container
        self.codec: _Codec | None = None
        self.pending = b""  # compressed bytes read, not yet given to a frame's decoder
        self.frames = 0
        self.ended = False

    def _more(self) -> bytes:
        block: bytes = self.raw.read(1 << 20)
        return block

    def _start_frame(self) -> bool:
        """Begin the next frame; False at the end of the stream (only zeros left)."""
        while len(self.pending) < (11 + MAX_GZIP_NAME if self.container == "gzip" else 10):
            block = self._more()
            if not block:
                break
            self.pending += block
        if not self.pending:
            return False
        if self.frames and not self.pending.strip(b"\0"):  # zero padding after the last frame
            while block := self._more():
                if block.strip(b"\0"):
                    raise CoverageError(Uncovered.TRAILING_DATA, f"bytes after the last {self.container} frame "
                                                                 f"that are not another frame")
            self.pending = b""
            return False
        _frame_start(self.container, self.pending)
        self.codec = _Codec(self.container)
        return True

    def read(self, count: int = -1) -> bytes:
        limit = count if count is not None and count > 0 else 8 << 20
        while not self.ended:
            if self.codec is None:
                if not self._start_frame():
                    self.ended = True
                    break
            codec = self.codec
            assert codec is not None
            data = b""
            if codec.hungry and not self.pending:
                data = self._more()
                if not data:
                    raise self._cut_short()
            else:
                data, self.pending = self.pending, b""
            try:
                out = codec.step(data, limit)
            except CoverageError:
                raise
            except Exception as exc:
                raise DumpFormatError(f"corrupt {self.container} data ({exc.__class__.__name__}: {exc})") from None
            if codec.eof:
                self.pending = codec.unused()
                self.codec = None
                self.frames += 1
            if out:
                return out
        return b""

    def _cut_short(self) -> CoverageError:
        return CoverageError(Uncovered.TRUNCATED, f"the {self.container} stream ends inside a frame (cut short)")

    def close(self) -> None:
        pass

    def __enter__(self) -> StrictStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decompressor(raw: Any, container: str) -> Any:
    """A readable stream of what `container` holds, reading compressed bytes from `raw`; it
    refuses a stream that does not end properly (`StrictStream`; brotli: `BrotliStream`)."""
    if container == "br":
        from .brotli_layer import BrotliStream

        return BrotliStream(raw)
    return StrictStream(raw, container)


@contextmanager
def open_decompressed(path: Path, container: str) -> Iterator[BinaryIO | StrictStream]:
    """A binary stream of the dump inside `container` (the file itself when 'none')."""
    with open(path, "rb") as raw:
        yield raw if container == "none" else decompressor(raw, container)


@contextmanager
def open_compressor(path: Path, container: str, *, new: bool = True) -> Iterator[BinaryIO]:
    """A binary stream that writes `container`-compressed bytes to `path` (plain for 'none'):
    a new file, or with `new=False` one that exists and is emptied (a `Scratch`)."""
    raw = open(path, "xb" if new else "wb")
    try:
        if container == "none":
            yield raw
        elif container == "zst":
            import zstandard

            with zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False) as writer:
                yield writer
        elif container == "xz":
            with lzma.LZMAFile(raw, "wb", preset=1) as writer:
                yield writer  # type: ignore[misc]
        elif container == "lz4":
            import lz4.frame

            with lz4.frame.LZ4FrameFile(raw, "wb") as writer:
                yield writer
        elif container == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3) as writer:
                yield writer  # type: ignore[misc]
        elif container == "bz2":
            with bz2.BZ2File(raw, "wb", compresslevel=9) as writer:
                yield writer  # type: ignore[misc]
        elif container == "br":
            from .brotli_layer import BrotliWriter

            with BrotliWriter(raw) as writer:
                yield writer  # type: ignore[misc]
        else:
            raise DumpFormatError(f"unknown container {container!r}")
        raw.flush()
        os.fsync(raw.fileno())
    finally:
        raw.close()


def read_layout(path: Path) -> Layout:
    """Parse an uncompressed dump; raise `DumpFormatError` on anything empty, short or corrupt."""
    size = path.stat().st_size
    if size == 0:
        raise DumpFormatError(f"{path}: empty file")
    with open(path, "rb") as handle:
        head = handle.read(64)
        refuse_unread(head, str(path))
        if head.startswith(ELF_MAGIC):
            return _elf_layout(handle, size, path)
        if head.startswith(MINIDUMP_MAGIC):
            return _minidump_layout(path, size)
    from .har import looks_like_har
    from .hprof import hprof_contents, is_hprof

    if is_hprof(head):  # array contents are memory; every other byte is structure
        found = hprof_contents(path)
        regions = [Region(c.offset, c.size, None, kind=c.kind) for c in found]
        return Layout(format="hprof", size=size, regions=regions, protected=_outside(regions, size))

    if looks_like_har(head):  # parsed whole by the HAR detector; the byte detectors see it as raw
        return Layout(format="har", size=size, regions=[Region(0, size, None)])
    return Layout(format="raw", size=size, regions=[Region(0, size, None)])


def _elf_layout(handle: BinaryIO, size: int, path: Path) -> Layout:
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        elf = ELFFile(handle)
        if elf["e_type"] != "ET_CORE":
            raise DumpFormatError(f"{path}: an ELF file but not a core dump (e_type {elf['e_type']})")
        header_end = elf["e_phoff"] + elf["e_phnum"] * elf["e_phentsize"]
        if elf["e_phnum"] == 0 or header_end > size:
            raise DumpFormatError(f"{path}: truncated ELF core (program headers end at {header_end}, "
                                  f"file has {size} bytes)")
        layout = Layout(format="elf-core", size=size, protected=[(0, max(header_end, elf["e_ehsize"]))],
                        machine=str(elf["e_machine"]))
        regions: list[Region] = []
        for index, segment in enumerate(elf.iter_segments()):
            kind = segment["p_type"]
            start, length = segment["p_offset"], segment["p_filesz"]
            if kind not in ("PT_LOAD", "PT_NOTE") or length == 0:
                continue
            if start + length > size:
                raise DumpFormatError(f"{path}: truncated ELF core (segment {index} ends at {start + length}, "
                                      f"file has {size} bytes)")
            if kind == "PT_LOAD":
                regions.append(Region(start, length, segment["p_vaddr"], bool(segment["p_flags"] & PF_W), "load"))
            else:
                regions.append(Region(start, length, None, False, "note"))
                for note in segment.iter_notes():  # type: ignore[attr-defined]
                    name_size = (note["n_namesz"] + 3) & ~3
                    desc_offset = note["n_offset"] + 12 + name_size
                    layout.protected.append((note["n_offset"], desc_offset))
                    layout.notes.append((str(note["n_type"]), desc_offset, note["n_descsz"], 0))
        layout.regions = regions
        layout.__post_init__()
        return layout
    except DumpFormatError:
        raise
    except (ELFError, ValueError, KeyError, OSError, EOFError, AssertionError, TypeError) as exc:
        raise DumpFormatError(f"{path}: corrupt ELF core ({exc.__class__.__name__}: {exc})") from None
    except Exception as exc:  # construct raises its own tree on short reads
        raise DumpFormatError(f"{path}: corrupt ELF core ({exc.__class__.__name__})") from None


# minidump list streams (MINIDUMP_STREAM_TYPE): (count bytes, bytes before the entries, entry size)
COUNTED_LISTS = {3: (4, 4, 48), 4: (4, 4, 108), 5: (4, 4, 16), 8: (4, 4, 64), 9: (8, 16, 16)}
# streams with a SizeOfHeader/SizeOfEntry/NumberOfEntries header (True: a 64-bit count)
HEADED_LISTS = {12: False, 14: False, 16: True, 17: False}
MAX_MODULE_NAME = 1 << 16  # bytes of one module name (UTF-16)


def _check_module_names(handle: BinaryIO, path: Path, rva: int, count: int, size: int) -> None:
    """Every module's name (an RVA to a length-prefixed UTF-16 string) lies inside the file."""
    for index in range(count):
        handle.seek(rva + 4 + index * 108 + 20)  # MINIDUMP_MODULE.ModuleNameRva
        raw = handle.read(4)
        if len(raw) < 4:
            raise DumpFormatError(f"{path}: truncated minidump module list")
        name_rva = struct.unpack("<I", raw)[0]
        handle.seek(name_rva)
        raw = handle.read(4)
        length = struct.unpack("<I", raw)[0] if len(raw) == 4 else size
        if name_rva + 4 + length > size or length > MAX_MODULE_NAME:
            raise DumpFormatError(f"{path}: corrupt minidump module {index} (name of {length} bytes at {name_rva})")


def _check_minidump_bounds(path: Path, size: int) -> None:
    """Reject, before the parser sees it, a header or directory that points outside the file
    (a random stream count would make the parser allocate without bound)."""
    with open(path, "rb") as handle:
        header = handle.read(32)
        if len(header) < 32:
            raise DumpFormatError(f"{path}: truncated minidump header")
        streams, directory = struct.unpack_from("<II", header, 8)
        if streams == 0 or streams > 4096 or directory + 12 * streams > size:
            raise DumpFormatError(f"{path}: corrupt minidump ({streams} streams at offset {directory}, "
                                  f"file has {size} bytes)")
        handle.seek(directory)
        entries = handle.read(12 * streams)
        for index in range(streams):
            kind, length, rva = struct.unpack_from("<III", entries, 12 * index)
            if kind and rva + length > size:
                raise DumpFormatError(f"{path}: truncated minidump (stream {index} ends at {rva + length}, "
                                      f"file has {size} bytes)")
            if not kind or not length:
                continue
            handle.seek(rva)
            head = handle.read(min(length, 16))
            if kind in COUNTED_LISTS:  # a count, then fixed-size entries: they must fit the stream
                count_size, fixed, entry = COUNTED_LISTS[kind]
                if len(head) < count_size:
                    raise DumpFormatError(f"{path}: truncated minidump stream {kind}")
                count = int.from_bytes(head[:count_size], "little")
                if fixed + count * entry > length:
                    raise DumpFormatError(f"{path}: corrupt minidump stream {kind} ({count} entries of {entry} bytes "
                                          f"in {length} bytes)")
                if kind == 4:  # module names are strings elsewhere in the file: each must fit it
                    _check_module_names(handle, path, rva, count, size)
            elif kind in HEADED_LISTS:  # SizeOfHeader, SizeOfEntry, NumberOfEntries
                wide = HEADED_LISTS[kind]
                if len(head) < (16 if wide else 12):
                    raise DumpFormatError(f"{path}: truncated minidump stream {kind}")
                header_size, entry_size = struct.unpack_from("<II", head)
                count = struct.unpack_from("<Q" if wide else "<I", head, 8)[0]
                if header_size > length or header_size + count * entry_size > length:
                    raise DumpFormatError(f"{path}: corrupt minidump stream {kind} ({count} entries of {entry_size} "
                                          f"bytes in {length} bytes)")


def _minidump_layout(path: Path, size: int) -> Layout:
    from minidump.minidumpfile import MinidumpFile

    _check_minidump_bounds(path, size)

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # the parser logs tracebacks of what it skips
    try:
        dump = MinidumpFile.parse(str(path))
        segments = []
        for listing in (dump.memory_segments, dump.memory_segments_64):
            if listing is not None:
                segments.extend(listing.memory_segments)
        dump.file_handle.close()
    except Exception as exc:
        raise DumpFormatError(f"{path}: corrupt minidump ({exc.__class__.__name__}: {exc})") from None
    finally:
        logging.disable(previous)
    if not segments:
        raise DumpFormatError(f"{path}: minidump without a memory list")
    regions = []
    for segment in segments:
        if segment.start_file_address + segment.size > size:
            raise DumpFormatError(f"{path}: truncated minidump (memory at 0x{segment.start_virtual_address:x} "
                                  f"ends at {segment.start_file_address + segment.size}, file has {size} bytes)")
        regions.append(Region(segment.start_file_address, segment.size, segment.start_virtual_address))
    # everything outside the memory ranges is structure (header, directory, stream headers)
    return Layout(format="minidump", size=size, regions=regions, protected=_outside(regions, size))


def _outside(regions: list[Region], size: int) -> list[tuple[int, int]]:
    """The byte ranges of a file of `size` bytes that no region covers (its structure)."""
    gaps: list[tuple[int, int]] = []
    cursor = 0
    for region in sorted(regions, key=lambda r: r.offset):
        if region.offset > cursor:
            gaps.append((cursor, region.offset))
        cursor = max(cursor, region.end)
    if cursor < size:
        gaps.append((cursor, size))
    return gaps


def head_of(path: Path, count: int = 64) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(count)
    except OSError as exc:
        raise DumpFormatError(f"{path}: cannot read ({exc.strerror})") from None


__all__ = ["Layout", "Region", "StrictStream", "decompressor", "open_compressor", "open_decompressed", "read_layout",
           "refuse_unread", "sniff_container", "unread_format"]
