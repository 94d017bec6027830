"""Support bundles: tar (also inside gzip, zstd, xz or lz4) and zip archives of cores, HAR
files, heap dumps, logs and configs. Every member is scanned with the scanner for its format,
recursively, and a sanitized bundle is a new archive of sanitized members.

Archives are read with the standard library's `tarfile` and `zipfile`, but never extracted by
them: each regular member is copied, within the expansion budget, into a nameless private
file (`Scratch`) and scanned there, so nothing is ever written under a member's name and a
member named `../x`, `/etc/x` or a link cannot write outside the work directory.

Every byte is accounted for. Each member has ONE canonical name (`./keys/a.pem`, `keys//a.pem`
and `keys/./a.pem` are `keys/a.pem`), used to list, read, report and write it, and members are
read by their position in the listing, never looked up by name: a listed member that is not
read is a refusal. The bytes of the archive that are no member's content (tar headers, pax and
global pax headers, GNU long-name records, padding, end blocks and what follows them; zip local
and central headers with their extra fields, comments, bytes between members and after the end
of the central directory) are a view of their own, `OUTSIDE`, scanned like a raw image.
Refused, with the rule (`CoverageError`, exit 2; for the pipeline `unreadable`):
- `outside_folder`: an absolute name, or one that climbs out with `..`;
- `unsafe_name`: a name some common extractor (Windows included) reads otherwise and may write
  outside its folder or to a device: a backslash, a colon (drive letters, streams), a NUL or control
  character, a character outside letters, digits, marks and plain ASCII punctuation (Unicode
  look-alikes of `/`, `\\` and `.` such as U+2215 or U+FF0E), a part ending in a dot or a space,
  a Windows device name (`CON`, `NUL`, `COM1`...), a zip Unicode-path field naming another file;
- `name_collision`: two members one extractor writes to the same file (names equal after
  NFKC normalisation and case folding, or a file where another member needs a folder);
- `special_member`: links, devices, FIFOs and sparse members; `encrypted` zip members;
- `overlap`: zip members sharing their bytes; `not_read`: a member listed and not read;
  `truncated`: a member whose content runs past the end of the archive;
- `too_many` (over `MAX_MEMBERS` in the whole nesting), `too_deep` (over `MAX_DEPTH`), and
  `expansion`: a zip member that expands more than `MAX_RATIO` times (a zip bomb), or members,
  compressed members and views that together expand past the dump size limit or the free disk
  space (counted while copying across the whole nesting, not trusted from the headers).
"""

from __future__ import annotations

import shutil
import stat
import struct
import tarfile
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import DumpFormatError
from .coverage import CoverageError, Uncovered
from .files import DEFAULT_MAX_BYTES, copy_bounded, draw, shared_expansion
from .scratch import Scratch

MAX_MEMBERS = 10_000  # members of a bundle, counted over every bundle nested in it
MAX_DEPTH = 3
MAX_RATIO = 200  # uncompressed / compressed size of one zip member
MAX_NAME = 4096  # characters of one member name
OUTSIDE = "(outside members)"  # the view of the bytes that are no member's content
WINDOWS_DEVICES = frozenset({"con", "prn", "aux", "nul", "conin$", "conout$", "clock$",
                             *(f"com{n}" for n in "0123456789¹²³"), *(f"lpt{n}" for n in "0123456789¹²³")})
PLAIN_PUNCTUATION = frozenset(" !#$%&'()+,-.;=@[]^_`{}~")  # ASCII punctuation every file system takes
INFOZIP_UNICODE_PATH = 0x7075  # the extra field Info-ZIP's unzip takes the name from


def bundle_kind(path: Path) -> str | None:
    """'zip' or 'tar' from the content of an uncompressed file, else None. A zip is also found
    by its end record when something precedes it (a self-extracting stub): its members are
    compressed, and only a zip reader decodes them. Cores and minidumps stay what they are."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if not head.startswith((b"\x7fELF", b"MDMP")) and zipfile.is_zipfile(path):
        return "zip"
    return None


def _unsafe(raw: str, why: str, rule: Uncovered = Uncovered.UNSAFE_NAME) -> CoverageError:
    return CoverageError(rule, f"bundle member {raw[:200]!r}: {why}; refused")


def canonical_name(raw: str, *, directory: bool = False) -> str:
    """The one name of a member: its parts joined by `/`, empty and `.` parts dropped; a
    CoverageError (`unsafe_name`) for any name some extractor would write elsewhere. A
    directory may name the bundle's root (`.`, `./`): its canonical name is empty."""
    if len(raw) > MAX_NAME:
        raise _unsafe(raw, f"a name over {MAX_NAME} characters")
    if raw.startswith("/"):
        raise _unsafe(raw, "an absolute name points outside the bundle", Uncovered.OUTSIDE_FOLDER)
    for char in raw:
        if char == "/" or (char.isascii() and (char.isalnum() or char in PLAIN_PUNCTUATION)):
            continue
        if not char.isascii() and unicodedata.category(char)[0] in "LMN" and not any(
                c.isascii() and not c.isalnum() for c in unicodedata.normalize("NFKC", char)):
            continue
        raise _unsafe(raw, f"the character U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')}) is a separator, "
                           f"a drive or stream mark, a control character or a look-alike on some platform")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    for part in parts:
        if part == "..":
            raise _unsafe(raw, "'..' points outside the bundle", Uncovered.OUTSIDE_FOLDER)
        if part.endswith((".", " ")):
            raise _unsafe(raw, "a part ending in a dot or a space is another name on Windows")
        if part.split(".", 1)[0].rstrip(" ").casefold() in WINDOWS_DEVICES:
            raise _unsafe(raw, "a Windows device name")
    if not parts and not directory:
        raise _unsafe(raw, "an empty name")
    return "/".join(parts)


def check_name(name: str) -> str:
    """The member's canonical name (`canonical_name`); kept for callers of the old name."""
    return canonical_name(name)


def collision_key(name: str) -> str:
    """What an extractor on a case-insensitive or normalising file system (Windows, macOS)
    makes of a canonical name: two members with one key overwrite each other."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


@dataclass(frozen=True)
class Member:
    """A regular member: its canonical `name`, its position among the regular members, the
    `size` the archive declares (checked again while copying), and where its stored bytes lie
    in the archive (compressed, for zip)."""

    name: str
    size: int
    index: int = 0
    raw: str = ""  # the name as the archive spells it
    offset: int = 0
    stored: int = 0


_MEMBERS: ContextVar[list[int] | None] = ContextVar("signward_bundle_members", default=None)


@contextmanager
def bundle_session(max_bytes: int | None) -> Iterator[None]:
    """One scan or redaction of a bundle, nested bundles included: one expansion budget (of
    `max_bytes`, default `files.DEFAULT_MAX_BYTES`) and one member count for all of it."""
    limit = max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES
    if _MEMBERS.get() is not None:
        with shared_expansion(limit):
            yield
        return
    token = _MEMBERS.set([MAX_MEMBERS])
    try:
        with shared_expansion(limit):
            yield
    finally:
        _MEMBERS.reset(token)


def _count_member() -> None:
    left = _MEMBERS.get()
    if left is None:
        left = [MAX_MEMBERS]
        _MEMBERS.set(left)
    left[0] -= 1
    if left[0] < 0:
        raise CoverageError(Uncovered.TOO_MANY, f"bundle has over {MAX_MEMBERS} members (nested ones included); "
                                                f"refused")


class _Names:
    """The names listed so far: refuses two members one extractor would write to one file."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.folders: dict[str, str] = {}

    def add(self, name: str, raw: str, directory: bool) -> None:
        key = collision_key(name)
        if not key:
            return
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in self.files:
                raise self._collide(raw, self.files[folder])
            self.folders.setdefault(folder, raw)
        if directory:
            if key in self.files:
                raise self._collide(raw, self.files[key])
            self.folders.setdefault(key, raw)
            return
        if key in self.files or key in self.folders:
            raise self._collide(raw, self.files.get(key) or self.folders[key])

        self.files[key] = raw

    @staticmethod
    def _collide(raw: str, other: str) -> CoverageError:
        return CoverageError(Uncovered.NAME_COLLISION, f"bundle members {other[:200]!r} and {raw[:200]!r} are one "
                                                       f"file to some extractor (case, normalisation or a file "
                                                       f"where a folder must be); refused")


def _unicode_path(extra: bytes) -> str | None:
    """The name in an Info-ZIP Unicode Path extra field, if the field is there."""
    position = 0
    while position + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, position)
        if kind == INFOZIP_UNICODE_PATH:
            return extra[position + 4 + 5:position + 4 + size].decode("utf-8", "surrogateescape")
        position += 4 + size
    return None


def _zip_members(path: Path, archive: zipfile.ZipFile, names: _Names) -> list[tuple[Member, zipfile.ZipInfo]]:
    found: list[tuple[Member, zipfile.ZipInfo]] = []
    spans: list[tuple[int, int, str]] = []
    size = path.stat().st_size
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise CoverageError(Uncovered.TOO_MANY, f"bundle has over {MAX_MEMBERS} members; refused")
    with open(path, "rb") as handle:
        for info in infos:
            _count_member()
            directory = info.is_dir()
            name = canonical_name(info.orig_filename, directory=directory)  # zipfile cuts its copy at a NUL
            alternative = _unicode_path(info.extra)
            if alternative is not None and canonical_name(alternative, directory=directory) != name:
                raise _unsafe(info.filename, f"a Unicode path field names it {alternative[:200]!r}")
            names.add(name, info.filename, directory)
            handle.seek(info.header_offset)
            local = handle.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise DumpFormatError(f"{path}: not a readable zip (no local header for {info.filename!r})")
            name_length, extra_length = struct.unpack_from("<HH", local, 26)
            handle.seek(info.header_offset + 30 + name_length)
            alternative = _unicode_path(handle.read(extra_length))
            if alternative is not None and canonical_name(alternative, directory=directory) != name:
                raise _unsafe(info.filename, f"a Unicode path field names it {alternative[:200]!r}")
            start = info.header_offset + 30 + name_length + extra_length
            end = start + info.compress_size
            if end > size:
                raise CoverageError(Uncovered.TRUNCATED, f"{path}: member {info.filename!r} ends past the end of "
                                                         f"the archive (cut short)")
            spans.append((info.header_offset, end, info.filename))
            if directory:
                continue
            kind_bits = stat.S_IFMT(info.external_attr >> 16)  # zero when the writer set none
            if kind_bits and kind_bits != stat.S_IFREG:
                raise CoverageError(Uncovered.SPECIAL_MEMBER, f"bundle member {name!r} is a link or special file; "
                                                              f"refused")
            if info.flag_bits & 0x1:
                raise CoverageError(Uncovered.ENCRYPTED, f"bundle member {name!r} is encrypted: it cannot be proven "
                                                         f"clean")
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                raise CoverageError(Uncovered.EXPANSION, f"bundle member {name!r} expands "
                                                         f"{info.file_size // max(1, info.compress_size)} times "
                                                         f"(a zip bomb); refused")
            found.append((Member(name, info.file_size, len(found), info.filename, start, info.compress_size), info))
    spans.sort()
    for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
        if start < end:
            raise CoverageError(Uncovered.OVERLAP, f"bundle members {first[:200]!r} and {second[:200]!r} share "
                                                   f"their bytes; refused")
    return found


def _tar_members(path: Path, archive: tarfile.TarFile, names: _Names) -> list[tuple[Member, tarfile.TarInfo]]:
    found: list[tuple[Member, tarfile.TarInfo]] = []
    size = path.stat().st_size
    for item in archive:
        _count_member()
        if len(found) >= MAX_MEMBERS:
            raise CoverageError(Uncovered.TOO_MANY, f"bundle has over {MAX_MEMBERS} members; refused")
        directory = item.isdir()
        name = canonical_name(item.name, directory=directory)
        if directory:
            names.add(name, item.name, True)
            continue
        if not item.isreg() or item.issparse():
            raise CoverageError(Uncovered.SPECIAL_MEMBER, f"bundle member {name!r} is a link, special or sparse "
                                                          f"file; refused")
        names.add(name, item.name, False)
        if item.offset_data + item.size > size:
            raise CoverageError(Uncovered.TRUNCATED, f"{path}: member {name!r} ends past the end of the archive "
                                                     f"(cut short)")
        found.append((Member(name, item.size, len(found), item.name, item.offset_data, item.size), item))
    return found


def members(path: Path, kind: str) -> list[Member]:
    """The regular members, in archive order, after every name, type, count and ratio check."""
    with _opened(path, kind) as (_, listed):
        return [member for member, _ in listed]


@contextmanager
def _opened(path: Path, kind: str) -> Iterator[tuple[zipfile.ZipFile | tarfile.TarFile,
                                                       list[tuple[Member, zipfile.ZipInfo | tarfile.TarInfo]]]]:
    """The open archive and its checked listing (nothing is read before every check passed)."""
    names = _Names()
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as zipped:
                listed: list[tuple[Member, zipfile.ZipInfo | tarfile.TarInfo]] = list(_zip_members(path, zipped,
                                                                                                   names))
                yield zipped, listed
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:  # (a method or
            raise DumpFormatError(f"{path}: not a readable zip ({exc})") from None        # version zipfile lacks)
        return
    try:
        with tarfile.open(path, "r:") as tarred:
            listed = list(_tar_members(path, tarred, names))
            yield tarred, listed
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise DumpFormatError(f"{path}: not a readable tar ({exc})") from None


def outside_spans(path: Path, listed: list[Member]) -> list[tuple[int, int]]:
    """The byte ranges of the archive at `path` that are no member's stored content."""
    size = path.stat().st_size
    spans: list[tuple[int, int]] = []
    cursor = 0
    for member in sorted(listed, key=lambda m: m.offset):
        if member.offset > cursor:
            spans.append((cursor, member.offset))
        cursor = max(cursor, member.offset + member.stored)
    if cursor < size:
        spans.append((cursor, size))
    return spans


@contextmanager
def extracted(path: Path, kind: str, workdir: Path, max_bytes: int | None = None
              ) -> Iterator[list[tuple[Member, Scratch]]]:
    """Every regular member copied into a nameless private file in `workdir` (gone on exit), in
    archive order, each read through the very entry that listed it; then, last, the view of the
    bytes outside members (a `Member` named `OUTSIDE`, same offsets as the archive: zeros
    where members are)."""
    copies: list[tuple[Member, Scratch]] = []
    try:
        with bundle_session(max_bytes):
            with _opened(path, kind) as (archive, listed):
                for member, entry in listed:
                    copy = Scratch(workdir)
                    copies.append((member, copy))
                    with _stream(path, archive, entry) as source, open(copy.path, "wb") as out:
                        written = copy_bounded(source, out, workdir, max_bytes)
                    if written != member.size:
                        raise DumpFormatError(f"bundle member {member.name!r}: {written} bytes, the archive says "
                                              f"{member.size}")
                if len(copies) != len(listed):
                    raise CoverageError(Uncovered.NOT_READ, f"{path}: {len(listed) - len(copies)} listed member(s) "
                                                            f"not read; refused")
            view = Scratch(workdir)
            copies.append((Member(OUTSIDE, path.stat().st_size, len(listed), OUTSIDE), view))
            _write_outside(path, [m for m, _ in listed], view)
            yield copies
    finally:
        for _, copy in copies:
            copy.close()


def _write_outside(path: Path, listed: list[Member], view: Scratch) -> None:
    """The archive's bytes outside members at their own offsets in `view`; holes elsewhere."""
    size = path.stat().st_size
    with open(path, "rb") as source, open(view.path, "r+b") as out:
        for start, end in outside_spans(path, listed):
            draw(end - start, OUTSIDE)
            source.seek(start)
            out.seek(start)
            left = end - start
            while left:
                block = source.read(min(left, 8 << 20))
                if not block:
                    raise DumpFormatError(f"{path}: shrank while being read")
                out.write(block)
                left -= len(block)
        out.truncate(size)


@contextmanager
def _stream(path: Path, archive: zipfile.ZipFile | tarfile.TarFile,
            entry: zipfile.ZipInfo | tarfile.TarInfo) -> Iterator[IO[bytes]]:
    try:
        if isinstance(archive, zipfile.ZipFile) and isinstance(entry, zipfile.ZipInfo):
            with archive.open(entry) as zipped:
                yield zipped
            return
        assert isinstance(archive, tarfile.TarFile) and isinstance(entry, tarfile.TarInfo)
        stream = archive.extractfile(entry)
        if stream is None:
            raise CoverageError(Uncovered.NOT_READ, f"bundle member {entry.name!r} listed but not readable; refused")
        with stream:
            yield stream
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise DumpFormatError(f"{path}: corrupt archive ({exc})") from None


def write_bundle(target: Path, kind: str, files: list[tuple[str, Path]]) -> None:
    """A new archive of `kind` at `target` holding `files` (name, path of the content)."""
    if kind == "zip":
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in files:
                with open(content, "rb") as source, archive.open(zipfile.ZipInfo(name), "w", force_zip64=True) as out:
                    shutil.copyfileobj(source, out, 8 << 20)
        return
    with tarfile.open(target, "w:", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = Path(content).stat().st_size
            info.mode = 0o600
            with open(content, "rb") as source:
                archive.addfile(info, source)


__all__ = ["MAX_DEPTH", "MAX_MEMBERS", "MAX_RATIO", "OUTSIDE", "Member", "bundle_kind", "bundle_session",
           "canonical_name", "check_name", "collision_key", "extracted", "members", "outside_spans", "write_bundle"]
