"""Multi-prime RSA keys made by the real openssl (`genpkey -pkeyopt rsa_keygen_primes:K`; openssl
allows 3 primes from 1,024 bits, 4 from 4,096), their numbers as `openssl asn1parse` prints them,
and the same structure written again with other numbers (near-misses, the bounds)."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

KEYS = {"3-primes-2048": (3, 2048), "3-primes-3072": (3, 3072), "4-primes-4096": (4, 4096)}
PRE, POST = b"crash report for pid 4242\nregion dump follows\n\x00\x07", b"\x00\x00\nend of region\n"


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


@functools.cache
def pem(case: str) -> bytes:
    """The case's key as `openssl genpkey` writes it (PKCS#8 PEM)."""
    primes, bits = KEYS[case]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "key.pem"
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}",
                 "-pkeyopt", f"rsa_keygen_primes:{primes}", "-out", str(path))
        return path.read_bytes()


@functools.cache
def pkcs1(case: str) -> bytes:
    """The key's RSAPrivateKey DER (version 1, otherPrimeInfos), by `openssl rsa -traditional`."""
    return _openssl("rsa", "-traditional", "-outform", "DER", data=pem(case))


@functools.cache
def pkcs8(case: str) -> bytes:
    return _openssl("pkcs8", "-topk8", "-nocrypt", "-outform", "DER", data=pem(case))


@functools.cache
def numbers(case: str) -> list[int]:
    """Every INTEGER of the key in order (version, n, e, d, p, q, dP, dQ, qInv, then r, d, t per
    other prime), as `openssl asn1parse` reads them."""
    text = _openssl("asn1parse", "-inform", "DER", data=pkcs1(case)).decode()
    return [int(line.rsplit(":", 1)[1], 16) for line in text.splitlines() if "prim: INTEGER" in line]


@functools.cache
def prime(bits: int, index: int) -> int:
    """A prime of `bits` bits from `openssl prime -generate` (`index` tells calls apart)."""
    del index
    return int(_openssl("prime", "-generate", "-bits", str(bits)).strip())


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    head = bytes([size]) if size < 0x80 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + size.to_bytes(
        (size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + head + content


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def encode(values: list[int]) -> bytes:
    """An RSAPrivateKey DER of `values` (version, n, e, d, p, q, dP, dQ, qInv, then triples)."""
    others = b"".join(_tlv(0x30, b"".join(map(_integer, values[i:i + 3]))) for i in range(9, len(values), 3))
    return _tlv(0x30, b"".join(map(_integer, values[:9])) + _tlv(0x30, others))


def wrap(inner: bytes) -> bytes:
    """`inner` as PKCS#8's privateKey (version 0, rsaEncryption with NULL parameters)."""
    algorithm = _tlv(0x30, bytes.fromhex("06092a864886f70d010101") + b"\x05\x00")
    return _tlv(0x30, b"\x02\x01\x00" + algorithm + _tlv(0x04, inner))


def of_factors(factors: list[int], e: int = 65537) -> bytes:
    """A key structure over `factors` (n their product), d from e modulo the product of r - 1, the
    exponents d mod r - 1, the coefficients 1 (not checked by either reader)."""
    n, phi = 1, 1
    for factor in factors:
        n, phi = n * factor, phi * (factor - 1)
    try:
        d = pow(e, -1, phi)
    except ValueError:  # e shares a factor with some r - 1: d then fits no prime (any d will do)
        d = 3
    values = [1, n, e, d, factors[0], factors[1], d % (factors[0] - 1), d % (factors[1] - 1), 1]
    for factor in factors[2:]:
        values += [factor, d % (factor - 1), 1]
    return encode(values)


def cut_after_d(case: str, wrapped: bool = False) -> bytes:
    """The key's DER (PKCS#1, or PKCS#8) up to and including d, nothing after."""
    whole, d = pkcs8(case) if wrapped else pkcs1(case), numbers(case)[3]
    written = d.to_bytes((d.bit_length() + 7) // 8, "big")
    return whole[:whole.index(written) + len(written)]
