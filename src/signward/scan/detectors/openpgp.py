"""OpenPGP and GnuPG secret keys that are not armoured (issue #32, session 22): the scanner's rule,
a pass of the `der` detector. The independent reader has its own (recheck*.py); nothing is shared.

`gpg --export-secret-keys` without `--armor` writes binary packets (RFC 4880 5.5.3): a Secret-Key
(tag 5) or Secret-Subkey (tag 7) packet, version 4, creation time, algorithm, the public values as
MPIs (2-octet bit count, big-endian), the S2K usage octet, and with usage 0 (no passphrase) the secret
MPIs in the clear. gpg-agent keeps keys in `private-keys-v1.d/*.key` as S-expressions: `(private-key
(rsa (n #00AB..#)(e #010001#)(d #..#)(p #..#)(q #..#)(u #..#)))`, `(private-key (ecc (curve "NIST
P-256")(q #04..#)(d #..#)))` (hex between `#`s, wrapped over lines), unprotected when no passphrase
was set (`protected-private-key` otherwise). Both readers certified either clean (the armoured export
was found by its armour only).

- Packets: a packet head (old format, tag 5 or 7, 1-, 2- or 4-octet length; new format `C5`/`C7`)
  then version 4, usage 0 and whole MPIs: RSA (algorithms 1-3) is proven by p * q = n; ECDSA/ECDH on
  P-256/384/521 or secp256k1 (algorithms 19, 18) by d * G = q; legacy EdDSA (22, Ed25519) by the
  seed's public key. Kind `openpgp-secret-key`, the span the packet.
- S-expressions: `(private-key` followed within `SEXP_WINDOW` bytes by a `(d` member: the key file
  is a secret key whatever its numbers (as a PEM's armour is); kind `gnupg-private-key`, the span
  to the expression's closing parenthesis (or the window's end).
Bounded: `MAX_HEADS` packet heads a chunk plus one per KiB (more: incomplete), MPIs of 16,384 bits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519

from ..chunks import Chunk
from ..findings import Finding
from .base import PassDetector

HEAD = re.compile(rb"(?:[\x94\x9c].|[\x95\x9d]..|[\x96\x9e]....|[\xc5\xc7](?:[\x00-\xbf]|[\xc0-\xdf].|\xff....))"
                  rb"\x04.{4}[\x01\x02\x03\x10\x11\x12\x13\x16]", re.DOTALL)
SEXP = re.compile(rb"\(\s*(?:\d+:)?(protected-)?private-key\s*\(")
SEXP_D = re.compile(rb"\(\s*(?:1:[dx][0-9]+:|[dx][\s#\[])")  # d (RSA, ECC), x (DSA, Elgamal)
# a key imported without a passphrase: `(protected-private-key ... (protection none))`, its secrets in clear
UNPROTECTED = re.compile(rb"\(\s*(?:10:)?protection\s*(?:4:)?none\s*\)")
SEXP_WINDOW = 64 << 10  # an RSA-16384 key file in hex is about 20 KiB
MAX_HEADS = 10_000
MAX_MPI_BITS = 16384
MAX_GROUP_BITS = 4096  # a DSA or Elgamal prime (3,072 and 4,096 bits at most in gpg)
MAX_EXPONENTIATIONS = 256  # DSA/Elgamal proofs a chunk (one g^x mod p each, 30 ms at 4,096 bits)
CURVES: dict[bytes, ec.EllipticCurve] = {
    bytes.fromhex("2a8648ce3d030107"): ec.SECP256R1(), bytes.fromhex("2b81040022"): ec.SECP384R1(),
    bytes.fromhex("2b81040023"): ec.SECP521R1(), bytes.fromhex("2b8104000a"): ec.SECP256K1()}
ED25519_OID = bytes.fromhex("2b06010401da470f01")
CV25519_OID = bytes.fromhex("2b060104019755010501")
CURVES.update({bytes.fromhex("2b2403030208010107"): ec.BrainpoolP256R1(),
               bytes.fromhex("2b240303020801010b"): ec.BrainpoolP384R1(),
               bytes.fromhex("2b240303020801010d"): ec.BrainpoolP512R1()})
_ALGORITHM = np.zeros(256, dtype=np.bool_)
_ALGORITHM[[1, 2, 3, 16, 17, 18, 19, 22]] = True


class _Packet:
    """A reader of one packet's body: MPIs and octets in order, None past its end."""

    def __init__(self, data: bytes, at: int, end: int) -> None:
        self.data, self.at, self.end = data, at, end

    def octets(self, count: int) -> bytes | None:
        if self.at + count > self.end:
            return None
        value = bytes(self.data[self.at:self.at + count])
        self.at += count
        return value

    def mpi(self) -> int | None:
        head = self.octets(2)
        if head is None:
            return None
        bits = int.from_bytes(head, "big")
        body = self.octets((bits + 7) // 8) if bits <= MAX_MPI_BITS else None
        return int.from_bytes(body, "big") if body is not None else None


def _length(data: bytes, at: int) -> tuple[int, int] | None:
    """(body start, body length) of the packet whose head is at `at`."""
    first = data[at]
    if first & 0x40:  # new format
        octet = data[at + 1]
        if octet < 192:
            return at + 2, octet
        if octet < 224:
            return at + 3, ((octet - 192) << 8) + data[at + 2] + 192
        if octet < 255:
            return None  # a partial length: a data packet's, never a key's
        return at + 6, int.from_bytes(data[at + 2:at + 6], "big")
    width = {0: 1, 1: 2, 2: 4}[first & 3]
    return at + 1 + width, int.from_bytes(data[at + 1:at + 1 + width], "big")


def _secret(data: bytes, at: int, budget: list[int]) -> tuple[int, Any] | None:
    """(packet end, key) of a proven unprotected v4 secret key packet at `at`, or None."""
    found = _length(data, at)
    if found is None:
        return None
    start, size = found
    packet = _Packet(data, start + 5, min(len(data), start + size))
    algorithm = packet.octets(1)
    if algorithm is None:
        return None
    if algorithm[0] in (1, 2, 3):
        n, e = packet.mpi(), packet.mpi()
        if n is None or e is None or packet.octets(1) != b"\x00":
            return None
        d, p, q = packet.mpi(), packet.mpi(), packet.mpi()
        return (start + size, None) if p and q and d and p > 1 and q > 1 and p * q == n else None
    if algorithm[0] in (16, 17):  # Elgamal (p, g, y), DSA (p, q, g, y); the secret x: y = g^x mod p
        values = [packet.mpi() for _ in range(3 if algorithm[0] == 16 else 4)]
        if None in values or packet.octets(1) != b"\x00":
            return None
        p, g, y, x = values[0], values[-2], values[-1], packet.mpi()
        if p is None or g is None or y is None or x is None or not 1 < x < p or p.bit_length() > MAX_GROUP_BITS:
            return None
        budget[0] -= 1
        if budget[0] < 0:
            return None  # the caller says the chunk was not read in full
        return (start + size, None) if pow(g, x, p) == y else None
    oid_size = packet.octets(1)
    oid = packet.octets(oid_size[0]) if oid_size else None
    point = packet.mpi()
    if algorithm[0] == 18:  # ECDH: the KDF parameters
        kdf = packet.octets(1)
        if kdf is None or packet.octets(kdf[0]) is None:
            return None
    if oid is None or point is None or packet.octets(1) != b"\x00":
        return None
    secret = packet.mpi()
    key = _ecc_key(oid, point, secret) if secret else None
    return (start + size, key) if key is not None else None


def _ecc_key(oid: bytes, point: int, secret: int) -> Any:
    if oid == CV25519_OID:  # ECDH on Curve25519: q is 0x40 || the public key, the secret the scalar (either order)
        for order in ("big", "little"):
            try:
                scalar = x25519.X25519PrivateKey.from_private_bytes(secret.to_bytes(32, order))
            except (OverflowError, ValueError):
                return None
            if point == (0x40 << 256) | int.from_bytes(scalar.public_key().public_bytes_raw(), "big"):
                return scalar
        return None
    if oid == ED25519_OID:  # legacy EdDSA: q is 0x40 || the public key, the secret the seed
        try:
            key = ed25519.Ed25519PrivateKey.from_private_bytes(secret.to_bytes(32, "big"))
        except (OverflowError, ValueError):
            return None
        return key if point == (0x40 << 256) | int.from_bytes(key.public_key().public_bytes_raw(), "big") else None
    curve = CURVES.get(oid)
    if curve is None:
        return None
    try:
        derived = ec.derive_private_key(secret, curve)
    except ValueError:
        return None
    public = derived.public_key().public_numbers()
    size = (curve.key_size + 7) // 8
    return derived if point == (4 << (16 * size)) | (public.x << (8 * size)) | public.y else None


def _sexp_end(data: bytes, start: int) -> int:
    """Where the S-expression opened at `start` closes (within the window), or the window's end."""
    window = np.frombuffer(data, dtype=np.uint8, count=min(len(data), start + SEXP_WINDOW) - start, offset=start)
    depth = np.cumsum((window == 0x28).astype(np.int32) - (window == 0x29))
    closed = np.flatnonzero(depth == 0)
    return start + int(closed[0]) + 1 if len(closed) else start + len(window)


def _heads(data: bytes) -> Iterator[int]:
    """Offsets where `HEAD` matches, in order: numpy finds the version octet 4 with a key algorithm
    five octets on (one offset in about 11,000 of random bytes), and the head is matched only before
    those (the regex tried at every byte took 2.2 s in a 77 MB core)."""
    if len(data) < 8:
        return
    octets = np.frombuffer(data, dtype=np.uint8)
    versions = np.flatnonzero(octets[:-5] == 4)
    versions = versions[_ALGORITHM[octets[versions + 5]]]
    for version in versions.tolist():
        for at in (version - 6, version - 5, version - 3, version - 2):  # the longest head first
            head = HEAD.match(data, at) if at >= 0 else None
            if head is not None and head.end() == version + 6:
                yield at
                break


def openpgp_keys(data: bytes, cut: set[str]) -> Iterator[tuple[int, int, str, Any]]:
    """(start, end, kind, key) of each secret key packet proven and each unprotected agent key."""
    reach, budget = 0, [MAX_EXPONENTIATIONS]
    cap = MAX_HEADS + len(data) // 1024
    for count, at in enumerate(_heads(data)):
        if count >= cap:
            cut.add(f"der: more than {cap} OpenPGP packet heads in a chunk or view")
            break
        if at < reach:
            continue
        found = _secret(data, at, budget)
        if budget[0] < 0:
            cut.add(f"der: more than {MAX_EXPONENTIATIONS} OpenPGP DSA/Elgamal proofs in a chunk or view")
            break
        if found is not None:
            reach = found[0]
            yield at, min(found[0], len(data)), "openpgp-secret-key", found[1]
    reach = 0
    for match in SEXP.finditer(data):
        if match.start() < reach:
            continue  # inside the expression before (each byte is read in one window at most)
        reach = _sexp_end(data, match.start())
        secret = UNPROTECTED if match.group(1) is not None else SEXP_D  # protected: its `skey` values in clear
        if secret.search(data, match.end(), reach):
            yield match.start(), reach, "gnupg-private-key", None


class OpenPgpPass(PassDetector):
    """Unarmoured OpenPGP secret key packets and gpg-agent's unprotected key files."""

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        for start, end, kind, key in openpgp_keys(chunk.data, self._cut):
            if chunk.owns(start):
                yield self.found(chunk, start, end - start, kind, "raw", key)


__all__ = ["OpenPgpPass", "openpgp_keys"]
