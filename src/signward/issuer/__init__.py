"""The OAuth 2.0 / OIDC token issuer: client-credentials tokens (RFC 9068) signed in the HSM."""

from .app import IssuerContext, create_app
from .clients import Client, ClientRegistry
from .issuance import IssuanceRecords
from .tokens import IssuedToken, TokenService

__all__ = [
    "Client",
    "ClientRegistry",
    "IssuanceRecords",
    "IssuedToken",
    "IssuerContext",
    "TokenService",
    "create_app",
]
