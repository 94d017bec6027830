"""Honey-key alerts from the CLI: only a signature that verifies under the honey key raises one."""

from __future__ import annotations

import json
import subprocess
import sys
import time
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


def test_token_verify_with_a_home_checks_its_canary_keys(tmp_path: Path) -> None:
    """A canary key is in no trusted key set: with a home, `token verify` takes the home's canary
    public keys as honey keys, so a token the canary key signed is honey_key (a dump leaked) and a
    made-up signature under the canary's kid bad_signature; without them (no home) the kid alone
    cannot be checked, so it is unknown_key, never an alert."""
    from signward.cli import main
    from signward.dumps.canary import Canary
    from signward.home import Home
    from tests.verify.forge import TestKey

    home = tmp_path / "home"
    assert main(["--home", str(home), "init"]) == 0
    canary = Canary.load(Home(home).canary_path(Home(home).load_config()))  # type: ignore[arg-type]
    assert canary.ec is not None
    now = int(time.time())
    signed = TestKey(canary.ec, "ES256").token({"iss": ENTERPRISE, "aud": "mail", "sub": "x", "iat": now,
                                                "exp": now + 300})
    head, body, _ = signed.split(".")
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    honey = tmp_path / "honey.txt"
    honey.write_text(canary.kids["ec"] + "\n")

    def reason(token: str, where: Path) -> str:
        done = subprocess.run([sys.executable, "-m", "signward", "--home", str(where), "token", "verify", token,
                               "--trust", f"{ENTERPRISE}={jwks}", "--audience", "mail", "--honey-kids", str(honey),
                               "--json"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        return str(json.loads(done.stdout)["reason"])

    assert reason(signed, home) == "honey_key"
    assert reason(f"{head}.{body}.{b64(bytes([1]) * 64)}", home) == "bad_signature"
    assert reason(signed, tmp_path / "no-home") == "unknown_key"
