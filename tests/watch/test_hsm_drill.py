"""The HSM probe's crash drill: a drill instance of the issuer's signing path is dumped with
gcore and searched for every realm key. With the HSM it finds none (and finds the canaries,
so the search saw the process); with keys in process memory it finds them."""

from __future__ import annotations

from pathlib import Path

from signward.algorithms import Alg
from signward.home import Config, Home, HsmConfig
from signward.probes import ProbeReason
from signward.services import init_home, open_services
from signward.watch.drills import _crash_drill
from tests.conftest import Served
from tests.watch.conftest import verdicts, watch_once


def test_the_hsm_probe_passes_where_keys_live_in_the_hsm(wired: Served, tmp_path: Path) -> None:
    _, report = watch_once(wired, tmp_path, None, "--only", "hsm")
    assert verdicts(report) == {"hsm": True}, report["probes"]
    assert "no realm key in a signer's core" in report["probes"][0]["detail"]


def test_the_crash_drill_finds_keys_held_in_process_memory(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home, Config(hsm=HsmConfig(backend="software", allow_insecure_software_keys=True)))
    with open_services(home) as services:
        # RS256: a prime of the key is found wherever it lies; an EC scalar in a 64 KiB block dense
        # with random-looking words is skipped by the full pass (seen once in CI; see the README)
        services.registry.create_realm("consumer", "https://id.example.com/realms/consumer", Alg.RS256)
        outcome = _crash_drill(services)
    assert outcome.held is False and outcome.reason is ProbeReason.FAILED, outcome
    assert "holds realm key(s)" in outcome.detail, outcome
    assert not list(home.root.glob(".drill-*"))  # the core went with the drill
