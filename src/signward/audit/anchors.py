"""The audit log's anchors outside its own database.

Whoever can write the database could otherwise rewrite history: change a record, recompute
every later hash, delete the checkpoints or list an audit key of their own and re-sign them.
Two facts therefore live outside it, in the home (`HOME/audit/`), written by signward only:

- `pinned-key.jwk`: the audit key's public half, written once when the key is made in the
  HSM (an auditor can also pass it with `audit verify --key FILE`); every checkpoint must be
  signed by it;
- `checkpoint.json`: the latest signed checkpoint (sequence, head hash, signature, key),
  replaced atomically at each checkpoint; the chain must still hold that record with that hash,
  so a rewrite or a truncation past it is caught even with every checkpoint row deleted;
- `checkpoint-history`: every checkpoint published, one `SEQ HEAD_HASH` line each, appended
  only and each newer than the last, so an older `checkpoint.json` put back (a rollback, the
  records after it deleted) no longer matches the newest line and is caught.

All of these live in the home: whoever can rewrite the home as its owner can rewrite them too.
A real monotonic witness (a transparency log, a remote append-only store) must live outside it.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from ..errors import AuditIntegrityError

MAX_ANCHOR_BYTES = 64 * 1024
HISTORY_TAIL_BYTES = 4096  # the newest line is read from the end of the history, never all of it


def canonical(jwk: dict[str, Any]) -> str:
    """A public JWK as compared: its key members only, sorted."""
    return json.dumps({k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}, sort_keys=True)


def read_anchor(path: Path) -> dict[str, Any] | None:
    """A small JSON object from a regular file, or None when there is none."""
    if not path.exists() and not path.is_symlink():
        return None
    try:  # never through a link, never blocking on a FIFO, never more than the limit read
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise AuditIntegrityError(f"{path} is not a regular file ({exc.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise AuditIntegrityError(f"{path} is not a regular file")
        data = handle.read(MAX_ANCHOR_BYTES + 1)
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise AuditIntegrityError(f"{path} is not JSON") from None
    if len(data) > MAX_ANCHOR_BYTES or not isinstance(value, dict):
        raise AuditIntegrityError(f"{path} is not an audit anchor")
    return value


class Anchors:
    """The pinned audit key and the published checkpoint of one home."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def key_path(self) -> Path:
        return self.directory / "pinned-key.jwk"

    @property
    def checkpoint_path(self) -> Path:
        return self.directory / "checkpoint.json"

    def pinned_key(self) -> dict[str, Any] | None:
        return read_anchor(self.key_path)

    def pin(self, jwk: dict[str, Any]) -> None:
        """Record the audit key's public half once; a different key later is an integrity error."""
        pinned = self.pinned_key()
        if pinned is not None:
            if canonical(pinned) != canonical(jwk):
                raise AuditIntegrityError(f"the database's audit key is not the key pinned in {self.key_path}")
            return
        self._write(self.key_path, {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")},
                    replace=False)

    def published(self) -> dict[str, Any] | None:
        return read_anchor(self.checkpoint_path)

    @property
    def history_path(self) -> Path:
        return self.directory / "checkpoint-history"

    def publish(self, checkpoint: dict[str, Any]) -> None:
        self._write(self.checkpoint_path, checkpoint, replace=True)
        self.record_history(int(checkpoint["seq"]), str(checkpoint["head_hash"]))

    def history_head(self) -> tuple[int, str] | None:
        """The newest published checkpoint in the history (None: none recorded)."""
        try:  # never through a link, never blocking on a FIFO; only the tail is read
            descriptor = os.open(self.history_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuditIntegrityError(f"{self.history_path} is not a regular file ({exc.strerror})") from None
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise AuditIntegrityError(f"{self.history_path} is not a regular file")
            handle.seek(max(0, info.st_size - HISTORY_TAIL_BYTES))
            tail = handle.read(HISTORY_TAIL_BYTES)
        lines = tail.decode("ascii", "replace").splitlines()
        if not lines:
            return None
        try:
            seq, head_hash = lines[-1].split(" ")
            return int(seq), head_hash
        except ValueError:
            raise AuditIntegrityError(f"{self.history_path}: its last line is not `SEQ HEAD_HASH`") from None

    def record_history(self, seq: int, head_hash: str) -> None:
        """Append a newly published checkpoint; one not newer than the last is not appended."""
        newest = self.history_head()
        if newest is not None and newest[0] >= seq:
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(self.history_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                raise AuditIntegrityError(f"{self.history_path} is not a regular file")
            os.write(descriptor, f"{seq} {head_hash}\n".encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _write(self, target: Path, document: dict[str, Any], replace: bool) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.directory / f".{target.name}.{secrets.token_hex(8)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            try:
                os.write(descriptor, json.dumps(document, sort_keys=True, indent=2).encode())
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if replace:
                if target.is_symlink() or (target.exists() and not target.is_file()):
                    raise AuditIntegrityError(f"{target} is not a regular file: not replaced")
                os.replace(temporary, target)
            else:
                os.link(temporary, target)  # never over an existing pin
        except FileExistsError:
            raise AuditIntegrityError(f"{target} appeared while it was being written") from None
        finally:
            temporary.unlink(missing_ok=True)


__all__ = ["Anchors", "canonical", "read_anchor"]
