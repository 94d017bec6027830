"""The independent reader's DER keys cut short after their secret (recheck_cutkeys.py; issue #32,
rt18 group F), raw and in the views of `od -td4` and a Python list; a certificate cut short,
a scalar outside the order, a d that is not e's inverse and random bytes are not keys."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_codecs import Oversized
from signward.scan.recheck_cutkeys import MAX_RSA_WORK, cut_der_key
from tests.scan.cut_keys import (
    CUT_FORMS,
    CUT_KEYS,
    EC_KEY,
    FILLER,
    POST,
    PRE,
    SCALAR,
    SEED,
    ber_cuts,
    ec_cut,
    fake_rsa_triple,
    not_keys,
    rsa_cut,
)
from tests.scan.material import RSA

CUTS = {case: (make, "ECPrivateKey" if case.endswith("-ec") else "RSAPrivateKey") for case, make in CUT_KEYS.items()}
FORMS = CUT_FORMS


def _cut_findings(data: bytes) -> list[str]:
    return [f.key for f in recheck_bytes(data).findings
            if f.kind == "der" and f.key.endswith("cut short after its secret")]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CUTS)
def test_the_reader_finds_a_der_key_cut_after_its_secret(case: str, form: str) -> None:
    make, label = CUTS[case]
    assert f"{label} cut short after its secret" in _cut_findings(FORMS[form](make()))


def test_the_span_runs_from_the_header_to_the_end_of_the_view_and_the_key_is_the_key() -> None:
    data = b"xx" + ec_cut() + b"\nend of region\n"  # the declared end is past the view's: to the end
    key, span = cut_der_key(data, 2, [MAX_RSA_WORK])  # type: ignore[misc]
    assert span == (2, len(data)) and key.private_numbers().private_value == SCALAR
    key, _ = cut_der_key(rsa_cut(), 0, [MAX_RSA_WORK])  # type: ignore[misc]
    assert key.private_numbers().d == RSA.private_numbers().d
    assert {key.private_numbers().p, key.private_numbers().q} == {RSA.private_numbers().p, RSA.private_numbers().q}


def test_the_reader_takes_no_scalar_outside_the_order_and_no_d_that_is_not_es_inverse() -> None:
    cut = ec_cut(pkcs8=False)
    for scalar in (bytes(32), b"\xff" * 32):
        assert cut_der_key(cut[:7] + scalar, 0, [MAX_RSA_WORK]) is None
    assert cut_der_key(cut, 0, [MAX_RSA_WORK]) is not None
    wrong = bytearray(rsa_cut(False))
    wrong[-1] ^= 0x02
    assert cut_der_key(bytes(wrong), 0, [MAX_RSA_WORK]) is None
    with pytest.raises(Oversized):  # the bound: no work left, no check made, the reader stops (incomplete)
        cut_der_key(rsa_cut(False), 0, [0])


def test_the_reader_takes_no_certificate_cut_short_and_no_random_bytes() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signward test")])
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(EC_KEY.public_key())
                   .serial_number(18).not_valid_before(when).not_valid_after(when.replace(year=2027))
                   .sign(EC_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    for cut in (200, len(certificate) // 2, len(certificate) - 1):
        assert recheck_bytes(PRE + certificate[:cut]).findings == []
    assert recheck_bytes(PRE + FILLER * 64).findings == []


LABELS = {"sec1": "ECPrivateKey", "ed25519": "Ed25519PrivateKey", "rsa": "RSAPrivateKey"}


@pytest.mark.parametrize("form", ["raw", "od-td4"])
@pytest.mark.parametrize("case", sorted(ber_cuts()))
def test_the_reader_finds_a_key_cut_short_behind_a_ber_head(case: str, form: str) -> None:
    found = _cut_findings(FORMS[form](ber_cuts()[case]))
    assert f"{LABELS[case.split('-')[0]]} cut short after its secret" in found, found


def test_the_reader_finds_a_key_cut_short_base64d_into_a_log_line() -> None:
    for case in ("sec1-outer-84", "sec1-outer-short", "ed25519-v2"):
        found = _cut_findings(PRE + b"DEBUG key material: " + base64.b64encode(ber_cuts()[case]) + POST)
        assert f"{LABELS[case.split('-')[0]]} cut short after its secret" in found, (case, found)


def test_the_reader_spans_a_short_outer_length_to_the_secret_and_reads_the_seed() -> None:
    key, span = cut_der_key(ber_cuts()["sec1-outer-short"] + b"tail", 0, [MAX_RSA_WORK])  # type: ignore[misc]
    assert span == (0, 39) and key.private_numbers().private_value == SCALAR
    key, span = cut_der_key(ber_cuts()["ed25519-v2"], 0, [MAX_RSA_WORK])  # type: ignore[misc]
    assert span == (0, 48) and key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                 serialization.NoEncryption()) == SEED


def test_the_reader_takes_no_public_key_and_no_long_head_without_a_secret() -> None:
    for data in not_keys():
        report = recheck_bytes(PRE + data + POST)
        assert report.findings == [] and report.incomplete == [], data.hex()
    heads = b"".join(b"\x30\x84\x00\x00\x00\x77\x02\x02\x00\x01\x04\x1f" + FILLER[i:i + 31] for i in range(32))
    assert recheck_bytes(PRE + heads + FILLER * 16 + POST).findings == []  # 31 bytes: no curve's scalar


def test_the_reader_bounds_rsa_checks_by_modulus_work_not_count() -> None:
    for head in (b"\x30\x82", b"\x30\x84"):  # the reader's DER anchor, and `cut_heads`
        began = time.process_time()
        report = recheck_bytes(PRE + fake_rsa_triple(head) + POST)
        assert report.findings == [] and any("modulus work" in item for item in report.incomplete), report.incomplete
        assert time.process_time() - began < 1.5  # refused before the exponentiation (2.7 s here)
