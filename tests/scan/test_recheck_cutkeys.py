"""The independent reader's DER keys cut short after their secret (recheck_cutkeys.py; issue #32,
rt18 group F), raw and in the views of `od -td4` and a Python list; a certificate cut short,
a scalar outside the order, a d that is not e's inverse and random bytes are not keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from signward.scan.recheck import recheck_bytes
from signward.scan.recheck_cutkeys import cut_der_key
from tests.scan.cut_keys import EC_KEY, FILLER, PRE, SCALAR, ec_cut, od_td4, python_list, raw, rsa_cut
from tests.scan.material import RSA

CUTS: dict[str, tuple[Callable[[], bytes], str]] = {
    "pkcs8-ec": (ec_cut, "ECPrivateKey"),
    "sec1-ec": (lambda: ec_cut(pkcs8=False), "ECPrivateKey"),
    "pkcs8-rsa": (rsa_cut, "RSAPrivateKey"),
    "pkcs1-rsa": (lambda: rsa_cut(pkcs8=False), "RSAPrivateKey"),
}
FORMS = {"raw": raw, "od-td4": od_td4, "python-list": python_list}


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
    key, span = cut_der_key(data, 2, [1])  # type: ignore[misc]
    assert span == (2, len(data)) and key.private_numbers().private_value == SCALAR
    key, _ = cut_der_key(rsa_cut(), 0, [1])  # type: ignore[misc]
    assert key.private_numbers().d == RSA.private_numbers().d
    assert {key.private_numbers().p, key.private_numbers().q} == {RSA.private_numbers().p, RSA.private_numbers().q}


def test_the_reader_takes_no_scalar_outside_the_order_and_no_d_that_is_not_es_inverse() -> None:
    cut = ec_cut(pkcs8=False)
    for scalar in (bytes(32), b"\xff" * 32):
        assert cut_der_key(cut[:7] + scalar, 0, [1]) is None
    assert cut_der_key(cut, 0, [1]) is not None
    wrong = bytearray(rsa_cut(False))
    wrong[-1] ^= 0x02
    assert cut_der_key(bytes(wrong), 0, [1]) is None
    tries = [0]
    assert cut_der_key(rsa_cut(False), 0, tries) is None and tries == [0]  # the bound: no check left, none made


def test_the_reader_takes_no_certificate_cut_short_and_no_random_bytes() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signward test")])
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(EC_KEY.public_key())
                   .serial_number(18).not_valid_before(when).not_valid_after(when.replace(year=2027))
                   .sign(EC_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    for cut in (200, len(certificate) // 2, len(certificate) - 1):
        assert recheck_bytes(PRE + certificate[:cut]).findings == []
    assert recheck_bytes(PRE + FILLER * 64).findings == []
