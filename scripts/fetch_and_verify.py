"""Main-job helper: wait for the issuer, get a token over HTTP, verify it against the served JWKS."""

import json
import os
import sys
import time

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

base = os.environ["BASE"]
client = json.loads(os.environ["CLIENT_JSON"])
for _ in range(200):
    try:
        httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
        break
    except httpx.HTTPError:
        time.sleep(0.05)
else:
    sys.exit("issuer did not come up")

resp = httpx.post(f"{base}/realms/enterprise/token", auth=(client["client_id"], client["client_secret"]),
                  data={"grant_type": "client_credentials", "audience": "mail"})
resp.raise_for_status()
token = resp.json()["access_token"]
jwks = httpx.get(f"{base}/realms/enterprise/jwks.json").json()
decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
claims = decoded.claims
assert decoded.header["typ"] == "at+jwt"
assert claims["iss"] == f"{base}/realms/enterprise" and claims["aud"] == "mail" and claims["tid"] == "contoso"
assert claims["exp"] > time.time()
print(f"token from {base}/realms/enterprise/token verified against the served JWKS "
      f"(kid {decoded.header['kid']}, alg {decoded.header['alg']}, tid {claims['tid']})")
