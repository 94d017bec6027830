"""Support bundles: a tar.gz of a real core, a HAR and a config with a PEM key is scanned member
by member and sanitized into a new archive; a zip bomb, members that climb out of the bundle
and links are refused with the reason, and nothing is written outside the work directory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey

from signward.dumps import KnownKeys, scan_path
from signward.home import Home
from signward.scan.bundles import OUTSIDE
from signward.scan.coverage import CoverageError, Uncovered
from signward.services import init_home
from tests.scan.crashes import CrashedProcess


def _har(token: str) -> bytes:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [{
        "request": {"method": "GET", "url": "https://api.example/me",
                    "headers": [{"name": "Authorization", "value": f"Bearer {token}"}], "cookies": []},
        "response": {"status": 200, "headers": [], "content": {"text": "{}"}}}]}}, indent=1).encode()


def _config() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return f"[server]\nport = 8443\ntls_key = '''\n{pem}'''\n".encode()


@pytest.fixture(scope="module")
def bundle(key_holder: CrashedProcess, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("bundle")
    signer = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode({"iss": "https://login.example/realms/x", "sub": "u", "exp": 2_000_000_000}, signer,
                       algorithm="ES256", headers={"kid": "bundle-key"})
    jwks = tmp / "keys.jwks"
    public = dict(ECKey.import_key(signer.public_key()).as_dict(), kid="bundle-key")
    key_holder_keys = json.loads(key_holder.jwks.read_text())["keys"]
    jwks.write_text(json.dumps({"keys": [public, *key_holder_keys]}))
    path = tmp / "support.tar.gz"
    # gzip's fastest level: a bundle as a support tool writes it; tarfile's default (9) spent about
    # 10 s compressing the core, and no test here is about the level
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        archive.add(key_holder.core, arcname="cores/issuer.core")
        for name, data in (("browser/session.har", _har(token)), ("etc/server.toml", _config())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path, jwks


def test_every_member_is_scanned_with_its_scanner(bundle: tuple[Path, Path]) -> None:
    path, jwks = bundle
    known = KnownKeys()
    known.load(jwks.read_bytes(), str(jwks))
    report = scan_path(path, None, known)
    assert report.format == "tar-bundle" and report.container == "gzip"
    by_member = {m.file.rsplit("!", 1)[1]: m for m in report.members}
    assert set(by_member) == {"cores/issuer.core", "browser/session.har", "etc/server.toml", OUTSIDE}
    assert by_member[OUTSIDE].format == "bundle-outside" and by_member[OUTSIDE].findings == []
    assert by_member["cores/issuer.core"].format == "elf-core"
    assert by_member["browser/session.har"].format == "har"
    assert any(f.kind == "rsa-prime" and f.verified for f in by_member["cores/issuer.core"].findings)
    assert any(f.kind == "jws-signature" and f.kid == "bundle-key" for f in by_member["browser/session.har"].findings)
    assert any(f.kind == "pem-private-key" for f in by_member["etc/server.toml"].findings)
    # the bundle's own findings hold every member's, named
    assert {f.detail.split(":")[0] for f in report.findings} == set(by_member) - {OUTSIDE}


def test_a_bundle_is_sanitized_into_a_new_archive(bundle: tuple[Path, Path], tmp_path: Path) -> None:
    path, jwks = bundle
    home = tmp_path / "home"
    init_home(Home(home))
    out = tmp_path / "clean.tar.gz"
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home), "dumps", "sanitize", str(path),
                           "-o", str(out), "--keys", str(jwks), "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "clean"
    with tarfile.open(out, "r:gz") as archive:
        names = sorted(m.name for m in archive.getmembers())
        session = archive.extractfile("browser/session.har")
        assert session is not None
        har = json.loads(session.read())
    assert names == ["browser/session.har", "cores/issuer.core", "etc/server.toml"]
    value = har["log"]["entries"][0]["request"]["headers"][0]["value"]
    assert value.startswith("Bearer eyJ") and value.endswith("x" * 20)
    known = KnownKeys()
    known.load(jwks.read_bytes(), str(jwks))
    assert [f for f in scan_path(out, None, known).findings if not f.advisory] == []


def _refused(path: Path, rule: Uncovered, workdir: Path) -> None:
    before = sorted(p.name for p in workdir.parent.iterdir())
    with pytest.raises(CoverageError) as raised:
        scan_path(path, workdir=str(workdir))
    assert raised.value.rule is rule, raised.value
    done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", str(path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2 and f"[{rule.value}]" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in workdir.parent.iterdir()) == before, "something was written outside"
    assert list(workdir.iterdir()) == []


def test_a_zip_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("logs/huge.log", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(256):
                member.write(block)
    assert bomb.stat().st_size < 2 << 20
    _refused(bomb, Uncovered.EXPANSION, work)


def test_members_that_climb_out_and_links_are_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name, kind, rule in (("../evil.txt", tarfile.REGTYPE, Uncovered.OUTSIDE_FOLDER),
                             ("/etc/evil", tarfile.REGTYPE, Uncovered.OUTSIDE_FOLDER),
                             ("logs/link", tarfile.SYMTYPE, Uncovered.SPECIAL_MEMBER)):
        path = tmp_path / "bad.tar"
        with tarfile.open(path, "w") as archive:
            info = tarfile.TarInfo(name)
            info.type = kind
            data = b"x" * 600
            if kind == tarfile.SYMTYPE:
                info.linkname = "/etc/shadow"
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        _refused(path, rule, work)
        path.unlink()
    assert not (tmp_path / "evil.txt").exists()
