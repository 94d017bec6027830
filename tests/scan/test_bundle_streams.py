"""Compressed streams end properly or are refused, for every codec: made by the real `zstd`,
`lz4`, `xz`, `gzip` and `bzip2` commands, then cut short, followed by other bytes, or given
frames and header fields that decoders skip. Each refusal asserts its rule, on a stream that
is otherwise whole. Regression (issue 32): a .zst cut in half was scanned and certified."""

from __future__ import annotations

import gzip
import io
import shutil
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan.coverage import CoverageError, Uncovered
from signward.scan.formats import sniff_container
from signward.services import init_home
from tests.helpers import run_cli
from tests.scan.material import EC
from tests.scan.planting import image

PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                       serialization.NoEncryption())
COMMANDS = {"zst": ["zstd", "-q", "-c"], "lz4": ["lz4", "-q", "-c"], "xz": ["xz", "-c"], "gzip": ["gzip", "-c"],
            "bz2": ["bzip2", "-c"]}
CODECS = sorted(COMMANDS)
SKIPPABLE = struct.pack("<II", 0x184D2A50, len(PEM)) + PEM  # a zstd / lz4 skippable frame holding a key


def _present(codec: str) -> None:
    if shutil.which(COMMANDS[codec][0]) is None:
        pytest.skip(f"no {COMMANDS[codec][0]} command")


def _compressed(codec: str, source: Path) -> bytes:
    return subprocess.run([*COMMANDS[codec], str(source)], check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("streams") / "home")
    init_home(made)
    return made


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A heap-like image with a key, and one without."""
    folder = tmp_path_factory.mktemp("images")
    return (image(folder / "with-key.raw", 256 << 10, {100_000: PEM}), image(folder / "plain.raw", 64 << 10, {}))


def _refused(path: Path, rule: Uncovered, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CoverageError) as raised:
        scan_path(path, workdir=str(path.parent))
    assert raised.value.rule is rule, raised.value
    out = path.with_name("clean.out")
    with pytest.raises(CoverageError) as raised:
        sanitize(path, out, home)
    assert raised.value.rule is rule, raised.value
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 2
    assert run_cli("--home", str(home.root), "dumps", "sanitize", str(path), "-o", str(out)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2 and all(f"[{rule.value}]" in line for line in lines), lines
    assert not out.exists()


@pytest.mark.parametrize("codec", CODECS)
def test_a_whole_stream_and_frames_after_it_are_read(codec: str, images: tuple[Path, Path], tmp_path: Path,
                                                     home: Home) -> None:
    """The key in the second of two concatenated frames is found; zero padding after the last
    frame holds nothing and is accepted; the sanitized output keeps the codec."""
    _present(codec)
    with_key, plain = images
    path = tmp_path / f"dump.{codec}"
    path.write_bytes(_compressed(codec, plain) + _compressed(codec, with_key) + bytes(12))
    assert sniff_container(path.read_bytes()[:64]) == codec
    report = scan_path(path)
    assert report.container == codec and report.bytes == (64 << 10) + (256 << 10)
    assert [(f.kind, f.offset) for f in report.findings] == [("pem-private-key", (64 << 10) + 100_000)]
    out = tmp_path / f"clean.{codec}"
    assert sanitize(path, out, home).status == "clean"
    assert sniff_container(out.read_bytes()[:64]) == codec and scan_path(out).findings == []


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("cut", ["half", "last-byte", "header"])
def test_a_stream_cut_short_is_refused(codec: str, cut: str, images: tuple[Path, Path], tmp_path: Path, home: Home,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _present(codec)
    whole = _compressed(codec, images[0])
    keep = {"half": len(whole) // 2, "last-byte": len(whole) - 1, "header": 12}[cut]
    path = tmp_path / f"cut.{codec}"
    path.write_bytes(whole[:keep])
    _refused(path, Uncovered.TRUNCATED, home, capsys)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("after", ["key", "zeros-then-key", "half-a-frame"])
def test_bytes_after_the_last_frame_are_refused(codec: str, after: str, images: tuple[Path, Path], tmp_path: Path,
                                                home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """No decoder reads them (xz's silently ignores them): refused, never certified."""
    _present(codec)
    whole = _compressed(codec, images[1])
    path = tmp_path / f"trailing.{codec}"
    if after == "half-a-frame":  # a second frame cut short is a truncation
        second = _compressed(codec, images[0])
        path.write_bytes(whole + second[:len(second) // 2])
        _refused(path, Uncovered.TRUNCATED, home, capsys)
        return
    path.write_bytes(whole + (bytes(3 << 20) if after == "zeros-then-key" else b"") + PEM)  # past one read
    _refused(path, Uncovered.TRAILING_DATA, home, capsys)


@pytest.mark.parametrize("codec", ["zst", "lz4"])
@pytest.mark.parametrize("where", ["first", "between"])
def test_a_skippable_frame_is_refused(codec: str, where: str, images: tuple[Path, Path], tmp_path: Path, home: Home,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    _present(codec)
    whole = _compressed(codec, images[1])
    path = tmp_path / f"skippable.{codec}"
    path.write_bytes(SKIPPABLE + whole if where == "first" else whole + SKIPPABLE + whole)
    _refused(path, Uncovered.SKIPPABLE_FRAME, home, capsys)


@pytest.mark.parametrize("field", ["comment", "extra", "long-name", "name-with-newlines"])
def test_a_gzip_comment_extra_field_or_odd_name_is_refused(field: str, tmp_path: Path, home: Home,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """gzip's decoder skips them: a key there would be certified unread."""
    packed = gzip.compress(b"an ordinary log line\n" * 100, mtime=0)
    flags, header, body = packed[3], bytearray(packed[:10]), packed[10:]
    assert flags == 0
    if field == "comment":
        header[3] = 0x10
        path_bytes = bytes(header) + PEM + b"\0" + body
    elif field == "long-name":
        header[3] = 0x08
        path_bytes = bytes(header) + PEM.replace(b"\n", b"") * 2 + b"\0" + body  # over 255 bytes
    elif field == "name-with-newlines":
        header[3] = 0x08
        path_bytes = bytes(header) + PEM[:200] + b"\0" + body
    else:
        header[3] = 0x04
        path_bytes = bytes(header) + struct.pack("<H", len(PEM)) + PEM + body
    path = tmp_path / "hidden.gz"
    path.write_bytes(path_bytes)
    assert gzip.decompress(path_bytes) == b"an ordinary log line\n" * 100  # what every reader makes of it
    _refused(path, Uncovered.HIDDEN_HEADER, home, capsys)


@pytest.mark.parametrize("codec", CODECS)
def test_a_compressed_member_cut_short_refuses_its_bundle(codec: str, images: tuple[Path, Path], tmp_path: Path,
                                                         home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    _present(codec)
    whole = _compressed(codec, images[0])
    path = tmp_path / "bundle.tar"
    with tarfile.open(path, "w") as archive:
        for name, data in ((f"core.{codec}", whole[:len(whole) // 2]), ("app.log", b"fine\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    _refused(path, Uncovered.TRUNCATED, home, capsys)


@pytest.mark.skipif(shutil.which("gzip") is None, reason="no gzip command")
def test_the_name_gzip_writes_is_accepted(images: tuple[Path, Path], tmp_path: Path) -> None:
    source = tmp_path / ("a-core-with-a-long-name-" + "x" * 180 + ".raw")
    shutil.copyfile(images[0], source)
    path = tmp_path / "named.gz"
    path.write_bytes(subprocess.run(["gzip", "-c", str(source)], check=True, capture_output=True).stdout)
    assert path.read_bytes()[3] & 0x08  # gzip keeps the name
    assert [f.kind for f in scan_path(path).findings] == ["pem-private-key"]


def test_text_that_starts_like_bz2_is_not_bz2(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"BZh9 is how a bzip2 stream starts; this is a note about it.\n" + PEM)
    report = scan_path(path)
    assert report.container == "none" and [f.kind for f in report.findings] == ["pem-private-key"]
