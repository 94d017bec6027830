"""Formats by content: compressed cores, minidumps, raw images; and inputs that must be refused."""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import struct
from pathlib import Path

import lz4.frame
import pytest
import zstandard

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan.formats import sniff_container
from tests.helpers import run_cli
from tests.scan.crashes import CrashedProcess
from tests.scan.material import NUMBERS, RSA, known
from tests.scan.minidump_builder import minidump
from tests.scan.planting import le

# the fastest levels (xz's preset 6 took about 19 s and gzip's 9 about 9 s on the key holder's core
# on the shared machine; no test is about a level, and a writer may choose any)
COMPRESS = {"zst": lambda b: zstandard.ZstdCompressor().compress(b), "xz": lambda b: lzma.compress(b, preset=0),
            "lz4": lz4.frame.compress, "gzip": lambda b: gzip.compress(b, 1)}


@pytest.mark.parametrize("container", sorted(COMPRESS))
def test_compressed_cores_scan_like_the_plain_one(key_holder: CrashedProcess, tmp_path: Path, container: str) -> None:
    packed = tmp_path / f"core.{container}"
    packed.write_bytes(COMPRESS[container](key_holder.core.read_bytes()))
    report = scan_path(packed, "known-key,text", key_holder.known())
    assert report.container == container and report.format == "elf-core"
    assert report.bytes == key_holder.core.stat().st_size
    assert {"rsa-prime", "ec-private-scalar", "ed25519-seed", "pem-private-key"} <= {f.kind for f in report.findings}


def test_sanitized_zst_stays_zst_and_clean(key_holder: CrashedProcess, tmp_path: Path) -> None:
    packed = tmp_path / "core.zst"
    packed.write_bytes(COMPRESS["zst"](key_holder.core.read_bytes()))
    result = sanitize(packed, tmp_path / "clean.zst", Home(tmp_path / "home"), key_holder.known(),
                      detectors="known-key,text,der,aes")
    out = tmp_path / "clean.zst"
    assert result.status == "clean" and sniff_container(out.read_bytes()[:8]) == "zst"
    assert scan_path(out, "known-key,text,der,aes", key_holder.known()).findings == []


def test_minidump_findings_carry_virtual_addresses(tmp_path: Path) -> None:
    filler = os.urandom(4096)
    path = tmp_path / "app.dmp"
    path.write_bytes(minidump([(0x10000, filler), (0x7FF6_0000_0000, bytes(1024) + le(NUMBERS.p, 128) + bytes(896))]))
    report = scan_path(path, "known-key", known(RSA))
    assert report.format == "minidump"
    (finding,) = [f for f in report.findings if f.kind == "rsa-prime"]
    assert finding.vaddr == 0x7FF6_0000_0000 + 1024


def test_sanitized_minidump_keeps_its_structure(tmp_path: Path) -> None:
    path = tmp_path / "app.dmp"
    path.write_bytes(minidump([(0x20000, bytes(512) + le(NUMBERS.q, 128) + bytes(384))]))
    result = sanitize(path, tmp_path / "clean.dmp", Home(tmp_path / "home"), known(RSA))
    assert result.status == "clean"
    report = scan_path(tmp_path / "clean.dmp", None, known(RSA))
    assert report.format == "minidump" and report.findings == []


def test_raw_images_have_no_virtual_addresses(tmp_path: Path) -> None:
    path = tmp_path / "mem.raw"
    path.write_bytes(bytes(8192) + le(NUMBERS.p, 128) + bytes(8192))
    report = scan_path(path, "known-key", known(RSA))
    assert report.format == "raw" and [f.vaddr for f in report.findings] == [None]


def _truncated_zst(core: Path, target: Path) -> None:
    data = COMPRESS["zst"](core.read_bytes())
    target.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("case", ["empty", "missing", "directory", "elf-executable", "truncated-core",
                                  "truncated-zst", "corrupt-minidump", "garbage-xz"])
def test_bad_inputs_exit_2_with_one_line_and_no_output(case: str, key_holder: CrashedProcess, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    if case == "empty":
        bad.write_bytes(b"")
    elif case == "directory":
        bad.mkdir()
    elif case == "elf-executable":
        shutil.copyfile("/bin/true", bad)
    elif case == "truncated-core":
        bad.write_bytes(key_holder.core.read_bytes()[:3000])
    elif case == "truncated-zst":
        _truncated_zst(key_holder.core, bad)
    elif case == "corrupt-minidump":
        bad.write_bytes(b"MDMP" + os.urandom(200))
    elif case == "garbage-xz":
        bad.write_bytes(b"\xfd7zXZ\x00" + os.urandom(100))
    assert run_cli("dumps", "scan", str(bad)) == 2
    out = tmp_path / "out.core"
    assert run_cli("--home", str(tmp_path / "home"), "dumps", "sanitize", str(bad), "-o", str(out)) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 2 and all(line.startswith("signward: ") for line in lines), captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".signward-sanitize")] == []


def test_sparse_huge_input_scans_in_bounded_memory(tmp_path: Path) -> None:
    """A 2 GiB sparse raw image (mostly holes) scans in a child whose address space is capped."""
    import subprocess
    import sys

    path = tmp_path / "sparse.raw"
    with open(path, "wb") as handle:
        handle.truncate(2 << 30)
        handle.seek((1 << 30) + 12345)
        handle.write(b"-----BEGIN PRIVATE KEY-----\n" + b"QUJD" * 40 + b"\n-----END PRIVATE KEY-----\n")
    # the child's own peak (VmHWM of its address space): ru_maxrss survives exec, so a child forked
    # from a pytest process grown large by the tests before it reported the parent's size
    code = ("import re, sys, json\n"
            "from signward.dumps import scan_path\n"
            "r = scan_path(sys.argv[1], 'text,der,aes')\n"
            "peak = re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
            "print(json.dumps([f.offset for f in r.findings]), peak)\n")
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    offsets, max_rss_kib = run.stdout.split()
    assert offsets == f"[{(1 << 30) + 12345}]"
    assert int(max_rss_kib) < 1_200_000  # about 1 GiB at most for a 2 GiB input


def test_a_decompression_bomb_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    """Regression: a 200 KB zstd file expanded to 6 GB on disk (scan, sanitize and capture)."""
    import zstandard

    from signward.dumps import sanitize
    from signward.errors import DumpFormatError
    from signward.home import Home

    bomb = tmp_path / "bomb.zst"
    with open(bomb, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as packed:
        for _ in range(64):
            packed.write(b"\0" * (4 << 20))  # 256 MiB of zeros in a few KB
    assert bomb.stat().st_size < 200_000
    with pytest.raises(DumpFormatError, match="configured limit of 16777216 bytes"):
        scan_path(bomb, max_bytes=16 << 20, workdir=str(tmp_path))
    with pytest.raises(DumpFormatError, match="configured limit"):
        sanitize(bomb, tmp_path / "out", Home(tmp_path / "home"), max_bytes=16 << 20)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("bomb.zst", "home")]
    assert leftovers == []


@pytest.mark.parametrize("kind,contents", [(3, struct.pack("<I", 0xFFFFFFFF) + bytes(44)),
                                           (4, struct.pack("<I", 0xFFFFFFFF) + bytes(104)),
                                           (14, struct.pack("<III", 12, 24, 0xFFFFFFFF)),
                                           (16, struct.pack("<IIQ", 16, 48, 2**63))])
def test_a_minidump_list_claiming_billions_of_entries_is_refused_at_once(tmp_path: Path, kind: int,
                                                                         contents: bytes) -> None:
    """Regression: a 144-byte minidump whose thread or module list claims 2^32-1 entries drove
    `dumps scan` past 10 GB of memory; only memory lists were bounds-checked."""
    import time as clock

    from signward.errors import DumpFormatError
    from tests.scan.minidump_builder import minidump

    path = tmp_path / "hostile.dmp"
    path.write_bytes(minidump([(0x10000, bytes(64))], extra=[(kind, contents)]))
    started = clock.monotonic()
    with pytest.raises(DumpFormatError, match="corrupt minidump stream"):
        scan_path(path)
    assert clock.monotonic() - started < 5


def test_a_module_name_outside_the_file_is_refused(tmp_path: Path) -> None:
    from signward.errors import DumpFormatError
    from tests.scan.minidump_builder import minidump

    module = bytearray(108)
    struct.pack_into("<I", module, 20, 0x7FFFFFF0)  # ModuleNameRva far past the end
    path = tmp_path / "names.dmp"
    path.write_bytes(minidump([(0x10000, bytes(64))], extra=[(4, struct.pack("<I", 1) + bytes(module))]))
    with pytest.raises(DumpFormatError, match="corrupt minidump module 0"):
        scan_path(path)
