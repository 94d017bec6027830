"""Fixtures start real parts: a SoftHSM2 token behind a real `p11-kit server` process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from signward.clock import FixedClock
from signward.home import Home
from signward.hsm import SigningBackend, open_backend
from signward.hsm import server as hsm_server
from signward.issuer import IssuerContext
from signward.services import Services, init_home, open_services
from signward.store import open_store
from tests.helpers import IssuerProcess, free_port, temporary_postgres

# the crashed processes of the scanner's tests, shared by tests/scan and tests/dumps (one crash each per session
# and worker); which tests share a pytest-xdist worker (tests/workers.py)
pytest_plugins = ["tests.scan.crashes", "tests.workers"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true",
                     help="also run the tests marked long (the lab's full ablation): docs/testing.md")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `long` (minutes of real runs, a short version of each runs by default) are
    skipped, with the reason shown, unless --long."""
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long: run with `bash scripts/test.sh --long -m long` (docs/testing.md)")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


def make_hsm_home(root: Path) -> Home:
    home = Home(root)
    config = init_home(home)
    hsm_server.start(home, config.hsm)
    return home


@pytest.fixture(scope="session")
def hsm_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    """One HSM process for the session (its own token directory and socket)."""
    home = make_hsm_home(tmp_path_factory.mktemp("hsm-home"))
    yield home
    hsm_server.stop(home)


@pytest.fixture(scope="session")
def backend(hsm_home: Home) -> Iterator[SigningBackend]:
    b = open_backend(hsm_home, hsm_home.load_config())
    yield b
    b.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def services(hsm_home: Home, backend: SigningBackend, clock: FixedClock, tmp_path: Path) -> Iterator[Services]:
    """The composition root on a home and database of the test's own, sharing the session's HSM,
    on a fixed clock. The home is the test's own because the audit anchors (the pinned audit key,
    the published checkpoints) live in the home: a home shared by tests with different stores
    would (rightly) refuse the second store's chain as a rewrite of the first's."""
    home = Home(tmp_path / "services-home")
    init_home(home, hsm_home.load_config())
    opened = open_services(home, clock=clock, store=open_store(tmp_path / "registry.db"), backend=backend)
    yield opened
    opened.close()


@pytest.fixture
def context(services: Services) -> IssuerContext:
    """What the issuer app runs on (with no token cache, so tests see rotation at once)."""
    services.tokens.cache_seconds = 0
    return services.issuer_context()


@dataclass
class Served:
    home: Home
    issuer: IssuerProcess
    base: str
    clients: dict[str, tuple[str, str]]  # realm -> (client_id, secret)


def signward_json(home: Home, *args: str) -> Any:
    """Run `signward --home H ARGS --json` in its own process (so this one never opens the HSM)."""
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), *args, "--json"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def setup_realms(home: Home, base: str) -> dict[str, tuple[str, str]]:
    """Realms and clients made through the CLI, by short-lived processes."""
    out = {}
    for name, alg in (("consumer", "ES256"), ("enterprise", "RS256")):
        signward_json(home, "realm", "create", name, "--issuer", f"{base}/realms/{name}", "--alg", alg)
        made = signward_json(home, "client", "create", "--realm", name, "--tenant",
                             "contoso" if name == "enterprise" else "consumers", "--audience", "mail",
                             "--audience", "files", "--scope", "mail.read")
        out[name] = (made["client_id"], made["client_secret"])
    return out


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = make_hsm_home(tmp_path_factory.mktemp("issuer-home"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients = setup_realms(home, base)
    issuer = IssuerProcess(home, port).start()
    yield Served(home, issuer, base, clients)
    issuer.stop()
    hsm_server.stop(home)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server in a temporary directory (Debian's postgresql package); yields a
    libpq conninfo."""
    try:
        with temporary_postgres() as conninfo:
            yield conninfo
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
