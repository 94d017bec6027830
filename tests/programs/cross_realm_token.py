"""Print a token signed in the HSM with one realm's current key but claiming another realm's
issuer: the Storm-0558 forgery, a consumer key's token for enterprise tenants. Run in its own
process (one process, one embedded HSM).

Usage: python tests/programs/cross_realm_token.py HOME SIGNING_REALM CLAIMED_REALM
"""

from __future__ import annotations

import base64
import json
import secrets
import sys

from signward.home import Home
from signward.hsm.base import CheckedSigner
from signward.services import open_services


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def main() -> None:
    home, signing, claimed = sys.argv[1:4]
    with open_services(Home(home)) as services:
        key = services.registry.signing_key(signing)
        now = int(services.clock.now())
        claims = {"iss": services.registry.realm(claimed).issuer, "sub": "mallory", "aud": "mail",
                  "tid": "contoso", "client_id": "mallory", "scope": "mail.read", "iat": now, "nbf": now,
                  "exp": now + 600, "jti": secrets.token_urlsafe(16)}
        header = {"alg": key.alg.value, "kid": key.kid, "typ": "at+jwt"}
        signing_input = _b64(json.dumps(header).encode()) + b"." + _b64(json.dumps(claims).encode())
        signature = CheckedSigner(services.backend).sign(key.handle, key.alg, signing_input)
        print((signing_input + b"." + _b64(signature)).decode())


if __name__ == "__main__":
    main()
