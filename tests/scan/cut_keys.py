"""DER private keys cut short after their secret (issue #32, rt18 group F), from fixed keys, and
the forms they reach a dump in: raw between a crash report's lines, `od -td4`, a Python list."""

from __future__ import annotations

import random

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
