"""RFC 6749 request parsing for the token endpoint: strict form bodies and client credentials.

Everything wrong with a request becomes an `OAuthError` carrying the RFC 6749 section 5.2
error code and HTTP status; nothing a client sends can produce a 500.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import unquote_plus

from .hotpath import form_pairs

MAX_BODY = 16 * 1024


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, basic_challenge: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic_challenge = basic_challenge


@dataclass(frozen=True)
class TokenRequest:
    grant_type: str
    client_id: str
    client_secret: str
    used_basic: bool
    params: dict[str, str]


def parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    if len(body) > MAX_BODY:
        raise OAuthError("invalid_request", f"the body is larger than {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
        pairs = form_pairs(text)  # parse_qsl's pairs, strict, without unquoting where nothing is escaped
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a valid form encoding") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise OAuthError("invalid_request", f"parameter {name!r} appears more than once")
        params[name] = value
    return params


def parse_basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise OAuthError("invalid_client", "unsupported client authentication scheme", 401, basic_challenge=True)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_client", "malformed Basic credentials", 401, basic_challenge=True) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401, basic_challenge=True)
    return unquote_plus(client_id), unquote_plus(secret)


def parse_token_request(content_type: str | None, authorization: str | None, body: bytes) -> TokenRequest:
    params = parse_form(content_type, body)
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    return _authenticated(grant_type, authorization, params)


def parse_client_request(content_type: str | None, authorization: str | None, body: bytes) -> TokenRequest:
    """A client-authenticated form request other than a grant (RFC 7662 introspection)."""
    return _authenticated("", authorization, parse_form(content_type, body))


def _authenticated(grant_type: str, authorization: str | None, params: dict[str, str]) -> TokenRequest:
    in_body = "client_id" in params or "client_secret" in params
    if authorization:
        if in_body:
            raise OAuthError("invalid_request", "use one client authentication method, not two")
        client_id, secret = parse_basic(authorization)
        used_basic = True
    elif "client_id" in params and "client_secret" in params:
        client_id, secret, used_basic = params["client_id"], params["client_secret"], False
    else:
        raise OAuthError("invalid_client", "client authentication is required", 401, basic_challenge=True)
    if not client_id or not secret:
        raise OAuthError("invalid_client", "client authentication failed", 401, basic_challenge=used_basic)
    return TokenRequest(grant_type, client_id, secret, used_basic, params)
