"""An issuer home with its own HSM process, two realms and clients, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signward.hsm import server as hsm_server
from signward.home import Home
from signward.issuer import open_context
from tests.conftest import make_hsm_home
from tests.helpers import IssuerProcess, free_port


@dataclass
class Served:
    home: Home
    issuer: IssuerProcess
    base: str
    clients: dict[str, tuple[str, str]]  # realm -> (client_id, secret)


def setup_realms(home: Home, base: str) -> dict[str, tuple[str, str]]:
    """Realms are created by a short-lived process so this test process never opens the HSM."""
    import subprocess
    import sys

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
    import json

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


_ = (Path, open_context)
