"""The JWS algorithms signward signs and verifies with (RFC 7518, RFC 8037) and how to check a signature.

The algorithm is a property of the key, chosen when the key is made; nothing downstream
ever takes it from a token header.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeGuard

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .errors import ConfigError

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class Alg(str, enum.Enum):
    """A JWS signing algorithm; its value is the JOSE `alg` name."""

    ES256 = "ES256"  # ECDSA P-256 with SHA-256
    ES384 = "ES384"  # ECDSA P-384 with SHA-384
    RS256 = "RS256"  # RSASSA-PKCS1-v1_5 with SHA-256
    PS256 = "PS256"  # RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt
    EdDSA = "EdDSA"  # Ed25519

    @classmethod
    def parse(cls, name: str) -> "Alg":
        try:
            return cls(name)
        except ValueError:
            allowed = ", ".join(a.value for a in cls)
            raise ConfigError(f"unknown algorithm {name!r} (allowed: {allowed})") from None


@dataclass(frozen=True)
class AlgSpec:
    kty: str  # EC, RSA or OKP
    curve: str | None  # JOSE crv
    hash: type[hashes.HashAlgorithm] | None
    field_bytes: int  # EC: size of r and s; 0 otherwise


SPECS: dict[Alg, AlgSpec] = {
    Alg.ES256: AlgSpec("EC", "P-256", hashes.SHA256, 32),
    Alg.ES384: AlgSpec("EC", "P-384", hashes.SHA384, 48),
    Alg.RS256: AlgSpec("RSA", None, hashes.SHA256, 0),
    Alg.PS256: AlgSpec("RSA", None, hashes.SHA256, 0),
    Alg.EdDSA: AlgSpec("OKP", "Ed25519", None, 0),
}

RSA_BITS_ALLOWED = (2048, 3072, 4096)

# Group orders (SEC 2 / FIPS 186-4), for the 0 < r, s < n rule on ECDSA signatures.
CURVE_ORDER = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
}


def digest(alg: Alg, data: bytes) -> bytes:
    """The hash of `data` the algorithm signs (host-side hashing for CKM_ECDSA and PSS)."""
    spec = SPECS[alg]
    if spec.hash is None:
        raise ValueError(f"{alg.value} signs the message itself, not a digest")
    h = hashes.Hash(spec.hash())
    h.update(data)
    return h.finalize()


def ecdsa_scalars_in_range(r: int, s: int, order: int) -> bool:
    """RFC 7518 3.4 / SEC 1 4.1.4: 0 < r < n and 0 < s < n. Checked here, not left to the
    backend: a signature (r, s + n) must never verify, whatever library does the math."""
    return 0 < r < order and 0 < s < order


# built once (issue 39: `ec.ECDSA(SHA256())` per check cost more than the range checks); immutable
_ECDSA = {alg: ec.ECDSA(spec.hash()) for alg, spec in SPECS.items() if spec.kty == "EC" and spec.hash is not None}
_ELLIPTIC: set[type] = set()  # classes whose instances are EllipticCurvePublicKey (the ABC check, once per class)


def _elliptic(public_key: object) -> TypeGuard[ec.EllipticCurvePublicKey]:
    """isinstance(public_key, ec.EllipticCurvePublicKey), the ABC's check made once per class."""
    cls = type(public_key)
    if cls in _ELLIPTIC:
        return True
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        _ELLIPTIC.add(cls)
        return True
    return False


def signature_ok(public_key: PublicKey, alg: Alg, data: bytes, signature: bytes) -> bool:
    """Check a JWS signature with cryptography; never raises.

    ECDSA signatures must be exactly r||s of the field size with 0 < r, s < n (RFC 7518 3.4).
    """
    spec = SPECS[alg]
    try:
        if spec.kty == "EC":
            if not _elliptic(public_key):
                return False
            n = spec.field_bytes
            if len(signature) != 2 * n or public_key.curve.key_size != {32: 256, 48: 384}[n]:
                return False
            r = int.from_bytes(signature[:n], "big")
            s = int.from_bytes(signature[n:], "big")
            if not ecdsa_scalars_in_range(r, s, CURVE_ORDER[spec.curve or ""]):
                return False
            if spec.hash is None:
                return False
            public_key.verify(encode_dss_signature(r, s), data, _ECDSA[alg])
        elif alg is Alg.RS256:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif alg is Alg.PS256:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        else:
            if not isinstance(public_key, ed25519.Ed25519PublicKey):
                return False
            public_key.verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
