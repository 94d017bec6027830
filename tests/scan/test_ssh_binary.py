"""OpenSSH private keys without their armour (detectors/ssh_binary.py, a pass of the `der` detector):
the bytes an OpenSSH key file's base64 decodes to, as ssh-keygen, ssh-agent and any reader hold them."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from signward.dumps import scan_path
from signward.scan.detectors.ssh_binary import MAGIC, MAX_MAGICS, ssh_blobs

KEYS = {"rsa": rsa.generate_private_key(65537, 2048), "p256": ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate()}
FILLER = b"\x00" * 1001 + b"ssh-agent heap " * 30


def blob(key: object) -> bytes:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,  # type: ignore[attr-defined]
                            serialization.NoEncryption())
    return base64.b64decode(b"".join(line for line in pem.splitlines() if not line.startswith(b"-----")))


@pytest.mark.parametrize("name", sorted(KEYS))
def test_a_binary_openssh_key_in_a_heap_is_found_and_spans_the_blob(tmp_path: Path, name: str) -> None:
    data = blob(KEYS[name])
    path = tmp_path / "agent.core"
    path.write_bytes(FILLER + data + FILLER)
    report = scan_path(path, "der")
    assert [(f.kind, f.offset, f.length) for f in report.findings] == [
        ("openssh-private-key-binary", len(FILLER), len(data))], report.findings


def test_an_encrypted_blob_a_cut_blob_and_the_bare_magic_are_not_findings() -> None:
    data = blob(KEYS["p256"])
    names = b"\x00\x00\x00\x04none\x00\x00\x00\x04none"
    encrypted = data.replace(names, b"\x00\x00\x00\x0aaes256-ctr\x00\x00\x00\x06bcrypt", 1)
    assert encrypted != data
    for sample in (encrypted, data[:len(data) - 40], MAGIC + b"\x00" * 40):
        assert list(ssh_blobs(FILLER + sample, set())) == []


def test_past_the_magic_bound_the_read_is_incomplete_in_bounded_time() -> None:
    cut: set[str] = set()
    started = time.process_time()
    assert list(ssh_blobs(MAGIC * (MAX_MAGICS + 200), cut)) == [] and cut
    assert time.process_time() - started < 5
