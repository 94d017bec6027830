"""Fixtures start real parts: a SoftHSM2 token behind a real `p11-kit server` process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from signward.clock import FixedClock
from signward.hsm import CheckedSigner, open_backend
from signward.hsm import server as hsm_server
from signward.home import Home
from signward.issuer import ClientRegistry, IssuerContext, TokenService
from signward.issuer.metrics import IssuerMetrics
from signward.keys import Registry
from signward.store import open_store


def make_hsm_home(root: Path) -> Home:
    home = Home(root)
    config = home.init()
    hsm_server.start(home, config.hsm)
    return home


@pytest.fixture(scope="session")
def hsm_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One HSM process for the session (its own token directory and socket)."""
    home = make_hsm_home(tmp_path_factory.mktemp("hsm-home"))
    yield home
    hsm_server.stop(home)


@pytest.fixture(scope="session")
def backend(hsm_home: Home) -> Iterator[object]:
    b = open_backend(hsm_home, hsm_home.load_config())
    yield b
    b.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def context(hsm_home: Home, backend: object, clock: FixedClock, tmp_path: Path) -> IssuerContext:
    """A registry with its own database on the shared HSM, driven by a fixed clock."""
    store = open_store(tmp_path / "registry.db")
    registry = Registry(store, backend, clock)  # type: ignore[arg-type]
    tokens = TokenService(registry, CheckedSigner(backend), clock, cache_seconds=0)  # type: ignore[arg-type]
    return IssuerContext(registry=registry, clients=ClientRegistry(store, clock), tokens=tokens,
                         metrics=IssuerMetrics())
