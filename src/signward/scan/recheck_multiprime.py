"""The independent reader's multi-prime RSA private keys (issue #32); none of the scanner's code
(detectors/multiprime.py reads the same keys its own way).

`cryptography` loads no RSAPrivateKey of version 1 (otherPrimeInfos, RFC 8017 A.1.2), so where a
whole DER value does not load, the reader walks it here: PKCS#8 (an INTEGER, the rsaEncryption
AlgorithmIdentifier, an OCTET STRING that is exactly the RSAPrivateKey; attributes may follow) or
the RSAPrivateKey alone: a version (any: a factorization is a key whatever it is numbered), eight
INTEGERs, then otherPrimeInfos: SEQUENCEs of exactly three INTEGERs (prime, exponent,
coefficient), together at most 16 primes; every INTEGER and n of at most 16,384 bits. A key is
what factors n: every prime above 1 and below n, and the primes multiply to n. The label says
whether d fits too (for every prime r: r - 1 divides e*d - 1 and r's exponent is d mod r - 1). No
exponentiation: the cost is the walk and a few products of numbers of at most 16,384 bits.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

_MOST, _LARGEST = 16, 16384
_FIELDS = 14  # fields walked in one value (a walk of a run of heads stops there)
# an RSAPrivateKey's fields, or PKCS#8's (version, AlgorithmIdentifier, OCTET STRING, [0] attributes, [1] public key)
_BODY = (b"\x02", b"\x02\x30", b"\x02\x04", b"\x02\xa0\x81\xa1", b"\x02\x81\xa1", b"\x02", b"\x02", b"\x02", b"\x02",
         b"\x30")
_RSA_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"


class _NotOne(Exception):
    """Not a multi-prime RSA key."""


def _walk(value: memoryview, tags: tuple[bytes, ...] = ()) -> list[tuple[int, memoryview]]:
    """The (tag, content) of each definite-length field that `value` holds, which they fill: at
    most `_FIELDS` (an RSAPrivateKey has 10, otherPrimeInfos 14 at most); views, not copies. Field
    i's tag must be one of `tags[i]` (any past the tuple's end): a run of heads stops early."""
    fields: list[tuple[int, memoryview]] = []
    at = 0
    while at < len(value):
        if at + 2 > len(value) or len(fields) >= _FIELDS:
            raise _NotOne
        tag, octet = value[at], value[at + 1]
        if len(fields) < len(tags) and tag not in tags[len(fields)]:
            raise _NotOne
        at += 2
        if octet & 0x80:
            width = octet & 0x7F
            if not 0 < width <= 3 or at + width > len(value):
                raise _NotOne
            octet, at = int.from_bytes(value[at:at + width], "big"), at + width
        if at + octet > len(value):
            raise _NotOne
        fields.append((tag, value[at:at + octet]))
        at += octet
    return fields


def _numbers(fields: list[tuple[int, memoryview]]) -> list[int]:
    if any(tag != 0x02 or not 0 < len(content) <= _LARGEST // 8 + 1 for tag, content in fields):
        raise _NotOne
    return [int.from_bytes(content, "big", signed=True) for _, content in fields]


def _key_fields(der: memoryview) -> list[tuple[int, memoryview]]:
    """The RSAPrivateKey's fields: `der` itself or the one PKCS#8 holds."""
    ((tag, body),) = _walk(der)
    if tag != 0x30:
        raise _NotOne
    fields = _walk(body, _BODY)
    if len(fields) >= 3 and fields[0][0] == 0x02 and fields[1][0] == 0x30:
        algorithm, private = fields[1][1], fields[2]
        if bytes(algorithm[:len(_RSA_OID)]) != _RSA_OID or private[0] != 0x04:
            raise _NotOne
        ((tag, body),) = _walk(private[1])
        if tag != 0x30:
            raise _NotOne
        fields = _walk(body, _BODY)
    return fields


def read_multiprime(der: bytes) -> tuple[str, Any] | None:
    """(label, stand-in key) of the multi-prime RSA key `der` is, or None. The stand-in has the
    key's n, e and d, the first prime as p and the rest's product as q (for the known-key match)."""
    try:
        fields = _key_fields(memoryview(der))
        if len(fields) != 10 or fields[9][0] != 0x30:
            raise _NotOne
        _, n, e, d, *firsts = _numbers(fields[:9])
        factors = [(firsts[0], firsts[2]), (firsts[1], firsts[3])]
        for tag, info in _walk(fields[9][1]):
            prime, exponent, _ = _numbers(_walk(info)) if tag == 0x30 else (0, 0, 0)
            factors.append((prime, exponent))
    except (_NotOne, ValueError):  # ValueError: not exactly one value, three numbers
        return None
    product = 1
    for prime, _ in factors:
        product *= prime if 1 < prime < n else 0
    if n.bit_length() > _LARGEST or product != n:
        return None
    fits = all((e * d - 1) % (r - 1) == 0 and exponent == d % (r - 1) for r, exponent in factors)
    label = f"multi-prime RSA key ({len(factors)} primes{'' if fits else ', d does not fit'})"
    rest = n // factors[0][0]
    try:
        key = rsa.RSAPrivateNumbers(factors[0][0], rest, d, d % (factors[0][0] - 1), d % (rest - 1),
                                    rsa.rsa_crt_iqmp(factors[0][0], rest),
                                    rsa.RSAPublicNumbers(e, n)).private_key(unsafe_skip_rsa_key_validation=True)
    except (ValueError, ArithmeticError):
        key = None
    return label, key


__all__ = ["read_multiprime"]
