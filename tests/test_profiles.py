"""Install profiles stand alone: each extra, installed alone in a fresh venv from one wheel of
this tree, runs its own commands, and the libraries of the other extras are not there.

The bare package validates tokens and checks audit proofs offline (no click, no tomli_w, no
python-pkcs11); `[dumps]` scans and sanitizes without the HSM or the issuer; `[depth]` analyzes
a shipped model; `[guard]` answers a check for a proxy; `[issuer]` makes a realm and signs a token.
Every command runs from outside the source tree, without PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.helpers import free_port
from tests.test_packaging import fresh_venv, project_wheel

ISSUER = "https://login.example.com/realms/enterprise"
# the top-level import names of each extra's own libraries
LIBRARIES = {
    "cli": {"click", "rich", "tomli_w"},
    "issuer": {"pkcs11", "starlette", "uvicorn", "prometheus_client", "psycopg"},
    "dumps": {"numpy", "zstandard", "lz4", "elftools", "minidump"},
    "guard": {"starlette", "uvicorn", "prometheus_client", "grpc", "google.protobuf"},
    "depth": {"scipy", "networkx", "numpy", "pysat"},  # and PyYAML, which uvicorn[standard] installs too
}


def clean_env() -> dict[str, str]:
    """This process's environment without what would run the source tree or an existing home."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIGNWARD_HOME", "SIGNWARD_CONFIG")}


def profile(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, extra: str) -> Path:
    """A fresh venv holding the wheel with only `extra` ("" for the bare package); its bin dir."""
    wheel = project_wheel(tmp_path_factory)
    return fresh_venv(tmp_path / "venv", f"{wheel}[{extra}]" if extra else str(wheel)).parent


def absent(bin_dir: Path, tmp_path: Path, *extras: str) -> set[str]:
    """Which libraries of `extras` this venv cannot import (all of them, when they stand alone)."""
    names = sorted(set().union(*(LIBRARIES[extra] for extra in extras)))
    script = ("import importlib.util, json, sys\n"
              "print(json.dumps([n for n in sys.argv[1:] if importlib.util.find_spec(n.split('.')[0]) is None]))")
    done = run(bin_dir / "python", tmp_path, "-c", script, *names)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def run(program: Path, cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(program), *args], capture_output=True, text=True, cwd=cwd, env=clean_env(),
                          timeout=timeout)


def signed_token(tmp_path: Path) -> str:
    """A valid RFC 9068 access token of ISSUER for audience `mail`; its JWKS in tmp_path/jwks.json."""
    key = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    now = int(time.time())
    public = {**key.as_dict(private=False), "kid": key.thumbprint(), "alg": "ES256", "use": "sig",
              "nbf": now - 60, "exp": now + 3600, "issuer": ISSUER}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public]}))
    return jwt.encode({"alg": "ES256", "kid": key.thumbprint(), "typ": "at+jwt"},
                      {"iss": ISSUER, "sub": "s", "aud": "mail", "iat": now, "nbf": now, "exp": now + 300,
                       "jti": "j", "client_id": "c", "scope": "mail.read"}, key)


def test_a_dump_command_loads_neither_the_issuer_nor_the_hsm_library(tmp_path: Path) -> None:
    """Fast, in this tree: the composition root builds a capability on first use, and a backend,
    the issuer app and the dump scanner load only when asked."""
    script = ("import sys\nfrom signward.home import Home\nfrom signward.services import init_home, open_services\n"
              "home = Home(sys.argv[1])\ninit_home(home)\n"
              "with open_services(home) as services:\n"
              "    services.pipeline.list(); services.honey_kids(); services.registry.realms()\n"
              "    import signward.cli.dumps, signward.hsm, signward.dumps\n"
              "    print(' '.join(sorted(m for m in sys.argv[2:] if m in sys.modules)) or '-')\n"
              "    services.clients; services.tokens\n"
              "    print(' '.join(sorted(m for m in sys.argv[2:] if m in sys.modules)) or '-')\n")
    watched = ["pkcs11", "signward.hsm.pkcs11_backend", "starlette", "uvicorn", "prometheus_client", "grpc",
               "scipy", "signward.issuer.app", "signward.issuer.tokens"]
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "home"), *watched], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = done.stdout.splitlines()
    assert before == "-"
    # the token service is the issuer's: asking for it loads the issuer package, still not the HSM library
    assert "signward.issuer.tokens" in after.split() and "pkcs11" not in after.split()


@pytest.mark.slow
def test_the_bare_package_validates_and_checks_proofs_without_any_extra(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    bin_dir = profile(tmp_path_factory, tmp_path, "")
    assert absent(bin_dir, tmp_path, "cli", "issuer", "dumps", "guard", "depth") == set().union(*LIBRARIES.values())
    token = signed_token(tmp_path)
    # an auditor checks proofs offline; the key registry's modules load without the HSM library
    script = ("import sys\nimport signward.audit.proofs, signward.hsm, signward.keys, signward.dumps.canary\n"
              "from signward.verify import Validator\n"
              "with Validator(trust={sys.argv[1]: sys.argv[2]}, audience='mail') as v:\n"
              "    print(v.verify(sys.argv[3]).valid)\n")
    done = run(bin_dir / "python", tmp_path, "-c", script, ISSUER, str(tmp_path / "jwks.json"), token)
    assert done.returncode == 0 and done.stdout.split() == ["True"], done.stderr[-2000:]
    # the CLI is an extra: one line naming what to install, exit 2
    for command in ([str(bin_dir / "signward")], [str(bin_dir / "python"), "-m", "signward"]):
        done = run(Path(command[0]), tmp_path, *command[1:], "dumps", "scan", str(tmp_path / "jwks.json"))
        assert done.returncode == 2 and "signward[" in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.slow
def test_dumps_scans_and_sanitizes_without_the_hsm_or_the_issuer(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    bin_dir = profile(tmp_path_factory, tmp_path, "dumps")
    assert absent(bin_dir, tmp_path, "issuer", "guard", "depth") == (
        LIBRARIES["issuer"] | LIBRARIES["guard"] | LIBRARIES["depth"]) - LIBRARIES["dumps"]
    key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    leaky = tmp_path / "leaky.bin"
    leaky.write_bytes(os.urandom(4096) + key + os.urandom(4096))
    done = run(bin_dir / "signward", tmp_path, "dumps", "scan", "--json", str(leaky))
    assert done.returncode == 1, done.stderr[-2000:]  # a finding
    assert "Traceback" not in done.stderr
    home = tmp_path / "home"
    assert run(bin_dir / "signward", tmp_path, "--home", str(home), "init").returncode == 0
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(16384))
    done = run(bin_dir / "signward", tmp_path, "--home", str(home), "dumps", "sanitize", str(plain), "-o",
               str(tmp_path / "out.bin"))
    assert done.returncode == 0, done.stderr[-2000:]
    done = run(bin_dir / "signward", tmp_path, "--home", str(home), "dumps", "verify-attestation",
               str(tmp_path / "out.bin"))
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_depth_analyzes_a_shipped_model_alone(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    bin_dir = profile(tmp_path_factory, tmp_path, "depth")
    assert absent(bin_dir, tmp_path, "issuer", "guard") == LIBRARIES["issuer"] | LIBRARIES["guard"]
    done = run(bin_dir / "signward", tmp_path, "depth", "analyze", "storm-0558-signward", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)
    done = run(bin_dir / "signward", tmp_path, "depth", "analyze", "storm-0558-2021")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "single point of failure: redaction" in done.stdout  # the 2021 deployment's one control


@pytest.mark.slow
def test_guard_answers_a_check_alone(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    bin_dir = profile(tmp_path_factory, tmp_path, "guard")
    assert absent(bin_dir, tmp_path, "dumps", "depth") == LIBRARIES["dumps"] | LIBRARIES["depth"]
    assert absent(bin_dir, tmp_path, "issuer") == {"pkcs11", "psycopg"}
    done = run(bin_dir / "signward", tmp_path, "guard", "--help")
    assert done.returncode == 0 and "GUARD.toml" in done.stdout, done.stderr[-2000:]
    token = signed_token(tmp_path)
    config = tmp_path / "guard.toml"
    config.write_text(f'[[issuer]]\nissuer = "{ISSUER}"\njwks = "{tmp_path / "jwks.json"}"\n\n'
                      '[[route]]\nprefix = "/mail"\naudience = "mail"\nscopes = ["mail.read"]\n')
    home = tmp_path / "home"  # a home with canaries: the guard reads them without the dump pipeline
    assert run(bin_dir / "signward", tmp_path, "--home", str(home), "init").returncode == 0
    port = free_port()
    log = (tmp_path / "guard.log").open("w")
    guard = subprocess.Popen([str(bin_dir / "signward"), "--home", str(home), "guard", "--config", str(config),
                              "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                             env=clean_env())
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert guard.poll() is None, (tmp_path / "guard.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "guard.log").read_text()[-2000:]
            time.sleep(0.2)
        original = {"X-Original-URI": "/mail/inbox", "X-Original-Method": "GET", "X-Original-Host": "mail"}
        allowed = httpx.get(f"{url}/auth_request", headers={**original, "Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200, allowed.text
        assert httpx.get(f"{url}/auth_request", headers=original).status_code == 401
    finally:
        guard.terminate()
        guard.wait(timeout=30)
        log.close()


@pytest.mark.slow
def test_the_issuer_makes_a_realm_and_signs_alone(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    bin_dir = profile(tmp_path_factory, tmp_path, "issuer")
    assert absent(bin_dir, tmp_path, "dumps", "depth", "guard") == (
        LIBRARIES["dumps"] | LIBRARIES["depth"] | {"grpc", "google.protobuf"})
    home = ["--home", str(tmp_path / "home")]
    signward = bin_dir / "signward"
    # the lab's software signer: the embedded HSM needs SoftHSM2 and p11-kit of the system
    assert run(signward, tmp_path, *home, "init", "--allow-insecure-software-keys").returncode == 0
    done = run(signward, tmp_path, *home, "realm", "create", "enterprise", "--issuer", ISSUER)
    assert done.returncode == 0, done.stderr[-2000:]
    done = run(signward, tmp_path, *home, "token", "issue", "--realm", "enterprise", "--sub", "s")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().count(".") == 2
    # the issuer app of the home builds (starlette, prometheus_client), and the PKCS#11 backend loads when asked
    script = ("import os, sys\nos.environ['SIGNWARD_HOME'] = sys.argv[1]\n"
              "from signward.services import asgi_app\nasgi_app()\n"
              "import signward.hsm\nprint(signward.hsm.Pkcs11Backend.__name__)\n")
    done = run(bin_dir / "python", tmp_path, "-c", script, str(tmp_path / "home"))
    assert done.returncode == 0 and done.stdout.split()[-1] == "Pkcs11Backend", done.stderr[-2000:]
