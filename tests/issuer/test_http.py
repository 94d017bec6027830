"""The issuer over real HTTP on loopback, checked by an independent library (PyJWT)."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Served


def _token(served: Served, realm: str, **form: str) -> httpx.Response:
    client_id, secret = served.clients[realm]
    return httpx.post(f"{served.base}/realms/{realm}/token", auth=(client_id, secret),
                      data={"grant_type": "client_credentials", **form})


@pytest.mark.parametrize("realm,alg", [("consumer", "ES256"), ("enterprise", "RS256")])
def test_token_verifies_with_pyjwt_against_served_jwks(served: Served, realm: str, alg: str) -> None:
    resp = _token(served, realm, audience="mail")
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    token = body["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == alg
    jwks_client = jwt.PyJWKClient(f"{served.base}/realms/{realm}/jwks.json")
    key = jwks_client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=[alg], audience="mail",
                        issuer=f"{served.base}/realms/{realm}")
    assert set(claims) == {"iss", "sub", "aud", "tid", "client_id", "scope", "iat", "nbf", "exp", "jti"}
    assert claims["client_id"] == served.clients[realm][0] and claims["scope"] == "mail.read"
    assert claims["tid"] == ("contoso" if realm == "enterprise" else "consumers")
    assert claims["exp"] - claims["iat"] == 3600


def test_client_secret_post_also_works(served: Served) -> None:
    client_id, secret = served.clients["consumer"]
    resp = httpx.post(f"{served.base}/realms/consumer/token",
                      data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert resp.status_code == 200


def test_client_of_one_realm_cannot_get_tokens_from_another(served: Served) -> None:
    client_id, secret = served.clients["consumer"]
    resp = httpx.post(f"{served.base}/realms/enterprise/token", auth=(client_id, secret),
                      data={"grant_type": "client_credentials"})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


def test_discovery_and_jwks(served: Served) -> None:
    meta = httpx.get(f"{served.base}/realms/enterprise/.well-known/openid-configuration").json()
    assert meta["issuer"] == f"{served.base}/realms/enterprise"
    assert meta["token_endpoint"] == f"{served.base}/realms/enterprise/token"
    assert meta["jwks_uri"] == f"{served.base}/realms/enterprise/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    resp = httpx.get(meta["jwks_uri"])
    assert resp.headers["cache-control"].startswith("public, max-age=")
    for k in resp.json()["keys"]:
        assert {"kid", "alg", "nbf", "exp", "issuer"} <= set(k) and not {"d", "p", "q"} & set(k)
        assert k["issuer"] == meta["issuer"]


def test_health_and_metrics(served: Served) -> None:
    assert httpx.get(f"{served.base}/healthz").json()["status"] == "ok"
    _token(served, "consumer")
    text = httpx.get(f"{served.base}/metrics").text
    assert 'signward_tokens_issued_total{realm="consumer"}' in text
    assert "signward_sign_seconds_bucket" in text and "signward_hsm_errors" in text


@pytest.mark.parametrize("kwargs,status,error", [
    ({"data": {"grant_type": "client_credentials"}, "auth": ("nobody", "x")}, 401, "invalid_client"),
    ({"data": {"grant_type": "password"}}, 400, "unsupported_grant_type"),
    ({"data": {}}, 400, "invalid_request"),
    ({"content": b'{"grant_type": "client_credentials"}', "headers": {"content-type": "application/json"}},
     400, "invalid_request"),
    ({"content": b"grant_type=client_credentials&grant_type=client_credentials",
      "headers": {"content-type": "application/x-www-form-urlencoded"}}, 400, "invalid_request"),
    ({"content": b"\xff\xfe=\x00", "headers": {"content-type": "application/x-www-form-urlencoded"}},
     400, "invalid_request"),
    ({"content": b"a=" + b"x" * 20000, "headers": {"content-type": "application/x-www-form-urlencoded"}},
     400, "invalid_request"),
    ({"data": {"grant_type": "client_credentials"}, "headers": {"authorization": "Basic !!!"}},
     401, "invalid_client"),
    ({"data": {"grant_type": "client_credentials"}, "headers": {"authorization": "Bearer abc"}},
     401, "invalid_client"),
    ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client"),
])
def test_rfc6749_errors(served: Served, kwargs: dict[str, object], status: int, error: str) -> None:
    resp = httpx.post(f"{served.base}/realms/consumer/token", **kwargs)  # type: ignore[arg-type]
    assert resp.status_code == status and resp.json()["error"] == error
    if status == 401 and "auth" not in kwargs and "authorization" not in str(kwargs):
        assert resp.headers.get("www-authenticate", "").startswith("Basic")


def test_wrong_secret_and_disallowed_audience_and_scope(served: Served) -> None:
    client_id, _ = served.clients["consumer"]
    assert httpx.post(f"{served.base}/realms/consumer/token", auth=(client_id, "wrong"),
                      data={"grant_type": "client_credentials"}).status_code == 401
    assert _token(served, "consumer", audience="admin").json()["error"] == "invalid_target"
    assert _token(served, "consumer", scope="mail.send").json()["error"] == "invalid_scope"


def test_unknown_realm_is_404(served: Served) -> None:
    assert httpx.post(f"{served.base}/realms/nope/token", data={"grant_type": "client_credentials"}).status_code == 404
    assert httpx.get(f"{served.base}/realms/nope/jwks.json").status_code == 404


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), ctype=st.sampled_from(
    ["application/x-www-form-urlencoded", "application/json", "text/plain", "", "multipart/form-data"]),
       auth=st.one_of(st.none(), st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40), st.binary(min_size=1, max_size=30).map(
           lambda b: "Basic " + base64.b64encode(b).decode())))
def test_no_request_body_produces_a_500(served: Served, body: bytes, ctype: str, auth: str | None) -> None:
    headers = {"content-type": ctype}
    if auth is not None:
        headers["authorization"] = auth
    resp = httpx.post(f"{served.base}/realms/consumer/token", content=body, headers=headers)
    assert resp.status_code in (400, 401), (resp.status_code, resp.text)
    assert json.loads(resp.text)["error"] in {"invalid_request", "invalid_client", "unsupported_grant_type"}
