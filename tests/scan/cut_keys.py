"""DER private keys cut short after their secret (issue #32, rt18 group F), from fixed keys, and
the forms they reach a dump in: raw between a crash report's lines, `od -td4`, a Python list."""

from __future__ import annotations

import random
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.scan.material import RSA

SCALAR = 0x5F1C3A7E9B2D4C6E8F0A1B3C5D7E9F2A4B6C8D0E1F3A5B7C9D2E4F6A8B0C1D3E
EC_KEY = ec.derive_private_key(SCALAR, ec.SECP256R1())
PRE, POST = b"crash report for pid 4242\nregion dump follows\n", b"\nend of region\n"
FILLER = random.Random(18).randbytes(64)


def der(key: object, pkcs8: bool = True) -> bytes:
    """The key's DER: PKCS#8, else SEC1 / PKCS#1."""
    form = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.DER, form, serialization.NoEncryption())  # type: ignore[attr-defined]


def ec_cut(pkcs8: bool = True) -> bytes:
    """EC_KEY's DER up to and including its scalar, nothing after."""
    whole = der(EC_KEY, pkcs8)
    return whole[:whole.index(SCALAR.to_bytes(32, "big")) + 32]


def rsa_cut(pkcs8: bool = True) -> bytes:
    """RSA's DER up to and including d (n, e and d are all there), nothing after."""
    whole = der(RSA, pkcs8)
    d = RSA.private_numbers().d
    return whole[:whole.index(d.to_bytes((d.bit_length() + 7) // 8, "big")) + (d.bit_length() + 7) // 8]


def raw(cut: bytes) -> bytes:
    return PRE + FILLER + cut + POST


def od_td4(cut: bytes) -> bytes:
    """`od -td4` as it prints (little-endian signed 32-bit words, octal offsets; the last word
    padded with zero bytes, the last offset the real length)."""
    padded = cut + bytes(-len(cut) % 4)
    rows = [b"%07o" % at + b"".join(b" %11d" % int.from_bytes(padded[i:i + 4], "little", signed=True)
                                    for i in range(at, min(at + 16, len(padded)), 4))
            for at in range(0, len(padded), 16)]
    return PRE + b"\n".join(rows) + b"\n%07o\n" % len(cut) + POST


def python_list(cut: bytes) -> bytes:
    return PRE + str(list(cut)).encode() + b"\n" + POST


# rt19: the heads BER writers (BouncyCastle, hand-rolled encoders) give the same keys, cut after the secret
SEED = bytes(range(7, 39))  # a fixed Ed25519 seed (any 32 bytes are one)
ED25519_ALGORITHM = bytes.fromhex("300506032b6570")


def ed25519_v2_cut() -> bytes:
    """BouncyCastle's OneAsymmetricKey v2 of SEED (`30 51 02 01 01 30 05 06 03 2b 65 70 04 22 04 20`),
    cut after the seed (its `81 21 00 <public key>` missing)."""
    return b"\x30\x51\x02\x01\x01" + ED25519_ALGORITHM + b"\x04\x22\x04\x20" + SEED


def _rsa_body() -> bytes:
    """PKCS#1's content cut after d (from `02 01 00`)."""
    cut = rsa_cut(pkcs8=False)
    return cut[4:]  # `30 82 LL LL`


def ber_cuts() -> dict[str, bytes]:
    """The rt19 heads of a key cut after its secret: long and indefinite outer lengths, BER versions,
    a 33-byte scalar, an outer length shorter than the secret; SEC1 of EC_KEY, PKCS#1 of RSA, Ed25519."""
    sec1 = ec_cut(pkcs8=False)[2:]  # `02 01 01 04 20 <scalar>` (declared 0x77)
    scalar = sec1[5:]
    rsa_body = _rsa_body()
    rsa_size = 0x0100 + len(rsa_body)  # what the whole key would declare: past the data
    return {
        "sec1-outer-84": b"\x30\x84\x00\x00\x00\x77" + sec1,
        "sec1-outer-83": b"\x30\x83\x00\x00\x77" + sec1,
        "sec1-outer-85": b"\x30\x85\x00\x00\x00\x00\x77" + sec1,  # BER: a long form of up to 126 octets
        "sec1-outer-88": b"\x30\x88" + bytes(7) + b"\x77" + sec1,
        "sec1-outer-indefinite": b"\x30\x80" + sec1,
        "sec1-version-ber": b"\x30\x78\x02\x02\x00\x01\x04\x20" + scalar,
        "sec1-version-8101": b"\x30\x78\x02\x81\x01\x01\x04\x20" + scalar,
        "sec1-scalar-33": b"\x30\x78\x02\x01\x01\x04\x21\x00" + scalar,
        "sec1-outer-short": b"\x30\x10\x02\x01\x01\x04\x20" + scalar,
        "ed25519-v2": ed25519_v2_cut(),
        "rsa-outer-84": b"\x30\x84" + rsa_size.to_bytes(4, "big") + rsa_body,
        "rsa-outer-88": b"\x30\x88" + rsa_size.to_bytes(8, "big") + rsa_body,
        "rsa-version-ber": b"\x30\x82" + (rsa_size + 1).to_bytes(2, "big") + b"\x02\x02\x00\x00" + rsa_body[3:],
        "rsa-outer-short": b"\x30\x82\x01\x00" + rsa_body,
    }


def fake_rsa_triple(head: bytes = b"\x30\x82") -> bytes:
    """rt19's cost case: a PKCS#1 prefix of n, e and d of 8,192 bits (fixed, not a key) that passes
    every cheap test, so only the exponentiation (seconds) could tell."""
    draw = random.Random(19)
    n = draw.getrandbits(8192) | (1 << 8191) | 1
    e, d = draw.getrandbits(8190) | 1, draw.getrandbits(8190)
    body = b"\x02\x01\x00" + b"".join(b"\x02\x82" + len(v).to_bytes(2, "big") + v
                                      for v in (x.to_bytes((x.bit_length() + 8) // 8, "big") for x in (n, e, d)))
    size = len(body).to_bytes(2 if head == b"\x30\x82" else 4, "big")
    return head + size + body


def not_keys() -> list[bytes]:
    """Heads a cut-short rule must not take: an EC public key behind a long-form `30 84`, a public
    key cut short, an Ed25519 public key, a certificate's long head, a seed behind Ed448's OID."""
    spki = EC_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    long_head = b"\x30\x84" + len(spki[2:]).to_bytes(4, "big")
    ed_public = bytes.fromhex("302a300506032b6570032100") + SEED
    certificate_head = b"\x30\x84\x00\x00\x02\x00\x30\x84\x00\x00\x01\xa0\xa0\x03\x02\x01\x02\x02\x01\x12"
    seed_in_a_sequence = b"\x30\x80\x02\x01\x01\x30\x05\x06\x03\x2b\x65\x71\x04\x22\x04\x20" + SEED  # Ed448's OID
    return [long_head + spki[2:], spki[:40], ed_public, certificate_head + FILLER, seed_in_a_sequence]


# the keys cut short after their secret both readers' tests read, and the printed forms they read them in
CUT_KEYS: dict[str, Callable[[], bytes]] = {
    "pkcs8-ec": ec_cut,
    "sec1-ec": lambda: ec_cut(pkcs8=False),
    "pkcs8-rsa": rsa_cut,
    "pkcs1-rsa": lambda: rsa_cut(pkcs8=False),
}
CUT_FORMS: dict[str, Callable[[bytes], bytes]] = {"raw": raw, "od-td4": od_td4, "python-list": python_list}
