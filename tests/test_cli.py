"""The CLI: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signward.cli import main
from signward.cli.common import duration
from signward.errors import ConfigError


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=60)


def test_usage_error_is_2_with_one_line(tmp_path: Path) -> None:
    done = run("--home", str(tmp_path), "realm", "create")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_missing_home_is_2(tmp_path: Path) -> None:
    done = run("--home", str(tmp_path / "nowhere"), "keys", "list")
    assert done.returncode == 2 and "no signward home" in done.stderr and "Traceback" not in done.stderr


def test_hsm_not_running_is_3(tmp_path: Path) -> None:
    assert main(["--home", str(tmp_path), "init"]) == 0
    (tmp_path / "hsm" / "pin").write_text("1234")
    (tmp_path / "hsm" / "pin").chmod(0o600)
    done = run("--home", str(tmp_path), "hsm", "status")
    assert done.returncode == 3 and "not running" in done.stderr and "Traceback" not in done.stderr


def test_world_readable_pin_refused(tmp_path: Path) -> None:
    main(["--home", str(tmp_path), "init"])
    (tmp_path / "hsm" / "pin").write_text("1234")
    (tmp_path / "hsm" / "pin").chmod(0o644)
    done = run("--home", str(tmp_path), "hsm", "status")
    assert done.returncode == 2 and "0600" in done.stderr


def test_software_backend_refused_with_reason(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[hsm]\nbackend = "software"\n')
    done = run("--home", str(tmp_path), "realm", "create", "c", "--issuer", "https://c.example.com")
    assert done.returncode == 2 and "allow_insecure_software_keys" in done.stderr


def test_bad_config_is_2(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[hsm]\nsessions = 'many'\n")
    done = run("--home", str(tmp_path), "keys", "list")
    assert done.returncode == 2 and "hsm.sessions" in done.stderr
    (tmp_path / "config.toml").write_text("[hsm\n")
    assert run("--home", str(tmp_path), "keys", "list").returncode == 2


def test_full_flow_with_hsm_json(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    assert run("--home", home, "hsm", "start").returncode == 0
    try:
        made = run("--home", home, "realm", "create", "consumer", "--issuer", "https://c.example.com",
                   "--alg", "ES384", "--json")
        assert made.returncode == 0, made.stderr
        keys = json.loads(run("--home", home, "keys", "list", "--json").stdout)
        assert len(keys) == 1 and keys[0]["state"] == "active" and keys[0]["alg"] == "ES384"
        assert json.loads(run("--home", home, "keys", "rotate", "--json").stdout) == {"consumer": []}
        created = json.loads(run("--home", home, "keys", "create", "--realm", "consumer", "--json").stdout)
        assert created["state"] == "pending"
        jwks = json.loads(run("--home", home, "keys", "jwks", "--realm", "consumer").stdout)
        assert {k["kid"] for k in jwks["keys"]} == {keys[0]["kid"], created["kid"]}
        revoked = json.loads(run("--home", home, "keys", "revoke", created["kid"], "--json").stdout)
        assert revoked["state"] == "revoked"
        assert run("--home", home, "keys", "revoke", created["kid"]).returncode == 2
        issued = json.loads(run("--home", home, "token", "issue", "--realm", "consumer", "--sub", "alice",
                                "--json").stdout)
        assert issued["claims"]["sub"] == "alice" and issued["kid"] == keys[0]["kid"]
        too_long = run("--home", home, "token", "issue", "--realm", "consumer", "--sub", "a", "--ttl", "99999")
        assert too_long.returncode == 2
        status = json.loads(run("--home", home, "hsm", "status", "--json").stdout)
        assert status["keys"] and all(not k["extractable"] and k["sensitive"] for k in status["keys"])
        assert run("--home", home, "keys", "retire", "nope").returncode == 2
        # regressions from the newcomer report: --now read the clock twice and always failed;
        # the CLI's tokens carried client_id = --sub; tables cut the kids the next command needs
        now = run("--home", home, "keys", "create", "--realm", "consumer", "--now", "--json")
        assert now.returncode == 0, now.stderr
        assert json.loads(now.stdout)["state"] == "active"
        assert issued["claims"]["client_id"] == "signward-cli"
        narrow = subprocess.run([sys.executable, "-m", "signward", "--home", home, "keys", "list"], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
        listed = "".join(narrow.stdout.split())  # a kid may be folded, never cut
        assert all(k["kid"] in listed for k in keys) and "…" not in narrow.stdout
        assert "key(s)" in narrow.stdout  # the summary line
    finally:
        run("--home", home, "hsm", "stop")


@pytest.mark.parametrize("text,seconds", [("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("30d", 2592000)])
def test_durations(text: str, seconds: float) -> None:
    assert duration(text) == seconds


def test_bad_duration() -> None:
    with pytest.raises(ConfigError):
        duration("soon")


def test_newcomer_regressions_without_an_hsm(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    assert run("--home", home, "init").returncode == 0
    never_started = run("--home", home, "hsm", "status")  # no PIN yet: still "not running", exit 3
    assert never_started.returncode == 3 and f"'signward --home {home} hsm start'" in never_started.stderr
    after = run("hsm", "status", "--home", home)  # --home after the subcommand works too
    assert after.returncode == 3 and "not running" in after.stderr
    dash = run("--home", home, "keys", "revoke", "-Qx3")  # a kid beginning with '-' is the argument
    assert dash.returncode == 2 and "no key with kid '-Qx3'" in dash.stderr
    for command in (["realm", "list", "--help"], ["keys", "list", "--help"]):
        helped = run(*command)
        assert helped.returncode == 0 and len(helped.stdout.split("Options:")[0].strip().splitlines()) > 2


def test_a_home_made_with_config_says_so(tmp_path: Path) -> None:
    home, config = str(tmp_path / "h"), str(tmp_path / "elsewhere.toml")
    assert run("--home", home, "init", "--config", config).returncode == 0
    assert Path(config).is_file() and not (tmp_path / "h" / "config.toml").exists()
    without = run("--home", home, "keys", "list")
    assert without.returncode == 2 and "--config" in without.stderr
    assert run("--home", home, "--config", config, "keys", "list").returncode == 0


def test_a_sub_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    """Regression: a non-UTF-8 --sub was an internal error (exit 3)."""
    home = str(tmp_path / "h")
    assert run("--home", home, "init").returncode == 0
    done = subprocess.run([sys.executable.encode(), b"-m", b"signward", b"--home", home.encode(), b"token", b"issue",
                           b"--realm", b"r", b"--sub", b"caf\xe9"], capture_output=True, timeout=60)
    assert done.returncode == 2 and b"sub is not UTF-8" in done.stderr


def test_every_command_is_loaded_from_the_module_that_defines_it() -> None:
    """The root group imports a command's module only when it runs: the map must be complete."""
    import importlib

    from signward.cli import COMMAND_MODULES

    modules = sorted(set(COMMAND_MODULES.values()))
    defined = {command.name: module for module in modules
               for command in importlib.import_module(f"signward.cli.{module}").COMMANDS}
    assert defined == COMMAND_MODULES
    package = Path(importlib.import_module("signward.cli").__file__).parent  # type: ignore[arg-type]
    assert {p.stem for p in package.glob("*.py")} - {"__init__", "common"} == set(modules)
