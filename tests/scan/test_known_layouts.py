"""Known values in layouts the searches skipped (issue #32, session 12): CPython ints with 15-bit
digits, known AES keys at unaligned offsets of a large decoded layer. Each artifact is built here,
small, and the rule that finds it is asserted in a case no other rule could find."""

from __future__ import annotations

import base64
import gzip
import random
import struct
from pathlib import Path

import pytest

from signward.scan.detectors.python_ints import digits_bytes
from signward.scan.knownkeys import KnownKeys, aes_key_id
from signward.scan.recheck import Budget, recheck_bytes
from signward.scan.recheck_layouts import as_digits
from signward.scan.scanner import scan_path
from tests.scan.material import EC, NUMBERS, RSA, known

KNOWN = known(RSA, EC)


def _pylong15(value: int, lv_tag: bool) -> bytes:
    """A CPython int object of a build with PYLONG_BITS_IN_DIGIT == 15 on a 64-bit machine, as
    Include/cpython/longintrepr.h lays it out: refcount, type pointer, ob_size (3.11) or lv_tag
    (3.12+: count << 3), then `unsigned short` digits of 15 bits, least significant first."""
    digits = []
    while value:
        digits.append(value & 0x7FFF)
        value >>= 15
    count = len(digits) << 3 if lv_tag else len(digits)
    return struct.pack("<qQq", 1, 0x7F3A5C1B2E40, count) + struct.pack(f"<{len(digits)}H", *digits)


def test_the_15_bit_layout_is_written_as_longintrepr_says() -> None:
    # both modules' encoders agree with the layout built by hand above
    value = NUMBERS.p
    assert digits_bytes(value, 15) == as_digits(value, 15) == _pylong15(value, False)[24:]
    assert len(as_digits(value, 15)) == 2 * -(-value.bit_length() // 15)


@pytest.mark.parametrize("lv_tag", [False, True], ids=["cpython-3.11", "cpython-3.12"])
def test_known_values_as_15_bit_python_ints_are_found_by_both_readers(tmp_path: Path, lv_tag: bool) -> None:
    image = bytearray(0x8000)
    values = {0x1000: NUMBERS.p, 0x2000: NUMBERS.d, 0x3000: NUMBERS.dmq1,
              0x4000: EC.private_numbers().private_value}
    for at, value in values.items():
        obj = _pylong15(value, lv_tag)
        image[at:at + len(obj)] = obj
    path = tmp_path / "heap.bin"
    path.write_bytes(bytes(image))
    report = scan_path(path, known=KNOWN)
    found = {(f.offset, f.length, f.kind) for f in report.findings if f.encoding == "pylong15" and f.verified}
    assert {(at + 24, 2 * -(-value.bit_length() // 15), kind) for (at, value), kind in
            zip(values.items(), ("rsa-prime", "rsa-private-exponent", "rsa-crt-exponent", "ec-private-scalar"),
                strict=True)} <= found
    second = recheck_bytes(bytes(image), KNOWN, "heap.bin")
    spans = {f.span for f in second.findings if f.key.endswith("as a Python int")}
    assert {(at + 24, at + 24 + 2 * -(-value.bit_length() // 15)) for at, value in values.items()} <= spans


def test_a_15_bit_sibling_only_the_exact_pass_finds(tmp_path: Path) -> None:
    # qi alone proves nothing; the prime as 15-bit digits proves the key, and qi's 15-bit digits
    # (no count word before them) are then found as exact bytes by both readers
    image = bytearray(0x4000)
    obj = _pylong15(NUMBERS.q, False)
    image[0x1000:0x1000 + len(obj)] = obj
    qi = digits_bytes(NUMBERS.iqmp, 15)
    image[0x2001:0x2001 + len(qi)] = qi
    path = tmp_path / "heap.bin"
    path.write_bytes(bytes(image))
    found = {(f.offset, f.kind, f.encoding) for f in scan_path(path, known=KNOWN).findings}
    assert (0x2001, "rsa-crt-coefficient", "pylong15") in found
    spans = {f.span for f in recheck_bytes(bytes(image), KNOWN, "heap.bin").findings}
    assert (0x2001, 0x2001 + len(qi)) in spans


AES = bytes.fromhex("9c1f03d2a77e5b10e4c8f2063a915dbb27c4e8013f6a9d52b0e77c1848a3f5d9")


def test_a_known_aes_key_at_an_unaligned_offset_of_a_decoded_layer_over_1mib() -> None:
    # 1.1 MB of text in a gzip inside a gzip, the key at 8k + 3: the every-8th-offset AES windows
    # miss it; the unaligned pass finds it (the layer is text: only the windows over the key are hashed)
    keys = KnownKeys(secret_ids=[aes_key_id(AES)])
    blob = bytearray(b"heap-snapshot-filler " * (1_100_000 // 21))
    blob[0x30003:0x30023] = AES
    report = recheck_bytes(gzip.compress(gzip.compress(bytes(blob))), keys, "x.gz")
    assert [(f.key, f.view) for f in report.findings] == [(f"AES key {aes_key_id(AES)}", "x.gz > gzip > gzip")]
    assert not report.incomplete


def test_a_random_layer_over_1mib_is_searched_at_every_offset_or_refused() -> None:
    # random bytes: every window could be a key, each is hashed against the window check budget; with
    # room for them a key at 8k + 5 is found, without it the read is incomplete (refused), never clean
    keys = KnownKeys(secret_ids=[aes_key_id(AES)])
    layer = bytearray(random.Random(12).randbytes(1_100_000))
    layer[0x2005:0x2025] = AES
    text = b"DEBUG blob=" + base64.b64encode(bytes(layer)) + b"\n"
    report = recheck_bytes(text, keys, "app.log", Budget(max_checks=1_500_000))
    assert [(f.key, f.span) for f in report.findings] == [(f"AES key {aes_key_id(AES)}", (11, len(text) - 1))]
    # 1.05 MB and a budget the every-8th-offset windows fit in (788,000 here: two views), the unaligned do not
    text = b"DEBUG blob=" + base64.b64encode(bytes(layer[:1_050_000])) + b"\n"
    report = recheck_bytes(text, KnownKeys(secret_ids=[aes_key_id(bytes(16))]), "app.log", Budget(max_checks=900_000))
    assert not report.findings and report.incomplete == ["budget exhausted: more than 900000 window checks"]
