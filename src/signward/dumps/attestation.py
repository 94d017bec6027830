"""The attestation beside a sanitized dump: what went in, what came out, what was checked.

`OUT.attestation.json` binds the sha256 and size of IN and OUT, the detectors and their
versions, the findings per detector, the canaries expected and found, and the time, under
an HMAC-SHA256 with a key kept in the home (`dumps/attestation.key`, mode 0600, made on
first use). `verify_attestation` recomputes OUT's hash and the MAC: the release gate lets
nothing through that does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..home import Home
from .reasons import DumpReason

SUFFIX = ".attestation.json"


def attestation_path(out: str | Path) -> Path:
    return Path(f"{out}{SUFFIX}")


def attestation_key(home: Home, create: bool = True) -> bytes:
    path = home.root / "dumps" / "attestation.key"
    if not path.exists():
        if not create:
            raise UsageError(f"no attestation key in {home.root} (nothing was ever sanitized with this home)")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # written whole to a private name, then published with link(): a racing sanitizer sees
        # either no key or the whole key, never an empty file
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another sanitizer published its key first; use that one
        finally:
            temporary.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) != 32:
        raise UsageError(f"{path}: attestation key must be 32 bytes")
    return key


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in document.items() if k != "mac"}, sort_keys=True,
                      separators=(",", ":")).encode()


def sign(document: dict[str, Any], key: bytes) -> dict[str, Any]:
    signed = dict(document, key_id=key_id(key))
    signed["mac"] = hmac.new(key, _canonical(signed), hashlib.sha256).hexdigest()
    return signed


def sha256_file(path: str | Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def write_attestation(out: Path, document: dict[str, Any], key: bytes) -> Path:
    """Write the signed attestation beside `out` atomically (temp file, fsync, rename)."""
    target = attestation_path(out)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UsageError(f"{target} exists and is not a regular file: not replaced")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp")
    data = json.dumps(sign(document, key), indent=2, sort_keys=True).encode()
    # a new name of our own (O_EXCL: never an existing file, O_NOFOLLOW: never through a link)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        try:
            os.write(descriptor, data)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class AttestationCheck:
    """The verdict on OUT and its attestation: valid, or the reason it is not."""

    file: str
    reason: DumpReason | None = None
    detail: str = ""
    attestation: dict[str, Any] | None = None
    key_id: str = ""  # which attestation key this home holds (and, when valid, signed it)

    @property
    def valid(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason.value if self.reason else None, "detail": self.detail,
                "file": self.file, "key_id": self.key_id, "attestation": self.attestation}


def key_id(key: bytes) -> str:
    """The short public name of an attestation key (printed, and written into every attestation)."""
    return hashlib.sha256(key).hexdigest()[:16]


def verify_attestation(out: str | Path, home: Home, expected_sha256: str | None = None) -> AttestationCheck:
    """Check OUT against its attestation: the MAC under this home's key, OUT's hash and size."""
    out = Path(out)
    path = attestation_path(out)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return AttestationCheck(str(out), DumpReason.NO_ATTESTATION)
    except (OSError, ValueError) as exc:
        return AttestationCheck(str(out), DumpReason.UNREADABLE_ATTESTATION, str(exc))
    if not isinstance(document, dict) or not isinstance(document.get("mac"), str):
        return AttestationCheck(str(out), DumpReason.UNREADABLE_ATTESTATION)
    signer = str(document.get("key_id", ""))
    try:
        key = attestation_key(home, create=False)
    except UsageError as exc:
        return AttestationCheck(str(out), DumpReason.NO_ATTESTATION_KEY,
                                f"{exc.diagnostics()}; the attestation was signed by key {signer}")
    held = key_id(key)
    mac = hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, document["mac"]):
        detail = (f"signed by key {signer}, this home holds key {held}" if signer != held
                  else "the attestation was changed")
        return AttestationCheck(str(out), DumpReason.BAD_MAC, detail, key_id=held)
    try:
        digest, size = sha256_file(out)
    except OSError as exc:
        return AttestationCheck(str(out), DumpReason.UNREADABLE_OUTPUT, str(exc), key_id=held)
    output = document.get("output", {})
    if digest != output.get("sha256") or size != output.get("bytes"):
        return AttestationCheck(str(out), DumpReason.OUTPUT_MISMATCH, "OUT is not the file attested", key_id=held)
    if expected_sha256 is not None and expected_sha256 != digest:
        return AttestationCheck(str(out), DumpReason.OUTPUT_MISMATCH, "OUT is not the file sealed", key_id=held)
    if document.get("status") != "clean":
        return AttestationCheck(str(out), DumpReason.NOT_CLEAN, key_id=held)
    return AttestationCheck(str(out), None, attestation=document, key_id=held)


__all__ = ["AttestationCheck", "attestation_key", "key_id", "attestation_path", "sha256_file", "verify_attestation",
           "write_attestation"]
