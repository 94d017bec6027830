"""A zip member in a compression method or version Python's zipfile has no decoder for (Deflate64,
method 9, which Windows Explorer writes for large files; zstd, method 93; a "version needed" of
6.4; strong encryption, flag bit 6) is refused as unreadable, exit 2 with one line: it was
`internal error: NotImplementedError`, exit 3, in `dumps scan`, `sanitize` and `capture --file`
(red team, session 13, F3). The member's content stays unread, so the artifact is never clean."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from signward.dumps import scan_path
from signward.dumps.sanitize import sanitize
from signward.errors import DumpFormatError
from signward.home import Home
from signward.services import init_home


def _zip(method: int | None = None, version: int | None = None, flags: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("notes.txt", b"hello " * 40)
    data = bytearray(buffer.getvalue())
    central = data.find(b"PK\x01\x02")
    if method is not None:
        data[8:10] = data[central + 10:central + 12] = struct.pack("<H", method)
    if version is not None:
        data[central + 6] = version
    if flags is not None:
        data[6:8] = data[central + 8:central + 10] = struct.pack("<H", flags)
    return bytes(data)


CASES = {"deflate64": ({"method": 9}, "corrupt archive"), "zstd": ({"method": 93}, "corrupt archive"),
         "version 6.4": ({"version": 64}, "not a readable zip"),
         "strong encryption": ({"flags": 1 << 6}, "corrupt archive")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_member_zipfile_cannot_decode_is_refused_as_unreadable(tmp_path: Path, case: str) -> None:
    options, words = CASES[case]
    path = tmp_path / "bundle.zip"
    path.write_bytes(_zip(**options))  # type: ignore[arg-type]
    with pytest.raises(DumpFormatError) as raised:
        scan_path(path)
    assert words in str(raised.value), raised.value
    home = Home(tmp_path / "home")
    init_home(home)
    with pytest.raises(DumpFormatError):
        sanitize(path, tmp_path / "out.zip", home)
    assert not (tmp_path / "out.zip").exists()


def test_dumps_scan_says_so_in_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(_zip(method=9))
    done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "corrupt archive (That compression method is not supported)" in done.stderr
