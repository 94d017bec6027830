"""OpenPGP and GnuPG secret keys that are not armoured (detectors/openpgp.py, a pass of the `der`
detector): the real gpg's binary export and its agent's key files, and packets written by hand in
the forms RFC 4880 allows (new-format heads, secret subkeys)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signward.dumps import scan_path
from signward.scan.detectors.openpgp import MAX_HEADS, openpgp_keys

FILLER = b"\x00\x17" * 700
RSA_NUMBERS = rsa.generate_private_key(65537, 2048).private_numbers()
P384 = ec.generate_private_key(ec.SECP384R1())
KEYS = (("r@example.com", "rsa2048"), ("e@example.com", "nistp256"), ("d@example.com", "ed25519"))


@pytest.fixture(scope="module")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A GnuPG home with an RSA-2048, a P-256 and an Ed25519 key, no passphrase (the real gpg)."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (scripts/setup.sh installs gnupg)")
    tempfile_dir = str(tmp_path_factory.mktemp("g"))
    home = Path(tempfile_dir)
    os.chmod(home, 0o700)
    env = {**os.environ, "GNUPGHOME": tempfile_dir}
    try:
        for uid, algorithm in KEYS:
            subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, algorithm, "default",
                            "never"], env=env, check=True, capture_output=True, timeout=120)
        for uid, _ in KEYS:
            exported = subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
                                       "--export-secret-keys", uid], env=env, check=True, capture_output=True,
                                      timeout=60)
            (home / f"{uid[0]}.gpg").write_bytes(exported.stdout)
        yield home
    finally:
        subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False, capture_output=True, timeout=30)


@pytest.mark.parametrize("name", ["r.gpg", "e.gpg", "d.gpg"])
def test_gpgs_binary_export_is_found_packet_by_packet(gnupg: Path, tmp_path: Path, name: str) -> None:
    export = (gnupg / name).read_bytes()
    path = tmp_path / "backup.bin"
    path.write_bytes(FILLER + export + FILLER)
    kinds = [f.kind for f in scan_path(path, "der").findings]
    assert kinds and set(kinds) == {"openpgp-secret-key"}, kinds  # the key and its subkey


def test_the_agents_unprotected_key_files_are_found(gnupg: Path) -> None:
    files = sorted((gnupg / "private-keys-v1.d").glob("*.key"))
    assert len(files) >= 3
    for path in files:
        data = path.read_bytes()
        assert [kind for _, _, kind, _ in openpgp_keys(data, set())] == ["gnupg-private-key"], data[:80]


def _mpi(value: int) -> bytes:
    return struct.pack(">H", value.bit_length()) + value.to_bytes((value.bit_length() + 7) // 8, "big")


def _packet(tag: int, body: bytes, new_format: bool) -> bytes:
    if new_format:
        assert len(body) < 8384
        rest = len(body) - 192
        size = bytes([len(body)]) if len(body) < 192 else bytes([(rest >> 8) + 192, rest & 0xFF])
        return bytes([0xC0 | tag]) + size + body
    return bytes([0x80 | tag << 2 | 1]) + struct.pack(">H", len(body)) + body


def rsa_packet(tag: int, new_format: bool, usage: int = 0, q_off: int = 0) -> bytes:
    n = RSA_NUMBERS
    body = b"\x04" + struct.pack(">I", 1_733_600_000) + b"\x01" + _mpi(n.public_numbers.n) + _mpi(65537)
    body += bytes([usage]) + _mpi(n.d) + _mpi(n.p) + _mpi(n.q + q_off) + _mpi(n.iqmp) + b"\x12\x34"
    return _packet(tag, body, new_format)


def ec_packet(tag: int, new_format: bool, scalar_off: int = 0) -> bytes:
    key = P384
    numbers = key.private_numbers()
    point = (4 << 768) | (numbers.public_numbers.x << 384) | numbers.public_numbers.y
    oid = bytes.fromhex("2b81040022")
    body = b"\x04" + struct.pack(">I", 1_733_600_000) + b"\x13" + bytes([len(oid)]) + oid + _mpi(point)
    body += b"\x00" + _mpi(numbers.private_value + scalar_off) + b"\x56\x78"
    return _packet(tag, body, new_format)


@pytest.mark.parametrize(("tag", "new_format", "algorithm"), [
    (5, False, "rsa"), (7, False, "rsa"), (5, True, "rsa"), (7, True, "ec"), (5, False, "ec")],
    ids=["rsa-key-old", "rsa-subkey-old", "rsa-key-new", "p384-subkey-new", "p384-key-old"])
def test_each_packet_form_is_proven(tag: int, new_format: bool, algorithm: str) -> None:
    packet = (rsa_packet if algorithm == "rsa" else ec_packet)(tag, new_format)
    assert [(start, end, kind) for start, end, kind, _ in openpgp_keys(FILLER + packet + FILLER, set())] == [
        (len(FILLER), len(FILLER) + len(packet), "openpgp-secret-key")]


def test_a_protected_key_a_public_key_and_a_broken_factorization_are_not_findings() -> None:
    protected = rsa_packet(5, False, usage=254)  # S2K usage 254: the secret MPIs are encrypted
    public = rsa_packet(5, False)
    public = bytes([0x99]) + public[1:]  # tag 6, a Public-Key packet
    broken = rsa_packet(5, False, q_off=2)  # p * q is not n
    other_scalar = ec_packet(5, False, scalar_off=1)  # its point is not q
    sexp_protected = b"(protected-private-key (rsa (n #00AB#)(e #010001#)(protected openpgp-s2k3-ocb-aes ((d #00#)))))"
    sexp_without_d = b"(private-key (rsa (n #00AB12#)(e #010001#)))"
    for data in (protected, public, broken, other_scalar, sexp_protected, sexp_without_d):
        assert list(openpgp_keys(FILLER + data + FILLER, set())) == [], data[:16].hex()


def test_hostile_heads_and_expressions_cost_little() -> None:
    heads = (b"\x94\x10\x04" + b"\x00" * 4 + b"\x01") * (MAX_HEADS + 2000)
    cut: set[str] = set()
    started = time.process_time()
    assert list(openpgp_keys(heads, cut)) == [] and cut
    opened = b"(private-key (" * 80_000  # never closed: each byte is read in one window at most
    assert list(openpgp_keys(opened, set())) == []
    assert time.process_time() - started < 10


IMPORTED = (b"Created: 20261207T234107\nKey: (protected-private-key (rsa (n #00C9F8#)(e\n #010001#)"
            b"(protected openpgp-native (openpgp-private-key (version \"4\")(algo RSA)"
            b"(skey _ #0123# _ #4567# _\n #89AB#)(csum \"16415\")"
            b"(protection none)))))\n")
DSA_KEY = b"Key: (private-key (dsa (p #00F1#)(q #00C3#)(g #0A17#)(y #3B90#)(x #1D2E#)))\n"


def test_an_imported_key_without_passphrase_and_a_dsa_key_file_are_found() -> None:
    """gpg-agent writes a key imported without a passphrase as `(protected-private-key ... (protection
    none))`, its secrets in clear in `skey`; a DSA or Elgamal key's secret member is `x` (rt23)."""
    for data in (IMPORTED, DSA_KEY):
        assert [kind for _, _, kind, _ in openpgp_keys(data, set())] == ["gnupg-private-key"], data[:40]
    protected = IMPORTED.replace(b"(protection none)", b"(protection sha1 aes (s2k))")
    assert list(openpgp_keys(protected, set())) == []


def _body(algorithm: int, public: bytes, secret: bytes) -> bytes:
    return b"\x04" + struct.pack(">I", 1_733_600_000) + bytes([algorithm]) + public + b"\x00" + secret + b"\x9a\xbc"


def other_packets() -> dict[str, bytes]:
    """DSA (17) and Elgamal (16) keys, an ECDH Curve25519 subkey (gpg's default encryption subkey; its
    scalar in both byte orders) and a brainpoolP256r1 key, as Secret-Key / Secret-Subkey packets (rt23)."""
    import hashlib

    from cryptography.hazmat.primitives.asymmetric import x25519

    # the group's numbers (the proof is g^x = y mod p, which holds whatever p is; cryptography's DSA is deprecated)
    p = int.from_bytes(hashlib.shake_256(b"dsa group").digest(256), "big") | 1 << 2047 | 1
    q, g = int.from_bytes(hashlib.sha256(b"q").digest(), "big") | 1, 5
    x = int.from_bytes(hashlib.sha256(b"x").digest(), "big")
    elgamal_x = 0x1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF1234567890ABCDEF
    cv = x25519.X25519PrivateKey.generate()
    cv_point = _mpi(int.from_bytes(b"\x40" + cv.public_key().public_bytes_raw(), "big"))
    cv_oid = bytes.fromhex("2b060104019755010501")
    cv_public = bytes([len(cv_oid)]) + cv_oid + cv_point + b"\x03\x01\x08\x07"
    raw = cv.private_bytes_raw()
    brainpool = ec.generate_private_key(ec.BrainpoolP256R1()).private_numbers()
    bp_oid = bytes.fromhex("2b2403030208010107")
    bp_point = (4 << 512) | (brainpool.public_numbers.x << 256) | brainpool.public_numbers.y
    return {
        "dsa": _packet(5, _body(17, b"".join(_mpi(v) for v in (p, q, g, pow(g, x, p))), _mpi(x)), False),
        "elgamal": _packet(7, _body(16, b"".join(_mpi(v) for v in (p, g, pow(g, elgamal_x, p))), _mpi(elgamal_x)),
                           False),
        "cv25519-reversed": _packet(7, _body(18, cv_public, _mpi(int.from_bytes(raw[::-1], "big"))), True),
        "cv25519-native": _packet(7, _body(18, cv_public, _mpi(int.from_bytes(raw, "big"))), True),
        "brainpool-p256": _packet(5, _body(19, bytes([len(bp_oid)]) + bp_oid + _mpi(bp_point),
                                           _mpi(brainpool.private_value)), False),
    }


OTHER = other_packets()


@pytest.mark.parametrize("name", sorted(OTHER))
def test_dsa_elgamal_curve25519_and_brainpool_packets_are_proven(name: str) -> None:
    packet = OTHER[name]
    assert [(start, end, kind) for start, end, kind, _ in openpgp_keys(FILLER + packet + FILLER, set())] == [
        (len(FILLER), len(FILLER) + len(packet), "openpgp-secret-key")]


def test_a_dsa_packet_whose_x_is_not_its_key_is_not_a_finding() -> None:
    packet = bytearray(OTHER["dsa"])
    packet[-4] ^= 1  # x's last octet (before the checksum)
    assert list(openpgp_keys(FILLER + bytes(packet) + FILLER, set())) == []
