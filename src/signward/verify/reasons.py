"""Why a token was refused: one stable code per rule. Tests assert on these, never on text."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    MALFORMED = "malformed"  # not a strict compact JWS/JWT, or a claim of the wrong JSON type
    ALG_NOT_ALLOWED = "alg_not_allowed"  # none, HMAC, unknown, or not the key's own algorithm
    UNTRUSTED_KEY_REFERENCE = "untrusted_key_reference"  # jku, x5u, jwk or x5c in the header
    UNSUPPORTED_CRIT = "unsupported_crit"  # a crit member naming an extension we do not process
    KEY_NOT_BOUND_TO_ISSUER = "key_not_bound_to_issuer"  # the kid belongs to another trusted issuer
    UNKNOWN_KEY = "unknown_key"  # no trusted key with that kid (or no kid)
    KEY_EXPIRED = "key_expired"  # the key's validity ended, or the token outlives it
    KEY_NOT_YET_VALID = "key_not_yet_valid"  # the token was issued before the key's nbf
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"  # iss is not a trusted issuer
    WRONG_AUDIENCE = "wrong_audience"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    WRONG_TYPE = "wrong_type"  # typ is not at+jwt where RFC 9068 tokens are required
    HONEY_KEY = "honey_key"  # a kid or key thumbprint on the honey list: raises an alert
    JWKS_UNAVAILABLE = "jwks_unavailable"  # the issuer's key set could not be loaded: fail closed
    NOT_ISSUED = "not_issued"  # validly signed, but the issuer's introspection says it never issued it (alert)
    INTROSPECTION_UNAVAILABLE = "introspection_unavailable"  # the issuer could not be asked: fail closed
    INTERNAL_ERROR = "internal_error"  # a bug in the validator: refused (fail closed), logged and counted


ALERT_REASONS = frozenset({Reason.HONEY_KEY, Reason.KEY_EXPIRED, Reason.KEY_NOT_BOUND_TO_ISSUER, Reason.NOT_ISSUED})
