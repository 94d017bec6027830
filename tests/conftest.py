"""Fixtures start real parts: a SoftHSM2 token behind a real `p11-kit server` process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
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
from tests.helpers import IssuerProcess, free_port


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


@dataclass
class Served:
    home: Home
    issuer: IssuerProcess
    base: str
    clients: dict[str, tuple[str, str]]  # realm -> (client_id, secret)


def setup_realms(home: Home, base: str) -> dict[str, tuple[str, str]]:
    """Realms are created by a short-lived process so this test process never opens the HSM."""
    script = (
        "import sys, json\n"
        "from signward.home import Home\nfrom signward.issuer import open_context\nfrom signward.hsm import Alg\n"
        "ctx = open_context(Home(sys.argv[1])); base = sys.argv[2]; out = {}\n"
        "for name, alg in (('consumer', Alg.ES256), ('enterprise', Alg.RS256)):\n"
        "    ctx.registry.create_realm(name, f'{base}/realms/{name}', alg)\n"
        "    c, secret = ctx.clients.create(name, 'contoso' if name == 'enterprise' else 'consumers',"
        " ['mail', 'files'], ['mail.read'])\n"
        "    out[name] = [c.client_id, secret]\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(home.root), base], capture_output=True, text=True,
                          check=True)
    return {k: (v[0], v[1]) for k, v in json.loads(done.stdout).items()}


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


PG_BIN = Path("/usr/lib/postgresql")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server in a temporary directory (Debian's postgresql package), run
    as the postgres user because initdb refuses root; yields a libpq conninfo."""
    import os
    import shutil
    import tempfile

    versions = sorted(PG_BIN.glob("*/bin/initdb")) if PG_BIN.exists() else []
    if not versions:
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh installs it)")
    bindir = versions[-1].parent
    root = Path(tempfile.mkdtemp(prefix="signward-pg-", dir="/tmp"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    port = free_port()
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                    f"-k {root} -c listen_addresses='' -p {port} -c fsync=on", "start"], check=True, capture_output=True)
    try:
        yield f"host={root} port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
