"""HTTP messages written as text (issue #32): a br (or deflate) body after its header block in a
curl -v log or a raw capture is decoded by the scanner (`http_text.py`) and by the independent
reader (`recheck_brotli.py`); a key in it is found at the whole raw body, sanitize redacts the
body or refuses, and a body that says br but does not decode is incomplete, never clean."""

from __future__ import annotations

import zlib
from pathlib import Path

import brotli
import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import sanitize, scan_path
from signward.dumps.reasons import DumpReason
from signward.errors import DumpRefused
from signward.home import Home
from signward.scan import http_text
from signward.scan.recheck import recheck_path
from signward.scan.views import Budget
from signward.services import init_home
from tests.helpers import run_cli
from tests.scan.material import EC, known

PEM = EC.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
DER = EC.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
LOG = b"".join(b"* [%d] handshake step %d done\n" % (n, n) for n in range(20))


def curl_log(body: bytes, encoding: bytes = b"br") -> tuple[bytes, int, int]:
    """A `curl -v` transcript (stderr and stdout in one file): no Content-Length, the body runs to
    curl's closing line. Returns the log and the body's raw span."""
    head = (LOG + b"> GET /v1/export HTTP/1.1\r\n> Host: api.example\r\n> Accept-Encoding: br, gzip\r\n>\r\n"
            b"< HTTP/1.1 200 OK\r\n< Content-Type: application/octet-stream\r\n< Content-Encoding: " + encoding +
            b"\r\n< Vary: Accept-Encoding\r\n< \r\n")
    return head + body + b"\n* Connection #0 to host api.example left intact\n", len(head), len(head) + len(body)


def raw_capture(body: bytes) -> tuple[bytes, int, int]:
    """Two messages as a proxy writes them: the first's body bounded by Content-Length."""
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Content-Encoding: br\r\n\r\n" % len(body))
    tail = b"GET /next HTTP/1.1\r\nHost: api.example\r\n\r\n"
    return head + body + tail, len(head), len(head) + len(body)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    made = Home(tmp_path_factory.mktemp("http") / "home")
    init_home(made)
    return made


def _sanitized(path: Path, home: Home) -> bytes | None:
    out = path.with_name("out.log")
    try:
        result = sanitize(path, out, home, known(EC))
    except DumpRefused:
        assert not out.exists()
        return None
    assert result.status == "clean"
    return out.read_bytes()


@pytest.mark.parametrize(("writer", "plain"), [(curl_log, b'{"export": 1}\n' + PEM), (raw_capture, LOG + DER + LOG),
                                               (curl_log, LOG + PEM + LOG)])
def test_a_key_in_a_br_body_is_found_at_the_whole_body(writer: object, plain: bytes, tmp_path: Path,
                                                       home: Home) -> None:
    body = brotli.compress(plain)
    data, start, end = writer(body)  # type: ignore[operator]
    assert PEM[40:100] not in data and DER[-40:] not in data  # compressed: no raw rule can find it
    path = tmp_path / "session.log"
    path.write_bytes(data)
    report = scan_path(path, known=known(EC))
    found = [f for f in report.findings if not f.advisory]
    # the whole body (without a length: up to the end of what follows it, curl's closing line)
    assert found and all(f.offset == start and f.end >= end and f.encoding.startswith("http-br") for f in found)
    reading = recheck_path(path, known(EC))
    assert any(f"http-br@{start}" in f.view for f in reading.findings), reading
    cleaned = _sanitized(path, home)
    if cleaned is not None:
        assert set(cleaned[start:end]) <= set(b"REDACTED")  # the whole body went


def test_a_raw_deflate_body_is_decoded(tmp_path: Path) -> None:
    """Raw deflate has no magic either: only the header says it."""
    engine = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = engine.compress(LOG + PEM) + engine.flush()
    data, start, end = curl_log(body, b"deflate")
    path = tmp_path / "deflate.log"
    path.write_bytes(data)
    found = [f for f in scan_path(path).findings if not f.advisory]
    assert found and all(f.offset == start and f.encoding.startswith("http-deflate") for f in found), found


@pytest.mark.parametrize("case", ["truncated", "not-brotli"])
def test_a_br_body_that_does_not_decode_is_incomplete(case: str, tmp_path: Path, home: Home,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    body = (brotli.compress(LOG + PEM + bytes(range(256)) * 8)[:-30] if case == "truncated"
            else bytes(range(256)) * 4)
    data, start, _ = raw_capture(body)
    path = tmp_path / "broken.log"
    path.write_bytes(data)
    report = scan_path(path, known=known(EC))
    assert not report.findings and any(f"br body at {start}" in why for why in report.incomplete), report
    assert any(f"HTTP body at {start} says br" in why for why in recheck_path(path).incomplete)
    with pytest.raises(DumpRefused) as refused:
        sanitize(path, tmp_path / "out.log", home, known(EC))
    assert refused.value.reason == DumpReason.SCAN_INCOMPLETE
    capsys.readouterr()
    assert run_cli("dumps", "scan", str(path)) == 1


def test_a_body_claiming_br_that_is_text_is_read_as_text(tmp_path: Path) -> None:
    """curl --compressed writes the decoded body under the same header: it is read as it is
    (its key found by the raw detectors), not called undecodable."""
    data, _, _ = curl_log(LOG)
    path = tmp_path / "text.log"
    path.write_bytes(data)
    report = scan_path(path)
    assert not report.findings and not report.incomplete
    assert recheck_path(path).clean
    data, start, end = curl_log(LOG + PEM)
    path.write_bytes(data)
    report = scan_path(path)
    assert report.findings and not report.incomplete
    assert all(f.encoding == "ascii" or not f.encoding.startswith("http-") for f in report.findings)


def test_a_br_bomb_body_stops_at_the_budget(tmp_path: Path) -> None:
    bomb = brotli.compress(bytes(64 << 20), quality=1)
    data, start, _ = raw_capture(bomb)
    budget = Budget(max_bytes=4 << 20)
    assert list(http_text.bodies(data, budget)) == []
    assert any("decode" in why or "budget" in why for why in budget.incomplete), budget.incomplete
    path = tmp_path / "bomb.log"
    path.write_bytes(data)
    assert any(f"br body at {start}" in why for why in scan_path(path).incomplete)
