"""Key registry and lifecycle: realms (issuers), rotation policy, JWKS with validity windows."""

from .jwk import jwks_document, public_jwk, published_jwk, thumbprint
from .model import KeyRecord, KeyState, Realm, RotationPolicy
from .registry import Registry, check_issuer_url

__all__ = [
    "KeyRecord",
    "KeyState",
    "Realm",
    "Registry",
    "RotationPolicy",
    "check_issuer_url",
    "jwks_document",
    "public_jwk",
    "published_jwk",
    "thumbprint",
]
