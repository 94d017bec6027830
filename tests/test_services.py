"""The composition root: one object opens a home's services, policy holds wherever they run."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from signward.dumps import canary as canary_module
from signward.errors import ConfigError, HsmUnavailable, StoreError
from signward.home import Config, DumpsConfig, Home, StoreConfig
from signward.hsm import SigningBackend
from signward.keys import RotationPolicy
from signward.services import init_home, open_services
from signward.store import open_store
from tests.helpers import free_port, fresh_database

DAY = 86400.0


def test_open_reads_without_the_hsm_and_close_releases_everything(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    init_home(home)
    services = open_services(home)  # the embedded HSM is not running: reading needs none
    assert services.registry.realms() == [] and services.audit.verify().ok
    assert not services.backend.opened
    with pytest.raises(HsmUnavailable, match="hsm start"):  # signing does: fail closed, exit 3
        services.registry.create_realm("c", "https://c.example.com")
    assert services.registry.realms() == [] and services.registry.keys() == []  # one transaction: nothing left
    services.close()
    services.close()  # idempotent
    assert not services.backend.opened


def test_a_half_open_home_fails_with_the_reason(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    with pytest.raises(ConfigError, match="no signward home"):
        open_services(home)
    init_home(home)
    home.db_path.mkdir()  # the database path is not a database
    with pytest.raises(StoreError):
        open_services(home)


def test_services_on_postgresql(tmp_path: Path, postgres: str, backend: SigningBackend) -> None:
    url = fresh_database(postgres)
    home = Home(tmp_path / "h")
    init_home(home, Config(store=StoreConfig(url=url)))
    with open_services(home, backend=backend) as services:  # the session's HSM, this home's store
        services.registry.create_realm("c", "https://c.example.com")
        issued = services.tokens.issue("c", sub="s", audience="mail", tenant="t")
        assert [r.details.get("jti") for r in services.audit.records(action="token.issue")] == [issued.jti]
    assert not home.db_path.exists()  # nothing went to SQLite
    with open_services(home) as again:  # another process sees the same state
        assert [r.name for r in again.registry.realms()] == ["c"] and again.audit.verify().ok


def test_the_retention_floor_holds_in_the_registry(tmp_path: Path, backend: SigningBackend) -> None:
    # a home of its own: the session's HSM home pins the checkpoints other tests published of
    # their stores, and opening it over a new store is (rightly) refused as a rewritten chain
    home = Home(tmp_path / "h")
    init_home(home)
    with open_services(home, store=open_store(tmp_path / "r.db"), backend=backend) as services:
        five_years = RotationPolicy(max_signing_lifetime=5 * 365 * DAY)
        with pytest.raises(ConfigError, match="must be at least 2192 "):
            services.registry.create_realm("c", "https://c.example.com", policy=five_years)
        services.registry.create_realm("c", "https://c.example.com")
        assert services.prune_audit()["pruned"] == 0


def test_the_issuer_app_holds_the_canaries_whoever_starts_it(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    init_home(home)
    before = len(canary_module._HELD)
    with open_services(home) as services:  # served by uvicorn with its lifespan, as any ASGI host would
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(services.issuer_app(), host="127.0.0.1", port=port,
                                               log_level="error", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 15
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.01)
            assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
            held = canary_module._HELD[before:]
        finally:
            server.should_exit = True
            thread.join(10)
    assert any(isinstance(item, canary_module.Canary) for item in held)


WEAKENED = {"insecure_skip_canary_check": True, "insecure_detectors": "aes", "insecure_skip_residue_rescan": True,
            "insecure_no_release_gate": True, "insecure_skip_store_rescan": True}


@pytest.mark.parametrize("setting", sorted(WEAKENED))
def test_each_weakened_control_is_logged_at_start_and_audited_when_it_acts(
        tmp_path: Path, setting: str, caplog: pytest.LogCaptureFixture) -> None:
    home = Home(tmp_path / "h")
    # no canary material: only with the canary check off (else every dump is `no_canary`)
    settings = {"insecure_skip_canary_check": True, setting: WEAKENED[setting]}
    init_home(home, Config(dumps=DumpsConfig(canary="", **settings)))  # type: ignore[arg-type]
    dump = tmp_path / "d.raw"
    dump.write_bytes(bytes(range(256)) * 256)
    with caplog.at_level(logging.WARNING, logger="signward.insecure"):
        with open_services(home) as services:
            assert {w.setting for w in services.weakened} == {"dumps.canary", "dumps.insecure_skip_canary_check",
                                                              f"dumps.{setting}"}
            with open(dump, "rb") as stream:
                record = services.pipeline.capture(stream, "test")
            services.pipeline.release(record.id)
            audited = {r.details["setting"] for r in services.audit.records(action="control.weakened")}
    assert f"dumps.{setting}" in caplog.text and "INSECURE" in caplog.text
    assert audited == {"dumps.insecure_skip_canary_check", f"dumps.{setting}"}


def test_config_check_lists_every_weakened_control(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    cli = [sys.executable, "-m", "signward", "--home", str(home.root)]
    init_home(home, Config(dumps=DumpsConfig(approvers="ops")))  # a fresh home names no approver: reported
    clean = subprocess.run([*cli, "config", "check"], capture_output=True, text=True)
    assert clean.returncode == 0 and "no control weakened" in clean.stdout
    text = home.config_path.read_text().replace("insecure_no_release_gate = false", "insecure_no_release_gate = true")
    home.config_path.write_text(text)
    weak = subprocess.run([*cli, "config", "check", "--json"], capture_output=True, text=True)
    assert weak.returncode == 1 and '"dumps.insecure_no_release_gate"' in weak.stdout
    home.config_path.write_text(text.replace("insecure_no_release_gate = true", "release_gate = false"))
    renamed = subprocess.run([*cli, "config", "check"], capture_output=True, text=True)
    assert renamed.returncode == 2 and "dumps.release_gate is now dumps.insecure_no_release_gate" in renamed.stderr


def test_the_software_signer_is_logged_at_start_and_audited_for_every_key(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from signward.home import HsmConfig

    home = Home(tmp_path / "h")
    init_home(home, Config(hsm=HsmConfig(backend="software", allow_insecure_software_keys=True)))
    with caplog.at_level(logging.WARNING):
        with open_services(home) as services:
            assert [w.setting for w in services.weakened] == ["hsm.allow_insecure_software_keys"]
            services.registry.create_realm("c", "https://c.example.com")
            kids = {k.kid for k in services.registry.keys()}
            weakened = services.audit.records(action="control.weakened")
    assert "INSECURE" in caplog.text and "hsm.allow_insecure_software_keys" in caplog.text
    assert {r.object for r in weakened} == kids and all(r.severity == "warning" for r in weakened)
