"""The debugging store: where released dumps wait for engineers, behind grants.

A directory today (an S3-compatible bucket fits the same calls: staging, receive, open,
delete). `DebugStore.receive` is the store's own layer: it re-scans every arriving
dump with its own detectors and the public keys it was given, whatever the sender said,
then re-reads it with the independent reader (`recheck.py`: the standard library's readers and
a second detector path, none of the scanner's parsers), and keeps the dump only if neither
finds anything and both read it to the end (issue #36: one parser blind spot must not pass
both the sanitizer and the store). Files are mode 0400 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ..errors import DumpFormatError, DumpRefused, UsageError
from ..safefile import write_file
from ..scan.knownkeys import KnownKeys, known_from_documents
from ..scan.recheck import recheck_path
from ..scan.scanner import scan_path
from .reasons import DumpReason


def _own_directory(folder: Path, private: bool) -> None:
    """Make `folder` (mode 0700) or accept an existing real directory without touching its
    mode; where dumps live (`private`), one that others may write to is refused."""
    try:
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)  # the umask may have narrowed mkdir's mode; this directory is ours
        return
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{folder} exists and is not a directory (a link or a file): not used as a store")
    if private and info.st_mode & 0o022:
        raise UsageError(f"{folder} may be written by others (mode {stat.S_IMODE(info.st_mode):o}): not used")


class DebugStore:
    """A directory of released dumps with an independent re-scan at the door."""

    def __init__(self, root: Path, rescan: bool = True, create: bool = True) -> None:
        self.root = Path(root)
        self.rescan = rescan
        if create:
            _own_directory(self.root, private=False)  # the operator's directory: its mode is theirs
            for folder in (self.root / "dumps", self.root / "incoming"):
                _own_directory(folder, private=True)

    @classmethod
    def existing(cls, root: Path) -> DebugStore:
        """A store already made (to open or delete a copy): creates nothing."""
        return cls(root, create=False)

    @property
    def keys_path(self) -> Path:
        return self.root / "public-keys.json"

    def publish_keys(self, documents: list[dict[str, object]]) -> None:
        """The public keys the store looks for (every realm's JWKS, retired keys too; canaries):
        through the safe writer (a new name of its own, never through a link, renamed over the
        store's own list)."""
        write_file(self.keys_path, json.dumps(documents), force=True, what="the store's key list")

    def known(self) -> KnownKeys:
        if not self.keys_path.exists():
            return KnownKeys()
        return known_from_documents(json.loads(self.keys_path.read_text()), str(self.keys_path))

    def staging(self) -> Path:
        return self.root / "incoming"

    def receive(self, dump_id: str, staged: Path) -> None:
        try:
            if self.rescan:
                try:
                    report = scan_path(staged, None, self.known(), workdir=str(self.staging()))
                except DumpFormatError as exc:
                    raise DumpRefused(DumpReason.STORE_UNREADABLE, exc.diagnostics()) from None
                found = [f for f in report.findings if not f.advisory]
                if found or report.incomplete:
                    what = f"{len(found)} finding(s), first {found[0].kind}" if found else "incomplete scan"
                    raise DumpRefused(DumpReason.STORE_RESCAN, what)
                second = recheck_path(staged, self.known())  # the independent reader: no scanner parser
                if not second.clean:
                    raise DumpRefused(DumpReason.STORE_RESCAN, "independent reader: " + second.summary())
            target = self.root / "dumps" / f"{dump_id}.core"
            os.chmod(staged, 0o400)
            os.replace(staged, target)
        finally:
            if staged.exists():
                staged.unlink()

    def open(self, dump_id: str) -> Path:
        path = self.root / "dumps" / f"{dump_id}.core"
        if not path.is_file():
            raise FileNotFoundError(path)
        return path

    def delete(self, dump_id: str) -> bool:
        """Remove the copy of `dump_id`; False when there was none (a non-file is never removed)."""
        path = self.root / "dumps" / f"{dump_id}.core"
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file; not removed")
        path.unlink()
        return True


__all__ = ["DebugStore"]
