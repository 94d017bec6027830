"""The scanner's keys cut short behind the heads rt19 used (detectors/der_cut.py, der_cut_pass.py):
long and indefinite outer lengths, BER versions, a 33-byte scalar, an outer length shorter than the
secret, Ed25519 PKCS#8 v2 cut after its seed; raw, in `od -td4` and base64. Public keys, a
certificate with a long head cut short and random bytes are not keys; an RSA triple past the
chunk's modulus work budget makes the chunk incomplete, in well under a second."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import scan_path
from signward.scan.detectors.der_cut import MAX_RSA_WORK, CutChecks, RsaBudget, cut_key, rsa_work
from tests.scan.cut_keys import FILLER, POST, PRE, SEED, ber_cuts, fake_rsa_triple, not_keys, od_td4, raw

KINDS = {"sec1": "sec1-ec-cut-short", "ed25519": "pkcs8-ed25519-cut-short", "rsa": "pkcs1-rsa-cut-short"}
FORMS = {"raw": raw, "od-td4": od_td4}


def _scan(tmp_path: Path, data: bytes, detectors: str = "der") -> tuple[list[str], list[str]]:
    path = tmp_path / "dump.log"
    path.write_bytes(data)
    report = scan_path(path, detectors)
    return [f.kind for f in report.findings], report.incomplete


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("case", sorted(ber_cuts()))
def test_a_key_cut_short_behind_a_ber_head_is_found(tmp_path: Path, case: str, form: str) -> None:
    kinds, _ = _scan(tmp_path, FORMS[form](ber_cuts()[case]))
    if case == "ed25519-v2" and form == "od-td4":  # od's zero padding after the seed: the whole-key rule's too
        assert {"pkcs8-ed25519-cut-short", "pkcs8-ed25519"} & set(kinds), kinds
    else:
        assert KINDS[case.split("-")[0]] in kinds, kinds


def test_a_key_cut_short_base64d_into_a_log_line_is_found(tmp_path: Path) -> None:
    for case in ("sec1-outer-84", "sec1-outer-short", "ed25519-v2"):
        line = PRE + b"DEBUG key material: " + base64.b64encode(ber_cuts()[case]) + POST
        kinds, _ = _scan(tmp_path, line, "text")  # the text detector's base64 DER
        assert "base64-" + KINDS[case.split("-")[0]] in kinds, (case, kinds)


def test_the_ed25519_seed_is_the_key_and_a_short_outer_length_spans_the_secret() -> None:
    length, kind, key = cut_key(ber_cuts()["ed25519-v2"], 0, CutChecks())  # type: ignore[misc]
    assert kind == "pkcs8-ed25519-cut-short" and length == 48
    assert key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption()) == SEED
    data = ber_cuts()["sec1-outer-short"] + b"tail"
    length, kind, _ = cut_key(data, 0, CutChecks())  # type: ignore[misc]
    assert kind == "sec1-ec-cut-short" and length == 39  # declared 0x10: the span reaches the scalar's end


def test_public_keys_a_certificate_head_and_random_bytes_are_not_keys(tmp_path: Path) -> None:
    for data in not_keys():
        assert _scan(tmp_path, PRE + data + POST) == ([], []), data.hex()
    heads = b"".join(b"\x30\x84\x00\x00\x00\x77\x02\x02\x00\x01\x04\x1f" + FILLER[i:i + 31] for i in range(32))
    assert _scan(tmp_path, PRE + heads + FILLER * 16 + POST) == ([], [])  # 31 bytes: no curve's scalar


def test_the_rsa_checks_are_bounded_by_modulus_work_not_count(tmp_path: Path) -> None:
    assert rsa_work(8192, 16380) > MAX_RSA_WORK >= rsa_work(8192, 8192 + 17)  # a real 8192-bit key fits
    for head in (b"\x30\x82", b"\x30\x84"):  # the DER detector's anchor, and the pass's
        began = time.process_time()
        kinds, incomplete = _scan(tmp_path, PRE + fake_rsa_triple(head) + POST)
        assert kinds == [] and any("modulus work budget" in item for item in incomplete), incomplete
        assert time.process_time() - began < 1.5  # refused before the exponentiation (2.7 s here)
    budget = RsaBudget()
    assert cut_key(PRE + fake_rsa_triple(), len(PRE), CutChecks(budget)) is None and budget.unchecked == 1
