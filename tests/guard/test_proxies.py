"""Through real Envoy (gRPC and HTTP ext_authz), nginx (auth_request) and Traefik (ForwardAuth),
configured from docs/guard: valid tokens reach the upstream with the verified claims, every
forgery is stopped before it, spoofed claim headers never arrive."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from tests.guard.conftest import (
    CONSUMER,
    ENTERPRISE,
    HONEY_KID,
    Keys,
    Process,
    claims,
    start_envoy,
    start_nginx,
    start_traefik,
)
from tests.verify.forge import b64, enc, hs256_with_public_key

pytestmark = pytest.mark.slow


def forgeries(keys: Keys) -> dict[str, str]:
    """The tokens no relying party may accept, each with the reason the guard logs."""
    pem = keys.old.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        # Storm-0558: a key whose window closed (created years ago), and a consumer key for an enterprise tenant
        "key_expired": keys.old.token(claims()),
        "key_not_bound_to_issuer": keys.consumer.token(claims(ENTERPRISE)),
        "alg_not_allowed": f"{enc({'alg': 'none', 'kid': keys.enterprise.kid, 'typ': 'at+jwt'})}.{enc(claims())}.",
        "hs256_public_key": hs256_with_public_key(keys.old, claims(), pem),
        "honey_key": keys.honey.token(claims(), kid=HONEY_KID),
        "bad_signature": keys.enterprise.token(claims())[:-8] + b64(b"tampered"),
        "wrong_audience": keys.enterprise.token(claims(aud="files")),
        "consumer_on_enterprise_route": keys.consumer.token(claims(CONSUMER)),
    }


PROXIES = ["envoy-grpc", "envoy-http", "nginx", "traefik"]


@pytest.fixture(scope="module", params=PROXIES)
def proxy(request: pytest.FixtureRequest, rig: dict[str, Any]) -> Iterator[tuple[str, int]]:
    tmp: Path = rig["tmp"] / request.param
    tmp.mkdir()
    process: Process
    if request.param == "envoy-grpc":
        process, port = start_envoy("envoy-grpc.yaml", tmp, rig["guard"], rig["upstream"])
    elif request.param == "envoy-http":
        process, port = start_envoy("envoy-http.yaml", tmp, rig["guard"], rig["upstream"])
    elif request.param == "nginx":
        process, port = start_nginx(tmp, rig["guard"], rig["upstream"])
    else:
        process, port = start_traefik(tmp, rig["guard"], rig["upstream"])
    yield request.param, port
    process.stop()


def test_valid_token_reaches_the_upstream_with_verified_claims_and_no_spoofed_ones(
        proxy: tuple[str, int], rig: dict[str, Any]) -> None:
    name, port = proxy
    keys: Keys = rig["keys"]
    token = keys.enterprise.token(claims(sub="alice", tid="contoso"))
    before = len(rig["upstream"].seen)
    answer = httpx.get(f"http://127.0.0.1:{port}/mail/inbox?page=1", timeout=10,
                       headers={"authorization": f"Bearer {token}", "x-signward-sub": "mallory",
                                "x-signward-tid": "fabrikam", "x-signward-jti": "spoofed"})
    assert answer.status_code == 200, (name, answer.status_code, answer.text)
    assert answer.text == "upstream"
    seen = rig["upstream"].seen[before:]
    assert len(seen) == 1 and seen[0].path == "/mail/inbox?page=1"
    headers = seen[0].headers
    assert headers["x-signward-sub"] == "alice" and headers["x-signward-tid"] == "contoso"
    assert headers["x-signward-iss"] == ENTERPRISE and headers["x-signward-kid"] == keys.enterprise.kid
    assert headers["x-signward-scope"] == "mail.read"
    assert headers["x-signward-path"] == "/mail/inbox"  # the canonical path the guard decided on
    assert "x-signward-jti" not in headers  # not a configured claim header, and the client's is gone


def test_every_forgery_is_stopped_before_the_upstream(proxy: tuple[str, int], rig: dict[str, Any]) -> None:
    name, port = proxy
    before = len(rig["upstream"].seen)
    for why, token in forgeries(rig["keys"]).items():
        answer = httpx.get(f"http://127.0.0.1:{port}/mail/inbox", headers={"authorization": f"Bearer {token}",
                                                                          "x-signward-sub": "alice"}, timeout=10)
        assert answer.status_code == 401, (name, why, answer.status_code)
        assert 'error="invalid_token"' in answer.headers.get("www-authenticate", ""), (name, why, answer.headers)
    no_token = httpx.get(f"http://127.0.0.1:{port}/mail/inbox", timeout=10)
    assert no_token.status_code == 401 and "error=" not in no_token.headers.get("www-authenticate", "")
    scope = httpx.get(f"http://127.0.0.1:{port}/admin/users", timeout=10,
                      headers={"authorization": f"Bearer {rig['keys'].enterprise.token(claims())}"})
    assert scope.status_code == 403 and 'error="insufficient_scope"' in scope.headers["www-authenticate"]
    unrouted = httpx.get(f"http://127.0.0.1:{port}/elsewhere", timeout=10,
                         headers={"authorization": f"Bearer {rig['keys'].enterprise.token(claims())}"})
    assert unrouted.status_code == 401
    assert rig["upstream"].seen[before:] == []


def test_anonymous_route_passes_without_spoofed_headers(proxy: tuple[str, int], rig: dict[str, Any]) -> None:
    name, port = proxy
    before = len(rig["upstream"].seen)
    answer = httpx.get(f"http://127.0.0.1:{port}/public/p%61ge", timeout=10,
                       headers={"x-signward-sub": "mallory", "x-signward-path": "/admin"})
    assert answer.status_code == 200
    seen = rig["upstream"].seen[before:]
    assert len(seen) == 1, (name, seen)
    assert [h for h in seen[0].headers if h.startswith("x-signward-")] == ["x-signward-path"], (name, seen)
    assert seen[0].headers["x-signward-path"] == "/public/page", (name, seen)


def test_the_guard_counts_each_reason(rig: dict[str, Any], proxy: tuple[str, int]) -> None:
    text = rig["guard"].metrics()
    for reason in ("key_expired", "key_not_bound_to_issuer", "honey_key", "alg_not_allowed",
                   "issuer_not_allowed_on_route", "insufficient_scope", "no_route"):
        assert f'reason="{reason}",result="deny"' in text, reason
    assert 'signward_guard_keyset_age_seconds{issuer="https://login.example.com/realms/enterprise"}' in text
    time.sleep(0)
