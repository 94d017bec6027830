"""Support bundles: tar (also inside gzip, zstd, xz or lz4) and zip archives of cores, HAR
files, heap dumps, logs and configs. Every member is scanned with the scanner for its format,
recursively, and a sanitized bundle is a new archive of sanitized members.

Archives are read with the standard library's `tarfile` and `zipfile`, but never extracted by
them: each regular member is copied, within the expansion budget, into a nameless private
file (`Scratch`) and scanned there, so nothing is ever written under a member's name and a
member named `../x`, `/etc/x` or a link cannot write outside the work directory. What is
refused, with the reason (DumpFormatError, exit 2; for the pipeline `unreadable`):
- a member name that is absolute, climbs out (`..`), holds a NUL or a backslash;
- links, devices and FIFOs (a bundle of diagnostics holds regular files);
- more than `MAX_MEMBERS` members, nesting deeper than `MAX_DEPTH`;
- a zip member that expands more than `MAX_RATIO` times (a zip bomb), or a bundle whose members
  expand past the dump size limit or the free disk space (counted while copying, not trusted
  from the headers);
- encrypted zip members (they cannot be proven clean).
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import DumpFormatError
from .files import DEFAULT_MAX_BYTES, copy_bounded
from .scratch import Scratch

MAX_MEMBERS = 10_000
MAX_DEPTH = 3
MAX_RATIO = 200  # uncompressed / compressed size of one zip member


def bundle_kind(path: Path) -> str | None:
    """'zip' or 'tar' from the content of an uncompressed file, else None."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def check_name(name: str) -> str:
    """The member's name if it is a plain relative path, else DumpFormatError with the reason."""
    if not name or "\x00" in name or "\\" in name:
        raise DumpFormatError(f"bundle member {name!r}: not a plain file name")
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts:
        raise DumpFormatError(f"bundle member {name!r} points outside the bundle (absolute or '..'); refused")
    return str(pure)


@dataclass(frozen=True)
class Member:
    name: str
    size: int  # as the archive declares it (checked again while copying)


class _Budget:
    """Bytes the members may still expand to, across the whole bundle."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, size: int, name: str) -> None:
        if size > self.left:
            raise DumpFormatError(f"bundle member {name!r}: the bundle expands past its limit; refused")
        self.left -= size


def members(path: Path, kind: str) -> list[Member]:
    """The regular members, after every name, type, count and ratio check."""
    found: list[Member] = []
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
                if len(infos) > MAX_MEMBERS:
                    raise DumpFormatError(f"bundle has over {MAX_MEMBERS} members; refused")
                for info in infos:
                    name = check_name(info.filename.rstrip("/")) if info.filename.rstrip("/") else ""
                    if info.is_dir():
                        continue
                    kind_bits = stat.S_IFMT(info.external_attr >> 16)  # zero when the writer set none
                    if kind_bits and kind_bits != stat.S_IFREG:
                        raise DumpFormatError(f"bundle member {name!r} is a link or special file; refused")
                    if info.flag_bits & 0x1:
                        raise DumpFormatError(f"bundle member {name!r} is encrypted: it cannot be proven clean")
                    if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):
                        raise DumpFormatError(f"bundle member {name!r} expands {info.file_size // max(1, info.compress_size)}"
                                              f" times (a zip bomb); refused")
                    found.append(Member(name, info.file_size))
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise DumpFormatError(f"{path}: not a readable zip ({exc})") from None
        return found
    try:
        with tarfile.open(path, "r:") as tarred:
            for count, item in enumerate(tarred, start=1):
                if count > MAX_MEMBERS:
                    raise DumpFormatError(f"bundle has over {MAX_MEMBERS} members; refused")
                name = check_name(item.name.rstrip("/"))
                if item.isdir():
                    continue
                if not item.isreg():
                    raise DumpFormatError(f"bundle member {name!r} is a link or special file; refused")
                found.append(Member(name, item.size))
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise DumpFormatError(f"{path}: not a readable tar ({exc})") from None
    return found


@contextmanager
def extracted(path: Path, kind: str, workdir: Path, max_bytes: int | None = None) -> Iterator[list[tuple[Member, Scratch]]]:
    """Every regular member copied into a nameless private file in `workdir` (gone on exit)."""
    listed = members(path, kind)
    budget = _Budget(max_bytes if max_bytes is not None else DEFAULT_MAX_BYTES)
    copies: list[tuple[Member, Scratch]] = []
    try:
        for member, source in _streams(path, kind, listed):
            copy = Scratch(workdir)
            copies.append((member, copy))
            with open(copy.path, "wb") as out:
                written = copy_bounded(_Counted(source, budget, member.name), out, workdir, max_bytes)
            if written != member.size:
                raise DumpFormatError(f"bundle member {member.name!r}: {written} bytes, the archive says {member.size}")
        yield copies
    finally:
        for _, copy in copies:
            copy.close()


class _Counted:
    def __init__(self, source: IO[bytes], budget: _Budget, name: str) -> None:
        self.source, self.budget, self.name = source, budget, name

    def read(self, count: int = -1) -> bytes:
        block = self.source.read(count)
        self.budget.take(len(block), self.name)
        return block


def _streams(path: Path, kind: str, listed: list[Member]) -> Iterator[tuple[Member, IO[bytes]]]:
    wanted = {m.name: m for m in listed}
    try:
        if kind == "zip":
            with zipfile.ZipFile(path) as zipped:
                for entry in zipped.infolist():
                    member = wanted.get(entry.filename.rstrip("/"))
                    if member is not None and not entry.is_dir():
                        with zipped.open(entry) as stream:
                            yield member, stream
            return
        with tarfile.open(path, "r:") as tarred:
            for item in tarred:
                member = wanted.get(item.name.rstrip("/"))
                extracted_stream = tarred.extractfile(item) if member is not None and item.isreg() else None
                if member is not None and extracted_stream is not None:
                    with extracted_stream:
                        yield member, extracted_stream
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
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


__all__ = ["MAX_DEPTH", "MAX_MEMBERS", "MAX_RATIO", "Member", "bundle_kind", "check_name", "extracted", "members",
           "write_bundle"]
