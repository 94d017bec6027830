"""rt14 F7: gzip members that share one tail of stored blocks (each embedded stream decodes the
whole rest of the file) are bounded relative to the view in both readers, and `dumps scan` never
prints "nothing found" for a pass that was cut short."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import scan_path
from signward.scan import embedded
from signward.scan.recheck import recheck_bytes
from tests.helpers import run_cli
from tests.scan.material import EC

HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # a gzip header, no flags
PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                       serialization.NoEncryption())


def shared_tail(members: int, tail: int) -> bytes:
    """rt14's gen_dos.py: `members` gzip members whose first stored block all end at one offset,
    then stored blocks of a log that every member goes on through (no member ends)."""
    unit = len(HEAD) + 5
    shared = 16 + members * unit
    parts = [b"x" * 16]
    for index in range(members):
        length = shared - (16 + (index + 1) * unit)
        parts.append(HEAD + b"\x00" + struct.pack("<HH", length, length ^ 0xFFFF))  # stored, not final
    filler = b"".join(b"2026-12-06T14:00:%02d INFO worker ready id=%d\n" % (n % 60, n)
                      for n in range(tail // 40))[:tail]
    for at in range(0, len(filler), 65535):
        block = filler[at:at + 65535]
        parts.append(bytes([at + 65535 >= len(filler)]) + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block)
    return b"".join(parts)


def test_streams_sharing_one_tail_are_cut_short_by_the_views_bound(tmp_path: Path) -> None:
    data = shared_tail(300, 64 << 10)
    path = tmp_path / "chain.bin"
    path.write_bytes(data)
    report = scan_path(path)  # no known keys: the bound is the same, the windows cost less
    bound = 16 * len(data) + (2 << 20)  # not the 4 x chunk + 16 MiB of a large chunk
    assert report.findings == [] and any(f"exceed {bound} bytes" in why for why in report.incomplete), report
    reading = recheck_bytes(data)
    assert not reading.findings and any("budget exhausted" in why for why in reading.incomplete), reading
    assert reading.views < 100  # 300 views of the whole tail, one per member, without the bound


def test_the_text_verdict_of_a_pass_cut_short_is_not_nothing_found(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "chain.bin"
    path.write_bytes(shared_tail(200, 64 << 10))
    capsys.readouterr()
    assert run_cli("dumps", "scan", "--no-reader", "--workers", "1", str(path)) == 1
    out = capsys.readouterr().out
    assert "NOT CLEAN" in out and "bounded passes cut short: embedded:" in out, out
    assert "nothing found\n" not in out


def test_an_ordinary_embedded_gzip_is_still_read_whole(tmp_path: Path) -> None:
    """A key gzipped inside a log, 10 times smaller than what it holds: found by both readers,
    nothing cut short."""
    inner = b"".join(b"2026-12-06T10:00:00Z debug request %d ok\n" % n for n in range(2000)) + PEM
    data = b"log before\n" * 100 + gzip.compress(inner, 6) + b"log after\n" * 100
    assert len(inner) > 8 * len(data)
    path = tmp_path / "app.log"
    path.write_bytes(data)
    report = scan_path(path)
    assert report.incomplete == [] and "pem-private-key" in {f.kind for f in report.findings}, report
    reading = recheck_bytes(data)
    assert reading.incomplete == [] and any(f.kind == "pem" for f in reading.findings), reading


def test_past_the_chunks_bound_no_stream_is_decoded_any_more() -> None:
    """Once a chunk's views fill its bound, every later stream is incomplete at once, never
    decoded (each of rt14's members would otherwise decode the whole shared tail again)."""
    cut: set[str] = set()
    views = embedded._Views(1000, cut)
    views.add(0, 10, b"x" * 600, ("gzip",), "")
    views.add(10, 20, b"y" * 600, ("gzip",), "")  # past the bound: not a view
    stream = gzip.compress(b"z" * 100)
    assert views.room() == 0 and views.decode("gzip", lambda at, size: stream[at:at + size]) == (b"", 1, False, True)
    assert len(views.views) == 1 and cut == {"embedded: decoded streams and UTF-16 runs exceed 1000 bytes in one chunk"}
