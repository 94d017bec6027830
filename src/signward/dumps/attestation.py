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
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..home import Home

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
    signed = dict(document, key_id=hashlib.sha256(key).hexdigest()[:16])
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
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    data = json.dumps(sign(document, key), indent=2, sort_keys=True).encode()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, target)
    return target


def verify_attestation(out: str | Path, home: Home, expected_sha256: str | None = None) -> dict[str, Any]:
    """{'valid': bool, 'reason': ..., 'attestation': ...}: MAC, OUT's hash and size all checked."""
    out = Path(out)
    path = attestation_path(out)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {"valid": False, "reason": "no_attestation", "file": str(out)}
    except (OSError, ValueError) as exc:
        return {"valid": False, "reason": "unreadable_attestation", "detail": str(exc), "file": str(out)}
    if not isinstance(document, dict) or not isinstance(document.get("mac"), str):
        return {"valid": False, "reason": "unreadable_attestation", "file": str(out)}
    try:
        key = attestation_key(home, create=False)
    except UsageError as exc:
        return {"valid": False, "reason": "no_attestation_key", "detail": exc.diagnostics(), "file": str(out)}
    mac = hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, document["mac"]):
        return {"valid": False, "reason": "bad_mac", "file": str(out)}
    try:
        digest, size = sha256_file(out)
    except OSError as exc:
        return {"valid": False, "reason": "unreadable_output", "detail": str(exc), "file": str(out)}
    output = document.get("output", {})
    if digest != output.get("sha256") or size != output.get("bytes"):
        return {"valid": False, "reason": "output_mismatch", "file": str(out)}
    if expected_sha256 is not None and expected_sha256 != digest:
        return {"valid": False, "reason": "output_mismatch", "file": str(out)}
    if document.get("status") != "clean":
        return {"valid": False, "reason": "not_clean", "file": str(out)}
    return {"valid": True, "reason": None, "file": str(out), "attestation": document}


__all__ = ["attestation_key", "attestation_path", "sha256_file", "verify_attestation", "write_attestation"]
