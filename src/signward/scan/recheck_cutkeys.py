"""The independent reader's DER private keys cut short after their secret (issue #32); none of the
scanner's code (detectors/der_cut.py reads the same keys its own way).

Patterns fix every byte up to the secret: PKCS#8 EC (version 0, ecPublicKey, a named curve's OID,
the OCTET STRING, SEC1's SEQUENCE, `02 01 01 04 20|30|42`), SEC1 alone, and PKCS#1 / PKCS#8 RSA
up to the modulus (then e and d are read as INTEGERs). The scalar must be all there and in
[1, n-1] for its curve (SEC1: a curve of its size); n must factor from e and d (2^(ed) = 2 mod n,
then `rsa_recover_prime_factors`), at most `MAX_RSA_TRIES` triples per view. The span runs from
the SEQUENCE to its declared end or the view's end, whichever is first.
"""

from __future__ import annotations

import mmap
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

_LEN = rb"(?:\x82[\x00-\xff]{2}|\x81[\x80-\xff]|[\x00-\x7f])"
_EC_OIDS: dict[bytes, ec.EllipticCurve] = {
    b"\x2a\x86\x48\xce\x3d\x03\x01\x07": ec.SECP256R1(), b"\x2b\x81\x04\x00\x22": ec.SECP384R1(),
    b"\x2b\x81\x04\x00\x23": ec.SECP521R1(), b"\x2b\x81\x04\x00\x0a": ec.SECP256K1()}
_SEC1_CURVES: tuple[ec.EllipticCurve, ...] = (ec.SECP256R1(), ec.SECP256K1(), ec.SECP384R1(), ec.SECP521R1())
_PKCS8_EC = re.compile(rb"\x30" + _LEN + rb"\x02\x01\x00\x30[\x10\x13]\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"
                       rb"\x06[\x05\x08]((?:\x2a\x86\x48\xce\x3d\x03\x01\x07)|(?:\x2b\x81\x04\x00[\x22\x23\x0a]))"
                       rb"\x04" + _LEN + rb"\x30" + _LEN + rb"\x02\x01\x01\x04([\x20\x30\x42])", re.DOTALL)
_SEC1 = re.compile(rb"\x30" + _LEN + rb"\x02\x01\x01\x04([\x20\x30\x42])", re.DOTALL)
_PKCS1 = re.compile(rb"\x30" + _LEN + rb"\x02\x01\x00(?=\x02)", re.DOTALL)
_PKCS8_RSA = re.compile(rb"\x30" + _LEN + rb"\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00"
                        rb"\x04" + _LEN + rb"\x30" + _LEN + rb"\x02\x01\x00(?=\x02)", re.DOTALL)
_N = {"secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
      "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
      "secp384r1": (1 << 384) - 0x389CB27E0BC8D220A7E5F24DB74F58851313E695333AD68D,
      "secp521r1": (1 << 521) - 0x5AE79787C40D069948033FEB708F65A2FC44A36477663B851449048E16EC79BF7}
MAX_RSA_TRIES = 64


def _int_at(data: bytes, at: int) -> tuple[int, int] | None:
    """An INTEGER at `at`, all there: (value, end)."""
    if data[at:at + 1] != b"\x02" or at + 2 > len(data):
        return None
    size, at = data[at + 1], at + 2
    if size & 0x80:
        width = size & 0x7F
        if not 1 <= width <= 2:
            return None
        size, at = int.from_bytes(data[at:at + width], "big"), at + width
    if at + size > len(data):
        return None
    return int.from_bytes(data[at:at + size], "big"), at + size


def _declared_end(data: bytes | mmap.mmap, start: int) -> int:
    first = data[start + 1]
    if first < 0x80:
        return start + 2 + first
    width = first & 0x7F
    return start + 2 + width + int.from_bytes(data[start + 2:start + 2 + width], "big")


def cut_der_key(data: bytes | mmap.mmap, start: int, tries: list[int]) -> tuple[Any, tuple[int, int]] | None:
    """The key of a DER private key at `start` cut short after its secret, and its span, or None.
    `tries` holds the RSA triples still allowed in this view (one counter, decremented here)."""
    head = bytes(data[start:start + 64])
    key: Any = None
    secret_end = 0
    for pattern, curves in ((_PKCS8_EC, None), (_SEC1, _SEC1_CURVES)):
        match = pattern.match(head)
        if match is None:
            continue
        size = match.group(match.lastindex or 0)[0]
        begin = start + match.end()
        scalar_bytes = bytes(data[begin:begin + size])
        if len(scalar_bytes) != size:
            return None
        scalar = int.from_bytes(scalar_bytes, "big")
        options = (_EC_OIDS[match.group(1)],) if curves is None else curves
        for curve in options:
            width = (_N[curve.name].bit_length() + 7) // 8
            if width == size and 1 <= scalar < _N[curve.name]:
                key, secret_end = ec.derive_private_key(scalar, curve), begin + size
                break
        break
    else:
        match = _PKCS8_RSA.match(head) or _PKCS1.match(head)
        if match is None or tries[0] <= 0:
            return None
        position, values = start + match.end(), []
        window = bytes(data[position:position + 3 * 1040 + 16])
        offset = 0
        for _ in range(3):
            read = _int_at(window, offset)
            if read is None:
                return None
            values.append(read[0])
            offset = read[1]
        n, e, d = values
        if not 512 <= n.bit_length() <= 8192 or not (1 < e < n and 1 < d < n) or not e & 1:
            return None
        tries[0] -= 1
        if pow(2, e * d, n) != 2:
            return None
        try:
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
        except ValueError:
            return None
        key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q),
                                    rsa.RSAPublicNumbers(e, n)).private_key(unsafe_skip_rsa_key_validation=True)
        secret_end = position + offset
    if key is None:
        return None
    end = _declared_end(data, start)
    if secret_end > end:
        return None
    return key, (start, min(end, len(data)))


__all__ = ["MAX_RSA_TRIES", "cut_der_key"]
