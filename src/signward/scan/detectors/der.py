"""DER private keys, parsed to confirm: PKCS#1, PKCS#8 (RSA, EC, Ed25519, X25519), SEC1,
encrypted PKCS#8 (flagged), PKCS#12 (flagged; opened with no password, the empty one and the
well-known ones, keytool's "changeit" among them: a key read is reported with the file), and
Java's JKS and JCEKS keystores that hold a private or secret key (their keys are protected by the
store's password, "changeit" in most: flagged).

A regex finds where a structure could start (a SEQUENCE holding version 0, 1 or 3, or a
password-based-encryption OID); only what `cryptography` then loads as a private key (or
recognises as encrypted) is reported, so a certificate or a random `30 82` is not. Short
length forms are included (`30 81 87` for a P-256 PKCS#8 key, `30 2e` for Ed25519).
`classify_der` is shared with the text detector, which decodes base64 before calling it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.hazmat.primitives.serialization import load_der_private_key, pkcs12

from ..chunks import Chunk
from ..findings import Finding
from .base import BaseDetector
from .der_cut import CutChecks, cut_key
from .multiprime import multiprime_key
from .tlv import read_head

ANCHOR = re.compile(rb"\x30(?:\x82..|\x81.|[\x20-\x7f])\x02\x01[\x00\x01\x03]\x30?", re.DOTALL)
ENCRYPTION_OID = re.compile(
    rb"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d"  # PBES2
    rb"|\x06\x0a\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01[\x01-\x06]"  # PKCS#12 PBE
    rb"|\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x05[\x01\x03\x04\x06\x0a\x0b]"  # PBES1
    rb"|\x06\x0a\x2b\x06\x01\x04\x01\x2a\x02\x11\x01\x01"  # Sun's JKS key protector (a JKS keystore's key)
    rb"|\x06\x09\x2b\x06\x01\x04\x01\x2a\x02\x13\x01")  # PBEWithMD5AndTripleDES (a JCEKS keystore's key)
JAVA_PROTECTORS = {b"\x2b\x06\x01\x04\x01\x2a\x02\x11\x01\x01": "jks-protected-key",
                   b"\x2b\x06\x01\x04\x01\x2a\x02\x13\x01": "jceks-protected-key"}
PKCS12_PASSWORDS: tuple[bytes | None, ...] = (None, b"", b"changeit", b"password", b"changeme", b"secret")
MAX_PKCS12_ITERATIONS = 200_000  # a key derivation costlier than this is not tried (openssl: 2,048; keytool: 10,000)
MAX_PKCS12_OPENED = 16  # PKCS#12 files opened per chunk (each password one to three derivations)
# the AlgorithmIdentifiers whose parameters are SEQUENCE { salt OCTET STRING, iterations INTEGER, ... }
# (PKCS#12 PBE, PBES1, PBKDF2) and those that must hold PBKDF2 as their key derivation (PBES2, PBMAC1)
SALTED_KDF_OIDS = ({b"\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01" + bytes([n]) for n in range(1, 7)}
                   | {b"\x2a\x86\x48\x86\xf7\x0d\x01\x05" + bytes([n]) for n in (1, 3, 4, 6, 10, 11, 12)})
PBKDF2_SCHEMES = {b"\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0d", b"\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0e"}
PBKDF2_OID = b"\x2a\x86\x48\x86\xf7\x0d\x01\x05\x0c"
MAX_PKCS12_VALUES, MAX_PKCS12_DEPTH = 4096, 24  # the cost pre-check's walk
UNREADABLE = 1 << 62  # the cost of what the walk cannot read: never opened
KEYSTORE = re.compile(rb"\xfe\xed\xfe\xed\x00\x00\x00[\x01\x02]|\xce\xce\xce\xce\x00\x00\x00\x02")
MAX_KEYSTORE_ENTRIES = 10_000
PKCS7_DATA = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
CURVE25519 = re.compile(rb"\x30[\x2e\x51\x53]\x02\x01[\x00\x01]\x30\x05\x06\x03\x2b\x65([\x70\x6e])\x04\x22\x04\x20",
                        re.DOTALL)


@dataclass(frozen=True)
class DerKey:
    """A confirmed DER structure: `length` bytes, what it is, and the key when it could be loaded."""

    length: int
    kind: str
    key: Any = None


def der_length(data: bytes, offset: int) -> int | None:
    """Total length (header included) of the definite-length TLV at `offset`, or None."""
    head = read_head(data, offset)
    return None if head is None or head.length is None else head.start - offset + head.length


def _kind_of(key: Any, blob: bytes) -> str:
    version_at = 2 + (blob[1] & 0x7F if blob[1] >= 0x80 else 0)
    pkcs8 = blob[version_at + 3:version_at + 4] == b"\x30"  # PKCS#8: version, then AlgorithmIdentifier
    if isinstance(key, rsa.RSAPrivateKey):
        return "pkcs8-rsa" if pkcs8 else "pkcs1-rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "pkcs8-ec" if pkcs8 else "sec1-ec"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "pkcs8-ed25519"
    if isinstance(key, x25519.X25519PrivateKey):
        return "pkcs8-x25519"
    return "pkcs8-other"


def classify_der(data: bytes, offset: int, open_pkcs12: bool = False) -> DerKey | None:
    """Confirm a private key (or an encrypted one, or a PKCS#12 file) starting at `offset`; with
    `open_pkcs12`, a PKCS#12 file is opened with the well-known passwords."""
    total = der_length(data, offset)
    if total is None or total < 16 or offset + total > len(data):
        return None
    blob = bytes(data[offset:offset + total])
    curve = CURVE25519.match(blob)
    if curve is not None:
        seed = blob[16:48]
        if len(seed) == 32:
            key: Any = (ed25519.Ed25519PrivateKey if curve.group(1) == b"\x70" else
                        x25519.X25519PrivateKey).from_private_bytes(seed)
            return DerKey(total, "pkcs8-ed25519" if curve.group(1) == b"\x70" else "pkcs8-x25519", key)
    version_at = 2 + (blob[1] & 0x7F if blob[1] >= 0x80 else 0)
    if blob[version_at:version_at + 3] == b"\x02\x01\x03" and PKCS7_DATA in blob[version_at + 3:version_at + 24]:
        opened = pkcs12_key(blob) if open_pkcs12 else None
        return DerKey(total, "pkcs12") if opened is None else DerKey(total, "pkcs12-well-known-password", opened)
    try:
        key = load_der_private_key(blob, password=None, unsafe_skip_rsa_key_validation=True)
        if not consistent(key):
            return None
    except TypeError:  # "Password was not given but private key is encrypted"
        algorithm = blob[version_at + 4:version_at + 16]  # SEQ { SEQ { OID ...: the OID's bytes
        protector = next((k for oid, k in JAVA_PROTECTORS.items() if algorithm.startswith(oid)), None)
        return DerKey(total, protector or "pkcs8-encrypted")
    except Exception:  # ValueError, UnsupportedAlgorithm: not a key we can confirm, but a multi-prime RSA one
        multiprime = multiprime_key(blob)  # (cryptography loads no multi-prime key: multiprime.py)
        return None if multiprime is None else DerKey(total, multiprime[0], multiprime[1])
    return DerKey(total, _kind_of(key, blob), key)


def pkcs12_key(blob: bytes) -> Any:
    """The private key of a PKCS#12 file that opens with no password, the empty one or a well-known
    one, or None (another password, no key, or a key derivation over MAX_PKCS12_ITERATIONS)."""
    if _costliest_derivation(blob) > MAX_PKCS12_ITERATIONS:
        return None
    for password in PKCS12_PASSWORDS:
        try:
            key, _, _ = pkcs12.load_key_and_certificates(blob, password)
        except Exception:  # the wrong password (the MAC does not verify), or not PKCS#12 after all
            continue
        return key
    return None


def _costliest_derivation(blob: bytes) -> int:
    """The largest iteration count of a PKCS#12 file's key derivations, read by their place in its
    DER: the MacData's iterations (the PFX's third value) and the iterations of every PKCS#12 PBE,
    PBES1 and PBKDF2 AlgorithmIdentifier's parameters (PBES2 and PBMAC1 hold a PBKDF2 one), walking
    every constructed value and every OCTET STRING that holds one DER value (the authenticated
    safe, the bags, a certificate). Key and ciphertext bytes are never read as a count.
    `UNREADABLE` (never opened) when the file does not walk as DER or past the walk's bounds
    (`MAX_PKCS12_VALUES` values, `MAX_PKCS12_DEPTH` deep), or when a PBES2 or PBMAC1 names another
    key derivation (scrypt: its cost is not an iteration count)."""
    try:
        walk = _DerivationWalk(blob)
        ((tag, inner, after),) = walk.values(0, len(blob))
        pfx = walk.values(inner, after) if tag == 0x30 else []
        if len(pfx) == 3:  # version, authSafe, macData SEQUENCE { mac, macSalt, iterations DEFAULT 1 }
            walk.count(pfx[2], 1)
        walk.walk(inner, after, 1)
        return walk.largest
    except (_NotWalked, ValueError):  # ValueError: not exactly one value at the top
        return UNREADABLE


class _NotWalked(Exception):
    pass


class _DerivationWalk:
    """The walk of `_costliest_derivation`: the DER values under one PKCS#12 file, counted."""

    def __init__(self, blob: bytes) -> None:
        self.blob, self.seen, self.largest = blob, 0, 0

    def values(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """(tag, content start, end) of each DER value in [start, end), which they must fill."""
        found, position = [], start
        while position < end:
            head = read_head(self.blob, position, end)
            if head is None or head.length is None or head.start + head.length > end or head.tag & 0x1F == 0x1F:
                raise _NotWalked
            found.append((head.tag, head.start, head.start + head.length))
            position = head.start + head.length
        self.seen += len(found)
        if self.seen > MAX_PKCS12_VALUES:
            raise _NotWalked
        return found

    def count(self, value: tuple[int, int, int], salt_at: int) -> None:
        """The iterations INTEGER right after the salt (the OCTET STRING at field `salt_at`) of the
        SEQUENCE `value` (absent: 1, MacData's default)."""
        tag, inner, after = value
        fields = self.values(inner, after) if tag == 0x30 else []
        if len(fields) <= salt_at or fields[salt_at][0] != 0x04:
            raise _NotWalked
        if len(fields) > salt_at + 1:
            kind, start, end = fields[salt_at + 1]
            if kind != 0x02:
                raise _NotWalked
            self.largest = max(self.largest, int.from_bytes(self.blob[start:end], "big"))

    def walk(self, start: int, end: int, depth: int) -> None:
        """Every AlgorithmIdentifier of a key derivation below [start, end)."""
        if depth > MAX_PKCS12_DEPTH:
            raise _NotWalked
        values = self.values(start, end)
        if len(values) >= 2 and values[0][0] == 0x06:
            oid = self.blob[values[0][1]:values[0][2]]
            if oid in SALTED_KDF_OIDS:  # SEQUENCE { salt, iterations, ... }
                self.count(values[1], 0)
            elif oid in PBKDF2_SCHEMES:  # SEQUENCE { SEQUENCE { PBKDF2, ... }, ... }
                scheme = self.values(values[1][1], values[1][2]) if values[1][0] == 0x30 else []
                kdf = self.values(scheme[0][1], scheme[0][2]) if scheme and scheme[0][0] == 0x30 else []
                if not kdf or kdf[0][0] != 0x06 or self.blob[kdf[0][1]:kdf[0][2]] != PBKDF2_OID:
                    raise _NotWalked
        for tag, inner, after in values:
            holds_der = (tag == 0x04 and after - inner >= 2 and self.blob[inner] == 0x30
                         and der_length(self.blob, inner) == after - inner)
            if tag & 0x20 or holds_der:
                self.walk(inner, after, depth + 1)


def keystore(data: bytes, offset: int) -> DerKey | None:
    """A JKS (magic feedfeed) or JCEKS (cececece) keystore at `offset` that holds a private key
    (tag 1) or a secret key (tag 3, JCEKS): its entries are walked (alias, time, the protected key
    and its certificate chain, each length-prefixed) to the store's closing SHA-1; a JCEKS secret
    key is a serialized Java object with no length before it, so the store is taken to the end of
    `data` (at most 64 KiB) from there. A store of trusted certificates only (a truststore, Java's
    cacerts) is not a finding; a store that does not walk is not one either (the protected keys in
    it are still found by their protector's OID)."""
    jceks = data[offset] == 0xCE
    version = int.from_bytes(data[offset + 4:offset + 8], "big")
    count = int.from_bytes(data[offset + 8:offset + 12], "big")
    if count > MAX_KEYSTORE_ENTRIES:
        return None
    position, secret = offset + 12, ""
    try:
        for _ in range(count):
            tag = int.from_bytes(_take(data, position, 4), "big")
            position += 4
            position += 2 + int.from_bytes(_take(data, position, 2), "big") + 8  # alias, time
            if tag == 1:
                secret = secret or "private-key"
                position += 4 + int.from_bytes(_take(data, position, 4), "big")
                chain = int.from_bytes(_take(data, position, 4), "big")
                position += 4
                if chain > MAX_KEYSTORE_ENTRIES:
                    return None
                for _ in range(chain):
                    position = _certificate(data, position, version)
            elif tag == 2:
                position = _certificate(data, position, version)
            elif tag == 3 and jceks:
                end = min(len(data), position + (64 << 10))
                return DerKey(end - offset, "jceks-keystore-secret-key")
            else:
                return None
        _take(data, position, 20)  # the keyed SHA-1 of the whole store
    except IndexError:
        return None
    if not secret:
        return None
    return DerKey(position + 20 - offset, ("jceks" if jceks else "jks") + "-keystore-" + secret)


def _take(data: bytes, position: int, size: int) -> bytes:
    if position + size > len(data):
        raise IndexError("past the end")
    return data[position:position + size]


def _certificate(data: bytes, position: int, version: int) -> int:
    if version == 2:  # the certificate's type ("X.509"), then its bytes
        position += 2 + int.from_bytes(_take(data, position, 2), "big")
    size = int.from_bytes(_take(data, position, 4), "big")
    _take(data, position + 4, size)
    return position + 4 + size


def consistent(key: Any) -> bool:
    """The cheap check that replaces OpenSSL's slow RSA key validation (seconds on odd inputs):
    the primes multiply to the modulus."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        return numbers.p * numbers.q == numbers.public_numbers.n and numbers.p > 1 and numbers.q > 1
    return True


class DerDetector(BaseDetector):
    """Binary DER private keys anywhere in the dump."""

    name = "der"

    def scan(self, chunk: Chunk) -> Iterator[Finding]:
        data = chunk.data
        reported: set[int] = set()
        opened, checks = 0, CutChecks()
        starts = [m.start() for m in ANCHOR.finditer(data)]
        for match in ENCRYPTION_OID.finditer(data):  # EncryptedPrivateKeyInfo: SEQ { SEQ { OID ...
            for back in (4, 6, 8, 3, 5, 7):
                start = match.start() - back
                if start >= 0 and data[start] == 0x30:
                    starts.append(start)
        whole_end = 0  # a cut-short reading inside a whole key (PKCS#8's inner SEC1) is that key again
        for start in sorted(set(starts)):
            if start in reported or not chunk.owns(start):
                continue
            hit = classify_der(data, start, open_pkcs12=opened < MAX_PKCS12_OPENED)
            if hit is None:
                cut = cut_key(data, start, checks) if start >= whole_end else None  # cut short after its secret
                if cut is not None:
                    reported.add(start)
                    yield self.found(chunk, start, cut[0], cut[1], "der", cut[2])
                continue
            opened += hit.kind.startswith("pkcs12")
            reported.add(start)
            whole_end = max(whole_end, start + hit.length)
            yield self.found(chunk, start, hit.length, hit.kind, "der", hit.key)
        for at in keystore_starts(data):
            if chunk.owns(at):
                store = keystore(data, at)
                if store is not None:
                    yield self.found(chunk, at, store.length, store.kind, "der")


def keystore_starts(data: bytes) -> list[int]:
    """Where `KEYSTORE` matches, in order: its two magics found by `bytes.find` (the pattern's
    `finditer` tried an alternation at every byte, 0.2 s of a 32 MiB chunk), each confirmed by the
    pattern itself."""
    starts = []
    for magic in (b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"):
        at = data.find(magic)
        while at != -1:
            if KEYSTORE.match(data, at):
                starts.append(at)
            at = data.find(magic, at + 1)
    return sorted(starts)


__all__ = ["DerDetector", "DerKey", "classify_der", "consistent", "der_length", "keystore", "keystore_starts"]
