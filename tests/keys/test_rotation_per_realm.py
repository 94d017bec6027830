"""Rotation is per realm (issue #34): a realm that cannot rotate, whatever it raises, is alerted
and retried; the others rotate, from the library and from the issuer's running loop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from signward.algorithms import Alg
from signward.clock import FixedClock
from signward.hsm import server as hsm_server
from signward.issuer import IssuerContext
from signward.issuer.app import create_app
from signward.keys import RotationPolicy
from signward.services import Services
from tests.conftest import make_hsm_home

DAY = 86400.0
# each realm fails with one kind of error, and sorts before the realm that must still rotate
BROKEN = {
    "a-eddsa": ("EdDSA", 30 * DAY),  # the HSM cannot make the key: a SignwardError (HsmError)
    "b-unknown-alg": ("XS999", 30 * DAY),  # an algorithm this version does not know: ValueError
    "c-garbled": ("ES256", "soon"),  # a policy that is not a number: a raw TypeError
}


def _plant_broken_realms(services: Services) -> None:
    """Realms as a home that had met them holds them (another version or a hand-edited row)."""
    with services.store.transaction() as tx:
        for name, (alg, lifetime) in BROKEN.items():
            tx.execute("INSERT INTO realms (name, issuer, alg, max_signing_lifetime, prepublish_lead, "
                       "max_token_lifetime, destroy_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (name, f"https://{name}.example.com", alg, lifetime, DAY, 3600.0, 7 * DAY, 0.0))


def _due_realm(services: Services, clock: FixedClock) -> None:
    services.registry.create_realm("good", "https://good.example.com", Alg.ES256, RotationPolicy())
    clock.advance(29.5 * DAY)  # inside the pre-publication lead: a successor is due


def test_one_realm_failing_with_any_error_never_stops_the_others(services: Services, clock: FixedClock) -> None:
    _due_realm(services, clock)
    _plant_broken_realms(services)
    done, failed = services.registry.rotate_each()
    assert [e["action"] for e in done["good"]] == ["key.create"] and done["good"][0]["reason"] == "successor"
    assert sorted(failed) == sorted(BROKEN)
    assert "EdDSA" in failed["a-eddsa"]
    assert failed["b-unknown-alg"].startswith("ValueError") and failed["c-garbled"].startswith("TypeError")
    alerts = services.audit.records(action="rotation.failed")
    assert sorted((r.object, r.severity) for r in alerts) == [(name, "alert") for name in sorted(BROKEN)]
    again, failed_again = services.registry.rotate_each()  # retried: the same three fail, nothing else due
    assert again == {"good": []} and sorted(failed_again) == sorted(BROKEN)


def test_the_issuer_loop_survives_every_kind_of_error_and_counts_it(context: IssuerContext, services: Services,
                                                                     clock: FixedClock) -> None:
    _due_realm(services, clock)
    _plant_broken_realms(services)
    context.rotation_interval = 0.05
    app = create_app(context)

    def failures(realm: str) -> float:
        text = context.metrics.render().decode()
        line = next((row for row in text.splitlines()
                     if row.startswith(f'signward_rotation_failures_total{{realm="{realm}"}}')), None)
        return float(line.split()[-1]) if line else 0.0

    async def serve_until_retried() -> None:
        async with app.router.lifespan_context(app):
            deadline = time.monotonic() + 60
            while min(failures(name) for name in BROKEN) < 2:  # every broken realm tried twice: retried
                assert time.monotonic() < deadline, "the rotation loop stopped"
                await asyncio.sleep(0.05)

    asyncio.run(serve_until_retried())
    assert len([k for k in services.registry.keys("good")]) == 2  # the due realm rotated, once
    assert "signward_rotation_loop_errors_total 0.0" in context.metrics.render().decode()


def test_keys_rotate_names_the_realms_it_could_not_rotate_and_rotates_the_rest(tmp_path: Path) -> None:
    home = make_hsm_home(tmp_path / "home")
    try:
        cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
        made = subprocess.run([*cli, "realm", "create", "good", "--issuer", "https://good.example.com"],
                              capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        conn = sqlite3.connect(home.db_path)
        with conn:
            for name, (alg, lifetime) in BROKEN.items():
                conn.execute("INSERT INTO realms (name, issuer, alg, max_signing_lifetime, prepublish_lead, "
                             "max_token_lifetime, destroy_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (name, f"https://{name}.example.com", alg, lifetime, DAY, 3600.0, 7 * DAY, 0.0))
        conn.close()
        done = subprocess.run([*cli, "keys", "rotate", "--json"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        result = json.loads(done.stdout)
        assert result["good"] == [] and sorted(n for n, v in result.items() if isinstance(v, dict)) == sorted(BROKEN)
        assert all(f"rotation failed in realm {name}" in done.stderr for name in BROKEN)
        unknown = subprocess.run([*cli, "keys", "rotate", "--realm", "consumr"], capture_output=True, text=True,
                                 timeout=120)
        assert unknown.returncode == 2 and "no realm named 'consumr'" in unknown.stderr
    finally:
        hsm_server.stop(home)
