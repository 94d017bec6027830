"""The independent reader's DER private keys cut short after their secret (issue #32, rt19); none
of the scanner's code (detectors/der_cut.py reads the same keys its own way).

A SEQUENCE is walked header by header up to its secret, which must be all there: PKCS#8 EC (version
0 or 1, ecPublicKey, a named curve's OID, the OCTET STRING, SEC1's SEQUENCE, version 1, the OCTET
STRING and the scalar), SEC1 alone, PKCS#8 Ed25519 / X25519 (version 0 or 1, the OID alone, `04 ..
04 20` and the 32-byte seed: any seed is a key, the structure is the finding), and PKCS#1 / PKCS#8
RSA through d (version 0, or 1: a multi-prime key's n, e and d). Headers as BER writes them count:
a length short or long-form of 1 to 4 bytes (leading zeros, non-minimal), the outer SEQUENCE
indefinite (`30 80`), a version of up to 4 bytes with leading zeros, a scalar one byte longer than
its curve's with a leading 00. The scalar must be in [1, n-1] for its curve (SEC1: a curve of its
size); n must factor from e and d (2^(ed) = 2 mod n, then `rsa_recover_prime_factors`). RSA checks
draw on a budget of modulus work per view (`MAX_RSA_WORK` thousandths of a unit, one unit a
2048-bit n with 4096 bits of e and d together, the cost growing as bits(n)^2 x bits(ed)); a check
past it raises `Oversized`: the reader stops, incomplete. The span runs from the SEQUENCE to its
declared end or the view's end, whichever is first, and at least to the secret's end (an outer
length shorter than the secret is cut short too). `cut_heads` finds the heads the reader's DER
anchor does not match.
"""

from __future__ import annotations

import mmap
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from . import recheck_zeros as zeros
from .recheck_codecs import Oversized

_EC_OIDS: dict[bytes, ec.EllipticCurve] = {
    b"\x2a\x86\x48\xce\x3d\x03\x01\x07": ec.SECP256R1(), b"\x2b\x81\x04\x00\x22": ec.SECP384R1(),
    b"\x2b\x81\x04\x00\x23": ec.SECP521R1(), b"\x2b\x81\x04\x00\x0a": ec.SECP256K1()}
_SEC1_CURVES: tuple[ec.EllipticCurve, ...] = (ec.SECP256R1(), ec.SECP256K1(), ec.SECP384R1(), ec.SECP521R1())
_EC_ALGORITHM = b"\x2a\x86\x48\xce\x3d\x02\x01"
_RSA_ALGORITHM = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
_EDWARDS = {b"\x2b\x65\x70": "Ed25519", b"\x2b\x65\x6e": "X25519"}
_N = {"secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
      "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
      "secp384r1": (1 << 384) - 0x389CB27E0BC8D220A7E5F24DB74F58851313E695333AD68D,
      "secp521r1": (1 << 521) - 0x5AE79787C40D069948033FEB708F65A2FC44A36477663B851449048E16EC79BF7}
# a SEQUENCE (any length form) whose first field is an INTEGER of 1-4 bytes (short, 81 or 82 length)
_SEQUENCE_THEN_INTEGER = re.compile(
    rb"\x30(?:[\x00-\x7f]|\x80|\x81[\x00-\xff]|\x82[\x00-\xff]{2}|\x83[\x00-\xff]{3}|\x84[\x00-\xff]{4}"
    rb"|\x85[\x00-\xff]{5}|\x86[\x00-\xff]{6}|\x87[\x00-\xff]{7}|\x88[\x00-\xff]{8})"
    rb"\x02(?:\x81|\x82\x00)?[\x01-\x04]", re.DOTALL)
_WINDOW = 3 * 1040 + 96  # an 8192-bit n, e and d with their headers, and PKCS#8's
MAX_RSA_WORK = 48_000  # thousandths of a unit, per view
MAX_HEADS = 100_000
_MAX_WIDTH = 8  # octets of a long-form length (BER writes leading zeros; 5-8 seen in rt22's forms)


class _Short(Exception):
    """A field that is not there in full, or not the one expected."""


def _read_header(view: bytes, at: int) -> tuple[int, int, int]:
    """(tag, where the content starts, its length; -1 for the indefinite form)."""
    if at + 1 >= len(view):
        raise _Short
    tag, octet = view[at], view[at + 1]
    if octet <= 0x7F:
        return tag, at + 2, octet
    width = octet - 0x80
    if width == 0 and tag == 0x30:
        return tag, at + 2, -1
    if not 1 <= width <= _MAX_WIDTH or at + 2 + width > len(view):
        raise _Short
    return tag, at + 2 + width, int.from_bytes(view[at + 2:at + 2 + width], "big")


def _content(view: bytes, at: int, tag: int) -> tuple[bytes, int]:
    """The content of the `tag` field at `at`, all there, and where the field ends."""
    found, begin, size = _read_header(view, at)
    if found != tag or size < 0 or begin + size > len(view):
        raise _Short
    return view[begin:begin + size], begin + size


def _opening(view: bytes, at: int, tag: int) -> int:
    """Where the content of the `tag` field at `at` starts (its end need not be there)."""
    found, begin, _ = _read_header(view, at)
    if found != tag:
        raise _Short
    return begin


def _version(view: bytes, at: int) -> tuple[int, int]:
    value, end = _content(view, at, 0x02)
    if not 0 < len(value) <= 4:
        raise _Short
    return int.from_bytes(value, "big"), end


def _scalar(view: bytes, at: int, curves: tuple[ec.EllipticCurve, ...]) -> tuple[Any, int]:
    """SEC1 from its version: the EC key of the scalar and where the scalar ends."""
    version, at = _version(view, at)
    if version != 1:
        raise _Short
    octets, end = _content(view, at, 0x04)
    scalar = int.from_bytes(octets, "big")
    for curve in curves:
        width = (_N[curve.name].bit_length() + 7) // 8
        if width in (len(octets), len(octets) - (octets[:1] == b"\x00")) and 1 <= scalar < _N[curve.name]:
            return ec.derive_private_key(scalar, curve), end
    raise _Short


def _rsa(view: bytes, at: int, tries: list[int]) -> tuple[Any, int]:
    """PKCS#1 from its version through d: the key when n factors from e and d, and d's end."""
    version, at = _version(view, at)
    if version not in (0, 1):  # 1: a multi-prime key (recheck_multiprime.py) cut after d
        raise _Short
    numbers = []
    for _ in range(3):
        value, at = _content(view, at, 0x02)
        numbers.append(int.from_bytes(value, "big"))
    n, e, d = numbers
    if not 512 <= n.bit_length() <= 8192 or not (1 < e < n and 1 < d < n) or not e & 1:
        raise _Short
    work = 1 + n.bit_length() ** 2 * (e.bit_length() + d.bit_length()) * 1000 // (2048 * 2048 * 4096)
    if work > tries[0]:
        raise Oversized(f"RSA checks of keys cut short past {MAX_RSA_WORK // 1000} units of modulus work in a view")
    tries[0] -= work
    if pow(2, e * d, n) != 2:
        raise _Short
    try:
        p, q = rsa.rsa_recover_prime_factors(n, e, d)
    except ValueError:
        raise _Short from None
    key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q),
                                rsa.RSAPublicNumbers(e, n)).private_key(unsafe_skip_rsa_key_validation=True)
    return key, at


def _one_asymmetric_key(view: bytes, at: int, tries: list[int]) -> tuple[Any, int]:
    """PKCS#8 from its AlgorithmIdentifier: the key inside and where its secret ends."""
    algorithm, after = _content(view, at, 0x30)
    oid, rest = _content(algorithm, 0, 0x06)
    if oid in _EDWARDS and rest == len(algorithm):
        seed, end = _content(view, _opening(view, after, 0x04), 0x04)
        if len(seed) != 32:
            raise _Short
        if _EDWARDS[oid] == "Ed25519":
            return ed25519.Ed25519PrivateKey.from_private_bytes(seed), end
        return x25519.X25519PrivateKey.from_private_bytes(seed), end
    inner = _opening(view, _opening(view, after, 0x04), 0x30)
    if oid == _EC_ALGORITHM:
        curve_oid, _ = _content(algorithm, rest, 0x06)
        if curve_oid not in _EC_OIDS:
            raise _Short
        return _scalar(view, inner, (_EC_OIDS[curve_oid],))
    if oid == _RSA_ALGORITHM:
        return _rsa(view, inner, tries)
    raise _Short


def cut_der_key(data: bytes | mmap.mmap, start: int, tries: list[int]) -> tuple[Any, tuple[int, int]] | None:
    """The key of a DER private key at `start` cut short after its secret, and its span, or None.
    `tries` holds the RSA work (units) still allowed in this view; past it `Oversized`."""
    view = bytes(data[start:start + _WINDOW])
    try:
        tag, body, size = _read_header(view, 0)
        if tag != 0x30:
            return None
        version, after = _version(view, body)
        following = view[after:after + 1]
        if version == 1 and following == b"\x04":
            key, secret_end = _scalar(view, body, _SEC1_CURVES)
        elif version in (0, 1) and following == b"\x02":
            key, secret_end = _rsa(view, body, tries)
        elif version in (0, 1) and following == b"\x30":
            key, secret_end = _one_asymmetric_key(view, after, tries)
        else:
            return None
    except _Short:
        return None
    declared = len(data) if size < 0 else min(len(data), start + body + size)
    return key, (start, max(declared, start + secret_end))


def cut_heads(data: bytes | mmap.mmap, tries: list[int],
              anchored: re.Pattern[bytes]) -> list[tuple[Any, tuple[int, int]]]:
    """Keys cut short behind the heads `anchored` (the reader's DER anchor) does not match: a long
    or indefinite outer length, a version written as BER writes it. At most `MAX_HEADS` heads a
    view (more: `Oversized`)."""
    found: list[tuple[Any, tuple[int, int]]] = []
    covered = 0
    for count, match in enumerate(zeros.finditer(_SEQUENCE_THEN_INTEGER, data)):
        if count >= MAX_HEADS:
            raise Oversized(f"more than {MAX_HEADS} DER heads in a view")
        start = match.start()
        if start < covered or anchored.match(data, start):
            continue
        hit = cut_der_key(data, start, tries)
        if hit is not None:
            found.append(hit)
            covered = hit[1][1]
    return found


__all__ = ["MAX_RSA_WORK", "cut_der_key", "cut_heads"]
