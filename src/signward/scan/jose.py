"""The JOSE helpers the engine needs, kept here so that `signward.scan` imports nothing of the
product: the RFC 7638 thumbprint that names a known key without a `kid`, the JWS signature check
that tells a live token of a known key in a HAR, and the ISO 8601 time of its `exp`.

Each is the product's own helper moved as it is (`keys.jwk.thumbprint`, `algorithms.signature_ok`,
`clock.iso`); tests/scan/test_jose.py holds them to the product's answers.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc.jwk import ECKey, OKPKey, RSAKey

# JOSE `alg` -> (hash, size in bytes of r and s for ECDSA, curve bits); RFC 7518 3.1 and RFC 8037
_ECDSA = {"ES256": (hashes.SHA256, 32, 256), "ES384": (hashes.SHA384, 48, 384)}
# Group orders (SEC 2 / FIPS 186-4), for the 0 < r, s < n rule on ECDSA signatures.
_CURVE_ORDER = {
    256: 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    384: 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
}
ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")


def thumbprint(public_key: Any) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA, EC or Ed25519 public key."""
    jose: ECKey | OKPKey | RSAKey
    if isinstance(public_key, rsa.RSAPublicKey):
        jose = RSAKey.import_key(public_key)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        jose = ECKey.import_key(public_key)
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        jose = OKPKey.import_key(public_key)
    else:
        raise TypeError(f"unsupported public key type {type(public_key).__name__}")
    return str(jose.thumbprint())


def scalars_in_range(r: int, s: int, order: int) -> bool:
    """RFC 7518 3.4 / SEC 1 4.1.4: 0 < r < n and 0 < s < n, checked here and not left to the
    backend (as `algorithms.ecdsa_scalars_in_range`)."""
    return 0 < r < order and 0 < s < order


def signature_ok(public_key: Any, alg: str, data: bytes, signature: bytes) -> bool:
    """Check a JWS signature (`alg` one of ALGORITHMS) with cryptography; never raises.

    ECDSA signatures must be exactly r||s of the field size with 0 < r, s < n (RFC 7518 3.4).
    """
    try:
        if alg in _ECDSA:
            hash_type, n, bits = _ECDSA[alg]
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                return False
            if len(signature) != 2 * n or public_key.curve.key_size != bits:
                return False
            r = int.from_bytes(signature[:n], "big")
            s = int.from_bytes(signature[n:], "big")
            if not scalars_in_range(r, s, _CURVE_ORDER[bits]):
                return False
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_type()))
        elif alg == "RS256":
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256":
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            public_key.verify(signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        elif alg == "EdDSA":
            if not isinstance(public_key, ed25519.Ed25519PublicKey):
                return False
            public_key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def iso(ts: float | None) -> str | None:
    """An epoch second as ISO 8601 UTC, for humans and JSON."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")
