"""Archives and compressors no reader opens (rt14 F4): a 7-Zip, RAR, lzip, lzop, compress, cab...
file or bundle member, or one named `.7z`, `.Z`..., is refused `unread_format` by the
scanner (scan, sanitize, capture: exit 2, one line naming the format) and is incomplete for the
independent reader, never scanned as raw bytes and certified."""

from __future__ import annotations

import gzip
import io
import lzma
import os
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import sanitize, scan_path
from signward.dumps.reasons import DumpReason, DumpState
from signward.home import Config, DumpsConfig, Home
from signward.scan.coverage import CoverageError, Uncovered
from signward.scan.recheck import recheck_bytes, recheck_path
from signward.services import init_home, open_services
from tests.helpers import run_cli
from tests.scan.material import EC, known

PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                       serialization.NoEncryption())
LOG = b"".join(b"2026-12-06T10:%02d:00Z app[42]: request served in %d ms\n" % (n % 60, n) for n in range(50))
KEYLOG = LOG + PEM + LOG  # an application log that printed its key


def _num(value: int) -> bytes:
    """7-Zip's variable-length number (values below 2**14 here)."""
    return bytes([value]) if value < 0x80 else bytes([0x80 | value >> 8, value & 0xFF])


def seven_zip(name: str, data: bytes) -> bytes:
    """A 7-Zip archive of one file, LZMA-compressed (what `7z a` writes; py7zr extracts it)."""
    dict_size = 1 << 16
    packed = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1, "dict_size": dict_size}])
    props = bytes([0x5D]) + struct.pack("<I", dict_size)
    title = name.encode("utf-16-le") + b"\0\0"
    header = (b"\x01\x04\x06\x00\x01\x09" + _num(len(packed)) + b"\x00"
              b"\x07\x0b\x01\x00\x01\x23\x03\x01\x01\x05" + props + b"\x0c" + _num(len(data)) + b"\x00"
              b"\x08\x00\x00\x05\x01\x11" + _num(len(title) + 1) + b"\x00" + title + b"\x00\x00")
    start = struct.pack("<QQI", len(packed), len(header), zlib.crc32(header))
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start + packed + header


def _bundle(kind: str, files: list[tuple[str, bytes]]) -> bytes:
    """A tar (pax) or a zip (stored) archive of `files`."""
    out = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as packed:
            for name, data in files:
                packed.writestr(name, data)
        return out.getvalue()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _tar(files: list[tuple[str, bytes]]) -> bytes:
    return _bundle("tar", files)


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    return _bundle("zip", files)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("unread") / "home")
    init_home(made)
    return made


def _refused(path: Path, label: str, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """scan_path, sanitize and both CLI commands refuse `path` with `unread_format` on one line
    that names `label`; nothing is written."""
    for call in (lambda: scan_path(path), lambda: sanitize(path, path.with_name("out"), home, known(EC))):
        with pytest.raises(CoverageError) as raised:
            call()
        assert raised.value.rule is Uncovered.UNREAD_FORMAT and label in str(raised.value), raised.value
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 2
    assert run_cli("--home", str(home.root), "dumps", "sanitize", str(path), "-o", str(path.with_name("out"))) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2 and all("[unread_format]" in line and label in line for line in lines), lines
    assert not path.with_name("out").exists()


def test_a_7z_of_a_key_log_is_refused_not_certified(tmp_path: Path, home: Home,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    blob = seven_zip("logs/app.log", KEYLOG)
    assert PEM not in blob and b"PRIVATE KEY" not in blob  # compressed: raw bytes hold no key
    path = tmp_path / "support" / "bundle.bin"  # no telling name: the magic decides
    path.parent.mkdir()
    path.write_bytes(blob)
    _refused(path, "7-Zip", home, capsys)
    reading = recheck_path(path, known(EC))
    assert not reading.findings and any("7-Zip" in why for why in reading.incomplete), reading


@pytest.mark.parametrize("wrap", ["tar", "zip", "gzip", "tar.gz"])
def test_a_7z_inside_a_bundle_or_a_gzip_is_refused(wrap: str, tmp_path: Path, home: Home,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    inner = seven_zip("logs/app.log", KEYLOG)
    members = [("README.txt", LOG), ("support/logs.bin", inner)]  # the member's name says nothing
    data = {"tar": lambda: _tar(members), "zip": lambda: _zip(members), "gzip": lambda: gzip.compress(inner, 1),
            "tar.gz": lambda: gzip.compress(_tar(members), 1)}[wrap]()
    path = tmp_path / f"bundle.{wrap}"
    path.write_bytes(data)
    _refused(path, "7-Zip", home, capsys)
    reading = recheck_bytes(data, known(EC), name=path.name)
    assert not reading.findings and any("7-Zip" in why for why in reading.incomplete), reading


# every magic, with bytes after it that no rule reads as a key (random)
MAGICS = [("7-Zip", b"7z\xbc\xaf\x27\x1c\x00\x04"), ("RAR", b"Rar!\x1a\x07\x00"), ("RAR", b"Rar!\x1a\x07\x01\x00"),
          ("lzip", b"LZIP\x01\x0c"), ("lzop", b"\x89LZO\x00\r\n\x1a\n"), ("compress", b"\x1f\x9d\x90"),
          ("compress", b"\x1f\x9d\x10"), ("cab", b"MSCF\x00\x00\x00\x00"), ("squashfs", b"hsqs"),
          ("lz4 legacy", b"\x02\x21\x4c\x18"), ("xar", b"xar!\x00\x1c"), ("brotli framing", b"\xce\xb2\xcf\x81")]


@pytest.mark.parametrize(("label", "magic"), MAGICS)
def test_every_unread_magic_is_refused_by_both_readers(label: str, magic: bytes, tmp_path: Path) -> None:
    data = magic + os.urandom(2048)
    path = tmp_path / "dump.bin"
    path.write_bytes(data)
    with pytest.raises(CoverageError) as raised:
        scan_path(path)
    assert raised.value.rule is Uncovered.UNREAD_FORMAT and label in str(raised.value)
    member = tmp_path / "bundle.tar"
    member.write_bytes(_tar([("a/dump.bin", data)]))
    with pytest.raises(CoverageError) as raised:
        scan_path(member)
    assert raised.value.rule is Uncovered.UNREAD_FORMAT and "a/dump.bin" in str(raised.value)
    for reading in (recheck_bytes(data), recheck_bytes(_zip([("a/dump.bin", data)]), name="b.zip")):
        assert any("does not open" in why for why in reading.incomplete), (label, reading)


NAMES = ["logs.7z", "x.rar", "x.lz", "x.LZO", "core.Z", "core.z", "setup.cab",
         "fs.squashfs", "a.arj"]


@pytest.mark.parametrize("name", NAMES)
def test_a_name_that_says_an_unread_format_is_refused(name: str, tmp_path: Path) -> None:
    """A file or member named so is refused whatever its bytes (here a
    log with no key, so that no other rule could refuse or find)."""
    path = tmp_path / name
    path.write_bytes(LOG)
    with pytest.raises(CoverageError) as raised:
        scan_path(path)
    assert raised.value.rule is Uncovered.UNREAD_FORMAT
    for kind, data in (("tar", _tar([("logs/" + name, LOG)])), ("zip", _zip([("logs/" + name, LOG)]))):
        bundle = tmp_path / f"bundle.{kind}"
        bundle.write_bytes(data)
        with pytest.raises(CoverageError) as raised:
            scan_path(bundle)
        assert raised.value.rule is Uncovered.UNREAD_FORMAT and f"logs/{name}" in str(raised.value)
        assert any("does not open" in why for why in recheck_path(bundle).incomplete)
    assert any("does not open" in why for why in recheck_path(path).incomplete)


NEAR_MISSES = [("notes.brief", LOG), ("a.lzma", LOG), ("a.7zip", LOG), ("x.zip.txt", LOG), ("lz", LOG), ("x.brz", LOG),
               ("log.txt", b"LZIP is a compressor\n" + LOG), ("log2.txt", b"Rar! what a day\n" + LOG),
               ("log3.txt", b"MSCF report\n" + LOG), ("mentions.txt", LOG + b"uploaded support.7z and core.Z\n"),
               ("raw.bin", b"\x1f\x9d\x7f" + LOG), ("raw2.bin", b"\x1f\x9d\x08" + LOG)]


@pytest.mark.parametrize(("name", "data"), NEAR_MISSES)
def test_near_misses_are_read_as_usual(name: str, data: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert scan_path(path).findings == []
    assert recheck_path(path).clean


def test_capture_refuses_a_7z_as_unreadable(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home, Config(dumps=DumpsConfig(approvers="ops", insecure_skip_canary_check=True)))
    services = open_services(home)
    try:
        record = services.pipeline.capture(io.BytesIO(seven_zip("core", KEYLOG)), "pipe")
    finally:
        services.close()
    assert record.state == DumpState.REFUSED and record.reason == DumpReason.UNREADABLE
    assert "unread_format" in record.detail and "7-Zip" in record.detail
