"""Background key sets against a real JWKS server: no check waits on the network for a known
key, an unknown kid refreshes (once per cooldown), past its max age an issuer fails closed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from signward.guard import RefreshingSource
from signward.verify import JwksUnavailable
from tests.guard.conftest import ENTERPRISE, JwksServer, Keys, documents
from tests.verify.forge import KID_STYLES, new_key


@pytest.fixture
def jwks(guard_keys: Keys) -> Iterator[JwksServer]:
    server = JwksServer(documents(guard_keys, time.time()), max_age=1)
    yield server
    server.close()


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_known_keys_never_wait_and_are_refreshed_in_the_background(jwks: JwksServer, guard_keys: Keys) -> None:
    source = RefreshingSource(ENTERPRISE, jwks.url("enterprise"), max_age=30).start()
    try:
        first = jwks.hits
        jwks.delay = 1.5  # every fetch from now on is slow
        started = time.monotonic()
        for _ in range(50):
            assert guard_keys.enterprise.kid in source.keys(refresh_for_kid=guard_keys.enterprise.kid)
        assert time.monotonic() - started < 0.5  # 50 checks while refreshes take 1.5 s each
        wait_for(lambda: jwks.hits > first)  # ... which happen anyway (max-age=1 -> every 2 s)
    finally:
        source.close()


@pytest.mark.parametrize("kid_style", KID_STYLES)
def test_an_unknown_kid_refreshes_once_per_cooldown(jwks: JwksServer, guard_keys: Keys, kid_style: str) -> None:
    """The next key, published under its thumbprint or under a third party's next name."""
    source = RefreshingSource(ENTERPRISE, jwks.url("enterprise"), max_age=600, cooldown=30).start()
    try:
        fresh = new_key("ES256").named("2024-02" if kid_style == "named" else None)
        jwks.documents["enterprise"]["keys"].append(fresh.jwk(issuer=ENTERPRISE))
        assert fresh.kid in source.keys(refresh_for_kid=fresh.kid)  # waited for the refresh
        hits = jwks.hits
        for _ in range(20):
            assert "made-up" not in source.keys(refresh_for_kid="made-up")
        assert jwks.hits - hits <= 1  # at most the background schedule, not one fetch per unknown kid
    finally:
        source.close()


def test_past_its_max_age_an_issuer_fails_closed_then_recovers(jwks: JwksServer, guard_keys: Keys) -> None:
    source = RefreshingSource(ENTERPRISE, jwks.url("enterprise"), max_age=3).start()
    try:
        jwks.up = False
        down = time.monotonic()
        assert guard_keys.enterprise.kid in source.keys()  # known keys keep working ...
        with pytest.raises(JwksUnavailable, match="max age"):
            while True:  # ... until the set is older than its max age
                source.keys()
                assert time.monotonic() - down < 3.5
                time.sleep(0.05)
        assert not source.state().usable and source.failures > 0
        jwks.up = True
        wait_for(lambda: source.state().usable)
        assert guard_keys.enterprise.kid in source.keys()
    finally:
        source.close()


def test_a_first_fetch_that_fails_leaves_the_issuer_closed(jwks: JwksServer) -> None:
    jwks.up = False
    source = RefreshingSource(ENTERPRISE, jwks.url("enterprise"), max_age=60).start()
    try:
        with pytest.raises(JwksUnavailable, match="no JWKS"):
            source.keys()
        jwks.up = True
        wait_for(lambda: source.state().usable)
    finally:
        source.close()
