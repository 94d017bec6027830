"""Key registry and lifecycle: realms (issuers), rotation policy, JWKS with validity windows."""

from .jwk import jwks_document, public_jwk, published_jwk, thumbprint
from .model import KeyRecord, KeyState, Realm, RotationPolicy
from .registry import Registry, check_issuer_url, verify_window
from .tripwire import PROBE_SUBJECT, Tripwire, TripwireKind, Tripwires

__all__ = [
    "KeyRecord",
    "KeyState",
    "PROBE_SUBJECT",
    "Realm",
    "Registry",
    "RotationPolicy",
    "Tripwire",
    "TripwireKind",
    "Tripwires",
    "check_issuer_url",
    "jwks_document",
    "public_jwk",
    "published_jwk",
    "thumbprint",
    "verify_window",
]
