"""Honey-key alerts from the CLI: only a signature that verifies under the honey key raises one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.verify.conftest import CONSUMER, ENTERPRISE, World
from tests.verify.forge import b64


def test_token_verify_alerts_only_on_a_real_signature_under_a_honey_kid(world: World, tmp_path: Path) -> None:
    """Regression (#34): `token verify` with a garbage signature naming a kid on the honey list
    printed a CRITICAL honey_key alert. Now bad_signature, no alert line; the real token alerts."""
    honey = tmp_path / "honey.txt"
    honey.write_text(world.consumer.kid + "\n")
    signed = world.consumer.token(world.claims(CONSUMER))
    head, body, _ = signed.split(".")

    def verify(token: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "signward", "token", "verify", token,
                               "--trust", f"{CONSUMER}={world.files[CONSUMER]}",
                               "--trust", f"{ENTERPRISE}={world.files[ENTERPRISE]}", "--audience", "mail",
                               "--honey-kids", str(honey), "--json"], capture_output=True, text=True, timeout=60)

    garbage = verify(f"{head}.{body}.{b64(bytes([1]) * 64)}")
    assert garbage.returncode == 1 and json.loads(garbage.stdout)["reason"] == "bad_signature"
    assert "honey_key" not in garbage.stderr
    real = verify(signed)  # the window of the key is not open at the real clock: honey comes first
    assert real.returncode == 1 and json.loads(real.stdout)["reason"] == "honey_key"
    assert "honey_key" in real.stderr  # the CRITICAL alert line
