"""Nameless private files for the unredacted copies a sanitize or a scan works on.

A sealed or decompressed copy of a dump holds every key in it. `Scratch` creates it without
a name: O_TMPFILE where the file system has it, else a new file (O_EXCL, O_NOFOLLOW, 0600)
unlinked before a byte is written. Either way the kernel frees it when its last descriptor
closes, so no exit of the process, SIGKILL included, leaves the copy behind. The process
reaches it through `path` (/proc/self/fd/N, this process only). `publish` gives a certified
result its name atomically (linked in where O_TMPFILE allows, else copied) and renames it
over the target.

A private copy's path means nothing to whoever reads a message: `renamed` makes an error name the
file (or bundle member) the copy stands for instead.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from pathlib import Path
from types import TracebackType
from typing import TypeVar

NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}
PRIVATE_PATH = re.compile(r"/proc/(?:self|\d+)/fd/\d+")  # this process's copy, or a worker's view of it
Failure = TypeVar("Failure", bound=BaseException)


class Scratch:
    """A nameless file in `directory`, readable and writable by this process only."""

    def __init__(self, directory: Path, *, nameless: bool = True) -> None:
        self.directory = directory
        self.linkable = False
        flags = os.O_RDWR | os.O_CLOEXEC
        if nameless and hasattr(os, "O_TMPFILE"):
            try:
                self.fd = os.open(directory, os.O_TMPFILE | flags, 0o600)
                self.linkable = True
            except OSError as exc:
                if exc.errno not in NO_TMPFILE:
                    raise
        if not self.linkable:
            name = directory / f".signward-scratch-{secrets.token_hex(8)}"
            self.fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | flags, 0o600)
            os.unlink(name)  # before anything is written to it
        self.path = Path(f"/proc/self/fd/{self.fd}")

    def publish(self, target: Path) -> None:
        """Make this file's content `target` (atomic rename; a partial name is removed)."""
        temporary = target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp"
        try:
            if self.linkable:
                _link_nameless(self.fd, temporary)
            else:
                created = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with open(self.path, "rb") as source, os.fdopen(created, "wb") as copy:
                    shutil.copyfileobj(source, copy, 8 << 20)
                    copy.flush()
                    os.fsync(copy.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _link_nameless(fd: int, target: Path) -> None:
    """linkat(/proc/self/fd/N, target, AT_SYMLINK_FOLLOW): a dir_fd makes os.link call linkat
    with the flag (without one it calls link(), which does not follow the magic link)."""
    folder = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(str(fd), target, src_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def renamed(exc: Failure, name: str) -> Failure:
    """`exc` (changed in place) as its reader must see it: every private copy's path in its
    message becomes `name` (the user's file, or `file!member` inside a bundle), and a message
    that named none (nor `name` already, as a nested member's does) starts with `name: `."""
    if len(exc.args) == 1 and isinstance(exc.args[0], str):
        text, private = PRIVATE_PATH.subn(lambda _: name, exc.args[0])
        exc.args = (text if private or text.startswith(name) else f"{name}: {text}",)
    return exc


__all__ = ["PRIVATE_PATH", "Scratch", "renamed"]
