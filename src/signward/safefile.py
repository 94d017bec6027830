"""The one writer of files that commands leave behind (reports, graphs, key lists), and the
one bounded reader of the text files they are given (`read_text_file`).

A file is written to a new temporary name in the target's own directory (O_CREAT | O_EXCL |
O_NOFOLLOW: never through a symlink, never into an existing file), flushed, and renamed into
place, so a reader sees the old file or the whole new one. What may be there before:

- nothing: the new file is linked into place with `link()`, which fails if a file appeared
  meanwhile (no check-then-replace race);
- a regular file this tool wrote: replaced. The writer knows its own files by `mark`, a
  comment in the file's own syntax appended at its end (an HTML or DOT comment); a file that
  does not end with it was not written here;
- anything else (another file, a symlink, a directory, a FIFO, a device): refused, with one
  line naming the path (UsageError, exit 2). `force=True` replaces a regular file or a symlink
  (the link itself, never what it points to), never a directory, a FIFO or a device.

The directory is the one named: a path whose directory is reached through a symlink (its real
path differs from the path given) is refused, naming the real path to pass instead; a
symlinked directory someone else planted never redirects a write.

Imports only `errors`, so every layer may use it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .errors import UsageError

HTML_MARK = "<!-- written by signward -->\n"
DOT_MARK = "// written by signward\n"


def _ends_with(path: Path, mark: bytes) -> bool:
    """Whether the regular file at `path` (not followed if a link) ends with `mark`."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size < len(mark):
            return False
        os.lseek(descriptor, info.st_size - len(mark), os.SEEK_SET)
        return os.read(descriptor, len(mark)) == mark
    finally:
        os.close(descriptor)


def check_target(path: str | os.PathLike[str], *, force: bool = False, mark: str | None = None,
                 what: str = "") -> os.stat_result | None:
    """Refuse now (UsageError) what `write_file` would refuse: for a command to call before long
    work. Returns what is at `path` now (None: nothing)."""
    target = Path(path)
    label = f"{what} {target}" if what else str(target)
    given, real = os.path.abspath(target.parent), os.path.realpath(target.parent)
    if given != real:
        raise UsageError(f"{label}: the directory {given} is reached through a symlink; give its real path "
                         f"{real} if that is where it should go")
    try:
        info: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"{label}: cannot write ({exc.strerror})") from None
    if info is None:
        if not target.parent.is_dir():
            raise UsageError(f"{label}: cannot write (no directory {target.parent})")
        return None
    replaceable = stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)
    own = mark is not None and stat.S_ISREG(info.st_mode) and _ends_with(target, mark.encode())
    if not replaceable:
        raise UsageError(f"{label} exists and is not a regular file: it is never replaced")
    if not (own or force):
        raise UsageError(f"{label} exists and was not written by signward: not replaced (--force replaces it)")
    return info


def write_file(path: str | os.PathLike[str], data: str | bytes, *, force: bool = False, mark: str | None = None,
               mode: int = 0o644, what: str = "") -> Path:
    """Write `data` (+ `mark`) to `path` atomically as described above; return the path."""
    target = Path(path)
    label = f"{what} {target}" if what else str(target)
    body = (data.encode() if isinstance(data, str) else data) + (mark.encode() if mark else b"")
    info = check_target(target, force=force, mark=mark, what=what)
    temporary = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except OSError as exc:
        raise UsageError(f"{label}: cannot write ({exc.strerror})") from None
    try:
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(descriptor, view):]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if info is None:
            os.link(temporary, target, follow_symlinks=False)  # fails if anything appeared meanwhile
        else:
            os.replace(temporary, target)
    except FileExistsError:
        raise UsageError(f"{label} appeared while it was being written: not replaced") from None
    except OSError as exc:
        raise UsageError(f"{label}: cannot write ({exc.strerror})") from None
    finally:
        temporary.unlink(missing_ok=True)
    return target


def read_text_file(path: str | Path, limit: int) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes: /dev/zero, a FIFO or a device
    is refused without reading (and without blocking); the size is counted while reading, not
    trusted from stat. Every failure is a ValueError with the reason."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValueError(f"cannot open: {exc.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"larger than {limit // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None


__all__ = ["DOT_MARK", "HTML_MARK", "check_target", "read_text_file", "write_file"]
