"""Each detector on planted material: found where planted, in every layout it claims."""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa, x25519
from cryptography.hazmat.primitives.serialization import pkcs12
from joserfc.jwk import ECKey, OctKey, RSAKey

from signward.dumps import KnownKeys, scan_path
from signward.scan.detectors.aes import expand_key
from signward.scan.knownkeys import aes_key_id
from tests.scan.material import EC, ED, NUMBERS, RSA, known
from tests.scan.planting import be, image, java, le

NONE = serialization.NoEncryption()


def found(path: Path, detectors: str, keys: KnownKeys | None = None) -> set[tuple[int, str, str, str]]:
    report = scan_path(path, detectors, keys)
    return {(f.offset, f.detector, f.kind, f.encoding) for f in report.findings}


@pytest.mark.parametrize("layout,offset", [("le", 4096), ("le", 4100), ("be", 4097), ("java", 4100)])
def test_rsa_prime_in_every_layout_and_alignment(tmp_path: Path, layout: str, offset: int) -> None:
    encode = {"le": le, "be": be, "java": java}[layout]
    path = image(tmp_path / "img", 1 << 20, {offset: encode(NUMBERS.p, 128)})
    assert (offset, "known-key", "rsa-prime", layout) in found(path, "known-key", known(RSA))


def test_rsa_private_exponent_alone_near_the_modulus(tmp_path: Path) -> None:
    n = NUMBERS.public_numbers.n
    path = image(tmp_path / "img", 1 << 20, {8192: le(n, 256), 9000: le(NUMBERS.d, 256)})
    assert (9000, "known-key", "rsa-private-exponent", "le") in found(path, "known-key", known(RSA))


# a key whose p - 1 and q - 1 share 15,210 (one random 2048-bit key in about 200 shares more than 256;
# drawn by the session-random key of test_rsa_private_exponent_alone_near_the_modulus, it was missed)
SHARED_P = int("d881db17eea26868126183fcc26bb97ff652f234593f8853c13658be5445bf4729a4aa3685e1ea02b6cfce82720374bd"
               "94b7a7a75ac961bed89ea9b5cd77ea54bd94a9e5cf9863510f480fc4192349dd7492c56a50d84a773097f0228d8809c8"
               "3942a4558d49533de9a41669866ab7427448da9fda83f417949caada936e585d", 16)
SHARED_Q = int("bbb6a8e1e69a42e4817fb2bcffd33c64c60f5eb4dacfd23bc1c6a3e16c79208742ab22c22a606f7dce409196b2b07008"
               "f2f756972739d5f9c7c3361087cd6a3b28499ab737996887522ebf2b3359f7fc19f96d4a244cc8d76df14e5785b11e72"
               "b4c0d30e68c30b005b818bbfcc963c60e044c759a315339543636b2099a77af7", 16)


@pytest.mark.parametrize("modulus", ["lambda", "phi"])
def test_rsa_private_exponent_alone_near_the_modulus_when_the_primes_share_a_large_factor(
        tmp_path: Path, modulus: str) -> None:
    p, q, e = SHARED_P, SHARED_Q, 65537
    assert math.gcd(p - 1, q - 1) == 15_210
    phi = (p - 1) * (q - 1)
    d = pow(e, -1, phi // 15_210 if modulus == "lambda" else phi)
    key = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
                                rsa.RSAPublicNumbers(e, p * q)).private_key()
    path = image(tmp_path / "img", 1 << 20, {8192: le(p * q, 256), 9000: le(d, 256)}, filler="zero")
    assert (9000, "known-key", "rsa-private-exponent", "le") in found(path, "known-key", known(key))


def test_found_prime_leads_to_every_other_private_value(tmp_path: Path) -> None:
    path = image(tmp_path / "img", 1 << 20, {1024: le(NUMBERS.p, 128), 300_000: be(NUMBERS.dmq1, 128),
                                             600_000: java(NUMBERS.iqmp, 128)})
    hits = found(path, "known-key", known(RSA))
    # a dmq1 shorter than 128 bytes (about 1 key in 150) is found where its first byte is
    at = 300_000 + 128 - (NUMBERS.dmq1.bit_length() + 7) // 8
    assert (at, "known-key", "rsa-crt-exponent", "be") in hits
    assert (600_000, "known-key", "rsa-crt-coefficient", "java") in hits


def test_ec_scalar_and_ed25519_seed(tmp_path: Path) -> None:
    scalar = EC.private_numbers().private_value
    seed = ED.private_bytes_raw()
    path = image(tmp_path / "img", 2 << 20, {40_000: le(scalar, 32), 900_008: be(scalar, 32), 1_500_000: seed})
    hits = found(path, "known-key", known(EC, ED))
    assert (40_000, "known-key", "ec-private-scalar", "le") in hits
    assert (900_008, "known-key", "ec-private-scalar", "be") in hits
    assert (1_500_000, "known-key", "ed25519-seed", "raw") in hits


@pytest.mark.parametrize("filler", ["mixed", "zero"])
def test_byte_strings_at_unaligned_offsets_far_from_their_public_keys(tmp_path: Path, filler: str) -> None:
    """A big-endian EC scalar or an Ed25519 seed kept by itself in a byte buffer, at any offset
    (with a length word and text beside it, as a serialized record would have)."""
    scalar = EC.private_numbers().private_value
    plants = {(1 << 19) - 3: b"\x20\x00\x00\x00\x00\x00\x00\x00" + be(scalar, 32) + b"record end\0",
              (1 << 18) + 3: ED.private_bytes_raw() + b"\0\0\0\0seed of drill key"}
    path = image(tmp_path / "img", 1 << 20, plants, filler=filler)
    hits = found(path, "known-key", known(EC, ED))
    assert ((1 << 19) + 5, "known-key", "ec-private-scalar", "be") in hits
    assert ((1 << 18) + 3, "known-key", "ed25519-seed", "raw") in hits


@pytest.mark.parametrize("side", ["before", "after"])
def test_an_ec_scalar_kept_by_itself_in_a_block_dense_with_random_data(tmp_path: Path, side: str) -> None:
    """Regression (a CI run refused a canary core as canary_missed: ec-in-memory): an OpenSSL
    BIGNUM scalar is its own small allocation (a malloc header before it, the next one after),
    but when the heap packs it into the same 64 KiB block as an RSA key's BIGNUMs and an AES
    state, the block holds over 512 random-looking windows and the full pass dropped the whole
    block. A value kept by itself is a candidate however dense its block."""
    scalar = EC.private_numbers().private_value
    block = 3 * 65536
    dense = (block + 40_000) if side == "after" else block + 1_000
    allocation = b"\x31" + b"\0" * 7 + le(scalar, 32) + b"\x21" + b"\0" * 7  # header, 4 limbs, next header
    at = block + 20_000
    path = image(tmp_path / "img", 1 << 20, {dense: os.urandom(8192), at - 8: allocation}, filler="mixed")
    assert (at, "known-key", "ec-private-scalar", "le") in found(path, "known-key", known(EC))


def test_ed25519_seed_near_its_public_key_at_odd_alignment(tmp_path: Path) -> None:
    public = ED.public_key().public_bytes_raw()
    path = image(tmp_path / "img", 1 << 20, {100_000: public, 100_203: ED.private_bytes_raw()})
    assert (100_203, "known-key", "ed25519-seed", "raw") in found(path, "known-key", known(ED))


def test_unknown_rsa_needs_no_public_key(tmp_path: Path) -> None:
    n = NUMBERS.public_numbers.n
    path = image(tmp_path / "img", 1 << 20, {16_384: le(n, 256), 20_480: le(NUMBERS.p, 128),
                                             20_736: le(NUMBERS.q, 128)})
    hits = found(path, "unknown-rsa")
    assert {(20_480, "unknown-rsa", "rsa-prime", "le"), (20_736, "unknown-rsa", "rsa-prime", "le")} <= hits


@pytest.mark.parametrize("size", [16, 24, 32])
def test_aes_schedules_standard_and_word_swapped_at_any_offset(tmp_path: Path, size: int) -> None:
    key = os.urandom(size)
    schedule = expand_key(key)
    swapped = b"".join(schedule[i:i + 4][::-1] for i in range(0, len(schedule), 4))
    path = image(tmp_path / "img", 1 << 20, {5003: schedule, 70_002: swapped}, filler="random")
    report = scan_path(path, "aes", KnownKeys(secret_ids=[aes_key_id(key)]))
    hits = {(f.offset, f.kind, f.encoding, f.kid) for f in report.findings}
    bits = size * 8
    assert (5003, f"aes-{bits}-schedule", "schedule", aes_key_id(key)) in hits
    assert (70_002, f"aes-{bits}-schedule", "schedule-words-swapped", aes_key_id(key)) in hits


def test_aes_expansion_matches_fips197() -> None:
    assert expand_key(bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c"))[-4:].hex() == "b6630ca6"
    assert expand_key(bytes.fromhex("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"))[-4:].hex() == "01002202"
    key256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
    assert expand_key(bytes.fromhex(key256))[-4:].hex() == "706c631e"


def _der(key: object, fmt: serialization.PrivateFormat, password: bytes | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else NONE
    return key.private_bytes(serialization.Encoding.DER, fmt, encryption)  # type: ignore[attr-defined,no-any-return]


DER_CASES = {
    "pkcs1-rsa": lambda: _der(RSA, serialization.PrivateFormat.TraditionalOpenSSL),
    "pkcs8-rsa": lambda: _der(RSA, serialization.PrivateFormat.PKCS8),
    "pkcs8-ec": lambda: _der(EC, serialization.PrivateFormat.PKCS8),
    "sec1-ec": lambda: _der(EC, serialization.PrivateFormat.TraditionalOpenSSL),
    "pkcs8-ed25519": lambda: _der(ED, serialization.PrivateFormat.PKCS8),
    "pkcs8-x25519": lambda: _der(x25519.X25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8),
    "pkcs8-encrypted": lambda: _der(EC, serialization.PrivateFormat.PKCS8, b"pw"),
    "pkcs12": lambda: pkcs12.serialize_key_and_certificates(
        b"x", EC, None, None, serialization.BestAvailableEncryption(b"pw")),
}


@pytest.mark.parametrize("kind", sorted(DER_CASES))
def test_der_structures_are_parsed_and_named(tmp_path: Path, kind: str) -> None:
    blob = DER_CASES[kind]()
    path = image(tmp_path / "img", 1 << 20, {77_777: blob})
    assert (77_777, "der", kind, "der") in found(path, "der")


def test_der_short_forms_are_the_ones_named_in_the_issue() -> None:
    assert DER_CASES["pkcs8-ec"]()[:3] == b"\x30\x81\x87"
    assert DER_CASES["pkcs8-ed25519"]()[:2] == b"\x30\x2e"
    assert b"\x02\x01\x01\x04\x20" in DER_CASES["sec1-ec"]()


def test_a_certificate_or_public_key_is_not_a_finding(tmp_path: Path) -> None:
    public = RSA.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = RSA.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    path = image(tmp_path / "img", 1 << 20, {1000: public, 50_000: pem,
                                             90_000: b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"})
    assert found(path, "text,der") == set()


def test_text_encodings(tmp_path: Path) -> None:
    pem = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NONE)
    openssh = ED.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, NONE)
    bare = base64.b64encode(_der(EC, serialization.PrivateFormat.PKCS8))
    jwk = json.dumps(RSAKey.import_key(RSA).as_dict(private=True)).encode()
    oct_jwk = json.dumps({"keys": [OctKey.generate_key(256).as_dict(private=True)]}).encode()
    putty = (b"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 2\n"
             b"AAAAC3NzaC1lZDI1NTE5AAAAIC\nAAAA\nPrivate-Lines: 1\nAAAAIGdpc3QgYmFzZTY0IGJvZHkgZm9yIGEgdGVzdA==\n"
             b"Private-MAC: 0123456789abcdef0123456789abcdef\n")
    plants = {10_000: pem, 20_000: openssh, 30_000: bare, 40_000: jwk, 50_000: oct_jwk, 60_000: putty,
              70_000: ECKey.import_key(EC).as_dict(private=True)["d"].encode().join([b'{"d": "', b'" '])}
    plants[80_000] = pem.decode().encode("utf-16-le")
    path = image(tmp_path / "img", 1 << 20, plants)
    hits = {(o, kind, enc) for o, _, kind, enc in found(path, "text", known(RSA, EC, ED))}
    assert (10_000, "pem-private-key", "ascii") in hits
    assert (20_000, "pem-openssh-private-key", "ascii") in hits
    assert (30_000, "base64-pkcs8-ec", "ascii") in hits
    assert (40_000, "jwk-rsa-private", "ascii") in hits
    assert any(o >= 50_000 and o < 50_100 and kind == "jwk-oct-private" for o, kind, _ in hits)
    assert (60_000, "putty-private-key", "ascii") in hits
    assert any(60_000 < o < 70_100 and kind == "jwk-private-member" for o, kind, _ in hits)
    assert (80_000, "pem-private-key", "utf-16le") in hits


def test_text_findings_matched_to_known_keys_are_verified(tmp_path: Path) -> None:
    pem = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NONE)
    path = image(tmp_path / "img", 1 << 20, {10_000: pem})
    report = scan_path(path, "text", known(RSA))
    (finding,) = [f for f in report.findings if f.offset == 10_000]
    assert finding.verified and finding.kid == known(RSA).keys[0].kid


def test_entropy_is_advisory_and_off_by_default(tmp_path: Path) -> None:
    path = image(tmp_path / "img", 1 << 20, {1 << 19: os.urandom(64 << 10)}, filler="zero")
    assert scan_path(path).findings == []
    report = scan_path(path, "entropy")
    assert [(f.offset, f.length, f.advisory) for f in report.findings] == [(1 << 19, 64 << 10, True)]
