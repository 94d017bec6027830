"""The independent reader's rules for platform key stores with no armour (issue #32, session 22):
Windows CryptoAPI / CNG key blobs, OpenPGP secret key packets and gpg-agent key files.

Its own code (nothing from the scanner's `detectors/win_blobs.py`, `openpgp.py`); each key is proven
by its numbers before it is a finding:

- `RSA2` (CryptoAPI RSAPUBKEY: bit length, e; then n, p, q ... little-endian), `RSA2`/`RSA3` (CNG: bit
  length, the byte counts of e, n, p, q; then those, big-endian) and `ECS2/4/6`, `ECK2/4/6` (CNG ECC:
  key size; X, Y, d big-endian): p * q == n, or d's public point == (X, Y). The finding runs from the
  magic (from CryptoAPI's 8-byte BLOBHEADER when it is there) to the blob's end.
- OpenPGP Secret-Key / Secret-Subkey packets, version 4, S2K usage 0 (RFC 4880 5.5.3), in views of at
  most `PACKET_VIEW_BYTES` (a core larger than that is left to the scanner's pass): RSA by p * q == n,
  ECDSA/ECDH on the NIST curves and secp256k1 by d's point, legacy Ed25519 by the seed's public key.
- `(private-key` S-expressions with a `d` member within `SEXP_BYTES`: the file is a key (`MAX_SEXPS`
  expressions a view plus one per MiB, none read twice).
Bounds: `MAX_ANCHORS` anchors of each kind a view plus one per KiB; past them incomplete (refused).
"""

from __future__ import annotations

import mmap
import re
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from . import recheck_zeros as zeros

if TYPE_CHECKING:
    from .recheck import _Reader

MAX_ANCHORS = 10_000
MAX_DISCRETE = 256  # DSA/Elgamal packets a view (one g^x mod p each, primes of 4,096 bits at most)


class _TooMany(Exception):
    """A view with more packets to prove than the bound."""
PACKET_VIEW_BYTES = 16 << 20
SEXP_BYTES = 16 << 10  # an RSA-16384 key file in hex is about 14 KiB
MAX_SEXPS = 1000  # expressions read a view, plus one per MiB (each up to SEXP_BYTES, byte by byte)
RSA_BITS = range(512, 16385)
_EC_SIZES = {ord("2"): (32, ec.SECP256R1()), ord("4"): (48, ec.SECP384R1()), ord("6"): (66, ec.SECP521R1())}
_PGP_CURVES = {b"\x2a\x86\x48\xce\x3d\x03\x01\x07": ec.SECP256R1(), b"\x2b\x81\x04\x00\x22": ec.SECP384R1(),
               b"\x2b\x81\x04\x00\x23": ec.SECP521R1(), b"\x2b\x81\x04\x00\x0a": ec.SECP256K1()}
_PGP_ED25519 = b"\x2b\x06\x01\x04\x01\xda\x47\x0f\x01"
_PGP_CV25519 = b"\x2b\x06\x01\x04\x01\x97\x55\x01\x05\x01"
_PGP_CURVES.update({b"\x2b\x24\x03\x03\x02\x08\x01\x01" + bytes([last]): curve for last, curve in (
    (7, ec.BrainpoolP256R1()), (11, ec.BrainpoolP384R1()), (13, ec.BrainpoolP512R1()))})
# a packet head (tag 5 or 7; old format with a 1-, 2- or 4-octet length, or new format), version 4
_PACKET = re.compile(rb"(?:[\x94\x9c](?P<l1>.)|[\x95\x9d](?P<l2>..)|[\x96\x9e](?P<l4>....)"
                     rb"|[\xc5\xc7](?:(?P<m1>[\x00-\xbf])|(?P<m2>[\xc0-\xdf].)|\xff(?P<m5>....)))"
                     rb"\x04.{4}(?P<algorithm>[\x01\x02\x03\x10\x11\x12\x13\x16])", re.DOTALL)
_SEXP = re.compile(rb"\((?:[0-9]+:)?(?:protected-)?private-key[\s(]")
_SEXP_SECRET = re.compile(rb"\((?:1:[dx][0-9]|[dx][\s#\[])")  # RSA/ECC d, DSA/Elgamal x
_SEXP_PROTECTED = re.compile(rb"protected-private-key")
_SEXP_CLEAR = re.compile(rb"\(\s*(?:10:)?protection\s*(?:4:)?none")  # imported without a passphrase
_CAPI_HEADERS = (b"\x07\x02\x00\x00\x00\xa4\x00\x00", b"\x07\x02\x00\x00\x00\x24\x00\x00")


def _numbers(view: bytes, at: int, sizes: list[int], order: str) -> list[int] | None:
    values = []
    for size in sizes:
        if at + size > len(view):
            return None
        values.append(int.from_bytes(view[at:at + size], order))  # type: ignore[arg-type]
        at += size
    return values


def _blob(view: bytes, at: int) -> tuple[int, str] | None:
    """(end, what) of a proven key blob whose magic is at `at`."""
    magic = view[at:at + 4]
    words = [int.from_bytes(view[at + 4 + 4 * i:at + 8 + 4 * i], "little") for i in range(5)
             if at + 8 + 4 * i <= len(view)]
    if magic == b"RSA2" and len(words) >= 2 and words[0] in RSA_BITS and words[0] % 16 == 0 and words[1] & 1:
        bits = words[0]
        values = _numbers(view, at + 12, [bits // 8, bits // 16, bits // 16], "little")
        if values is not None and values[1] > 1 and values[1] * values[2] == values[0]:
            return at + 12 + bits // 8 * 2 + bits // 16 * 5, "CryptoAPI PRIVATEKEYBLOB (RSA)"
    if magic in (b"RSA2", b"RSA3") and len(words) == 5 and words[0] in RSA_BITS and 0 < words[1] <= 8 \
            and words[2] == (words[0] + 7) // 8 and 0 < words[3] <= words[2] and 0 < words[4] <= words[2]:
        e_size, n_size, p_size, q_size = words[1:]
        values = _numbers(view, at + 24, [e_size, n_size, p_size, q_size], "big")
        if values is not None and values[2] > 1 and values[2] * values[3] == values[1]:
            tail = p_size + q_size + p_size + n_size if magic == b"RSA3" else 0
            return at + 24 + e_size + n_size + p_size + q_size + tail, f"CNG {magic.decode()} private blob (RSA)"
    if magic[:2] == b"EC" and len(words) >= 1 and view[at + 3] in _EC_SIZES:
        size, curve = _EC_SIZES[view[at + 3]]
        values = _numbers(view, at + 8, [size, size, size], "big") if words[0] == size else None
        if values is not None and 0 < values[2]:
            try:
                point = ec.derive_private_key(values[2], curve).public_key().public_numbers()
            except ValueError:
                return None
            if (point.x, point.y) == (values[0], values[1]):
                return at + 8 + 3 * size, f"CNG {magic.decode()} private blob (EC)"
    return None


def _mpis(view: bytes, at: int, end: int, count: int) -> tuple[list[int], int] | None:
    found = []
    for _ in range(count):
        if at + 2 > end:
            return None
        octets = (int.from_bytes(view[at:at + 2], "big") + 7) // 8
        if octets > 2048 or at + 2 + octets > end:
            return None
        found.append(int.from_bytes(view[at + 2:at + 2 + octets], "big"))
        at += 2 + octets
    return found, at


def _packet(view: bytes, match: re.Match[bytes], spent: list[int]) -> tuple[int, str] | None:
    """(end, what) of a proven unprotected secret key packet."""
    if match.group("m2") is not None:
        two = match.group("m2")
        size = ((two[0] - 192) << 8) + two[1] + 192
    else:
        field = next(match.group(g) for g in ("l1", "l2", "l4", "m1", "m5") if match.group(g) is not None)
        size = int.from_bytes(field, "big")
    end = min(len(view), match.end() - 6 + size)
    algorithm, at = match.group("algorithm")[0], match.end()
    if algorithm in (1, 2, 3):
        public = _mpis(view, at, end, 2)
        if public is None or public[1] >= end or view[public[1]] != 0:
            return None
        secret = _mpis(view, public[1] + 1, end, 3)
        if secret is not None and secret[0][1] > 1 and secret[0][1] * secret[0][2] == public[0][0]:
            return end, "OpenPGP secret key packet (RSA)"
        return None
    if algorithm in (16, 17):  # Elgamal p, g, y / DSA p, q, g, y, then x with g^x = y (mod p)
        public = _mpis(view, at, end, 4 if algorithm == 17 else 3)
        if public is None or public[1] >= end or view[public[1]]:  # S2K usage 0: the secret in clear
            return None
        secret = _mpis(view, public[1] + 1, end, 1)
        modulus, base, value = public[0][0], public[0][-2], public[0][-1]
        if secret is None or not 1 < secret[0][0] < modulus or modulus.bit_length() > 4096:
            return None
        spent[0] += 1
        if spent[0] > MAX_DISCRETE:
            raise _TooMany(f"more than {MAX_DISCRETE} DSA/Elgamal packets")
        if pow(base, secret[0][0], modulus) == value:
            return end, "OpenPGP secret key packet (DSA/Elgamal)"
        return None
    if at >= end or at + 1 + view[at] > end:
        return None
    oid, at = bytes(view[at + 1:at + 1 + view[at]]), at + 1 + view[at]
    point = _mpis(view, at, end, 1)
    if point is None:
        return None
    at = point[1]
    if algorithm == 18 and at < end:
        at += 1 + view[at]  # ECDH's KDF parameters
    if at >= end or view[at] != 0:
        return None
    secret = _mpis(view, at + 1, end, 1)
    if secret is None:
        return None
    return (end, "OpenPGP secret key packet (ECC)") if _ecc_proven(oid, point[0][0], secret[0][0]) else None


def _ecc_proven(oid: bytes, point: int, secret: int) -> bool:
    if oid == _PGP_CV25519:  # 0x40 || X25519 public key; the scalar stored in either byte order
        if secret >> 256:
            return False
        raw = secret.to_bytes(32, "big")
        publics = {x25519.X25519PrivateKey.from_private_bytes(form).public_key().public_bytes_raw()
                   for form in (raw, raw[::-1])}
        return point >> 256 == 0x40 and (point & ((1 << 256) - 1)).to_bytes(32, "big") in publics
    if oid == _PGP_ED25519:
        if secret >> 256:
            return False
        seed = ed25519.Ed25519PrivateKey.from_private_bytes(secret.to_bytes(32, "big"))
        return point == int.from_bytes(b"\x40" + seed.public_key().public_bytes_raw(), "big")
    curve = _PGP_CURVES.get(oid)
    if curve is None or secret == 0:
        return False
    try:
        numbers = ec.derive_private_key(secret, curve).public_key().public_numbers()
    except ValueError:
        return False
    size = (curve.key_size + 7) // 8
    encoded = b"\x04" + numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")
    return point == int.from_bytes(encoded, "big")


def platform_keys(reader: _Reader, data: bytes | mmap.mmap, name: str) -> None:
    """Key blobs, secret key packets and agent key files in one view (module docstring)."""
    cap = MAX_ANCHORS + len(data) // 1024
    anchors = sorted(at for magic in (b"RSA", b"EC") for at in _finds(data, magic, cap + 1))
    if len(anchors) > cap:
        reader.incomplete(f"{name}: more than {cap} key blob magics")
    for at in anchors[:cap]:
        proven = _blob(bytes(data[at:at + 24 + 5 * 2048]), 0)
        if proven is not None:
            start = at - 8 if bytes(data[max(0, at - 8):at]) in _CAPI_HEADERS else at
            reader.found("key-blob", name, proven[1], (start, min(len(data), at + proven[0])))
    if len(data) <= PACKET_VIEW_BYTES:
        view, spent = bytes(data), [0]
        for count, match in enumerate(zeros.finditer(_PACKET, view)):
            if count >= cap:
                reader.incomplete(f"{name}: more than {cap} OpenPGP packet heads")
                break
            try:
                packet = _packet(view, match, spent)
            except _TooMany as exc:
                reader.incomplete(f"{name}: {exc}")
                break
            if packet is not None:
                reader.found("openpgp", name, packet[1], (match.start(), packet[0]))
    reach, read, most = 0, 0, MAX_SEXPS + len(data) // (1 << 20)
    for match in _SEXP.finditer(data):
        if match.start() < reach:
            continue  # inside the expression before
        read += 1
        if read > most:
            reader.incomplete(f"{name}: more than {most} private-key S-expressions")
            break
        window = bytes(data[match.start():match.start() + SEXP_BYTES])
        depth, stop = 0, len(window)
        for offset, byte in enumerate(window):
            depth += (byte == 0x28) - (byte == 0x29)
            if depth == 0:
                stop = offset + 1
                break
        reach = match.start() + stop
        protected = _SEXP_PROTECTED.match(window, window.find(b"p")) is not None
        if (_SEXP_CLEAR if protected else _SEXP_SECRET).search(window, 0, stop):
            here = (match.start(), match.start() + stop)
            reader.found("gnupg-key", name, "gpg-agent private-key S-expression", here)


def _finds(data: bytes | mmap.mmap, needle: bytes, most: int) -> list[int]:
    found: list[int] = []
    at = data.find(needle)
    while at >= 0 and len(found) < most:
        size = int.from_bytes(data[at + 4:at + 8], "little")  # a blob's bit length or key size follows
        if re.match(rb"RSA[23]|EC[SK][246]", bytes(data[at:at + 4])) and (
                size in RSA_BITS if needle == b"RSA" else size in (32, 48, 66)):
            found.append(at)
        at = data.find(needle, at + 1)
    return found


__all__ = ["platform_keys"]
