"""The CLI: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import json
import os
import re
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
        for dashed in ("-h" + created["kid"][2:], "-" + created["kid"][1:], "--" + created["kid"][2:]):
            refused = run("--home", home, "keys", "revoke", dashed)  # kids are base64url: '-' may lead
            assert refused.returncode == 2 and "Usage" not in refused.stdout + refused.stderr, refused
            assert dashed in refused.stderr  # refused as a kid it does not know, not as an option
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
        lines = narrow.stdout.splitlines()  # a pipe at 80 columns: one record per key, nothing cut or folded
        listed = json.loads(run("--home", home, "keys", "list", "--json").stdout)
        for key in listed:
            assert f"kid:          {key['kid']}" in lines
        stamps = [line for line in lines if re.fullmatch(r"verify until: \d{4}-\d\d-\d\dT\d\d:\d\d:[\d.]+Z", line)]
        assert len(stamps) == len(listed)  # a timestamp whole on its line
        assert "…" not in narrow.stdout and "│" not in narrow.stdout
        assert "key(s)" in narrow.stdout  # the summary line
        realms = subprocess.run([sys.executable, "-m", "signward", "--home", home, "realm", "list"],
                                capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
        assert "issuer:           https://c.example.com" in realms.stdout.splitlines(), realms.stdout
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


def run_in(cwd: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env={**os.environ, "COLUMNS": str(columns)})


def run_on_a_terminal(*args: str, columns: int) -> str:
    """The command on a pseudo-terminal `columns` wide: what a person at a terminal sees."""
    import pty

    master, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "signward", *args], stdin=follower, stdout=follower,
                               stderr=follower, env={**os.environ, "COLUMNS": str(columns), "TERM": "xterm"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the other side closed
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(master)
    return b"".join(chunks).decode()


def test_bare_signward_lists_the_command_groups_and_version_prints_it() -> None:
    from importlib import metadata

    from signward.cli import COMMAND_MODULES

    bare = run()
    assert bare.returncode == 0 and bare.stderr == ""
    listed = bare.stdout.split("Commands:")[1].split()
    assert set(COMMAND_MODULES) <= set(listed)
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"signward {metadata.version('signward')}"


def test_tables_in_a_pipe_are_records_that_never_cut_an_id(tmp_path: Path) -> None:
    """`dumps list` and `audit query` at 80 columns in a pipe: one `key: value` block per row,
    every id and timestamp whole on its line (the JSON says what they are)."""
    home = str(tmp_path / "h")
    assert run("--home", home, "init").returncode == 0
    (tmp_path / "not-a-core").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    for _ in range(2):
        assert run("--home", home, "dumps", "capture", "--file", str(tmp_path / "not-a-core")).returncode == 1
    for command, key, field in ((["dumps", "list"], "dumps", "id"), (["audit", "query"], None, "object")):
        records = json.loads(run("--home", home, *command, "--json").stdout)
        records = records[key] if key else records
        shown = run_in(tmp_path, "--home", home, *command)
        assert shown.returncode == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert len(records) >= 2 and "│" not in shown.stdout and "…" not in shown.stdout
        for record in records:
            assert any(line.startswith(f"{field}:") and line.endswith(f" {record[field]}") for line in lines), \
                (record[field], shown.stdout)
        stamps = [line for line in lines if re.fullmatch(r"(time|created): +\d{4}-\d\d-\d\dT\d\d:\d\d:[\d.]+Z", line)]
        assert command[0] == "dumps" or len(stamps) == len(records)  # each timestamp whole on its line
        blocks = [b for b in shown.stdout.split("\n\n") if b.strip()]
        assert len(blocks) >= len(records)  # one block per record (the title and summary ride along)


def test_a_table_that_fits_the_terminal_is_a_table_else_records() -> None:
    wide = run_on_a_terminal("models", columns=200)
    assert "┃" in wide and "storm-0558-signward" in wide
    narrow = run_on_a_terminal("models", columns=80)
    assert "┃" not in narrow and "│" not in narrow
    lines = [line.rstrip() for line in narrow.splitlines()]
    assert any(line.startswith("path: /") and line.endswith("storm-0558-signward.yaml") for line in lines), narrow


def test_a_group_of_tables_and_lines_prints_as_records_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    """The lab's step table and depth's report print through the same function."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from signward.cli.common import print_table

    table = Table("step", "detail", title="the steps")
    table.add_row("crash", "a detail long enough\nto run over two lines and more than eighty columns of a terminal")
    print_table(Group(table, Text("not breached", style="bold green")))
    shown = capsys.readouterr().out
    assert shown.splitlines()[:4] == ["the steps", "step:   crash", "detail: a detail long enough",
                                      "        to run over two lines and more than eighty columns of a terminal"]
    assert "not breached" in shown


def test_shipped_models_are_listed_and_taken_by_name_from_anywhere(tmp_path: Path) -> None:
    listed = json.loads(run_in(tmp_path, "models", "--json").stdout)["models"]
    assert {m["name"] for m in listed} == {"storm-0558-2021", "storm-0558-signward",
                                           "storm-0558-signward-shared-scanner"}
    assert all(Path(m["path"]).is_file() for m in listed)
    for name in ("storm-0558-signward", "storm-0558-signward.yaml", "models/storm-0558-signward.yaml"):
        done = run_in(tmp_path, "depth", "analyze", name, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["assets"][0]["min_failures"] == 8
    unknown = run_in(tmp_path, "depth", "analyze", "storm-0558-nosuch")
    assert unknown.returncode == 2 and "storm-0558-nosuch: no such file" in unknown.stderr
    assert "storm-0558-signward" in unknown.stderr  # and names the models there are


def test_a_group_option_is_taken_after_the_subcommand_too(tmp_path: Path) -> None:
    home = str(tmp_path / "h")
    assert run("--home", home, "init").returncode == 0
    (tmp_path / "other.cred").write_text("not a credential anyone was given\n")
    before = run_in(tmp_path, "--home", home, "debug", "--credential", "other.cred", "request", "--dump", "d",
                    "--reason", "r", "--incident", "I")
    after = run_in(tmp_path, "--home", home, "debug", "request", "--dump", "d", "--reason", "r", "--incident", "I",
                   "--credential", "other.cred")
    assert before.returncode == after.returncode == 2 and before.stderr == after.stderr
    assert "credential" in after.stderr and "Traceback" not in after.stderr
    missing = run_in(tmp_path, "--home", home, "debug", "approve", "R1", "--credential", "nosuch.cred")
    assert missing.returncode == 2 and "nosuch.cred" in missing.stderr


def test_errors_name_the_users_file_not_a_private_copy(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "app.core.gz").write_bytes(gzip.compress(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))))
    scanned = run_in(tmp_path, "dumps", "scan", "app.core.gz")
    assert scanned.returncode == 2 and scanned.stderr.startswith("signward: app.core.gz: ")
    assert "/proc/self/fd" not in scanned.stderr
    home = str(tmp_path / "h")
    assert run("--home", home, "init").returncode == 0
    captured = run_in(tmp_path, "--home", home, "dumps", "capture", "--file", "app.core.gz")
    assert captured.returncode == 1 and "app.core.gz: an ELF file" in captured.stdout
    listed = run_in(tmp_path, "--home", home, "dumps", "list")
    assert "app.core.gz: an ELF file" in listed.stdout and "/proc/self/fd" not in listed.stdout
    (record,) = json.loads(run_in(tmp_path, "--home", home, "dumps", "list", "--json").stdout)["dumps"]
    assert record["reason"] == "unreadable" and "an ELF file" in record["detail"]  # kept apart
    proof = run_in(tmp_path, "audit", "verify-proof", "nosuch.json", "--key", "pinned-key.jwk")
    assert proof.returncode == 2 and proof.stderr.startswith("signward: nosuch.json: ")


def test_the_lab_help_lists_every_control() -> None:
    from signward.lab import CONTROLS

    helped = run("lab", "storm-0558", "--help")
    assert helped.returncode == 0 and "below" not in helped.stdout
    text = " ".join(helped.stdout.split())
    assert all(name in text for name in CONTROLS)


def test_the_lab_page_carries_the_watch_result_in_chromium_at_1280(tmp_path: Path) -> None:
    """`lab --watch --html`: the watch step's section, from a real round's data (the shipped model
    analysed as designed and with two controls failed), drawn by headless Chromium at 1280 px."""
    from signward.cli.depth import shipped_models
    from signward.cli.lab import watch_html
    from signward.depth import analyze, load_model
    from signward.probes import ProbeOutcome, ProbeReason
    from signward.watch.runner import Round

    from .helpers import CHROMIUM, dom_of, screenshot

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    model = load_model(shipped_models()["storm-0558-signward"])
    failed = ["issuer_binding", "key_expiry"]
    expired = "the relying party accepted a token under an expired key"
    results = [(ProbeOutcome.passed("refused as it should") if c not in failed else ProbeOutcome.failed(
        ProbeReason.FAILED, expired)).completed("signward.watch", c, 0.5)
        for c in model.controls]
    found = Round(time=1796500000.0, results=results, unprobed=[], designed=analyze(model),
                  current=analyze(model, failed))
    page = tmp_path / "lab.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body><h1>lab</h1>"
                    f"{watch_html(found, ['redaction'])}\n</body></html>")
    shot = screenshot(page, tmp_path / "lab.png", 1280, tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(shot.read_bytes()[16:20], "big") == 1280
    dom = dom_of(page, tmp_path / "profile")
    for section in ("id=\"watch\"", "id=\"watch-depth\"", "id=\"watch-probes\"", "id=\"watch-not-probeable\""):
        assert section in dom, section
    assert "None" not in dom and dom.count("FAILED") == len(failed)
    depth = found.depths()["enterprise_mail"]
    assert f"<td>enterprise_mail</td><td>{depth['designed']}</td><td>{depth['current']}</td>" in dom
