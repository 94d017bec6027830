"""The package as users install it: a wheel, in fresh virtual environments, run from elsewhere.

A relying party installs the bare package (cryptography, joserfc, httpx) and validates
tokens; `signward[all]` runs the lab, which finds its model inside the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


_BUILT: list[Path] = []


def project_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel of this tree per test session (`pip wheel --no-deps`), shared by the packaging
    and the install-profile tests."""
    if not _BUILT:
        out = tmp_path_factory.mktemp("wheel")
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                       check=True, capture_output=True, timeout=600)
        (built,) = out.glob("signward-*.whl")
        _BUILT.append(built)
    return _BUILT[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield project_wheel(tmp_path_factory)


def outside_env() -> dict[str, str]:
    """This environment without PYTHONPATH (which would put the source tree, and the egg-info
    building the wheel leaves in it, before the installed package) or a home."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIGNWARD_HOME", "SIGNWARD_CONFIG")}


def pip(python: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """This pip run for the venv of `python` (`pip --python`): a venv needs no pip of its own (its
    ensurepip cost about 3 CPU-seconds a venv)."""
    return subprocess.run([sys.executable, "-m", "pip", "--python", str(python), *args], capture_output=True,
                          text=True, timeout=timeout, env=outside_env(), cwd=python.parent)


def fresh_venv(where: Path, requirement: str) -> Path:
    """A new venv at `where` (without pip) holding `requirement` and its dependencies; its python."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    done = pip(python, "install", "-q", requirement)
    assert done.returncode == 0, done.stderr[-2000:]
    return python


def test_the_bare_package_validates_a_token(wheel: Path, tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv", str(wheel))
    installed = pip(python, "list", "--format", "json")
    assert installed.returncode == 0, installed.stderr[-2000:]
    names = {p["name"].lower() for p in json.loads(installed.stdout)}
    assert {"cryptography", "joserfc", "httpx"} <= names
    assert not names & {"python-pkcs11", "scipy", "numpy", "starlette", "uvicorn", "psycopg", "click"}
    key = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    issuer, now = "https://login.example.com/realms/enterprise", int(time.time())
    public = {**key.as_dict(private=False), "kid": key.thumbprint(), "alg": "ES256", "use": "sig",
              "nbf": now - 60, "exp": now + 3600, "issuer": issuer}
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public]}))
    token = jwt.encode({"alg": "ES256", "kid": key.thumbprint(), "typ": "at+jwt"},
                       {"iss": issuer, "sub": "s", "aud": "mail", "iat": now, "nbf": now, "exp": now + 300,
                        "jti": "j", "client_id": "c"}, key)
    script = ("import sys\nfrom signward.verify import Validator\n"
              "with Validator(trust={sys.argv[1]: sys.argv[2]}, audience='mail') as v:\n"
              "    verdict = v.verify(sys.argv[3])\n"
              "print(verdict.valid, verdict.reason)\n")
    done = subprocess.run([str(python), "-c", script, issuer, str(tmp_path / "jwks.json"), token],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60, env=outside_env())
    assert done.stdout.split() == ["True", "None"], done.stderr
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    done = subprocess.run([str(python), "-c", script, issuer, str(tmp_path / "jwks.json"), forged],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60, env=outside_env())
    assert done.stdout.split()[0] == "False"
    command = subprocess.run([str(tmp_path / "venv" / "bin" / "signward"), "lab", "storm-0558"],
                             capture_output=True, text=True, timeout=60, env=outside_env())
    assert command.returncode == 2 and "signward[all]" in command.stderr


def test_the_lab_runs_from_an_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    """What a full lab run needs from the installation, without the run (tests/lab runs the lab in
    full, every control on and the 2021 preset, through this same CLI): `signward[all]` loads the
    lab command, finds its model inside the installed package, and starts the embedded HSM with
    the non-dumpable preload built from the packaged C source, in which an RS256 realm signs."""
    python = fresh_venv(tmp_path / "venv", f"{wheel}[all]")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = outside_env()
    signward = str(tmp_path / "venv" / "bin" / "signward")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([signward, *args], capture_output=True, text=True, cwd=elsewhere, env=env, timeout=300)

    done = cli("lab", "storm-0558", "--help")
    assert done.returncode == 0 and "--preset" in done.stdout and "--ablate" in done.stdout, done.stderr[-2000:]
    done = cli("lab", "storm-0558", "--disable", "nope")  # the controls' list, from the installed package
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
    script = "from signward.lab.ablate import deployed_model; print(deployed_model())"
    where = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=elsewhere, env=env,
                           check=True)
    assert str(tmp_path / "venv") in where.stdout and Path(where.stdout.strip()).is_file()
    home = ["--home", str(elsewhere / "home")]
    assert cli(*home, "init").returncode == 0
    try:
        started = cli(*home, "hsm", "start", "--json")
        assert started.returncode == 0, started.stderr[-2000:]
        assert (elsewhere / "home" / "hsm" / "nodump.so").is_file()  # built from the wheel's nodump.c
        made = cli(*home, "realm", "create", "consumer", "--issuer", "https://login.consumer.lab", "--alg", "RS256")
        assert made.returncode == 0, made.stderr[-2000:]
        token = cli(*home, "token", "issue", "--realm", "consumer", "--sub", "s")
        assert token.returncode == 0 and token.stdout.strip().count(".") == 2, token.stderr[-2000:]
    finally:
        cli(*home, "hsm", "stop")
