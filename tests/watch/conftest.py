"""The watch tests' deployment: the module's issuer with tripwires in both realms, relying
parties as real services, and `signward watch --once --json` run as its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served, free_port, signward_json

PROGRAM = Path(__file__).resolve().parents[1] / "programs" / "relying_party.py"


@pytest.fixture(scope="module")
def wired(served: Served) -> Served:
    for realm in ("consumer", "enterprise"):
        made = signward_json(served.home, "keys", "tripwire", "--realm", realm)
        assert {w["kind"] for w in made} == {"expired", "foreign-issuer"}
    return served


@contextmanager
def relying_party(served: Served, kind: str) -> Iterator[str]:
    port = free_port()
    trust = [f"{served.base}/realms/{r}={served.base}/realms/{r}/jwks.json" for r in ("consumer", "enterprise")]
    made = signward_json(served.home, "client", "create", "--realm", "enterprise", "--tenant", "contoso",
                         "--audience", "mail", "--scope", "introspect")  # the relying party's issuance check
    asks = f"{served.base}/realms/enterprise {made['client_id']} {made['client_secret']}"
    proc = subprocess.Popen([sys.executable, str(PROGRAM), str(port), kind, "mail", *trust], stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[2], env={**os.environ, "RP_INTROSPECT": asks})
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield f"http://127.0.0.1:{port}/inbox"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def watch_once(served: Served, tmp_path: Path, url: str | None, *extra: str, settings: str = ""
               ) -> tuple[int, dict[str, Any]]:
    config = tmp_path / "watch.toml"
    parties = (f'[[relying_party]]\nname = "mail"\nurl = "{url}"\nrealm = "enterprise"\naudience = "mail"\n'
               if url else "")
    config.write_text(f'probe_timeout = 300\n{settings}{parties}')
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(served.home.root), "watch", "--once",
                           "--json", "--watch-config", str(config), *extra], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def verdicts(report: dict[str, Any]) -> dict[str, bool]:
    return {p["control"]: p["works"] for p in report["probes"]}


