"""Strict token validation from public keys only: library, ASGI middleware and CLI."""

from .introspection import IntrospectionUnavailable, Introspector
from .keyset import TrustedKey, load_jwks, load_key
from .middleware import BearerTokenMiddleware
from .reasons import ALERT_REASONS, Reason
from .sources import FileSource, JwksSource, JwksUnavailable, UrlSource, source_for
from .validator import JwsVerdict, Validator, Verdict, VerifiedClaims

__all__ = [
    "ALERT_REASONS",
    "BearerTokenMiddleware",
    "FileSource",
    "IntrospectionUnavailable",
    "Introspector",
    "JwksSource",
    "JwksUnavailable",
    "JwsVerdict",
    "Reason",
    "TrustedKey",
    "UrlSource",
    "Validator",
    "Verdict",
    "VerifiedClaims",
    "load_jwks",
    "load_key",
    "source_for",
]
