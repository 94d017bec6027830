"""Bundles account for every byte: one canonical name per member (read, reported, redacted and
written under it), the bytes outside members scanned as a view of their own, names a hostile
writer chooses refused with the rule, and the whole nesting bounded.

Archives are made with tarfile/zipfile, with the real `tar` and `zip` commands, and by hand
where a hostile writer does what those never do. Each refusal asserts its rule (`Uncovered`),
in an archive that is otherwise plain, so no other rule could refuse it."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
import zstandard
from cryptography.hazmat.primitives import serialization

from signward.dumps import sanitize, scan_path
from signward.dumps.reasons import DumpReason
from signward.errors import DumpRefused
from signward.home import Home
from signward.scan.bundles import OUTSIDE, canonical_name
from signward.scan.coverage import CoverageError, Uncovered
from signward.scan.findings import FileReport
from signward.services import init_home
from tests.helpers import run_cli
from tests.scan.material import EC, RSA
from tests.scan.planting import image

PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                       serialization.NoEncryption())  # about 240 bytes: fits a tar block's padding
RSA_PEM = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
PLAIN = b"an ordinary log line, nothing secret here\n" * 20


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("coverage") / "home")
    init_home(made)
    return made


def _tar(path: Path, files: list[tuple[str, bytes]], **options: object) -> Path:
    with tarfile.open(path, "w", **options) as archive:  # type: ignore[call-overload]
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, files: list[tuple[str, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a duplicate name is what some of these tests want
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(zipfile.ZipInfo(name), data)
    return path


def _archive(kind: str, path: Path, files: list[tuple[str, bytes]]) -> Path:
    return _tar(path.with_suffix(".tar"), files) if kind == "tar" else _zip(path.with_suffix(".zip"), files)


def _kinds(report: FileReport) -> dict[str, list[str]]:
    """What each member of a scanned bundle holds, by the member's name."""
    return {m.file[len(report.file) + 1:]: [f.kind for f in m.findings] for m in report.members}


def _refusal(path: Path, rule: Uncovered, tmp_path: Path, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """`scan` and `sanitize` both refuse `path` with `rule` (exit 2, the rule on its one line),
    and nothing is left behind."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    with pytest.raises(CoverageError) as raised:
        scan_path(path, workdir=str(work))
    assert raised.value.rule is rule, raised.value
    out = tmp_path / "clean.out"
    with pytest.raises(CoverageError) as raised:
        sanitize(path, out, home)
    assert raised.value.rule is rule, raised.value
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 2
    assert run_cli("--home", str(home.root), "dumps", "sanitize", str(path), "-o", str(out)) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2 and all(f"[{rule.value}]" in line for line in lines), lines
    assert not out.exists() and list(work.iterdir()) == []


# one canonical name per member -----------------------------------------------------------

NAME_FORMS = [("./keys/a.pem", "keys/a.pem"), ("b//c.pem", "b/c.pem"), ("d/./e.pem", "d/e.pem"),
              ("x!a.pem", "x!a.pem"), ("a.pem", "a.pem")]


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_every_name_form_is_read_and_redacted_under_its_canonical_name(kind: str, tmp_path: Path,
                                                                       home: Home) -> None:
    """Regression (issue 32): `./keys/a.pem`, `a//b`, `a/./b` were listed under one name and
    looked up under another, so never read; `x!a.pem` beside `a.pem` made sanitize fail with a
    KeyError."""
    path = _archive(kind, tmp_path / "forms", [(raw, PEM) for raw, _ in NAME_FORMS])
    report = scan_path(path)
    found = _kinds(report)
    assert found == {**{name: ["pem-private-key"] for _, name in NAME_FORMS}, OUTSIDE: []}
    out = tmp_path / f"clean.{kind}"
    result = sanitize(path, out, home)
    assert result.status == "clean" and result.counts == {"text": len(NAME_FORMS)}
    assert scan_path(out).findings == []
    if kind == "tar":
        with tarfile.open(out) as archive:
            names = [m.name for m in archive.getmembers()]
    else:
        with zipfile.ZipFile(out) as zipped:
            names = zipped.namelist()
    assert names == [name for _, name in NAME_FORMS]
    assert b"PRIVATE KEY" not in out.read_bytes()


def test_an_archive_made_by_tar_from_its_folder_is_scanned(tmp_path: Path, home: Home,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 32): `tar -C dir -czf b.tgz .` names every member `./...`; such a
    bundle scanned clean whatever it held."""
    folder = tmp_path / "support"
    (folder / "keys").mkdir(parents=True)
    (folder / "keys" / "server.pem").write_bytes(RSA_PEM)
    (folder / "app.log").write_bytes(PLAIN)
    path = tmp_path / "bundle.tgz"
    subprocess.run(["tar", "-C", str(folder), "-czf", str(path), "."], check=True)
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 1
    report = scan_path(path)
    assert _kinds(report) == {"keys/server.pem": ["pem-rsa-private-key"], "app.log": [], OUTSIDE: []}
    out = tmp_path / "clean.tgz"
    assert sanitize(path, out, home).status == "clean"
    assert run_cli("dumps", "scan", str(out)) == 0


@pytest.mark.skipif(shutil.which("zip") is None, reason="no zip command")
def test_an_archive_made_by_zip_from_its_folder_is_scanned(tmp_path: Path) -> None:
    folder = tmp_path / "support"
    (folder / "keys").mkdir(parents=True)
    (folder / "keys" / "server.pem").write_bytes(RSA_PEM)
    path = tmp_path / "bundle.zip"
    subprocess.run(["zip", "-qr", str(path), "."], cwd=folder, check=True)
    report = scan_path(path)
    assert _kinds(report) == {"keys/server.pem": ["pem-rsa-private-key"], OUTSIDE: []}


def test_names_in_any_script_are_plain_names(tmp_path: Path) -> None:
    names = ["résumé/ключ.pem", "日本/鍵.pem", "a-b_c (1)/d+e=f@g.pem"]
    assert [canonical_name(name) for name in names] == names
    report = scan_path(_tar(tmp_path / "scripts.tar", [(name, PEM) for name in names]))
    assert _kinds(report) == {**{name: ["pem-private-key"] for name in names}, OUTSIDE: []}


# hostile names ---------------------------------------------------------------------------

UNSAFE = ["keys\\a.pem", "..\\evil.pem", "C:\\evil.pem", "C:evil.pem", "\\\\server\\share\\evil.pem",
          "..\u2215evil.pem", "\uff0e\uff0e/evil.pem",
          "a\u2044..\u2044evil.pem", "\uff0fetc/evil.pem", "CON", "logs/nul.txt", "logs/COM1.log", "evil.pem.",
          "evil.pem ", "a.pem:stream", "a\nb.pem", "a\x7fb.pem", "a\u202eb.pem"]


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("name", UNSAFE, ids=[repr(n) for n in UNSAFE])
def test_a_name_some_extractor_writes_elsewhere_is_refused(kind: str, name: str, tmp_path: Path, home: Home,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _archive(kind, tmp_path / "hostile", [("ok.log", PLAIN), (name, PLAIN)])
    _refusal(path, Uncovered.UNSAFE_NAME, tmp_path, home, capsys)


CLIMBING = ["/etc/evil.pem", "//evil.pem", "a/../../evil.pem", "..", "a/b/../../../evil.pem"]


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("name", CLIMBING)
def test_a_name_that_climbs_out_is_refused(kind: str, name: str, tmp_path: Path, home: Home,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = _archive(kind, tmp_path / "climbing", [("ok.log", PLAIN), (name, PLAIN)])
    _refusal(path, Uncovered.OUTSIDE_FOLDER, tmp_path, home, capsys)


def _with_nul(path: Path, plain: bytes, hostile: bytes) -> None:
    data = path.read_bytes()
    assert len(plain) == len(hostile) and data.count(plain) >= 1
    path.write_bytes(data.replace(plain, hostile))


def test_a_nul_in_a_zip_name_is_refused(tmp_path: Path, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """zipfile cuts a name at its NUL; other readers do not: refused on the name as written."""
    path = _zip(tmp_path / "nul.zip", [("a_b.pem", PLAIN)])
    _with_nul(path, b"a_b.pem", b"a\0b.pem")
    _refusal(path, Uncovered.UNSAFE_NAME, tmp_path, home, capsys)


def test_a_nul_in_a_pax_path_is_refused(tmp_path: Path, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nul.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("plain.log")
        info.size = len(PLAIN)
        info.pax_headers = {"path": "logs/a\0b.pem"}
        archive.addfile(info, io.BytesIO(PLAIN))
    _refusal(path, Uncovered.UNSAFE_NAME, tmp_path, home, capsys)


def test_a_zip_unicode_path_field_naming_another_file_is_refused(tmp_path: Path, home: Home,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Info-ZIP's unzip takes the name from the 0x7075 field, not from the header."""
    other = b"..\\evil.pem"
    field = struct.pack("<HHB", 0x7075, 5 + len(other), 1) + struct.pack("<I", 0) + other
    path = tmp_path / "unicode-path.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("ok.log")
        info.extra = field
        archive.writestr(info, PLAIN)
    _refusal(path, Uncovered.UNSAFE_NAME, tmp_path, home, capsys)


COLLIDING = [("A.pem", "a.pem"), ("caf\u00e9.pem", "cafe\u0301.pem"), ("logs", "logs/a.log"),
             ("same.log", "same.log"), ("dir/x.log", "./dir//x.log"), ("\uff21.pem", "a.pem")]


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("pair", COLLIDING, ids=["case", "nfc-nfd", "file-and-folder", "duplicate", "forms",
                                                 "fullwidth"])
def test_two_members_one_extractor_writes_to_one_file_are_refused(kind: str, pair: tuple[str, str], tmp_path: Path,
                                                                   home: Home,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = _archive(kind, tmp_path / "twins", [(pair[0], PLAIN), (pair[1], PLAIN)])
    _refusal(path, Uncovered.NAME_COLLISION, tmp_path, home, capsys)


# bytes outside members -------------------------------------------------------------------

def _pax_header(path: Path) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("app.log")
        info.size = len(PLAIN)
        info.pax_headers = {"comment": PEM.decode()}
        archive.addfile(info, io.BytesIO(PLAIN))


def _global_pax_header(path: Path) -> None:
    _tar(path, [("app.log", PLAIN)], format=tarfile.PAX_FORMAT, pax_headers={"comment": PEM.decode()})


def _gnu_long_name(path: Path) -> None:
    """A GNU long-name record whose data goes on past the name's NUL: tar reads the name only."""
    name = ("logs/" + "n" * 120 + ".log").encode()
    record = name + b"\0" + PEM
    long_link = tarfile.TarInfo("././@LongLink")
    long_link.type = tarfile.GNUTYPE_LONGNAME
    long_link.size = len(record)
    member = tarfile.TarInfo("short.log")
    member.size = len(PLAIN)
    with open(path, "wb") as out:
        out.write(long_link.tobuf(tarfile.GNU_FORMAT))
        out.write(record + bytes(-len(record) % 512))
        out.write(member.tobuf(tarfile.GNU_FORMAT))
        out.write(PLAIN + bytes(-len(PLAIN) % 512))
        out.write(bytes(1024))


def _tar_padding(path: Path) -> None:
    """The key in the padding after a member's content (a hostile writer's zeros)."""
    member = tarfile.TarInfo("app.log")
    member.size = 10
    with open(path, "wb") as out:
        out.write(member.tobuf(tarfile.USTAR_FORMAT))
        out.write(b"0123456789" + PEM + bytes(502 - len(PEM)))
        out.write(bytes(1024))


def _after_tar_end(path: Path) -> None:
    _tar(path, [("app.log", PLAIN)])
    with open(path, "ab") as out:
        out.write(PEM)


def _zip_comment(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.log", PLAIN)
        archive.comment = PEM


def _zip_extra(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("app.log")
        info.extra = struct.pack("<HH", 0xCAFE, len(PEM)) + PEM
        archive.writestr(info, PLAIN)


def _between_zip_members(path: Path) -> None:
    """The key between a's content and b's local header; b's offset and the central
    directory's moved past it, so every reader still finds both members."""
    _zip(path, [("a.log", PLAIN), ("b.log", PLAIN)])
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x03\x04", 4)  # b.log's local header
    central = data.find(b"PK\x01\x02")
    second = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, second + 42, at + len(PEM))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, central + len(PEM))
    path.write_bytes(bytes(data[:at]) + PEM + bytes(data[at:]))


def _before_zip(path: Path) -> None:
    _zip(path, [("app.log", PLAIN)])
    path.write_bytes(PEM + path.read_bytes())


def _after_zip_end(path: Path) -> None:
    _zip(path, [("app.log", PLAIN)])
    with open(path, "ab") as out:
        out.write(PEM)


OUTSIDE_CASES = {"pax-header": _pax_header, "global-pax-header": _global_pax_header, "gnu-long-name": _gnu_long_name,
                 "tar-padding": _tar_padding, "after-tar-end": _after_tar_end, "zip-comment": _zip_comment,
                 "zip-extra-field": _zip_extra, "between-zip-members": _between_zip_members,
                 "before-zip": _before_zip, "after-zip-end": _after_zip_end}


@pytest.mark.parametrize("case", sorted(OUTSIDE_CASES))
def test_a_key_outside_members_is_found_and_left_out(case: str, tmp_path: Path, home: Home,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Regression (issue 32): a key in a pax header, a zip comment or extra field... scanned
    clean (exit 0). The bytes outside members are their own view: found there (scan exit 1),
    and sanitize writes a new archive without them."""
    path = tmp_path / "outside.bin"
    OUTSIDE_CASES[case](path)
    report = scan_path(path)
    assert report.format in ("tar-bundle", "zip-bundle")
    found = _kinds(report)
    outside = found.pop(OUTSIDE)  # a zip extra field is in the local and the central header
    assert set(outside) == {"pem-private-key"} and all(kinds == [] for kinds in found.values()), found
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 1
    out = tmp_path / "clean.bin"
    result = sanitize(path, out, home)
    assert result.status == "clean" and result.counts == {"text": len(outside)}
    assert b"PRIVATE KEY" not in out.read_bytes()
    assert scan_path(out).findings == []


def test_zip_members_sharing_their_bytes_are_refused(tmp_path: Path, home: Home,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Two central entries pointing at one local header (the overlapping zip bomb)."""
    path = _zip(tmp_path / "overlap.zip", [("a.log", PLAIN), ("b.log", PLAIN)])
    data = bytearray(path.read_bytes())
    second = data.rfind(b"PK\x01\x02")  # b.log's central entry: its local header offset at +42
    struct.pack_into("<I", data, second + 42, 0)
    path.write_bytes(bytes(data))
    with pytest.raises(CoverageError) as raised:  # listed and checked before zipfile reads a byte
        scan_path(path, workdir=str(tmp_path))
    assert raised.value.rule is Uncovered.OVERLAP


def test_a_tar_cut_inside_a_member_is_refused(tmp_path: Path, home: Home,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _tar(tmp_path / "cut.tar", [("a.log", PLAIN), ("b.log", os.urandom(4096))])
    path.write_bytes(path.read_bytes()[:512 * 5])  # a (header, 2 blocks), b's header and 1 of its 8 blocks
    _refusal(path, Uncovered.TRUNCATED, tmp_path, home, capsys)


# bounds over the whole nesting ------------------------------------------------------------

def test_bundles_nested_too_deep_are_refused(tmp_path: Path, home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    inner = _tar(tmp_path / "level3.tar", [("app.log", PLAIN)])
    for level in (2, 1, 0):
        inner = _tar(tmp_path / f"level{level}.tar", [(inner.name, inner.read_bytes())])
    _refusal(inner, Uncovered.TOO_DEEP, tmp_path, home, capsys)


def test_members_are_counted_over_the_whole_nesting(tmp_path: Path, home: Home, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("signward.scan.bundles.MAX_MEMBERS", 6)
    inner = [_tar(tmp_path / f"inner{n}.tar", [(f"{n}/{m}.log", PLAIN) for m in range(3)]) for n in range(2)]
    outer = _tar(tmp_path / "outer.tar", [(p.name, p.read_bytes()) for p in inner])  # 2 + 3 + 3 members
    assert len(scan_path(inner[0]).members) == 4  # each alone is within the bound
    _refusal(outer, Uncovered.TOO_MANY, tmp_path, home, capsys)


def test_compressed_members_share_one_expansion_budget(tmp_path: Path) -> None:
    """Each member expands to 10 MiB, within a 16 MiB limit alone; together they are past it."""
    packed = zstandard.ZstdCompressor().compress(bytes(10 << 20))
    path = _tar(tmp_path / "two.tar", [("a.zst", packed), ("b.zst", packed)])
    assert scan_path(_tar(tmp_path / "one.tar", [("a.zst", packed)]), max_bytes=16 << 20).members
    with pytest.raises(CoverageError) as raised:
        scan_path(path, max_bytes=16 << 20, workdir=str(tmp_path))
    assert raised.value.rule is Uncovered.EXPANSION


# what cannot be accounted for is never clean -----------------------------------------------

def test_a_bundle_whose_pass_was_cut_short_is_not_clean(tmp_path: Path, home: Home,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("signward.scan.detectors.unknown_rsa.MAX_PAIRS", 0)  # every pair search hits its bound
    heap = image(tmp_path / "heap.bin", 64 << 10, {n * 4096: os.urandom(256) for n in range(16)})
    path = _tar(tmp_path / "heap.tar", [("heap.bin", heap.read_bytes())])
    report = scan_path(path, "unknown-rsa")
    assert report.findings == [] and report.incomplete
    assert run_cli("dumps", "scan", "--workers", "1", "--detectors", "unknown-rsa", str(path)) == 1
    with pytest.raises(DumpRefused) as raised:
        sanitize(path, tmp_path / "out.tar", home, detectors="unknown-rsa")
    assert raised.value.reason == DumpReason.SCAN_INCOMPLETE
