"""The scanner's DER keys cut short after their secret (detectors/der_cut.py; issue #32, rt18
group F): PKCS#8 / SEC1 EC through the scalar, PKCS#1 / PKCS#8 RSA through d, raw and in the
views of `od -td4` and a Python list; a certificate cut short and random bytes are not keys."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from signward.dumps import sanitize, scan_path
from signward.home import Home
from signward.scan.detectors.der_cut import CutChecks, RsaBudget, cut_key
from signward.scan.recheck import recheck_bytes
from tests.scan.cut_keys import (
    CUT_FORMS,
    CUT_KEYS,
    EC_KEY,
    FILLER,
    PRE,
    SCALAR,
    ec_cut,
    raw,
    rsa_cut,
)
from tests.scan.material import RSA

CUTS = {case: (make, f"{case}-cut-short") for case, make in CUT_KEYS.items()}
FORMS = CUT_FORMS


def _kinds(tmp_path: Path, data: bytes) -> list[str]:
    path = tmp_path / "dump.log"
    path.write_bytes(data)
    return [f.kind for f in scan_path(path, "der").findings]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", CUTS)
def test_a_der_key_cut_after_its_secret_is_found(tmp_path: Path, case: str, form: str) -> None:
    make, kind = CUTS[case]
    assert kind in _kinds(tmp_path, FORMS[form](make()))


def test_the_cut_key_is_the_key_and_spans_to_the_end_of_the_data() -> None:
    data = b"xx" + ec_cut() + b"\nend of region\n"  # the declared end is past the data's: to the end
    length, kind, key = cut_key(data, 2, CutChecks())  # type: ignore[misc]
    assert kind == "pkcs8-ec-cut-short" and length == len(data) - 2
    assert key.private_numbers().private_value == SCALAR
    length, kind, key = cut_key(rsa_cut(False), 0, CutChecks())  # type: ignore[misc]
    assert kind == "pkcs1-rsa-cut-short" and key.private_numbers().p in (RSA.private_numbers().p,
                                                                         RSA.private_numbers().q)


def test_a_scalar_outside_the_curves_order_is_not_a_key() -> None:
    cut = ec_cut(pkcs8=False)  # SEC1: 30 77 02 01 01 04 20 <scalar>
    for scalar in (bytes(32), b"\xff" * 32):
        assert cut_key(cut[:7] + scalar, 0, CutChecks()) is None
    assert cut_key(cut, 0, CutChecks()) is not None


def test_n_that_does_not_factor_from_e_and_d_is_not_a_key() -> None:
    cut = bytearray(rsa_cut(False))
    cut[-1] ^= 0x02  # d + or - 2: still odd or even as it was, no longer e's inverse
    assert cut_key(bytes(cut), 0, CutChecks()) is None
    spent = RsaBudget(left=0.5)
    assert cut_key(rsa_cut(False), 0, CutChecks(spent)) is None  # the bound: no work left, no check made
    assert spent.unchecked == 1 and spent.incomplete()  # and the chunk says so


def test_a_certificate_cut_short_and_random_bytes_are_not_keys(tmp_path: Path) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signward test")])
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(EC_KEY.public_key())
                   .serial_number(18).not_valid_before(when).not_valid_after(when.replace(year=2027))
                   .sign(EC_KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    for cut in (200, len(certificate) // 2, len(certificate) - 1):
        assert _kinds(tmp_path, PRE + certificate[:cut]) == []
    assert _kinds(tmp_path, PRE + FILLER * 64) == []


def test_sanitize_redacts_a_key_cut_short_from_its_header_to_the_end(tmp_path: Path) -> None:
    source = tmp_path / "crash.log"
    source.write_bytes(raw(ec_cut()))
    result = sanitize(source, tmp_path / "clean.log", Home(tmp_path / "home"))
    assert result.status == "clean"
    clean = (tmp_path / "clean.log").read_bytes()
    assert clean.startswith(PRE) and len(clean) == len(raw(ec_cut()))
    assert SCALAR.to_bytes(32, "big") not in clean and ec_cut()[:24] not in clean  # the header and the scalar
    assert recheck_bytes(clean).findings == []
