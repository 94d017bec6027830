"""Brotli files and members (issue #32): a file or bundle member named `*.br` is decoded by the
scanner (`brotli_layer.py`) and by the independent reader (`recheck_brotli.py`, its own code);
a key in it is found, sanitize writes a brotli output from which it cannot be recovered (or
refuses), and a `.br` that is cut short, is not brotli, has bytes after its end or expands past
the bound is refused (exit 2, one line), never read raw. Brotli's framing format stays refused."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import brotli
import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import sanitize, scan_path
from signward.errors import DumpFormatError, DumpRefused
from signward.home import Home
from signward.scan.brotli_layer import container_of, named_brotli
from signward.scan.coverage import CoverageError, Uncovered
from signward.scan.recheck import Budget, recheck_bytes, recheck_path
from signward.scan.recheck_brotli import named_brotli as reader_named_brotli
from signward.services import init_home
from tests.helpers import run_cli
from tests.scan.material import EC, known
from tests.scan.planting import tar_of

LOG = b"".join(b"2026-12-06T10:%02d:00Z app[42]: request served in %d ms\n" % (n % 60, n) for n in range(40))
PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")


def _b64u(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk() -> bytes:
    numbers = EC.private_numbers()
    return json.dumps({"kty": "EC", "crv": "P-256", "x": _b64u(numbers.public_numbers.x.to_bytes(32, "big")),
                       "y": _b64u(numbers.public_numbers.y.to_bytes(32, "big")), "d": _b64u(SCALAR)}).encode()


FORMS = {"pem": LOG + PEM + LOG, "der": LOG + DER + LOG, "jwk": LOG + b"jwk=" + _jwk() + b"\n" + LOG}


def _recoverable(plain: bytes) -> bool:
    """Does `plain` (a decoded output) still hold the key in any planted form?"""
    return PEM[40:120] in plain or DER[-60:] in plain or _b64u(SCALAR).encode() in plain or SCALAR in plain


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("brotli") / "home")
    init_home(made)
    return made


def test_names_decide_brotli_in_both_readers() -> None:
    for name in ("app.log.br", "APP.LOG.BR", "b.tar!logs/x.br", "/tmp/x/a.br"):
        assert named_brotli(name) and reader_named_brotli(name), name
        assert container_of(b"\x1f\x8b", name) == "br"  # the name wins over a codec's magic
    for name in ("notes.brief", "x.brz", ".br", "logs.br/app.log", "a.br.gz"):
        assert not named_brotli(name) and not reader_named_brotli(name), name


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_key_in_a_br_file_is_found_and_sanitize_leaves_none(form: str, tmp_path: Path, home: Home) -> None:
    packed = brotli.compress(FORMS[form])
    assert not _recoverable(packed)  # compressed: the raw bytes hold no key
    path = tmp_path / "app.log.br"
    path.write_bytes(packed)
    report = scan_path(path, known=known(EC))
    assert report.container == "br" and [f for f in report.findings if not f.advisory], report
    reading = recheck_path(path, known(EC))
    assert reading.findings and all("> brotli" in f.view for f in reading.findings), reading
    out = tmp_path / "out.br"
    try:
        result = sanitize(path, out, home, known(EC))
    except DumpRefused:
        assert not out.exists()
        return
    assert result.status == "clean"
    plain = brotli.decompress(out.read_bytes())  # the output is brotli again, and holds no key
    assert len(plain) == len(FORMS[form]) and not _recoverable(plain)


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_a_key_in_a_br_member_is_found_and_sanitize_leaves_none(kind: str, tmp_path: Path, home: Home) -> None:
    member = brotli.compress(FORMS["pem"])
    data = tar_of("logs/app.log.br", member) if kind == "tar" else _zip("logs/app.log.br", member)
    path = tmp_path / f"support.{kind}"
    path.write_bytes(data)
    report = scan_path(path, known=known(EC))
    found = [f for f in report.findings if not f.advisory]
    assert found and all(f.detail.startswith("logs/app.log.br") for f in found), found
    assert report.members[0].container == "br"
    reading = recheck_path(path, known(EC))
    assert any("!logs/app.log.br > brotli" in f.view for f in reading.findings), reading
    out = tmp_path / f"out.{kind}"
    try:
        sanitize(path, out, home, known(EC))
    except DumpRefused:
        assert not out.exists()
        return
    with (tarfile.open(out) if kind == "tar" else zipfile.ZipFile(out)) as archive:  # type: ignore[attr-defined]
        raw = (archive.extractfile("logs/app.log.br").read() if kind == "tar"  # type: ignore[union-attr]
               else archive.read("logs/app.log.br"))
    assert not _recoverable(brotli.decompress(raw))


def test_a_truncated_br_is_refused_by_both(tmp_path: Path, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    cut = brotli.compress(FORMS["pem"] + os.urandom(4096))[:-200]
    path = tmp_path / "cut.br"
    path.write_bytes(cut)
    with pytest.raises(CoverageError) as raised:
        scan_path(path, known=known(EC))
    assert raised.value.rule is Uncovered.TRUNCATED
    with pytest.raises(CoverageError) as raised:
        sanitize(path, tmp_path / "out.br", home, known(EC))
    assert raised.value.rule is Uncovered.TRUNCATED and not (tmp_path / "out.br").exists()
    assert any("does not end" in why for why in recheck_path(path).incomplete)
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "[truncated]" in lines[0], lines


@pytest.mark.parametrize("tail", [b"", b"\n", b"more log\n"])
def test_a_br_of_garbage_or_with_bytes_after_its_end_is_refused(tail: bytes, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Plain text named `.br` (no brotli at all), or brotli with bytes after the stream's end:
    refused as not brotli (exit 2), never certified from a raw read."""
    data = FORMS["pem"] if not tail else brotli.compress(LOG) + tail
    path = tmp_path / "app.br"
    path.write_bytes(data)
    with pytest.raises(DumpFormatError) as raised:
        scan_path(path)
    assert "brotli" in str(raised.value) and not isinstance(raised.value, CoverageError)
    reading = recheck_bytes(data, name="app.br")
    assert any(".br file" in why for why in reading.incomplete), reading  # (its raw bytes are read too)
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 2
    assert len([line for line in capsys.readouterr().err.splitlines() if line.strip()]) == 1


def test_a_br_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    bomb = brotli.compress(bytes(256 << 20), quality=1)
    assert len(bomb) < 64 << 10
    path = tmp_path / "bomb.br"
    path.write_bytes(bomb)
    with pytest.raises(DumpFormatError) as raised:
        scan_path(path, max_bytes=8 << 20)
    assert "expands past" in str(raised.value)
    reading = recheck_bytes(bomb, name="bomb.br", budget=Budget(max_decoded_bytes=8 << 20))
    assert any("expands past" in why for why in reading.incomplete), reading


def test_brotli_framing_stays_refused_even_named_br(tmp_path: Path) -> None:
    path = tmp_path / "x.br"
    path.write_bytes(b"\xce\xb2\xcf\x81" + os.urandom(512))
    with pytest.raises(CoverageError) as raised:
        scan_path(path)
    assert raised.value.rule is Uncovered.UNREAD_FORMAT and "brotli framing" in str(raised.value)
