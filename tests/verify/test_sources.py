"""URL key sources against a real HTTP server: caching, refresh on unknown kid, fail closed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from signward.verify import Reason, UrlSource, Validator
from tests.helpers import ThreadedServer
from tests.verify.conftest import ENTERPRISE, World


class JwksPeer:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.status = 200
        self.cache_control = "public, max-age=300"
        self.hits = 0

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.hits += 1
            if self.status != 200:
                return Response("down", status_code=self.status)
            return JSONResponse(self.document, headers={"Cache-Control": self.cache_control})

        async def moved(request: Request) -> Response:
            return RedirectResponse("/jwks.json")

        return Starlette(routes=[Route("/jwks.json", jwks), Route("/moved", moved)])


opened: list[Validator] = []


@pytest.fixture(autouse=True)
def close_validators() -> Iterator[None]:
    yield
    while opened:
        opened.pop().close()


def validator_for(world: World, url: str) -> Validator:
    source = UrlSource(ENTERPRISE, url, clock=world.clock, cooldown=30)
    return Validator(trust={ENTERPRISE: source}, audience="mail", clock=world.clock)


def test_cached_per_max_age_then_fail_closed(world: World) -> None:
    peer = JwksPeer({"keys": [world.enterprise.jwk()]})
    with ThreadedServer(peer.app()) as srv:
        v = validator_for(world, srv.base + "/jwks.json")
        opened.append(v)
        for _ in range(5):
            assert v.verify(world.enterprise.token(world.claims())).valid
        assert peer.hits == 1
        world.clock.advance(299)
        peer.status = 500
        assert v.verify(world.enterprise.token(world.claims())).valid  # still within max-age
        world.clock.advance(2)
        verdict = v.verify(world.enterprise.token(world.claims()))
        assert verdict.reason is Reason.JWKS_UNAVAILABLE  # stale set not used past its age
        peer.status = 200
        assert v.verify(world.enterprise.token(world.claims())).valid


def test_unknown_kid_refreshes_at_most_once_per_cooldown(world: World) -> None:
    peer = JwksPeer({"keys": [world.enterprise.jwk()]})
    with ThreadedServer(peer.app()) as srv:
        v = validator_for(world, srv.base + "/jwks.json")
        opened.append(v)
        assert v.verify(world.enterprise.token(world.claims())).valid
        world.clock.advance(31)
        for _ in range(5):
            assert v.verify(world.enterprise.token(world.claims(), kid="rotated-in")).reason is Reason.UNKNOWN_KEY
        assert peer.hits == 2  # one refresh for the unknown kid, not five
        newcomer = world.old_enterprise  # pretend a new key was published
        peer.document = {"keys": [world.enterprise.jwk(), newcomer.jwk()]}
        world.clock.advance(31)
        assert v.verify(newcomer.token(world.claims())).valid
        assert peer.hits == 3


def test_no_store_means_refetch_each_time_and_redirects_are_not_followed(world: World) -> None:
    peer = JwksPeer({"keys": [world.enterprise.jwk()]})
    peer.cache_control = "no-store"
    with ThreadedServer(peer.app()) as srv:
        v = validator_for(world, srv.base + "/jwks.json")
        opened.extend([v])
        v.verify(world.enterprise.token(world.claims()))
        v.verify(world.enterprise.token(world.claims()))
        assert peer.hits == 2
        moved = validator_for(world, srv.base + "/moved")
        opened.append(moved)
        assert moved.verify(world.enterprise.token(world.claims())).reason is Reason.JWKS_UNAVAILABLE


def test_unreachable_url_fails_closed(world: World) -> None:
    v = validator_for(world, "http://127.0.0.1:9/jwks.json")
    opened.append(v)
    assert v.verify(world.enterprise.token(world.claims())).reason is Reason.JWKS_UNAVAILABLE




def test_answers_past_their_limit_are_refused_while_they_stream(world: World) -> None:
    """A JWKS over 512 KiB and an introspection answer over 64 KiB, sent without a length:
    counted while read, refused (the validator then fails closed)."""
    from starlette.responses import StreamingResponse

    from signward.verify import IntrospectionUnavailable, Introspector, JwksUnavailable

    async def endless(request: Request) -> Response:
        async def chunks() -> Any:
            yield b'{"keys": [], "active": true, "pad": "'
            for _ in range(2048):
                yield b"x" * 1024
            yield b'"}'
        return StreamingResponse(chunks(), media_type="application/json")

    app = Starlette(routes=[Route("/big", endless, methods=["GET", "POST"])])
    with ThreadedServer(app) as srv:
        source = UrlSource(ENTERPRISE, srv.base + "/big", clock=world.clock)
        with pytest.raises(JwksUnavailable, match="larger than 512 KiB"):
            source.keys()
        source.close()
        asking = Introspector(srv.base + "/big", "rp", "secret")
        with pytest.raises(IntrospectionUnavailable, match="larger than 64 KiB"):
            asking.issued("a.b.c", 2e9)
        asking.close()
