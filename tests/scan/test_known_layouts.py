"""Known values in layouts the searches skipped (issue #32, session 12): CPython ints with 15-bit
digits, known AES keys at unaligned offsets of a large decoded layer. Each artifact is built here,
small, and the rule that finds it is asserted in a case no other rule could find."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from signward.scan.detectors.python_ints import digits_bytes
from signward.scan.recheck import recheck_bytes
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
