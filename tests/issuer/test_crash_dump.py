"""Crash the issuer for real and search its core for the RSA signing key's primes.

With the HSM the core holds no window that divides the modulus; with the hazmat software
signer the same search finds a prime factor, so the check is shown able to fail.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from signward.home import Config, Home, HsmConfig
from signward.hsm import server as hsm_server
from tests.conftest import make_hsm_home, signward_json
from tests.helpers import IssuerProcess, crash_and_collect_core, factor_windows, free_port


def _crash_issuer_and_search(home: Home, tmp_path: Path) -> tuple[list[tuple[int, str]], int]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    signward_json(home, "realm", "create", "consumer", "--issuer", f"{base}/realms/consumer", "--alg", "RS256")
    made = signward_json(home, "client", "create", "--realm", "consumer", "--tenant", "consumers",
                         "--audience", "mail")
    client_id, secret = made["client_id"], made["client_secret"]
    cores = tmp_path / "cores"
    cores.mkdir()
    issuer = IssuerProcess(home, port, core_dir=cores).start()
    try:
        for _ in range(3):  # the key is used, as in production, before the crash
            resp = httpx.post(f"{base}/realms/consumer/token", auth=(client_id, secret),
                              data={"grant_type": "client_credentials"})
            assert resp.status_code == 200, resp.text
        jwk = httpx.get(f"{base}/realms/consumer/jwks.json").json()["keys"][0]
        assert issuer.proc is not None
        core = crash_and_collect_core(issuer.proc, cores)
    finally:
        issuer.stop()
    modulus = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big")
    data = core.read_bytes()
    assert len(data) > 1_000_000, "a real core of a Python process"
    return factor_windows(data, modulus, modulus.bit_length() // 16), len(data)


@pytest.mark.slow
def test_hsm_issuer_core_holds_no_prime_factor(tmp_path: Path) -> None:
    home = make_hsm_home(tmp_path / "hsm")
    try:
        hits, size = _crash_issuer_and_search(home, tmp_path)
    finally:
        hsm_server.stop(home)
    assert hits == [], f"prime factor found in the issuer's core at {hits}"


@pytest.mark.slow
def test_software_signer_core_gives_the_key_away(tmp_path: Path) -> None:
    home = Home(tmp_path / "soft")
    home.init(Config(hsm=HsmConfig(backend="software", allow_insecure_software_keys=True)))
    hits, _ = _crash_issuer_and_search(home, tmp_path)
    assert hits, "the search must find the in-memory key, or it proves nothing about the HSM case"
    assert any(order == "little" for _, order in hits)  # OpenSSL BIGNUM limbs
