"""rt15's findings on HTTP bodies in text (issue #32): a body is decoded before it is called text,
bytes after a stream are a further stream or text (never ignored), the header is found in any case,
behind any log prefix, folded or in a list with `identity`, in the scanner (`http_text.py` +
`body_codec.py`) and in the independent reader (`recheck_brotli.py` + `recheck_body.py`)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import brotli
import pytest

from signward.dumps import scan_path
from signward.errors import DumpFormatError
from signward.scan import body_codec, http_text, recheck_body
from signward.scan.recheck import recheck_path
from signward.scan.recheck_brotli import TooLarge, http_bodies, unbrotli
from signward.scan.views import Budget
from tests.scan.material import EC, known
from tests.scan.test_http_text import PEM

BENIGN = b'{"ok":true,"items":[1,2,3],"msg":"hello world"}\n'
TAIL = b"* Connection #0 to host example.com left intact\n"


def log(headers: list[bytes], body: bytes, tail: bytes = TAIL) -> tuple[bytes, int]:
    """A curl -v transcript (rt15's gen.py): the log and where the body starts."""
    head = (b"*   Trying 93.184.216.34:443...\n> GET /api HTTP/1.1\n> Host: example.com\n> Accept: */*\n>\n"
            b"< HTTP/1.1 200 OK\n< Content-Type: application/json\n" + b"".join(h + b"\n" for h in headers) + b"<\n")
    return head + body + tail, len(head)


def _raw_deflate(data: bytes) -> bytes:
    engine = zlib.compressobj(9, zlib.DEFLATED, -15)
    return engine.compress(data) + engine.flush()


def _found(path: Path, start: int, codec: str) -> None:
    report = scan_path(path, known=known(EC))
    assert any(f.offset == start and f.encoding.startswith(f"http-{codec}") for f in report.findings), report
    reading = recheck_path(path, known(EC))
    assert any(f"http-{codec}@{start}" in f.view for f in reading.findings), reading


def _incomplete(path: Path, start: int, why: str) -> None:
    report = scan_path(path, known=known(EC))
    assert any(f"body at {start}" in item and why in item for item in report.incomplete), report.incomplete
    reading = recheck_path(path, known(EC))
    assert any(f"HTTP body at {start}" in item and why in item for item in reading.incomplete), reading.incomplete


def test_a_deflate_body_whose_first_64k_are_text_is_decoded_not_read_raw(tmp_path: Path) -> None:
    """rt15 deflate_textprefix: stored blocks of text (LEN DF A0, NLEN 20 5F: valid UTF-8) and then a
    compressed block holding the key; decoded first, so the key is found in both readers."""
    filler = b"lorem ipsum dolor sit amet " * 4000
    stored = bytes([0x20]) + (0xA0DF).to_bytes(2, "little") + (0x5F20).to_bytes(2, "little") + filler[:0xA0DF]
    body = stored + stored + _raw_deflate(PEM)
    assert body[:1 << 16].decode("utf-8", "strict") and PEM[40:80] not in body
    data, start = log([b"< Content-Encoding: deflate"], body)
    path = tmp_path / "textprefix.log"
    path.write_bytes(data)
    _found(path, start, "deflate")


@pytest.mark.parametrize(("codec", "body"), [
    ("gzip", gzip.compress(BENIGN) + brotli.compress(PEM)),
    ("br", brotli.compress(BENIGN) + b"\n" + brotli.compress(PEM) + b"\n"),
])
def test_bytes_after_the_end_of_a_stream_that_are_not_text_are_incomplete(codec: str, body: bytes,
                                                                          tmp_path: Path) -> None:
    """rt15 gzip_then_br, br_concat: never ignored, never trimmed as log lines."""
    data, start = log([b"< Content-Encoding: " + codec.encode()], body)
    path = tmp_path / "after.log"
    path.write_bytes(data)
    _incomplete(path, start, "after the end of the")


@pytest.mark.parametrize(("codec", "body"), [
    ("gzip", gzip.compress(BENIGN) + gzip.compress(PEM)),
    ("deflate", zlib.compress(BENIGN) + _raw_deflate(PEM)),  # rt15 deflate_then_raw: deflate is zlib or raw
])
def test_a_further_stream_of_the_same_coding_is_decoded(codec: str, body: bytes, tmp_path: Path) -> None:
    data, start = log([b"< Content-Encoding: " + codec.encode()], body)
    path = tmp_path / "members.log"
    path.write_bytes(data)
    _found(path, start, codec)


@pytest.mark.parametrize("headers", [
    [b"< CONTENT-Encoding: br"], [b"< Content-ENCODING: br"], [b"< Content-Encoding: identity, br"],
    [b"< Content-Encoding:", b"<  br"], [b"2026-12-06T21:00:00Z < Content-Encoding: br"],
    [b"< content-encoding: BR"]])
def test_the_header_is_found_in_any_case_prefix_fold_or_list(headers: list[bytes], tmp_path: Path) -> None:
    data, start = log(headers, brotli.compress(PEM))
    path = tmp_path / "header.log"
    path.write_bytes(data)
    _found(path, start, "br")


@pytest.mark.parametrize("where", ["same line", "request length"])
def test_an_ordinary_curl_br_response_is_clean(where: str, tmp_path: Path) -> None:
    """rt15 fp_curl_br (curl's closing line right after the stream, no newline) and fp_post_cl (the
    request's `> Content-Length: 3` is not the response's)."""
    data, _ = log([b"< content-encoding: br"], brotli.compress(b"<html>" + b"hello " * 5000 + b"</html>"))
    if where == "request length":
        data = data.replace(b"> Accept: */*\n>\n", b"> Accept: */*\n> Content-Length: 3\n>\n} [3 bytes data]\n")
    path = tmp_path / "fp.log"
    path.write_bytes(data)
    report = scan_path(path)
    assert not report.incomplete and not report.findings, report
    assert recheck_path(path).clean


def test_a_text_body_under_br_is_read_raw_only_when_it_does_not_start_as_a_stream() -> None:
    assert body_codec.decode_body(BENIGN * 40, ["br"], 1 << 20) is None
    assert recheck_body.decode(BENIGN * 40, ["br"], 1 << 20).plain is None
    prefix = brotli.compress(BENIGN * 40)[:-8]  # a real stream cut short: incomplete even if text-like
    with pytest.raises(body_codec.BodyError, match="truncated"):
        body_codec.decode_body(prefix, ["br"], 1 << 20)
    assert "does not end" in str(recheck_body.decode(prefix, ["br"], 1 << 20).broken)


def test_brotli_output_held_back_is_drained() -> None:
    """rt15 fp_repetitive: brotli 1.2 says it takes input while output waits; a valid stream is not
    refused as cut short by any of the three decoders."""
    plain = b'{"level":"info","msg":"tick"}\n' * 550_000
    packed = brotli.compress(plain)
    assert unbrotli(packed, len(plain)) == plain
    assert body_codec.decode_body(packed, ["br"], len(plain)) == plain
    assert recheck_body.decode(packed, ["br"], len(plain)).plain == plain


def test_broken_bodies_count_against_the_readers_budget() -> None:
    """rt15 bomb_multi: each cut bomb decodes to 3 MiB and breaks; two of them pass 4 MiB."""
    cut = brotli.compress(bytes(3 << 20), quality=1)[:-8]
    one, _ = log([b"< Content-Encoding: br"], cut, b"\n* x\n")
    with pytest.raises(TooLarge):
        list(http_bodies(one + one, 4 << 20))
    budget = Budget(max_bytes=64 << 20)
    assert list(http_text.bodies(one + one, budget)) == [] and len(budget.incomplete) == 2


def test_curls_closing_line_before_the_body_bytes_is_skipped(tmp_path: Path) -> None:
    """rt15 fp_tail_first: `* Connection ... left intact` written before the stream, no newline after."""
    data, _ = log([b"< content-encoding: br"], TAIL + brotli.compress(BENIGN * 40), b"")
    path = tmp_path / "first.log"
    path.write_bytes(data)
    report = scan_path(path)
    assert not report.incomplete and not report.findings, report
    assert recheck_path(path).clean


def test_a_content_length_that_leaves_a_stream_behind_is_not_trusted(tmp_path: Path) -> None:
    """rt15 cl_text_head: `Content-Length: 4` over a body whose bytes run on: read to the next message."""
    body = _raw_deflate(PEM)
    data, start = log([b"< Content-Encoding: deflate", b"< Content-Length: 4"], body)
    path = tmp_path / "short.log"
    path.write_bytes(data)
    _found(path, start, "deflate")


def test_brotli_without_a_br_name_is_found_or_refused(tmp_path: Path) -> None:
    """rt15 plain_br_bytes.bin (a whole brotli stream: sniffed and decoded by both readers),
    x.br.gz and a gzip FNAME `secret.pem.br` (brotli inside gzip: refused, exit 2)."""
    packed = brotli.compress(PEM)
    path = tmp_path / "entry.bin"
    path.write_bytes(packed)
    report = scan_path(path, known=known(EC))
    assert report.container == "br" and report.findings, report
    assert recheck_path(path, known(EC)).findings
    noise = tmp_path / "noise.bin"
    noise.write_bytes(packed + b"\0")  # bytes after the stream: not a whole brotli stream, read raw
    assert scan_path(noise).container == "none"
    (tmp_path / "x.br.gz").write_bytes(gzip.compress(packed))
    with pytest.raises(DumpFormatError, match="brotli stream inside gzip"):
        scan_path(tmp_path / "x.br.gz")
    named = tmp_path / "named.gz"
    with named.open("wb") as raw, gzip.GzipFile(filename="secret.pem.br", mode="wb", fileobj=raw) as writer:
        writer.write(packed)
    with pytest.raises(DumpFormatError, match="stored name 'secret.pem.br'"):
        scan_path(named)


def test_a_text_body_that_starts_as_a_stream_and_breaks_is_incomplete() -> None:
    """Stored deflate blocks are text (rt15's LEN DF A0 / NLEN 20 5F): a body of them with no final
    block starts as raw deflate, so it is not "stored decoded" text however it looks."""
    block = bytes([0x20]) + (0xA0DF).to_bytes(2, "little") + (0x5F20).to_bytes(2, "little") + b"a" * 0xA0DF
    assert body_codec.is_text(block)
    with pytest.raises(body_codec.BodyError, match="truncated"):
        body_codec.decode_body(block, ["deflate"], 1 << 20)
    assert "does not end" in str(recheck_body.decode(block, ["deflate"], 1 << 20).broken)
