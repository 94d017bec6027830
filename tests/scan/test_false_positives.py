"""Inputs that hold no key give no findings (the short version of bench/false_positives.py)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from signward.dumps import scan_path


def test_random_and_compressed_data_give_no_findings(tmp_path: Path) -> None:
    text = b"".join(Path(p).read_bytes()[:1 << 20] for p in ("/bin/ls", "/bin/sh", "/usr/bin/env"))
    data = os.urandom(24 << 20) + zlib.compress(text * 8, 6) + bytes(4096)
    path = tmp_path / "noise.raw"
    path.write_bytes(bytes(64) + data)
    report = scan_path(path)  # every default detector; entropy is advisory and off
    assert report.findings == []

