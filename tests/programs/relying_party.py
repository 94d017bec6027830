"""A relying party as deployed, for the watch tests: a real HTTP service on loopback that
answers GET /inbox with 200 for a token it accepts and 401 otherwise.

    relying_party.py PORT KIND AUDIENCE ISS=JWKS_URL [ISS=JWKS_URL ...]

KIND:
- pyjwt: the common setup: PyJWT with the keys of every trusted issuer's JWKS in one set,
  `issuer=` the list of trusted issuers (PyJWT reads neither a JWK's `exp` nor its `issuer`);
- signward: signward's validator middleware;
- signward-no-expiry / signward-shared-keyset: the same with key_expiry / issuer_binding
  switched off in its configuration (the lab's switches);
- signward-no-issuance-check: signward's validator without introspection.
The signward kinds but the last introspect tokens of the issuer in $RP_INTROSPECT
("ISSUER ID SECRET", a client with the introspect scope). Prints "ready" once it serves.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from signward.verify import BearerTokenMiddleware, Validator


def pyjwt_app(audience: str, trust: dict[str, str]) -> Starlette:
    def merged_keys() -> dict[str, jwt.PyJWK]:
        keys = {}
        for url in trust.values():
            for jwk in httpx.get(url, timeout=10).json()["keys"]:
                keys[jwk["kid"]] = jwt.PyJWK(jwk)
        return keys

    async def inbox(request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            kid = jwt.get_unverified_header(token)["kid"]
            key = merged_keys()[kid]
            claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], audience=audience,
                                issuer=list(trust))
        except (jwt.PyJWTError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        return JSONResponse({"sub": claims["sub"]})

    return Starlette(routes=[Route("/inbox", inbox)])


def signward_app(audience: str, trust: dict[str, str], kind: str) -> BearerTokenMiddleware:
    async def inbox(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.state.claims["sub"]})

    asks = os.environ.get("RP_INTROSPECT", "").split()
    introspect = {} if kind == "signward-no-issuance-check" or len(asks) != 3 else {
        asks[0]: (f"{asks[0]}/introspect", asks[1], asks[2])}
    validator = Validator(trust=trust, audience=audience, insecure_ignore_key_validity=kind == "signward-no-expiry",
                          insecure_shared_keyset=kind == "signward-shared-keyset", introspect=introspect)
    return BearerTokenMiddleware(Starlette(routes=[Route("/inbox", inbox)]), validator, protect=("/inbox",))


def main() -> None:
    port, kind, audience = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    trust = dict(arg.split("=", 1) for arg in sys.argv[4:])
    app = pyjwt_app(audience, trust) if kind == "pyjwt" else signward_app(audience, trust, kind)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    print("ready", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
