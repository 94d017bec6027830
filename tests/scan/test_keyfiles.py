"""Key files of other tools (issue #32): the ssh.com private key armour, PuTTY .ppk, Java keystores,
PKCS#12 under a well-known password, zip64 and data-descriptor archives. Each is found by the
scanner and by the independent reader, each by its own rule, in a case no other rule could find
(no known keys; the scanner with the one detector that owns the rule)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from signward.dumps import scan_path
from signward.scan.recheck import recheck_bytes
from tests.scan.keyfiles import sshcom, sshcom_public
from tests.scan.material import RSA


def _scan(tmp_path: Path, data: bytes, detectors: str, name: str = "artifact") -> set[str]:
    path = tmp_path / name
    path.write_bytes(data)
    return {f.kind for f in scan_path(path, detectors).findings}


def _reader(data: bytes) -> set[str]:
    return {f.kind for f in recheck_bytes(data).findings}


# ---- the ssh.com (SECSH) private key armour

@pytest.mark.parametrize("wrap", ["raw", "json"])
def test_the_sshcom_private_key_armour_is_found_by_both_readers(tmp_path: Path, wrap: str) -> None:
    armour = sshcom(RSA)
    data = armour if wrap == "raw" else json.dumps({"key": armour.decode()}).encode()
    assert _scan(tmp_path, data, "text") == {"sshcom-private-key"}
    assert _reader(data) == {"sshcom"}
    (finding,) = [f for f in recheck_bytes(armour).findings]
    assert finding.key == "ssh.com private key (cipher none)" and finding.span == (0, len(armour) - 1)


def test_an_encrypted_sshcom_key_is_a_finding_too(tmp_path: Path) -> None:
    armour = sshcom(RSA, cipher=b"3des-cbc")
    assert _scan(tmp_path, armour, "text") == {"sshcom-private-key-encrypted"}
    assert [f.key for f in recheck_bytes(armour).findings] == ["ssh.com private key (cipher 3des-cbc)"]


def test_the_rfc4716_public_key_armour_is_not_a_finding(tmp_path: Path) -> None:
    public = sshcom_public(RSA)
    assert _scan(tmp_path, public, "text,der") == set()
    assert recheck_bytes(public).clean


@pytest.mark.skipif(shutil.which("puttygen") is None, reason="puttygen (putty-tools) is not installed")
def test_puttygens_own_sshcom_export_is_found(tmp_path: Path) -> None:
    subprocess.run(["puttygen", "-t", "rsa", "-b", "1024", "-o", str(tmp_path / "k.ppk"),
                    "--new-passphrase", "/dev/null"], check=True, capture_output=True)
    subprocess.run(["puttygen", str(tmp_path / "k.ppk"), "-O", "private-sshcom", "-o", str(tmp_path / "k.sshcom")],
                   check=True, capture_output=True)
    data = (tmp_path / "k.sshcom").read_bytes()
    assert _scan(tmp_path, data, "text") == {"sshcom-private-key"}
    assert _reader(data) == {"sshcom"}
