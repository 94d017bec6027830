"""The scanner reads compressed streams inside base64 runs and zlib streams at any offset (issue #32,
session 22, `scan/inflated.py`): an EC P-256 PKCS#8 key gzipped, zlib'd, deflated or zipped and then
base64'd into a log line, or zlib'd into binary data (a PDF's FlateDecode stream), is found by the
scanner alone (`scan_path`, which does not run the independent reader), at the whole raw span, with
the stream's layer in the finding's encoding. On main's scanner each of these was clean: no
detector reads compressed bytes, the decoded-run pass never decompressed, the embedded pass knew
no zlib head. Near misses (random `78 9c` heads, base64 of random bytes, a gzip'd log) give no
finding and no incomplete scan; bombs and crowds of heads give an incomplete one."""

from __future__ import annotations

import base64
import gzip
import io
import random
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signward.dumps import scan_path
from signward.scan.inflated import PER_MIB

KEY = ec.generate_private_key(ec.SECP256R1())
PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
DER = KEY.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
KEY_KINDS = {"pem-private-key", "pkcs8-ec"}


def _raw_deflate(data: bytes) -> bytes:
    engine = zlib.compressobj(9, zlib.DEFLATED, -15)
    return engine.compress(data) + engine.flush()


def _zipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("key.pem", data)
    return out.getvalue()


PACKERS: dict[str, tuple[Callable[[bytes], bytes], bytes, str]] = {
    "gzip-pem": (gzip.compress, PEM, "base64+gzip+"),
    "zlib-pem": (zlib.compress, PEM, "base64+zlib+"),
    "zlib-der": (zlib.compress, DER, "base64+zlib+"),
    "deflate-pem": (_raw_deflate, PEM, "base64+deflate+"),
    "zip-pem": (_zipped, PEM, "base64+zip+"),
}


def _scan(path: Path, data: bytes) -> tuple[set[tuple[int, int, str, str]], list[str]]:
    path.write_bytes(data)
    report = scan_path(path)
    return {(f.offset, f.end, f.kind, f.encoding) for f in report.findings if not f.advisory}, report.incomplete


@pytest.mark.parametrize("name", sorted(PACKERS))
def test_a_compressed_key_base64d_into_a_log_line_is_found_at_the_whole_run(tmp_path: Path, name: str) -> None:
    pack, plain, layers = PACKERS[name]
    encoded = base64.b64encode(pack(plain))
    head = b"2026-12-07 INFO upload ok payload="
    found, incomplete = _scan(tmp_path / "app.log", head + encoded + b" status=200\n")
    assert incomplete == []
    spans = {(start, end) for start, end, kind, encoding in found if kind in KEY_KINDS and encoding.startswith(layers)}
    assert spans == {(len(head), len(head) + len(encoded))}, found


@pytest.mark.parametrize(("name", "upper", "glued"), [("gzip-pem", False, b"blob="), ("zlib-der", True, b"z:"),
                                                     ("zip-pem", False, b"blob")],
                         ids=["gzip-lower-after-eq", "zlib-upper-after-colon", "zip-lower-glued"])
def test_hex_of_a_compressed_key_in_a_log_line_is_found_at_the_whole_run(tmp_path: Path, name: str, upper: bool,
                                                                         glued: bytes) -> None:
    pack, plain, layers = PACKERS[name]
    encoded = pack(plain).hex().encode()
    encoded = encoded.upper() if upper else encoded
    head = b"DEBUG dump " + glued
    found, incomplete = _scan(tmp_path / "app.log", head + encoded + b"\n")
    assert incomplete == []
    start = len(head) - (len(glued) if glued.isalnum() else 0)  # a glued name is part of the run
    spans = {(begin, end) for begin, end, kind, encoding in found
             if kind in KEY_KINDS and encoding.startswith(layers.replace("base64", "hex", 1))}
    assert spans == {(start, len(head) + len(encoded))}, found


def test_hex_of_a_gzipd_log_and_long_hex_are_no_finding(tmp_path: Path) -> None:
    log = b"".join(b"GET /api/v1/items/%d 200\n" % i for i in range(500))
    text = b"h=%s\nsha=%s\n" % (gzip.compress(log).hex().encode(), random.Random(9).randbytes(64).hex().encode())
    assert _scan(tmp_path / "app.log", text) == (set(), [])


@pytest.mark.parametrize("form", ["der", "pem"])
def test_base32_of_a_key_in_a_log_line_is_found_at_the_whole_run(tmp_path: Path, form: str) -> None:
    encoded = base64.b32encode(DER if form == "der" else PEM)
    head = b"INFO token k="
    found, incomplete = _scan(tmp_path / "app.log", head + encoded + b"\n")
    assert incomplete == []
    spans = {(start, end) for start, end, kind, encoding in found
             if kind in KEY_KINDS and encoding.startswith("base32+")}
    assert spans == {(len(head), len(head) + len(encoded))}, found


def test_base32_of_random_bytes_and_upper_case_words_are_no_finding(tmp_path: Path) -> None:
    rand = random.Random(11)
    text = b"".join(b"otp=%s\n" % base64.b32encode(rand.randbytes(80)) for _ in range(20))
    text += b"CONST_" + b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" * 4 + b"\n"
    assert _scan(tmp_path / "app.log", text) == (set(), [])


@pytest.mark.parametrize("offset", [4_001, 70_002])
def test_a_zlib_stream_of_a_pem_at_any_offset_of_binary_data(tmp_path: Path, offset: int) -> None:
    stream = zlib.compress(PEM)
    noise = random.Random(offset).randbytes(offset + 9_000)
    found, incomplete = _scan(tmp_path / "core", noise[:offset] + stream + noise[offset:])
    assert incomplete == []
    assert (offset, offset + len(stream), "pem-private-key", "zlib+ascii") in found


def test_a_pdf_flatedecode_stream_holding_a_pem_is_found(tmp_path: Path) -> None:
    stream = zlib.compress(PEM)
    head = b"%%PDF-1.4\n1 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
    found, incomplete = _scan(tmp_path / "ticket.pdf", head + stream + b"\nendstream\nendobj\n%%EOF\n")
    assert incomplete == []
    assert {kind for start, _, kind, encoding in found if start == len(head) and encoding.startswith("zlib+")} >= {
        "pem-private-key"}


def test_random_bytes_with_zlib_heads_are_no_finding_and_not_incomplete(tmp_path: Path) -> None:
    data = bytearray(random.Random(5).randbytes(200_000))
    for at in range(100, 200_000, 997):  # 200 heads: fewer than PER_MIB
        data[at:at + 2] = (b"\x78\x9c", b"\x78\xda", b"\x78\x01", b"\x78\x5e")[at % 4]
    assert _scan(tmp_path / "core", bytes(data)) == (set(), [])


def test_base64_of_random_bytes_and_a_gzipd_log_are_no_finding(tmp_path: Path) -> None:
    rand = random.Random(6)
    log = b"".join(b"2026-12-07 12:%02d:%02d GET /api/v1/items/%d 200 %dms\n" % (i % 60, i % 59, i, i % 97)
                   for i in range(2_000))
    text = b"".join(b"blob=%s\n" % base64.b64encode(rand.randbytes(3 * 1024)) for _ in range(8))
    text += b"log=%s\nz=%s\n" % (base64.b64encode(gzip.compress(log)), base64.b64encode(zlib.compress(log)))
    assert _scan(tmp_path / "app.log", text) == (set(), [])


def test_a_zip_bomb_in_base64_is_incomplete_never_clean(tmp_path: Path) -> None:
    bomb = zlib.compress(bytes(16 << 20) + PEM, 9)  # 16 KiB of stream decoding to 16 MiB
    found, incomplete = _scan(tmp_path / "app.log", b"bomb=" + base64.b64encode(bomb) + b"\n")
    assert any(reason.startswith("inflated: a zlib stream in a decoded run") for reason in incomplete), incomplete


def test_more_zlib_heads_in_a_mib_than_the_bound_is_incomplete(tmp_path: Path) -> None:
    _, incomplete = _scan(tmp_path / "core", b"\x01" * 64 + b"\x78\x9c\x00" * (PER_MIB + 10))
    assert incomplete == [f"embedded: more than {PER_MIB} zlib stream heads in one MiB of a chunk"]
