"""The debugging store: where released dumps wait for engineers, behind grants.

`DebugStore` is the interface (a directory today; an S3-compatible bucket fits the same
four calls). `DirectoryStore.receive` is the store's own layer: it re-scans every arriving
dump with its own detectors and the public keys it was given, whatever the sender said,
and keeps the dump only if nothing is found. Files are mode 0400 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from ..errors import DumpFormatError, DumpRefused
from .knownkeys import KnownKeys, known_from_documents
from .scanner import scan_path


class DebugStore(Protocol):
    def receive(self, dump_id: str, staged: Path) -> None:
        """Take ownership of `staged` (same filesystem) as dump `dump_id`, or raise DumpRefused."""
        ...

    def open(self, dump_id: str) -> Path: ...

    def delete(self, dump_id: str) -> bool: ...

    def staging(self) -> Path:
        """A directory on the store's filesystem to stage incoming bytes in."""
        ...


class DirectoryStore:
    """A directory of released dumps with an independent re-scan at the door."""

    def __init__(self, root: Path, rescan: bool = True) -> None:
        self.root = Path(root)
        self.rescan = rescan
        for folder in (self.root, self.root / "dumps", self.root / "incoming"):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)

    @property
    def keys_path(self) -> Path:
        return self.root / "public-keys.json"

    def publish_keys(self, documents: list[dict[str, object]]) -> None:
        """The public keys the store looks for (every realm's JWKS, retired keys too; canaries)."""
        temporary = self.keys_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(documents))
        os.replace(temporary, self.keys_path)

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
                    raise DumpRefused("store_unreadable", exc.diagnostics()) from None
                found = [f for f in report.findings if not f.advisory]
                if found or report.incomplete:
                    what = f"{len(found)} finding(s), first {found[0].kind}" if found else "incomplete scan"
                    raise DumpRefused("store_rescan", what)
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
        path = self.root / "dumps" / f"{dump_id}.core"
        if path.exists():
            path.unlink()
            return True
        return False

    def ids(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "dumps").glob("*.core"))


__all__ = ["DebugStore", "DirectoryStore"]
