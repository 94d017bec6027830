"""The independent reader's rules for Windows key blobs, OpenPGP secret key packets and gpg-agent key
files (recheck_platform_keys.py), on the forms the scanner's tests write (tests/scan/test_win_blobs.py,
test_openpgp.py) and their near misses: each found by the reader alone, with no known key."""

from __future__ import annotations

import pytest

from signward.scan.recheck import recheck_bytes
from tests.scan.test_openpgp import ec_packet, rsa_packet
from tests.scan.test_win_blobs import BLOBS, FILLER, _public_and_wrong

KINDS = {"capi": "key-blob", "cng": "key-blob"}


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_the_reader_proves_each_key_blob(name: str) -> None:
    blob = BLOBS[name][0]()
    report = recheck_bytes(FILLER[:1003] + blob + FILLER)
    found = [(f.kind, f.span) for f in report.findings if f.kind == "key-blob"]
    assert found == [("key-blob", (1003, 1003 + len(blob)))], report.findings


@pytest.mark.parametrize("case", sorted(_public_and_wrong()))
def test_the_reader_takes_no_public_or_unproven_blob(case: str) -> None:
    report = recheck_bytes(FILLER + _public_and_wrong()[case] + FILLER)
    assert [f for f in report.findings if f.kind == "key-blob"] == [] and not report.incomplete


@pytest.mark.parametrize(("tag", "new_format", "algorithm"), [(5, False, "rsa"), (7, True, "rsa"), (5, True, "ec")],
                         ids=["rsa-key-old", "rsa-subkey-new", "p384-key-new"])
def test_the_reader_proves_each_secret_key_packet(tag: int, new_format: bool, algorithm: str) -> None:
    packet = (rsa_packet if algorithm == "rsa" else ec_packet)(tag, new_format)
    report = recheck_bytes(b"\x00\x17" * 700 + packet + b"\x00\x17" * 700)
    assert [(f.kind, f.span) for f in report.findings if f.kind == "openpgp"] == [
        ("openpgp", (1400, 1400 + len(packet)))], report.findings


def test_the_reader_takes_no_protected_or_broken_packet() -> None:
    for data in (rsa_packet(5, False, usage=254), rsa_packet(5, False, q_off=2), ec_packet(5, False, scalar_off=1)):
        assert [f for f in recheck_bytes(b"\x00" * 64 + data + b"\x00" * 64).findings if f.kind == "openpgp"] == []


def test_the_reader_finds_an_unprotected_agent_key_and_not_a_protected_or_public_one() -> None:
    key = b"Created: 20261207T233136\nKey: (private-key (ecc (curve \"NIST P-256\")(q\n  #04AB#)(d\n  #0E22EA#)))\n"
    protected = key.replace(b"(private-key", b"(protected-private-key")
    assert [f.kind for f in recheck_bytes(key).findings if f.kind == "gnupg-key"] == ["gnupg-key"]
    public_only = b"(private-key (rsa (n #00AB12#)(e #010001#)))"
    for data in (protected, public_only):
        assert [f.kind for f in recheck_bytes(data).findings if f.kind == "gnupg-key"] == []


def test_hostile_expressions_are_read_once_each() -> None:
    import time

    started = time.process_time()
    report = recheck_bytes(b"(private-key (" * 200_000)  # never closed: 2.8 MB, each byte read in one window
    assert [f for f in report.findings if f.kind == "gnupg-key"] == []
    assert time.process_time() - started < 30


def test_the_reader_finds_an_imported_key_without_passphrase_and_a_dsa_key_file() -> None:
    from tests.scan.test_openpgp import DSA_KEY, IMPORTED

    for data in (IMPORTED, DSA_KEY):
        assert [f.kind for f in recheck_bytes(data).findings if f.kind == "gnupg-key"] == ["gnupg-key"], data[:40]
    protected = IMPORTED.replace(b"(protection none)", b"(protection sha1 aes (s2k))")
    assert [f for f in recheck_bytes(protected).findings if f.kind == "gnupg-key"] == []


@pytest.mark.parametrize("name", ["dsa", "elgamal", "cv25519-reversed", "cv25519-native", "brainpool-p256"])
def test_the_reader_proves_dsa_elgamal_curve25519_and_brainpool_packets(name: str) -> None:
    from tests.scan.test_openpgp import OTHER

    packet = OTHER[name]
    report = recheck_bytes(b"\x00\x17" * 700 + packet + b"\x00\x17" * 700)
    assert [(f.kind, f.span) for f in report.findings if f.kind == "openpgp"] == [
        ("openpgp", (1400, 1400 + len(packet)))], report.findings
