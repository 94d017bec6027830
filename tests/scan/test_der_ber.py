"""Keys, encrypted keys and PKCS#12 files in BER (issue #32, session 21): BouncyCastle's BER keystore
(indefinite lengths, OCTET STRINGs in segments, its MAC over the BER), encrypted PKCS#8 in BER and
PKCS#8 / SEC1 keys whose OCTET STRING is constructed (two segments, a boundary inside the key's
fields, nested segments). The scanner's BER pass (detectors/der_ber.py) finds each by its kind with
the `der` detector alone (textforms.py's BER rule, in `text`, is off); `openssl` opens each file as
written. Near-misses certify: a BER SEQUENCE of random bytes, an SNMP-like capture."""

from __future__ import annotations

import base64
import datetime
import random
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from signward.dumps import KnownKeys, sanitize, scan_path
from signward.home import Home
from signward.scan.detectors.der_ber import MAX_DEPTH, MAX_VALUES, ber_keys
from signward.scan.recheck import recheck_bytes
from tests.scan.ber_forms import ber_pfx, to_ber

EC_KEY = ec.derive_private_key(0x5B2E8D1F4A7C3E6B9D0F2A4C6E8B1D3F5A7C9E0B2D4F6A8C1E3B5D7F9A0C2E4B, ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(65537, 1024)  # any key: the forms' boundaries do not depend on its bytes
NONE = serialization.NoEncryption()
_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
RSA_CERT = (x509.CertificateBuilder().subject_name(_NAME).issuer_name(_NAME).public_key(RSA_KEY.public_key())
            .serial_number(21).not_valid_before(datetime.datetime(2026, 1, 1))
            .not_valid_after(datetime.datetime(2027, 1, 1)).sign(RSA_KEY, hashes.SHA256()))
DER, PKCS8, OPENSSL = serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, \
    serialization.PrivateFormat.TraditionalOpenSSL
PRE, POST = b"heap region 7f3a00000000\n" + bytes(40), bytes(24) + b"\nend of region\n"


def _p8_encrypted() -> bytes:
    return to_ber(EC_KEY.private_bytes(DER, PKCS8, serialization.BestAvailableEncryption(b"changeit")))


# name -> (the form's bytes, the kind the BER pass gives it, what `openssl` reads it with)
FORMS = {
    "pfx_empty": (lambda: ber_pfx(EC_KEY, b""), "pkcs12-well-known-password-ber", "pkcs12:"),
    "pfx_changeit": (lambda: ber_pfx(EC_KEY, b"changeit"), "pkcs12-well-known-password-ber", "pkcs12:changeit"),
    "pfx_rsa_nested": (lambda: ber_pfx(RSA_KEY, b"changeit", 64, nested=True, cert=RSA_CERT),
                       "pkcs12-well-known-password-ber",
                       "pkcs12:changeit"),
    "pfx_other_password": (lambda: ber_pfx(EC_KEY, b"Kx9#pq2"), "pkcs12-ber", "pkcs12:Kx9#pq2"),
    "p8_encrypted": (_p8_encrypted, "pkcs8-encrypted-ber", "pkey:changeit"),
    "p8_ec_two_segments": (lambda: to_ber(EC_KEY.private_bytes(DER, PKCS8, NONE), segment=70), "pkcs8-ec-ber", "pkey:"),
    "p8_ec_cut_fields": (lambda: to_ber(EC_KEY.private_bytes(DER, PKCS8, NONE), segment=7), "pkcs8-ec-ber", "pkey:"),
    "p8_rsa_cut_fields": (lambda: to_ber(RSA_KEY.private_bytes(DER, PKCS8, NONE), segment=100), "pkcs8-rsa-ber",
                          "pkey:"),
    "p8_ec_nested": (lambda: to_ber(EC_KEY.private_bytes(DER, PKCS8, NONE), segment=9, nested=True), "pkcs8-ec-ber",
                     "pkey:"),
    "sec1_cut_scalar": (lambda: to_ber(EC_KEY.private_bytes(DER, OPENSSL, NONE), segment=10), "sec1-ec-ber", "pkey:"),
}
ENCODED = {"raw": lambda blob: PRE + blob + POST,
           "base64": lambda blob: PRE + base64.encodebytes(blob) + POST}


def _openssl_reads(blob: bytes, how: str, path: Path) -> bool:
    command, _, password = how.partition(":")
    path.write_bytes(blob)
    args = (["openssl", "pkcs12", "-in", str(path), "-nodes", "-passin", f"pass:{password}"] if command == "pkcs12"
            else ["openssl", "pkey", "-inform", "DER", "-in", str(path), "-passin", f"pass:{password}"])
    return subprocess.run(args, capture_output=True, check=False).returncode == 0


def test_openssl_reads_each_form_as_written_and_none_is_der(tmp_path: Path) -> None:
    for name, (make, _, how) in FORMS.items():
        blob = make()
        assert _openssl_reads(blob, how, tmp_path / name), name
        assert blob[1] == 0x80 and b"\x24\x80" in blob, name


@pytest.mark.parametrize("encoded", list(ENCODED))
@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_is_found_by_the_ber_pass_with_its_kind(tmp_path: Path, form: str, encoded: str) -> None:
    make, kind, _ = FORMS[form]
    path = tmp_path / "core"
    path.write_bytes(ENCODED[encoded](make()))
    findings = scan_path(path, "der", KnownKeys()).findings
    assert kind in [f.kind for f in findings], (form, encoded, findings)


def test_a_pfx_key_is_matched_to_the_known_key_and_spans_the_file() -> None:
    blob = ber_pfx(EC_KEY, b"changeit")
    ((start, end, kind, key),) = list(ber_keys(PRE + blob + POST))
    assert (start, end, kind) == (len(PRE), len(PRE) + len(blob), "pkcs12-well-known-password-ber")
    assert key.private_numbers() == EC_KEY.private_numbers()  # type: ignore[attr-defined]


def test_plain_der_and_a_plain_ber_key_are_left_to_their_rules() -> None:
    der = EC_KEY.private_bytes(DER, PKCS8, NONE)
    indefinite_only = to_ber(der, segment=1 << 20)  # indefinite lengths, no segments: textforms.py's BER rule too
    assert not list(ber_keys(PRE + der + POST))
    assert [kind for _, _, kind, _ in ber_keys(PRE + indefinite_only + POST)] == ["pkcs8-ec-ber"]


def _sec1_outer_definite(inner: bytes) -> bytes:
    """A SEC1 key whose outer SEQUENCE has a minimal definite length around BER content: its
    scalar's OCTET STRING replaced by `inner`."""
    sec1 = EC_KEY.private_bytes(DER, serialization.PrivateFormat.TraditionalOpenSSL, NONE)
    assert sec1[:2] == b"\x30\x77" and sec1[5:7] == b"\x04\x20"
    body = sec1[2:5] + inner + sec1[39:]
    return b"\x30" + bytes([len(body)]) + body


def test_ber_inside_a_minimal_definite_outer_length_is_read() -> None:
    """rt22: the outer SEQUENCE's length minimal and definite (no BER head), BER inside: the
    scalar in two segments, or in a long-form length. Both readers certified these; the head is
    now any length form and the conversion tells DER from BER."""
    scalar = EC_KEY.private_numbers().private_value.to_bytes(32, "big")
    segmented = _sec1_outer_definite(b"\x24\x24\x04\x10" + scalar[:16] + b"\x04\x10" + scalar[16:])
    long_form = _sec1_outer_definite(b"\x04\x84\x00\x00\x00\x20" + scalar)
    for form in (segmented, long_form):
        found = list(ber_keys(PRE + form + POST))
        assert [kind for _, _, kind, _ in found] == ["sec1-ec-ber"]
        assert found[0][3].private_numbers() == EC_KEY.private_numbers()


def _snmp_capture(size: int) -> bytes:
    """SNMPv2c messages in BER, indefinite lengths and segmented community strings, as a capture."""
    rng = random.Random(161)
    out = bytearray()
    while len(out) < size:
        oid = b"\x06\x08\x2b\x06\x01\x02\x01\x01" + bytes([rng.randrange(1, 9)]) + b"\x00"
        varbind = b"\x30\x80" + oid[:2] + oid[2:10] + b"\x04\x80"[:1] + bytes([8]) + rng.randbytes(8) + b"\0\0"
        pdu = b"\xa2\x80\x02\x04" + rng.randbytes(4) + b"\x02\x01\x00\x02\x01\x00\x30\x80" + varbind + b"\0\0\0\0"
        out += b"\x30\x80\x02\x01\x01\x24\x80\x04\x03pub\x04\x03lic\x00\x00" + pdu + b"\0\0"
    return bytes(out[:size])


def test_an_snmp_capture_and_random_ber_certify_at_a_bounded_cost(tmp_path: Path) -> None:
    rng = random.Random(32)
    noise = b"\x30\x80" + b"".join(b"\x04\x10" + rng.randbytes(16) for _ in range(64)) + b"\0\0"
    data = _snmp_capture(256 << 10) + noise  # 0.5 s a MiB here
    started = time.process_time()
    cut: set[str] = set()
    assert not list(ber_keys(data, cut)) and not cut
    assert time.process_time() - started < 1.0
    path = tmp_path / "capture.pcap"
    path.write_bytes(data[:64 << 10])
    report = scan_path(path, "der", KnownKeys())
    assert not report.findings and not report.incomplete, (report.findings, report.incomplete)


HOSTILE = {  # each head read until a bound
    "pfx_heads_nested": b"\x30\x80\x02\x01\x03\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\xa0\x80\x24\x80",
    "key_heads_nested": b"\x30\x80\x02\x01\x00",
}


@pytest.mark.parametrize("form", list(HOSTILE))
def test_hostile_heads_cost_little_and_are_not_certified(form: str) -> None:
    size = 256 << 10  # a quarter of a MiB: the bound is per KiB (a MiB: 0.7 s here, see docs/dumps.md)
    data = (HOSTILE[form] * (size // len(HOSTILE[form]) + 1))[:size]
    cut: set[str] = set()
    started = time.process_time()
    found = list(ber_keys(data, cut))
    spent = time.process_time() - started
    assert spent < 1.0, spent  # 0.2 s here for the nested key heads (the chunk's value bound), 0.01 s for the PFX
    assert cut or found[:1] == [(0, size, "der-ber-unread", None)]  # not read to its end: refused


def test_past_its_depth_or_values_a_key_head_is_unread_not_silence() -> None:
    deep = b"\x30\x80\x02\x01\x00\x30\x80\x06\x07\x2a\x86\x48\xce\x3d\x02\x01" + b"\x30\x80" * (MAX_DEPTH + 2)
    wide = (b"\x30\x80\x02\x01\x03\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
            + b"\x04\x00" * (MAX_VALUES + 1) + b"\0\0\0\0")
    for blob in (deep, wide):
        assert [kind for _, _, kind, _ in ber_keys(blob)][:1] == ["der-ber-unread"]


def test_the_conversion_is_der_that_cryptography_opens_without_its_ber_fallback() -> None:
    # `cryptography` still opens a BER PFX by falling back to OpenSSL's BER parser, with a warning
    # that this "may become an exception": the pass hands it what it reads without that
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = [kind for _, _, kind, _ in ber_keys(FORMS["pfx_rsa_nested"][0]())]
    assert found == ["pkcs12-well-known-password-ber"]


@pytest.mark.parametrize("form", ["pfx_changeit", "p8_ec_cut_fields"])
def test_sanitize_removes_a_ber_form_so_neither_reader_finds_it(tmp_path: Path, form: str) -> None:
    source = tmp_path / "core.txt"
    source.write_bytes(PRE + FORMS[form][0]() + POST)
    sanitize(source, tmp_path / "out", Home(tmp_path / "home"), KnownKeys())
    out = (tmp_path / "out").read_bytes()
    assert not list(ber_keys(out)) and not recheck_bytes(out, KnownKeys()).findings
