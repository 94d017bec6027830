"""Public JWKs (RFC 7517), kid as the RFC 7638 thumbprint, and JWKS documents with validity
windows (`nbf`, `exp`, `issuer` members, as DESIGN.md and Entra's key documents use)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, OKPKey, RSAKey

from ..algorithms import PublicKey
from .model import KeyRecord


def _jose_key(public_key: PublicKey) -> ECKey | OKPKey | RSAKey:
    if isinstance(public_key, rsa.RSAPublicKey):
        return RSAKey.import_key(public_key)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ECKey.import_key(public_key)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return OKPKey.import_key(public_key)
    raise TypeError(f"unsupported public key type {type(public_key).__name__}")


def public_jwk(public_key: PublicKey) -> dict[str, Any]:
    """The public members only, as joserfc exports them."""
    return dict(_jose_key(public_key).as_dict(private=False))


def thumbprint(public_key: PublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url), used as the kid."""
    return str(_jose_key(public_key).thumbprint())


def published_jwk(key: KeyRecord, issuer: str) -> dict[str, Any]:
    """The JWK as published: public members, kid, alg, use, and its window and issuer."""
    return {**key.public_jwk, "kid": key.kid, "alg": key.alg.value, "use": "sig",
            "nbf": int(key.sign_from), "exp": int(key.verify_until), "issuer": issuer}


def jwks_document(keys: list[KeyRecord], issuer: str, now: float) -> dict[str, Any]:
    """Every key of the realm that is published now (revoked and expired keys left out)."""
    live = sorted((k for k in keys if k.is_published(now)), key=lambda k: k.sign_from)
    return {"keys": [published_jwk(k, issuer) for k in live]}

