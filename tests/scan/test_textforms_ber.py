"""Private keys in the BER forms OpenSSL loads and `cryptography` refuses (rt19 group 1): long-form
outer lengths (`30 84 00 00 00 77`, `30 85 00 ..`), a length in long form where the short one would
do (`30 81 2e`), a padded version (`02 02 00 01`, `02 81 01 01`), a SEC1 scalar with a leading zero
(Java's `04 21 00 ..`) or short of its size (a minimal writer's), in SEC1 and inside PKCS#8. Each
is read raw and printed (one base64 line, xxd) by the scanner's BER rule (detectors/textforms.py)
and by the independent reader's (recheck_textforms.py), with no known key: the rule named is the
one that must. Fixed keys."""

from __future__ import annotations

import base64
import datetime
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan.detectors.textforms import ber_keys
from signward.scan.recheck import recheck_bytes
from tests.scan.material import RSA

P256 = ec.derive_private_key(0x3A1C5E7F9B2D4C6E8F0A1B3C5D7E9F2A4B6C8D0E1F3A5B7C9D2E4F6A8B0C1D3E, ec.SECP256R1())
P384 = ec.derive_private_key(int("7e1d3c5b7a9f8e2d4c6b5a4938271605f4e3d2c1b0a9f8e7"
                                 "d6c5b4a392817f6e5d4c3b2a1908f7e6d5c4b3a29e8d7c6b", 16), ec.SECP384R1())
P256_SHORT = ec.derive_private_key(0x00D4C3B2A1908F7E6D5C4B3A29E8D7C6B5A4938271605F4E3D2C1B0A9F8E7D6C, ec.SECP256R1())
P521_SHORT = ec.derive_private_key(int("00" + "a1b2c3d4e5f60718293a4b5c6d7e8f90" * 4 + "1c", 16), ec.SECP521R1())
ED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
    "4f2d8c1a6b3e9f7051c2d4e6a8b0c2d4e6f8091a2b3c4d5e6f708192a3b4c5d6"))
PRE, POST = b"crash report for pid 4242\nregion dump follows\n", b"\nend of region\n"
FILLER = random.Random(19).randbytes(64)
NONE = serialization.NoEncryption()
P256_OID, EC_OID = bytes.fromhex("06082a8648ce3d030107"), bytes.fromhex("06072a8648ce3d0201")


def _tlv(tag: int, body: bytes, head: Callable[[int], bytes] | None = None) -> bytes:
    size = len(body)
    if head is None:
        head = (lambda n: bytes([n])) if size < 0x80 else _long(1) if size < 0x100 else _long(2)
    return bytes([tag]) + head(size) + body


def _long(width: int) -> Callable[[int], bytes]:
    return lambda size: bytes([0x80 | width]) + size.to_bytes(width, "big")


def _sec1(key: ec.EllipticCurvePrivateKey, size: int, version: bytes = b"\x02\x01\x01", pad: bytes = b"",
          params: bool = True, head: Callable[[int], bytes] | None = None, trim: int = 0) -> bytes:
    """SEC1 of `key`, its scalar in `size` octets behind `pad`, less `trim` leading zero octets."""
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    oid = {32: P256_OID, 48: bytes.fromhex("06052b81040022"), 66: bytes.fromhex("06052b81040023")}[size]
    scalar = key.private_numbers().private_value.to_bytes(size, "big")
    assert not any(scalar[:trim])
    body = (version + _tlv(0x04, pad + scalar[trim:])
            + (_tlv(0xA0, oid) if params else b"") + _tlv(0xA1, _tlv(0x03, b"\x00" + point)))
    return _tlv(0x30, body, head)


def _pkcs8_ed(head: Callable[[int], bytes]) -> bytes:
    seed = ED.private_bytes_raw()
    return _tlv(0x30, b"\x02\x01\x00" + bytes.fromhex("300506032b6570") + _tlv(0x04, _tlv(0x04, seed)), head)


def _pkcs1_rsa_84() -> bytes:
    der = RSA.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, NONE)
    return b"\x30\x84" + (len(der) - 4).to_bytes(4, "big") + der[4:]  # `30 82 xx xx` -> `30 84 00 00 xx xx`


FORMS: dict[str, tuple[Callable[[], bytes], object]] = {
    "sec1_84": (lambda: _sec1(P256, 32, head=_long(4)), P256),
    "sec1_85": (lambda: _sec1(P256, 32, head=_long(5)), P256),
    "sec1_8101": (lambda: _sec1(P256, 32, head=_long(1)), P256),
    "sec1_lead0": (lambda: _sec1(P256, 32, pad=b"\x00"), P256),
    "sec1_ver_padded": (lambda: _sec1(P256, 32, version=b"\x02\x02\x00\x01"), P256),
    "sec1_ver_8101": (lambda: _sec1(P256, 32, version=b"\x02\x81\x01\x01"), P256),
    "p8_lead0": (lambda: _tlv(0x30, b"\x02\x01\x00" + _tlv(0x30, EC_OID + P256_OID)
                              + _tlv(0x04, _sec1(P256, 32, pad=b"\x00", params=False))), P256),
    "p384_lead0": (lambda: _sec1(P384, 48, pad=b"\x00"), P384),
    "sec1_short": (lambda: _sec1(P256_SHORT, 32, trim=1), P256_SHORT),  # minimal: 31 octets
    "p521_short": (lambda: _sec1(P521_SHORT, 66, trim=1), P521_SHORT),  # 65 octets
    "ed_84": (lambda: _pkcs8_ed(_long(4)), ED),
    "ed_8101": (lambda: _pkcs8_ed(_long(1)), ED),
    "rsa_p1_84": (_pkcs1_rsa_84, RSA),
}


def _secret(key: object) -> bytes:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.private_numbers().private_value.to_bytes(key.curve.key_size // 8, "big")
    d = RSA.private_numbers().d
    return d.to_bytes((d.bit_length() + 7) // 8, "big")[-64:]


def _xxd(blob: bytes) -> bytes:
    """`xxd`'s default layout: offset, eight groups of two bytes, the bytes as text."""
    rows = []
    for at in range(0, len(blob), 16):
        row = blob[at:at + 16]
        groups = " ".join(row[i:i + 2].hex() for i in range(0, len(row), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        rows.append(f"{at:08x}: {groups:<39}  {text}\n")
    return "".join(rows).encode()


PRINTED: dict[str, Callable[[bytes], bytes]] = {
    "raw": lambda blob: PRE + FILLER + blob + POST,
    "base64-line": lambda blob: PRE + b"2026-12-07T08:00:00Z DEBUG key: " + base64.b64encode(blob) + b"\n" + POST,
    "xxd": lambda blob: PRE + _xxd(FILLER[:16] + blob) + POST,
}


def test_each_form_is_refused_by_cryptography_as_written_and_read_by_the_ber_rule() -> None:
    # what makes each a finding of this rule and of no DER rule
    for name, (make, _) in FORMS.items():
        with pytest.raises(ValueError):
            serialization.load_der_private_key(make(), None)
        assert [kind for _, _, kind, _ in ber_keys(make())] == ["ber-private-key"], name


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_loads_each_form_but_the_padded_version() -> None:
    # (its scalar is in the file all the same: read too)
    loads = {name: subprocess.run(["openssl", "pkey", "-inform", "DER", "-noout"], input=make(),
                                  capture_output=True, check=False).returncode == 0
             for name, (make, _) in FORMS.items()}
    assert [name for name, ok in loads.items() if not ok] == ["sec1_ver_padded"]


@pytest.mark.parametrize("printed", list(PRINTED))
@pytest.mark.parametrize("form", list(FORMS))
def test_a_ber_key_is_read_by_both_readers(tmp_path: Path, form: str, printed: str) -> None:
    make, key = FORMS[form]
    data = PRINTED[printed](make())
    path = tmp_path / "artifact"
    path.write_bytes(data)
    findings = scan_path(path, "text", KnownKeys()).findings
    assert "ber-private-key" in [f.kind for f in findings], (form, printed, findings)
    report = recheck_bytes(data, KnownKeys())
    assert not report.incomplete, report.incomplete
    assert ("ber", type(key).__name__.lstrip("_")) in [(f.kind, f.key) for f in report.findings], report.findings


def test_the_finding_spans_the_key_as_written_and_loads_it() -> None:
    blob = FORMS["sec1_84"][0]()
    ((start, end, kind, key),) = list(ber_keys(PRE + FILLER + blob + POST))
    assert (start, end) == (len(PRE + FILLER), len(PRE + FILLER + blob))
    assert key.private_numbers() == P256.private_numbers()


@pytest.mark.parametrize("form", ["sec1_84", "sec1_lead0", "p8_lead0", "ed_84", "rsa_p1_84"])
def test_sanitize_removes_a_ber_key_so_it_does_not_load_from_the_output(tmp_path: Path, form: str) -> None:
    make, key = FORMS[form]
    source = tmp_path / "core.txt"
    source.write_bytes(PRINTED["raw"](make()))
    sanitize(source, tmp_path / "out", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out").read_bytes()
    assert _secret(key) not in out
    assert not list(ber_keys(out)) and not recheck_bytes(out, KnownKeys()).findings


def _ordinary_der() -> bytes:
    """A certificate, its public key, an ECDSA signature and plain DER keys: the DER rules'."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
    when = datetime.datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(P256.public_key())
            .serial_number(7).not_valid_before(when).not_valid_after(when + datetime.timedelta(days=9))
            .sign(P256, hashes.SHA256()))
    spki = P256.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_bytes(serialization.Encoding.DER) + spki + P256.sign(b"x", ec.ECDSA(hashes.SHA256()))


def test_ordinary_der_and_random_bytes_with_ber_anchors_are_not_keys_and_cost_little() -> None:
    # 4,096 `30 84` headers with a version after them (most anchors a core can hold per MiB), each
    # followed by random bytes or by a structure that converts and does not load
    rng = random.Random(84)
    noise = bytearray(rng.randbytes(1 << 20))
    for at in range(0, len(noise) - 256, 256):
        head = b"\x30\x84\x00\x00\x00\xf0\x02\x01\x01"
        noise[at:at + len(head) + 16] = head + (bytes(16) if at % 512 else rng.randbytes(16))
    data = _ordinary_der() + bytes(noise)
    started = time.perf_counter()
    assert not list(ber_keys(data))
    spent = time.perf_counter() - started
    assert spent < 1.0, spent  # 0.14 s here: the CI machine is slower
    report = recheck_bytes(data[:256 << 10], KnownKeys())  # the reader: a quarter of it (its other rules cost)
    assert not report.findings and not report.incomplete, (report.findings, report.incomplete)


def test_past_its_anchor_bound_the_ber_rule_says_the_scan_is_incomplete(tmp_path: Path) -> None:
    # each anchor's length runs past the data: refused at once, so the count is the only cost
    data = b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01\x00\x00\x00" * 22_000
    cut: list[str] = []
    assert not list(ber_keys(data, cut)) and cut and "ber" in cut[0]
    path = tmp_path / "anchors"
    path.write_bytes(data)
    assert any("BER key anchors" in item for item in scan_path(path, "text", KnownKeys()).incomplete)
    assert recheck_bytes(data, KnownKeys()).incomplete  # the reader's own cap on its anchors
