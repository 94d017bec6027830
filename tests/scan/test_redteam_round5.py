"""The fifth red team's findings on the large-view and layout paths (issue #32, round 5: F1, F1b,
F9, F6, F11): each artifact is built here, small, and the rule that finds it is asserted in a case
no other rule could find."""

from __future__ import annotations

import base64
import gzip
import json
import random
import struct
import zlib
from pathlib import Path

import pytest

from signward.dumps import sanitize
from signward.home import Home
from signward.scan.knownkeys import KnownKeys, aes_key_id
from signward.scan.recheck import recheck_bytes, recheck_path
from signward.scan.scanner import scan_path
from tests.scan.crashes import crash_holder
from tests.scan.material import EC, ED, NUMBERS, RSA, known

KNOWN = known(RSA, EC, ED)
PRIME = NUMBERS.p.to_bytes(128, "big")
SCALAR = EC.private_numbers().private_value.to_bytes(32, "big")
SEED = ED.private_bytes_raw()


def _compiled(report_keys: list[str], what: str) -> bool:
    return any(what in key and "(compiled search)" in key for key in report_keys)


def test_f1_known_key_in_a_decoded_layer_over_1mib_is_found_by_the_compiled_search() -> None:
    # a log line with base64 of 1.5 MB of structure holding a known key's prime, EC scalar and seed:
    # the reader's Python window search stops at 1 MiB, the scanner never decodes this layer
    blob = bytearray(b"heap-snapshot-filler " * (1_100_000 // 21))
    for at, secret in ((0x10000, PRIME), (0x20000, SCALAR), (0x30000, SEED)):
        blob[at:at + len(secret)] = secret
    text = b"2026-12-06T07:00:01Z DEBUG snapshot=" + base64.b64encode(bytes(blob)) + b"\n"
    report = recheck_bytes(text, KNOWN, "app.log")
    keys = [f.key for f in report.findings]
    assert _compiled(keys, "rsa-prime") and _compiled(keys, "ec-private-scalar") and _compiled(keys, "ed25519-seed")
    assert all(f.span == (text.index(b"snapshot=") + 9, len(text) - 1) for f in report.findings
               if "compiled" in f.key), "the whole base64 run is the span"


def test_f1_known_aes_key_in_a_decoded_layer_over_1mib() -> None:
    aes = bytes(range(7, 39))
    keys = KnownKeys(secret_ids=[aes_key_id(aes)])
    blob = bytearray(b"heap-snapshot-filler " * (1_100_000 // 21))
    blob[0x30000:0x30020] = aes
    report = recheck_bytes(gzip.compress(gzip.compress(bytes(blob))), keys, "x.gz")
    assert [f.key for f in report.findings] == [f"AES key {aes_key_id(aes)}"]
    assert report.findings[0].view == "x.gz > gzip > gzip"


def test_f1c_known_key_in_a_gzip_inside_a_gzip_and_a_pdf_stream() -> None:
    blob = bytearray(b"xref-table-filler-0000 " * (1_100_000 // 23))
    blob[0x10000:0x10080] = PRIME
    blob[0x20000:0x20020] = SEED
    for artifact in (gzip.compress(gzip.compress(bytes(blob))),
                     b"%PDF-1.7\n1 0 obj\n<< /Filter /FlateDecode >>\nstream\n" + zlib.compress(bytes(blob))
                     + b"\nendstream\nendobj\n"):
        keys = [f.key for f in recheck_bytes(artifact, KNOWN, "x").findings]
        assert _compiled(keys, "rsa-prime") and _compiled(keys, "ed25519-seed")


def test_f1b_known_values_at_unaligned_offsets_in_a_mid_size_layer() -> None:
    # 300 KB of zeros: the Python window search steps by 8 there; offsets 8k + 3
    blob = bytearray(300_000)
    for i, secret in enumerate((SEED, SCALAR, PRIME)):
        at = 0x8000 * (i + 1) + 3
        blob[at:at + len(secret)] = secret
    report = recheck_bytes(b"DEBUG snapshot=" + base64.b64encode(bytes(blob)) + b"\n", KNOWN, "app.log")
    keys = [f.key for f in report.findings]
    assert _compiled(keys, "rsa-prime") and _compiled(keys, "ec-private-scalar") and _compiled(keys, "ed25519-seed")


def _pylong(value: int, lv_tag: bool) -> bytes:
    """A CPython int object: refcount, type pointer, ob_size (3.11) or lv_tag (3.12+), digits."""
    digits = []
    while value:
        digits.append(value & ((1 << 30) - 1))
        value >>= 30
    count = len(digits) << 3 if lv_tag else len(digits)
    return struct.pack("<qQq", 1, 0x7F3A5C1B2E40, count) + b"".join(struct.pack("<I", d) for d in digits)


@pytest.mark.parametrize("lv_tag", [False, True], ids=["cpython-3.11", "cpython-3.12"])
def test_f9_known_values_as_python_ints_are_found_by_both_readers(tmp_path: Path, lv_tag: bool) -> None:
    image = bytearray(0x8000)
    values = {0x1000: NUMBERS.p, 0x2000: NUMBERS.d, 0x3000: NUMBERS.dmp1,
              0x4000: EC.private_numbers().private_value}
    for at, value in values.items():
        obj = _pylong(value, lv_tag)
        image[at:at + len(obj)] = obj
    path = tmp_path / "heap.bin"
    path.write_bytes(bytes(image))
    report = scan_path(path, known=KNOWN)
    pylong = {(f.offset, f.kind) for f in report.findings if f.encoding == "pylong"}
    assert {(0x1018, "rsa-prime"), (0x2018, "rsa-private-exponent"), (0x3018, "rsa-crt-exponent"),
            (0x4018, "ec-private-scalar")} <= pylong
    second = recheck_bytes(bytes(image), KNOWN, "heap.bin")
    spans = {f.span for f in second.findings if f.key.endswith("as a Python int")}
    assert {(at + 24, at + 24 + 4 * -(-value.bit_length() // 30)) for at, value in values.items()} <= spans


@pytest.mark.slow
def test_f9_real_core_of_a_python_process_holding_private_numbers(tmp_path: Path) -> None:
    # a real process that called private_numbers() (as a JWK export does), crashed: both readers
    # find the prime and the EC scalar as Python ints, at the digits' own offsets
    crashed = crash_holder(tmp_path / "holder", "rsa", "ec", "pyints")
    digits = _pylong(int(crashed.secrets["rsa_p"]), False)[24:]
    scalar = _pylong(int(crashed.secrets["ec_scalar"]), False)[24:]
    core = crashed.core.read_bytes()
    where = {core.index(digits): len(digits), core.index(scalar): len(scalar)}
    report = scan_path(crashed.core, known=crashed.known())
    assert where.items() <= {(f.offset, f.length) for f in report.findings if f.encoding == "pylong"}
    second = recheck_path(crashed.core, crashed.known())
    assert {(at, at + size) for at, size in where.items()} <= {f.span for f in second.findings
                                                               if f.key.endswith("as a Python int")}


def test_f9_a_value_only_the_exact_pass_finds_as_a_python_int(tmp_path: Path) -> None:
    # qi alone proves nothing; the prime (OpenSSL limbs) proves the key, and every value of it is
    # then searched as exact bytes, CPython's digits among them
    image = bytearray(0x4000)
    image[0x1000:0x1080] = NUMBERS.p.to_bytes(128, "little")
    obj = _pylong(NUMBERS.iqmp, False)
    image[0x2000:0x2000 + len(obj)] = obj
    path = tmp_path / "heap.bin"
    path.write_bytes(bytes(image))
    found = {(f.offset, f.kind, f.encoding) for f in scan_path(path, known=KNOWN).findings}
    assert (0x2018, "rsa-crt-coefficient", "pylong") in found


def test_f6_utf32_text_in_an_image_over_1mib() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from joserfc.jwk import ECKey

    jwk = json.dumps(ECKey.import_key(EC).as_dict(private=True))
    unknown = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    image = bytearray(b"\x01\x02\x03\x04\x05\x06\x07\x08" * (1_100_000 // 8))
    first = ("config.signing_jwk = " + jwk).encode("utf-32-le")
    image[0x40000:0x40000 + len(first)] = first
    second = ("ed25519 private (pkcs8, base64): " + base64.b64encode(unknown).decode()).encode("utf-32-le")
    image[0x80000:0x80000 + len(second)] = second
    report = recheck_bytes(bytes(image), KNOWN, "core")
    found = {(f.kind, f.span) for f in report.findings if "> utf-32-le@" in f.view}
    assert ("jwk", (0x40000, 0x40000 + len(first))) in found
    assert ("der", (0x80000, 0x80000 + len(second))) in found


def test_f11_rsa_prime_inside_a_block_dense_with_random_data(tmp_path: Path) -> None:
    # a BIGNUM allocated next to ciphertext: its 64 KiB block is dense with candidates, which the
    # full pass drops; the limbs at 8-byte alignment are searched there, the prime's other forms follow
    rng = random.Random(11)
    image = bytearray(b"struct-filler-0123456789abcdef\n\x00" * ((512 << 10) // 32))
    block = bytearray(rng.randbytes(64 << 10))
    block[0x4000:0x4080] = NUMBERS.p.to_bytes(128, "big")
    block[0x8000:0x8080] = NUMBERS.q.to_bytes(128, "little")
    image[0x40000:0x50000] = block
    path = tmp_path / "heap.bin"
    path.write_bytes(bytes(image))
    found = {(f.offset, f.kind, f.encoding) for f in scan_path(path, known=KNOWN).findings}
    assert (0x48000, "rsa-prime", "le") in found
    assert (0x44000, "rsa-prime", "be") in found


def test_f1_sanitize_does_not_certify_a_gzip_inside_a_gzip_holding_a_known_prime(tmp_path: Path) -> None:
    # the scanner unpacked only the outer gzip and the reader's compiled search refused the inner
    # one; since session 13 the scanner reads a stream inside a decoded layer too (scan/embedded.py):
    # it finds the prime, the whole inner stream is redacted, and the output is certified. The
    # reader still finds the prime in the input by its compiled search (its own path to it).
    blob = bytearray(b"xref-table-filler-0000 " * (1_100_000 // 23))
    blob[0x10000:0x10080] = PRIME
    path = tmp_path / "app.gz.gz"
    path.write_bytes(gzip.compress(gzip.compress(bytes(blob))))
    inner = len(gzip.compress(bytes(blob)))
    found = {(f.offset, f.end, f.kind, f.encoding) for f in scan_path(path, known=KNOWN).findings}
    assert found == {(0, inner, "rsa-prime", "gzip+be")}, found
    assert any("(compiled search)" in finding.key for finding in recheck_path(path, KNOWN).findings)
    result = sanitize(path, tmp_path / "out.gz.gz", Home(tmp_path / "home"), KNOWN)
    assert result.status == "clean" and result.redacted_bytes == inner
    written = gzip.decompress((tmp_path / "out.gz.gz").read_bytes())
    assert written == (b"REDACTED" * (inner // 8 + 1))[:inner]
    assert recheck_path(tmp_path / "out.gz.gz", KNOWN).findings == []
