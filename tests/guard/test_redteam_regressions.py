"""Regressions for the red team's findings on the guard (issues #33 and #34), each asserting the
reason that refuses, in a case no other rule could refuse; the proxy findings through the real
proxies started from docs/guard."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from signward.guard import GuardService
from signward.guard.decision import Attempt
from tests.guard.conftest import ENTERPRISE, Keys, Process, claims, start_envoy, start_nginx, start_traefik
from tests.verify.forge import b64, enc


def attempt(path: str = "/public/x", host: str = "mail.example.com", **headers: str) -> Attempt:
    return Attempt(method="GET", host=host, path=path, headers={k: [v] for k, v in headers.items()}, via="traefik")


# -- 1. claim headers spelled with `_` ----------------------------------------------------------


@pytest.mark.parametrize("name", ["x_signward_sub", "X_Signward_Sub", "x_signward-path", "x-signward_tid"])
def test_an_underscore_claim_header_is_denied(service: GuardService, name: str) -> None:
    """WSGI/CGI/Rack upstreams read X_Signward_Sub as HTTP_X_SIGNWARD_SUB: an anonymous route
    (nothing else could refuse) denies it."""
    decision = service.decide(attempt(**{name: "admin"}))
    assert not decision.allowed and decision.reason == "spoofed_header"


def test_a_dashed_claim_header_is_still_removed_and_other_underscores_pass(service: GuardService) -> None:
    decision = service.decide(attempt(**{"x-signward-sub": "admin", "x_request_id": "1", "x_signwardish": "1"}))
    assert decision.allowed and decision.remove == ("x-signward-sub",)


# -- 2. a trailing dot in Host ------------------------------------------------------------------


def test_a_trailing_dot_gets_the_hosts_own_route_not_the_laxer_star_one(service: GuardService) -> None:
    """files.example.com has a protected `/` route; `*` has an anonymous /public one. With one
    trailing dot (and a port, any case) the host's own route decides: no token, no entry."""
    assert service.decide(attempt(host="files.example.com")).reason == "no_token"
    for host in ("files.example.com.", "FILES.example.COM.:443"):
        decision = service.decide(attempt(host=host))
        assert not decision.allowed and decision.reason == "no_token", host
        assert decision.route == service.decide(attempt(host="files.example.com")).route


@pytest.mark.parametrize("host", ["files.example.com..", "files..example.com"])
def test_a_host_with_an_empty_label_is_denied(service: GuardService, host: str) -> None:
    decision = service.decide(attempt(host=host))
    assert not decision.allowed and decision.reason == "host_malformed"


# -- 5. `+` at a segment edge -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/public/x+", "/public/+x", "/public/x%2b", "/public/x+/y"])
def test_a_plus_at_a_segment_edge_is_refused(service: GuardService, path: str) -> None:
    decision = service.decide(attempt(path=path))
    assert not decision.allowed and decision.reason == "path_segment_edge"


def test_a_plus_inside_a_segment_is_admitted(service: GuardService) -> None:
    assert service.decide(attempt(path="/public/a+b")).allowed


# -- 6. X-Original-URL / X-Rewrite-URL ----------------------------------------------------------


@pytest.mark.parametrize("name", ["x-original-url", "X-Rewrite-URL"])
def test_a_rewrite_header_is_denied(service: GuardService, name: str) -> None:
    decision = service.decide(attempt(**{name: "/admin"}))
    assert not decision.allowed and decision.reason == "rewrite_header"


# -- 3. the event loop never waits for a key refresh --------------------------------------------


def test_another_issuers_kid_is_decided_off_the_loop(service: GuardService, guard_keys: Keys) -> None:
    """iss = enterprise with a kid only consumer publishes: the validator asks enterprise's source
    for the kid (a refresh it waits for), so it must not be decided inline."""
    garbage = f"{enc({'alg': 'ES256', 'kid': guard_keys.consumer.kid})}.{enc(claims(ENTERPRISE))}.{b64(b'x' * 64)}"
    assert service.may_wait(attempt(path="/mail/x", authorization=f"Bearer {garbage}"))
    own = guard_keys.enterprise.token(claims(ENTERPRISE))
    assert not service.may_wait(attempt(path="/mail/x", authorization=f"Bearer {own}"))


def _check(port: int, path: str, token: str | None = None) -> tuple[int, float]:
    headers = {"x-forwarded-method": "GET", "x-forwarded-uri": path, "x-forwarded-host": "localhost"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    status = httpx.get(f"http://127.0.0.1:{port}/forward_auth", headers=headers, timeout=10).status_code
    return status, time.perf_counter() - started


def test_a_slow_refresh_for_another_issuers_kid_does_not_stall_other_checks(rig: dict[str, Any]) -> None:
    """The guard process, its issuers' JWKS served slowly (1.5 s): the attack (iss enterprise,
    consumer's kid, a garbage signature) waits for enterprise's refresh; an anonymous check sent
    0.2 s later is answered at once, not after the refresh (it took 1.4 s before the fix)."""
    keys: Keys = rig["keys"]
    port = rig["guard"].port
    evil = f"{enc({'alg': 'ES256', 'kid': keys.consumer.kid})}.{enc(claims(ENTERPRISE))}.{b64(b'x' * 64)}"
    assert _check(port, "/public/warm") == (200, pytest.approx(0, abs=1.0))
    rig["jwks"].delay = 1.5
    try:
        victim: dict[str, tuple[int, float]] = {}

        def later() -> None:
            time.sleep(0.2)
            victim["anonymous"] = _check(port, "/public/x")

        thread = threading.Thread(target=later)
        thread.start()
        status, took = _check(port, "/mail/x", evil)
        thread.join()
    finally:
        rig["jwks"].delay = 0.0
    assert status == 401 and took > 1.0  # it did wait for the refresh (in a thread)
    assert victim["anonymous"][0] == 200 and victim["anonymous"][1] < 0.9, victim  # 1.3 s before the fix
    assert 'reason="bad_signature",result="deny"' in rig["guard"].metrics()


# -- through the real proxies -------------------------------------------------------------------


PROXIES = ["envoy-grpc", "envoy-http", "nginx", "traefik"]


@pytest.fixture(scope="module", params=PROXIES)
def proxy(request: pytest.FixtureRequest, rig: dict[str, Any]) -> Iterator[tuple[str, int]]:
    tmp: Path = rig["tmp"] / f"rt-{request.param}"
    tmp.mkdir()
    process: Process
    if request.param.startswith("envoy"):
        process, port = start_envoy(f"{request.param}.yaml", tmp, rig["guard"], rig["upstream"])
    elif request.param == "nginx":
        process, port = start_nginx(tmp, rig["guard"], rig["upstream"])
    else:
        process, port = start_traefik(tmp, rig["guard"], rig["upstream"])
    yield request.param, port
    process.stop()


def _denied(rig: dict[str, Any], reason: str) -> float:
    for line in rig["guard"].metrics().splitlines():
        if line.startswith("signward_guard_checks_total{") and f'reason="{reason}"' in line and "deny" in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.slow
def test_an_underscore_claim_header_never_reaches_the_upstream(proxy: tuple[str, int], rig: dict[str, Any]) -> None:
    """Envoy (headers_with_underscores_action: REJECT_REQUEST) answers 400, nginx drops the header
    (underscores_in_headers off), Traefik passes it to the guard, which denies: spoofed_header."""
    name, port = proxy
    before, denied = len(rig["upstream"].seen), _denied(rig, "spoofed_header")
    answer = httpx.get(f"http://127.0.0.1:{port}/public/x", timeout=10,
                       headers={"X_Signward_Sub": "admin", "X_Signward_Path": "/admin"})
    seen = rig["upstream"].seen[before:]
    assert not any("_" in h and h.replace("_", "-").startswith("x-signward-") for s in seen for h in s.headers), seen
    if name.startswith("envoy"):
        assert answer.status_code == 400 and seen == []
    elif name == "nginx":
        assert answer.status_code == 200 and len(seen) == 1
    else:
        assert answer.status_code == 401 and seen == []
        assert _denied(rig, "spoofed_header") == denied + 1


@pytest.mark.slow
def test_a_rewrite_header_is_denied_through_every_proxy(proxy: tuple[str, int], rig: dict[str, Any]) -> None:
    name, port = proxy
    for header in ("X-Original-URL", "X-Rewrite-URL"):
        before, denied = len(rig["upstream"].seen), _denied(rig, "rewrite_header")
        answer = httpx.get(f"http://127.0.0.1:{port}/public/x", headers={header: "/admin"}, timeout=10)
        assert answer.status_code == 401 and rig["upstream"].seen[before:] == [], (name, header)
        assert _denied(rig, "rewrite_header") == denied + 1, (name, header)


@pytest.mark.slow
def test_a_trailing_dot_host_gets_the_hosts_own_route(proxy: tuple[str, int], rig: dict[str, Any]) -> None:
    """Each shipped configuration (Envoy with strip_trailing_host_dot) takes a `localhost.` Host and
    the guard still decides (no token for /admin: 401), nothing reaches the upstream. The rig has no
    host-specific route: the route choice itself is tested on the guard above."""
    name, port = proxy
    before = len(rig["upstream"].seen)
    answer = httpx.get(f"http://127.0.0.1:{port}/admin/x", headers={"host": "localhost."}, timeout=10)
    assert answer.status_code in (400, 401) and rig["upstream"].seen[before:] == [], name
