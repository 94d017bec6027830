"""rt22 rows 10 and 11 (issue #32, session 22): keys, encrypted keys and PKCS#12 files whose OUTER
SEQUENCE has a minimal definite length while the inside is BER: OCTET STRINGs in definite segments
(`24 LL 04 28 .. 04 28 ..`), inner values indefinite, or every inner length in the 4-octet form.
Made here from real keys (cryptography, openssl's `pkcs12 -export -legacy`) by a small re-encoder
of this file; openssl reads each as written; the independent reader's BER rule finds each (kind
`berfile`, which no other rule of the reader gives), raw and base64. Main's reader (head: an
indefinite or non-minimal outer length only) missed every one of them (run once, session 22).
Near-misses certify: a DER certificate, a BER CMS signed-data of many certificates, a DER truststore."""

from __future__ import annotations

import base64
import datetime
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from signward.dumps import KnownKeys
from signward.scan.knownkeys import known_key
from signward.scan.recheck import Budget, recheck_bytes
from signward.scan.recheck_berfiles import ber_file_findings

RSA_KEY = rsa.generate_private_key(65537, 2048)  # any keys: the forms do not depend on their bytes
EC_KEY = ec.generate_private_key(ec.SECP256R1())
KNOWN = KnownKeys([known_key(RSA_KEY.public_key()), known_key(EC_KEY.public_key())])  # type: ignore[list-item]
DER, PEM, NONE = serialization.Encoding.DER, serialization.Encoding.PEM, serialization.NoEncryption()
_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rt22.example")])
CERT = (x509.CertificateBuilder().subject_name(_NAME).issuer_name(_NAME).public_key(RSA_KEY.public_key())
        .serial_number(22).not_valid_before(datetime.datetime(2026, 1, 1))
        .not_valid_after(datetime.datetime(2027, 1, 1)).sign(RSA_KEY, hashes.SHA256()))
PRE, POST = b"heap region 7f3a00000000\n" + bytes(40), bytes(24) + b"\nend of region\n"


def _read(der: bytes, at: int) -> tuple[int, bytes, int]:
    """(tag, content, offset after) of the DER value at `at`."""
    tag, size, at = der[at], der[at + 1], at + 2
    if size & 0x80:
        width = size & 0x7F
        size, at = int.from_bytes(der[at:at + width], "big"), at + width
    return tag, der[at:at + size], at + size


def _values(content: bytes) -> list[tuple[int, bytes]]:
    out, at = [], 0
    while at < len(content):
        tag, value, at = _read(content, at)
        out.append((tag, value))
    return out


def _minimal(size: int) -> bytes:
    raw = size.to_bytes(max(1, -(-size.bit_length() // 8)), "big")
    return bytes([size]) if size < 0x80 else bytes([0x80 | len(raw)]) + raw


def to_ber(der: bytes, mode: str) -> bytes:
    """`der` with its outer SEQUENCE's length minimal and definite and BER inside (the content of
    every primitive value kept: a PFX's MAC still holds): `segments`, OCTET STRINGs of 16 bytes or
    more as definite constructed strings of 40-byte segments; `indefinite`, inner constructed values
    indefinite and OCTET STRINGs in indefinite segments; `long`, every inner length in 4 octets."""
    def encode(tag: int, content: bytes, depth: int) -> bytes:
        body = b"".join(encode(t, c, depth + 1) for t, c in _values(content)) if tag & 0x20 else content
        if depth and mode == "long":
            return bytes([tag, 0x84]) + len(body).to_bytes(4, "big") + body
        if tag == 0x04 and len(body) >= 16 and mode != "long":
            body = b"".join(b"\x04" + _minimal(len(body[i:i + 40])) + body[i:i + 40] for i in range(0, len(body), 40))
            tag = 0x24
        if depth and tag & 0x20 and mode == "indefinite":
            return bytes([tag, 0x80]) + body + b"\0\0"
        return bytes([tag]) + _minimal(len(body)) + body

    tag, content, _ = _read(der, 0)
    return encode(tag, content, 0)


def _legacy_pfx(tmp: Path) -> bytes:
    """openssl's PKCS#12 under the empty password, legacy algorithms (RC2/3DES, SHA-1 MAC)."""
    (tmp / "key.pem").write_bytes(RSA_KEY.private_bytes(PEM, serialization.PrivateFormat.PKCS8, NONE))
    return subprocess.run(["openssl", "pkcs12", "-export", "-legacy", "-nocerts", "-inkey", str(tmp / "key.pem"),
                           "-passout", "pass:"], capture_output=True, check=True).stdout


KEYS: dict[str, tuple[Callable[[Path], bytes], str, list[str]]] = {  # DER; what the reader says; openssl's check
    "pkcs8_rsa": (lambda _: RSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8, NONE),
                  "RSAPrivateKey (known kid", ["pkey", "-inform", "DER"]),
    "sec1_ec": (lambda _: EC_KEY.private_bytes(DER, serialization.PrivateFormat.TraditionalOpenSSL, NONE),
                "ECPrivateKey (known kid", ["ec", "-inform", "DER"]),
    "epk8_changeit": (lambda _: RSA_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8,
                                                      serialization.BestAvailableEncryption(b"changeit")),
                      "(known kid", ["pkey", "-inform", "DER", "-passin", "pass:changeit"]),
    "p12_changeit": (lambda _: pkcs12.serialize_key_and_certificates(
        b"k", RSA_KEY, CERT, None, serialization.BestAvailableEncryption(b"changeit")),
        "in a PKCS#12 file in BER under the password 'changeit'", ["pkcs12", "-nodes", "-passin", "pass:changeit"]),
    "p12_empty_legacy": (_legacy_pfx, "in a PKCS#12 file in BER under no password",
                         ["pkcs12", "-nodes", "-legacy", "-passin", "pass:"]),
}
MODES = ("segments", "indefinite", "long")
ENCODED = {"raw": lambda blob: PRE + blob + POST, "base64": lambda blob: PRE + base64.encodebytes(blob) + POST}


def _berfile(data: bytes) -> list[str]:
    return [f.key for f in recheck_bytes(data, KNOWN).findings if f.kind == "berfile"]


def _der(blob: bytes) -> bytes:
    """A BER value whose lengths are all definite (mode `long`) in DER."""
    tag, content, _ = _read(blob, 0)
    return _tlv(tag, b"".join(_der(_tlv(*value)) for value in _values(content)) if tag & 0x20 else content)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("form", list(KEYS))
def test_each_form_is_a_real_key_file_and_its_outer_length_is_minimal(tmp_path: Path, form: str, mode: str) -> None:
    """openssl reads the segments and the indefinite lengths as written; it refuses 4-octet lengths,
    which convert to the DER that cryptography or openssl wrote."""
    make, _, command = KEYS[form]
    der = make(tmp_path)
    blob = to_ber(der, mode)
    _, content, end = _read(blob, 0)
    assert blob != der and end == len(blob) and blob[1:-len(content)] == _minimal(len(content)), form
    if mode == "long":
        assert _der(blob) == der
        return
    (tmp_path / "ber").write_bytes(blob)
    out = subprocess.run(["openssl", *command, "-in", str(tmp_path / "ber")], capture_output=True, check=False)
    assert out.returncode == 0 and b"PRIVATE KEY-----" in out.stdout, (form, mode, out.stderr[-200:])


@pytest.mark.parametrize(("mode", "encoded"), [("segments", "raw"), ("indefinite", "raw"), ("long", "raw"),
                                               ("segments", "base64")])
@pytest.mark.parametrize("form", list(KEYS))
def test_each_form_is_found_by_the_readers_ber_rule(tmp_path: Path, form: str, mode: str, encoded: str) -> None:
    make, said, _ = KEYS[form]
    found = _berfile(ENCODED[encoded](to_ber(make(tmp_path), mode)))
    assert any(said in what for what in found), (form, mode, encoded, found)


def test_a_der_certificate_and_a_ber_signed_data_of_many_certificates_certify() -> None:
    """A CMS signed-data (a p7b of 200 certificates: past the rule's 4,096 values, pkcs7-data's OID
    in its first 40 bytes) in BER, and a certificate in DER: no finding."""
    signed = pkcs7.PKCS7SignatureBuilder().set_data(b"release notes").add_signer(
        CERT, RSA_KEY, hashes.SHA256()).sign(DER, [])
    _, info, _ = _read(signed, 0)
    (oid_tag, oid), (_, explicit) = _values(info)
    ((_, data),) = _values(explicit)
    fields = [(tag, CERT.public_bytes(DER) * 200 if tag == 0xA0 else value) for tag, value in _values(data)]
    signed_data = _tlv(0x30, b"".join(_tlv(*field) for field in fields))
    ber = b"\x30\x80" + _read(to_ber(signed_data, "indefinite"), 0)[1] + b"\0\0"  # indefinite, as BER writers do
    assert ber[:7] == b"\x30\x80\x02\x01\x01\x31\x80" and b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01" in ber[:40]
    cms = b"\x30\x80" + _tlv(oid_tag, oid) + b"\xa0\x80" + ber + b"\0\0\0\0"
    budget = Budget.for_size(1 << 20)
    for clean in (cms, CERT.public_bytes(DER)):
        assert not list(ber_file_findings(PRE + clean + POST, KNOWN, budget, [])) and not _berfile(PRE + clean + POST)


def test_a_der_truststore_past_the_rules_values_is_left_to_the_pkcs12_rule() -> None:
    """A PKCS#12 truststore in DER (certificates in plain sight, no password) of 150 certificates:
    past the rule's 4,096 values, but no BER met: not this rule's finding (the PKCS#12 rule's walk
    for the iteration counts stops at 4,096 values too: it says the file is unread)."""
    store = pkcs12.serialize_key_and_certificates(None, None, None, [CERT] * 150, NONE)
    assert not list(ber_file_findings(PRE + store + POST, KNOWN, Budget.for_size(1 << 20), []))


def test_an_encrypted_key_is_named_under_a_well_known_password_and_a_finding_under_another() -> None:
    spent = Budget.for_size(1 << 20)
    spent.max_kdf_iterations = spent.kdf_iterations
    said = {}
    for name, password, budget in (("changeit", b"changeit", Budget.for_size(1 << 20)),
                                   ("other", b"Kx9#pq2", Budget.for_size(1 << 20)), ("spent", b"changeit", spent)):
        der = EC_KEY.private_bytes(DER, serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(password))
        ((_, said[name], _),) = list(ber_file_findings(PRE + to_ber(der, "long") + POST, KNOWN, budget, []))
    assert said["changeit"].startswith("ECPrivateKey (known kid ") and said["changeit"].endswith(
        " in an encrypted PKCS#8 key in BER under the password 'changeit'")
    assert said["other"] == "encrypted PKCS#8 key in BER under an unknown password"
    assert said["spent"] == "encrypted PKCS#8 key in BER (not opened: the read's key derivation budget is spent)"


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _minimal(len(content)) + content


def _spanning(size: int) -> bytes:
    """Key heads every 16 bytes, each a definite SEQUENCE to the end holding a version and an
    OCTET STRING to the end: few values, each head copies what is left (quadratic in bytes)."""
    out = bytearray()
    while len(out) < size - 32:
        left = size - len(out) - 6
        out += b"\x30\x84" + left.to_bytes(4, "big") + b"\x02\x01\x00\x04\x84" + (left - 9).to_bytes(4, "big") + b"\0"
    return bytes(out) + bytes(size - len(out))


HOSTILE = {  # each 256 KiB (a MiB: see docs/dumps.md)
    "indefinite_key_heads": lambda size: (b"\x30\x80\x02\x01\x00\x30" * (size // 6 + 1))[:size],
    "long_form_key_heads": lambda size: (b"\x30\x84\x00\x00\x00\x10\x02\x01\x00\x30" * (size // 10 + 1))[:size],
    "nested_strings": lambda size: (b"\x30\x80\x02\x01\x00\x24\x80" * (size // 7 + 1))[:size],
    "spanning_heads": _spanning,
}


@pytest.mark.parametrize("form", list(HOSTILE))
def test_hostile_heads_cost_little(form: str) -> None:
    size = 256 << 10
    data = HOSTILE[form](size)
    cut: list[str] = []
    started = time.process_time()
    assert not list(ber_file_findings(data, KNOWN, Budget.for_size(size), cut))
    assert time.process_time() - started < 0.6  # 0.2 s or less here
    assert bool(cut) == (form in ("nested_strings", "spanning_heads")), cut  # past the view's values or bytes
