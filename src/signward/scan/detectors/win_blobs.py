"""Windows key blobs (issue #32, session 22): RSA and EC private keys as CryptoAPI and CNG keep and
export them, found by their magic and proven by their numbers. A pass of the `der` detector (as
`der_cut_pass.py`); the independent reader has its own rule (recheck*.py), nothing is shared.

Storm-0558's key left in a Windows crash dump. A process that signs through CryptoAPI or CNG holds
its key in these layouts (and `CryptExportKey` / `BCryptExportKey` write them to files, `.pvk`'s body):

- CryptoAPI PRIVATEKEYBLOB: an optional BLOBHEADER (`07 02 00 00`, ALG_ID), then RSAPUBKEY: magic
  `RSA2`, bit length, public exponent (32-bit little-endian each), then modulus, prime1, prime2,
  exponent1, exponent2, coefficient, privateExponent, all LITTLE-endian (n and d of bitlen/8 bytes,
  the others bitlen/16). In memory its start is 4 bytes past an 8-byte boundary (the 20-byte header),
  where the unknown-rsa detector's aligned windows never look.
- CNG BCRYPT_RSAPRIVATE_BLOB / BCRYPT_RSAFULLPRIVATE_BLOB: magic `RSA2` / `RSA3`, BitLength,
  cbPublicExp, cbModulus, cbPrime1, cbPrime2 (32-bit little-endian), then e, n, p, q (and for RSA3
  dp, dq, qi, d), BIG-endian.
- CNG BCRYPT_ECCPRIVATE_BLOB: magic `ECS2`/`ECS4`/`ECS6` (ECDSA P-256/384/521) or `ECK2`/`ECK4`/`ECK6`
  (ECDH), cbKey, then X, Y, d, big-endian.

A finding is proven: p * q == n (RSA), d * G == (X, Y) (EC); it spans the blob from its magic (its
BLOBHEADER if there) to its end, or to the end of the data for a blob cut short after its secret
(n, p and q whole; d whole for EC). Bounded: `MAX_MAGICS` magics a chunk plus one per KiB (more:
incomplete), at most 16,384-bit moduli.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..chunks import Chunk
from ..findings import Finding
from .base import PassDetector

MAGIC = re.compile(rb"RSA[23]|EC[SK][246]")
MAX_MAGICS = 10_000
MIN_BITS, MAX_BITS = 512, 16384
BLOBHEADER = (b"\x07\x02\x00\x00\x00\xa4\x00\x00", b"\x07\x02\x00\x00\x00\x24\x00\x00")
EC_CURVES: dict[bytes, tuple[int, ec.EllipticCurve]] = {
    b"2": (32, ec.SECP256R1()), b"4": (48, ec.SECP384R1()), b"6": (66, ec.SECP521R1())}


def _little(data: bytes, at: int, size: int) -> int | None:
    return int.from_bytes(data[at:at + size], "little") if at + size <= len(data) else None


def _big(data: bytes, at: int, size: int) -> int | None:
    return int.from_bytes(data[at:at + size], "big") if at + size <= len(data) else None


def _capi(data: bytes, at: int) -> tuple[int, Any] | None:
    """A CryptoAPI RSAPUBKEY + private numbers at `at` (its magic): (end, key) or None."""
    if at + 12 > len(data):
        return None
    bits, e = struct.unpack_from("<II", data, at + 4)
    if not MIN_BITS <= bits <= MAX_BITS or bits % 16 or not e & 1 or e < 3:
        return None
    size, half, body = bits // 8, bits // 16, at + 12
    n, p, q = _little(data, body, size), _little(data, body + size, half), _little(data, body + size + half, half)
    if n is None or p is None or q is None or p < 2 or q < 2 or p * q != n:
        return None
    return body + size + 5 * half + size, _rsa_key(p, q, e, n)


def _cng_rsa(data: bytes, at: int) -> tuple[int, Any] | None:
    """A CNG BCRYPT_RSA(FULL)PRIVATE_BLOB at `at`: (end, key) or None."""
    if at + 24 > len(data):
        return None
    bits, exponent_size, modulus_size, p_size, q_size = struct.unpack_from("<IIIII", data, at + 4)
    if not (MIN_BITS <= bits <= MAX_BITS and 1 <= exponent_size <= 8 and modulus_size == (bits + 7) // 8
            and 0 < p_size <= modulus_size and 0 < q_size <= modulus_size):
        return None
    body = at + 24
    e = _big(data, body, exponent_size)
    n = _big(data, body + exponent_size, modulus_size)
    p = _big(data, body + exponent_size + modulus_size, p_size)
    q = _big(data, body + exponent_size + modulus_size + p_size, q_size)
    if e is None or n is None or p is None or q is None or p < 2 or q < 2 or p * q != n:
        return None
    end = body + exponent_size + modulus_size + p_size + q_size
    if data[at + 3:at + 4] == b"3":
        end += p_size + q_size + p_size + modulus_size  # dp, dq, qi, d
    return end, _rsa_key(p, q, e, n)


def _cng_ec(data: bytes, at: int) -> tuple[int, Any] | None:
    """A CNG BCRYPT_ECCPRIVATE_BLOB at `at`: (end, key) or None."""
    size, curve = EC_CURVES[data[at + 3:at + 4]]
    if at + 8 > len(data) or struct.unpack_from("<I", data, at + 4)[0] != size:
        return None
    body = at + 8
    x, y, d = _big(data, body, size), _big(data, body + size, size), _big(data, body + 2 * size, size)
    if x is None or y is None or d is None or not 0 < d:
        return None
    try:
        key = ec.derive_private_key(d, curve)
    except ValueError:
        return None
    public = key.public_key().public_numbers()
    return (body + 3 * size, key) if (public.x, public.y) == (x, y) else None


def _rsa_key(p: int, q: int, e: int, n: int) -> Any:
    try:
        d = pow(e, -1, (p - 1) * (q - 1))
        return rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                     rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)).private_key()
    except ValueError:
        return None  # proven all the same (n factored); the key object is a convenience


def _plausible(data: bytes, at: int) -> bool:
    """A magic followed by a size a blob can have (RSA: a bit length of 512-16,384; EC: 32, 48 or 66),
    so text that names a key type (`RSA2048,` in an inventory, rt23) is no candidate to count."""
    word = int.from_bytes(data[at + 4:at + 8], "little")
    return MIN_BITS <= word <= MAX_BITS if data[at:at + 3] == b"RSA" else word in (32, 48, 66)


def _magics(data: bytes, limit: int) -> Iterator[int]:
    """Offsets of the magics, in order: `bytes.find` of `RSA` and `EC` (memchr speed; a regex tried
    at every byte of a core took 0.4 s in 77 MB), each checked by `MAGIC`."""
    found: list[int] = []
    for literal in (b"RSA", b"EC"):
        at = data.find(literal)
        while at >= 0 and len(found) <= limit:  # past `limit` the caller stops: no more are looked for
            if MAGIC.match(data, at) and _plausible(data, at):
                found.append(at)
            at = data.find(literal, at + 1)
    yield from sorted(found)


def blob_keys(data: bytes, cut: set[str]) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each proven key blob in `data`."""
    cap = MAX_MAGICS + len(data) // 1024
    for count, at in enumerate(_magics(data, cap)):
        if count >= cap:
            cut.add(f"der: more than {cap} key blob magics in a chunk or view")
            return
        magic = bytes(data[at:at + 4])
        found: tuple[int, Any] | None
        if magic == b"RSA2" and (found := _capi(data, at)) is not None:
            kind = "windows-capi-rsa-blob"
        elif magic.startswith(b"RSA"):
            found, kind = _cng_rsa(data, at), "windows-cng-rsa-blob"
        else:
            found, kind = _cng_ec(data, at), "windows-cng-ec-blob"
        if found is None:
            continue
        start = at - 8 if data[max(0, at - 8):at] in BLOBHEADER else at
        yield start, min(found[0], len(data)), kind, found[1]


class WinBlobPass(PassDetector):
    """CryptoAPI and CNG private key blobs: a pass of the `der` detector."""

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        for start, end, kind, key in blob_keys(chunk.data, self._cut):
            if chunk.owns(start):
                yield self.found(chunk, start, end - start, kind, "le" if "capi" in kind else "be", key)


__all__ = ["WinBlobPass", "blob_keys"]
