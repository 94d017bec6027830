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
SALTED_COUNT = re.compile(rb"\x04(?:[\x08-\x7f]|\x81[\x80-\xff]|\x82..|\x83...)", re.DOTALL)  # a salt: OCTET STRING
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
    if offset + 2 > len(data):
        return None
    first = data[offset + 1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or offset + 2 + count > len(data):
        return None
    return 2 + count + int.from_bytes(data[offset + 2:offset + 2 + count], "big")


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
    except Exception:  # ValueError, UnsupportedAlgorithm: not a key we can confirm
        return None
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
    """The largest iteration count in `blob`: the INTEGER after each salt (MacData, PBKDF2 and
    PKCS#12 PBE parameters all put it there; DER writes it one way only, so none is missed; an
    INTEGER after any other OCTET STRING only makes the count larger: not opened)."""
    largest = 0
    for match in SALTED_COUNT.finditer(blob):
        header = match.group(0)
        size = header[1] if len(header) == 2 else int.from_bytes(header[2:], "big")
        at = match.end() + size
        if blob[at:at + 1] == b"\x02" and at + 2 <= len(blob):
            width = blob[at + 1]
            if width > 4:
                return 1 << 62
            largest = max(largest, int.from_bytes(blob[at + 2:at + 2 + width], "big"))
    return largest


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
        opened = 0
        starts = [m.start() for m in ANCHOR.finditer(data)]
        for match in ENCRYPTION_OID.finditer(data):  # EncryptedPrivateKeyInfo: SEQ { SEQ { OID ...
            for back in (4, 6, 8, 3, 5, 7):
                start = match.start() - back
                if start >= 0 and data[start] == 0x30:
                    starts.append(start)
        for start in sorted(set(starts)):
            if start in reported or not chunk.owns(start):
                continue
            hit = classify_der(data, start, open_pkcs12=opened < MAX_PKCS12_OPENED)
            if hit is None:
                continue
            opened += hit.kind.startswith("pkcs12")
            reported.add(start)
            yield self.found(chunk, start, hit.length, hit.kind, "der", hit.key)
        for match in KEYSTORE.finditer(data):
            if chunk.owns(match.start()):
                store = keystore(data, match.start())
                if store is not None:
                    yield self.found(chunk, match.start(), store.length, store.kind, "der")


__all__ = ["DerDetector", "DerKey", "classify_der", "consistent", "der_length", "keystore"]
