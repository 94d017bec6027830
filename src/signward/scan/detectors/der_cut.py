"""DER private keys cut short (issue #32): the log line, dump or copy ends after the secret.

A PKCS#8 EC key (version 0, ecPublicKey with its curve's OID, then the OCTET STRING holding SEC1's
`02 01 01 04 20|30|42` and the scalar), a SEC1 key (`30 .. 02 01 01 04 20|30|42` and the scalar),
or a PKCS#1 / PKCS#8 RSA key read through d (n, e and d: the primes follow from them) is a key
even when what follows is missing or is not the rest of the structure. Each field is read by its
own header up to the secret, which must be there in full; the rest may run past the end of the
data. The scalar must lie in [1, n-1] for its curve (SEC1 names no curve: one of the curves of
its size); RSA's n must factor from e and d (a^(ed) = a mod n first, one exponentiation, then
`rsa_recover_prime_factors`). The finding spans the header to the declared end or to the end of
the data, whichever comes first. The DER detector asks this module about an anchor only when the
whole structure is not a key; RSA triples are checked at most `MAX_RSA_CHECKS` times per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

EC_PUBLIC_KEY = bytes.fromhex("2a8648ce3d0201")
RSA_ENCRYPTION = bytes.fromhex("2a864886f70d010101")
CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(), bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(), bytes.fromhex("2b8104000a"): ec.SECP256K1()}
ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int("ff" * 24 + "c7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16),
    "secp521r1": int("01ff" + "ff" * 31 + "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16),
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141}
SEC1_CURVES: list[ec.EllipticCurve] = [ec.SECP256R1(), ec.SECP256K1(), ec.SECP384R1(), ec.SECP521R1()]
SCALAR_SIZES = {"secp256r1": 32, "secp384r1": 48, "secp521r1": 66, "secp256k1": 32}
MIN_RSA_BITS, MAX_RSA_BITS = 512, 8192
MAX_RSA_CHECKS = 64  # n, e, d triples tried per chunk (each one exponentiation, the recovery only when it holds)


@dataclass
class CutChecks:
    """What is left of one chunk's bound on RSA checks."""

    rsa: int = MAX_RSA_CHECKS


def _header(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(tag, content start, content length) of the TLV at `at`; its content may run past the end."""
    if at + 2 > len(data):
        return None
    first = data[at + 1]
    if first < 0x80:
        return data[at], at + 2, first
    count = first & 0x7F
    if count == 0 or count > 3 or at + 2 + count > len(data):
        return None
    return data[at], at + 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big")


def _field(data: bytes, at: int, tag: int) -> tuple[int, int] | None:
    """(content start, end) of a `tag` value at `at` whose content is all there."""
    head = _header(data, at)
    if head is None or head[0] != tag or head[1] + head[2] > len(data):
        return None
    return head[1], head[1] + head[2]


def _ec_scalar(data: bytes, at: int, curves: list[ec.EllipticCurve]) -> tuple[Any, int] | None:
    """SEC1's `02 01 01 04 LL scalar` at `at`: the key and where the scalar ends, or None."""
    if data[at:at + 3] != b"\x02\x01\x01":
        return None
    octets = _field(data, at + 3, 0x04)
    if octets is None:
        return None
    scalar = int.from_bytes(data[octets[0]:octets[1]], "big")
    for curve in curves:
        if SCALAR_SIZES[curve.name] == octets[1] - octets[0] and 1 <= scalar < ORDERS[curve.name]:
            return ec.derive_private_key(scalar, curve), octets[1]
    return None


def _rsa_key(data: bytes, at: int, checks: CutChecks) -> tuple[Any, int] | None:
    """PKCS#1's `02 01 00`, n, e, d at `at` (the rest may be missing): the whole key when n factors
    from e and d, and where d ends."""
    if data[at:at + 3] != b"\x02\x01\x00":
        return None
    values, position = [], at + 3
    for _ in range(3):
        field = _field(data, position, 0x02)
        if field is None:
            return None
        values.append(int.from_bytes(data[field[0]:field[1]], "big", signed=True))
        position = field[1]
    n, e, d = values
    if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS or not 1 < e < n or not 1 < d < n or e % 2 == 0:
        return None
    if checks.rsa <= 0:
        return None
    checks.rsa -= 1
    if pow(2, e * d, n) != 2:
        return None
    try:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
    except ValueError:
        return None
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q),
                                    rsa.RSAPublicNumbers(e, n))
    return numbers.private_key(unsafe_skip_rsa_key_validation=True), position


def cut_key(data: bytes, start: int, checks: CutChecks) -> tuple[int, str, Any] | None:
    """A private key's DER prefix at `start` read through its secret (the rest may be missing):
    (length, kind, key), the span from `start` to the declared end or the data's end, or None."""
    outer = _header(data, start)
    if outer is None or outer[0] != 0x30:
        return None
    body, declared = outer[1], outer[1] + outer[2]
    found: tuple[Any, int] | None = None
    kind = ""
    if data[body:body + 3] == b"\x02\x01\x01":  # SEC1: the curve is named after the scalar, if at all
        found, kind = _ec_scalar(data, body, SEC1_CURVES), "sec1-ec"
    elif data[body:body + 3] == b"\x02\x01\x00" and data[body + 3:body + 4] == b"\x02":
        found, kind = _rsa_key(data, body, checks), "pkcs1-rsa"
    elif data[body:body + 3] == b"\x02\x01\x00":  # PKCS#8: AlgorithmIdentifier, then the OCTET STRING
        algorithm = _field(data, body + 3, 0x30)
        oid = _field(data, algorithm[0], 0x06) if algorithm is not None else None
        if algorithm is None or oid is None:
            return None
        inner = _header(data, algorithm[1])
        wrapped = _header(data, inner[1]) if inner is not None and inner[0] == 0x04 else None
        if wrapped is None or wrapped[0] != 0x30:
            return None
        if data[oid[0]:oid[1]] == EC_PUBLIC_KEY:
            curve = _field(data, oid[1], 0x06)
            named = CURVES.get(bytes(data[curve[0]:curve[1]])) if curve is not None else None
            if named is None:
                return None
            found, kind = _ec_scalar(data, wrapped[1], [named]), "pkcs8-ec"
        elif data[oid[0]:oid[1]] == RSA_ENCRYPTION:
            found, kind = _rsa_key(data, wrapped[1], checks), "pkcs8-rsa"
    if found is None or found[1] > declared:
        return None
    return min(declared, len(data)) - start, kind + "-cut-short", found[0]


__all__ = ["MAX_RSA_CHECKS", "CutChecks", "cut_key"]
