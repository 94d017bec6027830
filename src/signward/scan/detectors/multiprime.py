"""Multi-prime RSA private keys (issue #32): PKCS#1's RSAPrivateKey version 1 with its
otherPrimeInfos (RFC 8017 A.1.2; `openssl genpkey -pkeyopt rsa_keygen_primes:3`), bare or as
PKCS#8's privateKey. `cryptography` refuses to load them, so `der.classify_der` asks this module
where loading fails.

The structure is read whole and exactly: version (1 as written; any version is read, fail
closed), n, e, d, p, q, dP, dQ, qInv, then a SEQUENCE of OtherPrimeInfo SEQUENCEs (r, d, t), each
field a definite-length INTEGER of at most `MAX_BITS` bits filling its SEQUENCE; at most
`MAX_PRIMES` primes, n of at most `MAX_BITS` bits. The proof is the key itself: every prime in
(1, n) and their product n (a factorization of n: the secret whatever d says). d is then checked
against every prime (e*d = 1 mod r - 1 and the prime's exponent is d mod r - 1: pow(2, e*d, n) == 2
for a product of distinct primes, without a modular exponentiation); a key whose d does not check
is still reported (its primes are there) as kind `...-multiprime-primes`. The cost is a few
multiplications of numbers of at most `MAX_BITS` bits (no exponentiation), so no work budget.

The key reported stands in for the multi-prime key: n, e and d as written, p the first prime and q
the product of the others (its public half is the key's, so a known key is matched).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from .tlv import read_head

MAX_PRIMES, MAX_BITS = 16, 16384
MAX_LENGTH_BYTES = 3  # a 16,384-bit key's DER is under 16 MiB
RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")


def _tlv(blob: bytes, at: int, end: int) -> tuple[int, int, int] | None:
    """(tag, content start, content end) of the definite-length value at `at`, all before `end`."""
    head = read_head(blob, at, end, octets=MAX_LENGTH_BYTES)
    if head is None or head.length is None or head.start + head.length > end:
        return None
    return head.tag, head.start, head.start + head.length


def _integers(blob: bytes, at: int, end: int, count: int) -> tuple[list[int], int] | None:
    """`count` INTEGERs from `at` (non-negative), and where the last ends."""
    values = []
    for _ in range(count):
        field = _tlv(blob, at, end)
        if field is None or field[0] != 0x02 or not 0 < field[2] - field[1] <= MAX_BITS // 8 + 1:
            return None
        values.append(int.from_bytes(blob[field[1]:field[2]], "big", signed=True))
        at = field[2]
    return values, at


def _rsa_private_key(blob: bytes, start: int, end: int) -> tuple[list[int], list[tuple[int, int]]] | None:
    """The RSAPrivateKey version 1 that fills [start, end): ([n, e, d], [(prime, exponent), ...])."""
    head = _integers(blob, start, end, 9)
    if head is None:
        return None
    (_, n, e, d, p, q, dp, dq, _), at = head
    others = _tlv(blob, at, end)
    if others is None or others[0] != 0x30 or others[2] != end:
        return None
    primes, at = [(p, dp), (q, dq)], others[1]
    while at < end:
        info = _tlv(blob, at, end)
        if info is None or info[0] != 0x30 or len(primes) >= MAX_PRIMES:
            return None
        triple = _integers(blob, info[1], info[2], 3)
        if triple is None or triple[1] != info[2]:
            return None
        primes.append((triple[0][0], triple[0][1]))
        at = info[2]
    return [n, e, d], primes


def _proven(n: int, primes: list[tuple[int, int]]) -> bool:
    """The primes are a factorization of n: each in (1, n), their product n."""
    if n.bit_length() > MAX_BITS:
        return False
    product = 1
    for prime, _ in primes:
        if not 1 < prime < n:
            return False
        product *= prime
    return product == n


def _d_checks(e: int, d: int, primes: list[tuple[int, int]]) -> bool:
    """e*d = 1 mod (r - 1) for every prime r, and each prime's exponent is d mod (r - 1)."""
    return all((e * d - 1) % (prime - 1) == 0 and exponent == d % (prime - 1) for prime, exponent in primes)


def _stand_in(n: int, e: int, d: int, first: int) -> Any:
    """A cryptography key with the multi-prime key's public half and d (p: the first prime)."""
    other = n // first
    try:
        return rsa.RSAPrivateNumbers(first, other, d, d % (first - 1), d % (other - 1), rsa.rsa_crt_iqmp(first, other),
                                     rsa.RSAPublicNumbers(e, n)).private_key(unsafe_skip_rsa_key_validation=True)
    except (ValueError, ArithmeticError):
        return None


def multiprime_key(blob: bytes) -> tuple[str, Any] | None:
    """(kind, stand-in key) of the multi-prime RSA key that `blob` is exactly (PKCS#1, or PKCS#8
    holding one), or None."""
    outer = _tlv(blob, 0, len(blob))
    if outer is None or outer[0] != 0x30 or outer[2] != len(blob):
        return None
    body, end = outer[1], outer[2]
    version = _tlv(blob, body, end)
    if version is None or version[0] != 0x02:
        return None
    kind, inner = "pkcs1-rsa-multiprime", (body, end)
    if blob[version[2]:version[2] + 1] == b"\x30":  # PKCS#8: version, AlgorithmIdentifier, privateKey
        algorithm = _tlv(blob, version[2], end)
        octets = _tlv(blob, algorithm[2], end) if algorithm is not None else None
        if algorithm is None or octets is None or octets[0] != 0x04:
            return None
        wrapped = _tlv(blob, octets[1], octets[2])
        if (not blob[algorithm[1]:algorithm[2]].startswith(RSA_ENCRYPTION) or wrapped is None
                or wrapped[0] != 0x30 or wrapped[2] != octets[2]):
            return None
        kind, inner = "pkcs8-rsa-multiprime", (wrapped[1], wrapped[2])
    read = _rsa_private_key(blob, *inner)
    if read is None:
        return None
    (n, e, d), primes = read
    if not _proven(n, primes):
        return None
    if not _d_checks(e, d, primes):
        kind += "-primes"
    return kind, _stand_in(n, e, d, primes[0][0])


__all__ = ["MAX_BITS", "MAX_PRIMES", "multiprime_key"]
