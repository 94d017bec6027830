"""The independent reader's BER rule (recheck_berfiles.py, issue #32 session 21): each BER form of
test_der_ber.py (PKCS#12 in BER under the empty password and "changeit", encrypted PKCS#8 in BER,
PKCS#8 / SEC1 keys whose OCTET STRING is in segments) is found by this rule (kind `berfile`, which no
other rule of the reader gives), raw and base64; near-misses certify, hostile heads are refused."""

from __future__ import annotations

import time
import warnings

import pytest

from signward.dumps import KnownKeys
from signward.scan.knownkeys import known_key
from signward.scan.recheck import Budget, recheck_bytes
from signward.scan.recheck_berfiles import DEPTH, VALUES, ber_file_findings
from tests.scan.test_der_ber import EC_KEY, ENCODED, FORMS, HOSTILE, PRE, _snmp_capture

SAID = {  # what the reader says of each form (`EC_KEY` is known to it in these tests)
    "pfx_empty": "in a PKCS#12 file in BER under no password",
    "pfx_changeit": "in a PKCS#12 file in BER under the password 'changeit'",
    "pfx_rsa_nested": "RSAPrivateKey in a PKCS#12 file in BER under the password 'changeit'",
    "pfx_other_password": "PKCS#12 file in BER under an unknown password",
    "p8_encrypted": "encrypted PKCS#8 key in BER",
    "p8_ec_two_segments": "(known kid", "p8_ec_cut_fields": "(known kid", "p8_rsa_cut_fields": "RSAPrivateKey in BER",
    "p8_ec_nested": "(known kid", "sec1_cut_scalar": "(known kid",
}
KNOWN = KnownKeys([known_key(EC_KEY.public_key())])  # type: ignore[list-item]


def _berfile(data: bytes) -> list[str]:
    return [f.key for f in recheck_bytes(data, KNOWN).findings if f.kind == "berfile"]


@pytest.mark.parametrize("encoded", list(ENCODED))
@pytest.mark.parametrize("form", list(FORMS))
def test_each_form_is_found_by_the_readers_ber_rule(form: str, encoded: str) -> None:
    said = _berfile(ENCODED[encoded](FORMS[form][0]()))
    assert any(SAID[form] in what for what in said), (form, encoded, said)


def test_a_pfx_finding_spans_the_file() -> None:
    blob = FORMS["pfx_changeit"][0]()
    budget = Budget.for_size(1 << 20)
    ((kind, what, here),) = list(ber_file_findings(PRE + blob + b"tail", KNOWN, budget, []))
    assert here == (len(PRE), len(PRE) + len(blob)) and "known kid" in what and kind == "berfile"


def test_an_snmp_capture_certifies_and_hostile_heads_are_refused() -> None:
    cut: list[str] = []
    started = time.process_time()
    size = 128 << 10  # an eighth of a MiB: the bound is per KiB (a MiB: see docs/dumps.md)
    assert not list(ber_file_findings(_snmp_capture(size), KNOWN, Budget.for_size(size), cut)) and not cut
    assert not recheck_bytes(_snmp_capture(16 << 10), KNOWN).findings
    for form, head in HOSTILE.items():
        data = (head * (size // len(head) + 1))[:size]
        found = list(ber_file_findings(data, KNOWN, Budget.for_size(len(data)), cut))
        assert cut or found[:1] == [("berfile", "BER key or PKCS#12 head past the reader's bounds", (0, size))], form
    assert time.process_time() - started < 1.5  # about 0.3 s here


def test_past_its_depth_or_values_a_key_head_is_a_finding() -> None:
    deep = b"\x30\x80\x02\x01\x00\x30\x80\x06\x07\x2a\x86\x48\xce\x3d\x02\x01" + b"\x30\x80" * (DEPTH + 2)
    wide = (b"\x30\x80\x02\x01\x03\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
            + b"\x04\x00" * (VALUES + 1) + b"\0\0\0\0")
    for blob in (deep, wide):
        assert [what for _, what, _ in ber_file_findings(blob, KNOWN, Budget.for_size(1 << 20), [])] == \
            ["BER key or PKCS#12 head past the reader's bounds"]


def test_a_spent_key_derivation_budget_leaves_a_pfx_unopened_and_a_finding() -> None:
    budget = Budget.for_size(1 << 20)
    budget.max_kdf_iterations = budget.kdf_iterations  # spent
    found = list(ber_file_findings(FORMS["pfx_changeit"][0](), KNOWN, budget, []))
    said = "PKCS#12 file in BER (not opened: the read's key derivation budget is spent)"
    assert [what for _, what, _ in found] == [said]


def test_the_readers_conversion_is_der_that_cryptography_opens_without_its_ber_fallback() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `cryptography`'s BER fallback warns
        found = list(ber_file_findings(FORMS["pfx_rsa_nested"][0](), KNOWN, Budget.for_size(1 << 20), []))
    assert [what for _, what, _ in found] == ["RSAPrivateKey in a PKCS#12 file in BER under the password 'changeit'"]
