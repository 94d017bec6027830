"""The token endpoint's shortcut past Starlette's router (issue 39) takes exactly the paths the
route `/realms/{realm}/token` takes, with the same realm; everything else still goes through
the router (405 for another method, 404 for an unknown realm or path)."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Match, Route

from signward.issuer.app import token_path_realm
from tests.conftest import Served

ROUTE = Route("/realms/{realm}/token", lambda request: None, methods=["POST"])


def _routed(path: str) -> str | None:
    match, child = ROUTE.matches({"type": "http", "path": path, "method": "POST", "root_path": ""})
    return child["path_params"]["realm"] if match is Match.FULL else None


def test_the_shortcut_takes_what_the_route_takes() -> None:
    for path, realm in [("/realms/a/token", "a"), ("/realms/consumer/token", "consumer"), ("/realms//token", None),
                        ("/realms/a/b/token", None), ("/realms/a/token/", None), ("/realms/a/tokens", None),
                        ("/realm/a/token", None), ("//realms/a/token", None), ("/realms/token", None),
                        ("/realms/a%2Fb/token", "a%2Fb"), ("/realms/ä\x00/token", "ä\x00")]:
        assert token_path_realm(path) == realm == _routed(path), path


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["/", "realms", "token", "a", "%2F", "\n", ".", "", "ä", "tokens"]), max_size=6))
def test_the_shortcut_agrees_with_the_router_on_hostile_paths(parts: list[str]) -> None:
    path = "/" + "".join(parts)
    assert token_path_realm(path) == _routed(path)


def test_other_methods_and_paths_still_go_through_the_router(served: Served) -> None:
    client_id, secret = served.clients["consumer"]
    got = httpx.get(f"{served.base}/realms/consumer/token")
    assert got.status_code == 405  # the router's answer: the shortcut takes POST only
    unknown = httpx.post(f"{served.base}/realms/nowhere/token", auth=(client_id, secret),
                         data={"grant_type": "client_credentials"})
    assert unknown.status_code == 404 and unknown.json()["error_description"] == "unknown realm"
    nested = httpx.post(f"{served.base}/realms/consumer/x/token", auth=(client_id, secret),
                        data={"grant_type": "client_credentials"})
    assert nested.status_code == 404 and "error_description" not in nested.text  # no route: Starlette's 404
    token = httpx.post(f"{served.base}/realms/consumer/token", auth=(client_id, secret),
                       data={"grant_type": "client_credentials"})
    assert token.status_code == 200 and token.headers["content-type"] == "application/json"
