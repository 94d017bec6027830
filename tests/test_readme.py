"""The README cannot drift: every code and config block in it is checked against the code.

Which fences run (the same rules for docs/, `tests/test_docs.py`):
- `bash`: runs, in a fresh temporary directory as a home, with `signward` on PATH (the README's
  blocks run in one shell session, in order, as a newcomer pastes them);
- `yaml` loads as a depth model, `toml` as a configuration, `python` runs;
- `console`, `text`, `ini`: examples and synopses that need a lab, a proxy or a deployment; not
  run, but every `signward ...` line in them (and in every other block) names a command that
  exists, and every `--option` it shows is an option of that command (or a global one);
- a bare fence is refused: every block says what it is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import click
import pytest

from signward.cli import cli
from signward.depth import analyze, parse_model
from signward.guard import GuardConfig
from signward.home import Config
from signward.watch import WatchConfig

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
GLOBAL = {"--home", "--config", "-v", "--verbose", "-h", "--help", "--version"}
RUN = "bash"  # the one fence that runs
NOT_RUN = {"console", "text", "ini"}  # shown, checked for commands and options, not run
LOADED = {"yaml", "toml", "python"}  # loaded or run by the checks below


def blocks_of(text: str) -> list[tuple[str, str]]:
    """Every fenced block of a markdown text: (language, body)."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S)]


BLOCKS = blocks_of(README)


def test_every_block_of_the_readme_says_what_it_is() -> None:
    kinds = {kind for kind, _ in BLOCKS}
    assert kinds <= {RUN} | NOT_RUN | LOADED, kinds
    assert RUN in kinds and "console" in kinds


def test_the_readme_is_a_start_page_inside_the_repository() -> None:
    assert len(README.splitlines()) <= 250
    assert "bash scripts/setup.sh" in README and "bash scripts/test.sh" in README  # CI calls scripts/test.sh
    for target in re.findall(r"\]\(([^)#]+)", README):
        assert not target.startswith(("../", "/")), f"README links outside the repository: {target}"
        if not target.startswith("http"):
            assert (ROOT / target).exists(), f"README links to a missing file: {target}"


def check_yaml(text: str, where: str) -> None:
    model = parse_model(text, where)
    assert analyze(model).assets


def check_toml(text: str) -> None:
    if text.startswith("# WATCH.toml"):  # the watch configuration
        assert WatchConfig.from_dict(tomllib.loads(text)).relying_parties
        return
    if text.startswith("# GUARD.toml"):  # the guard configuration
        assert GuardConfig.from_dict(tomllib.loads(text)).routes
        return
    config = Config.from_dict(tomllib.loads(text))
    assert config.weakened() == []  # the documented defaults weaken nothing


def check_python(text: str, where: str) -> None:
    namespace: dict[str, object] = {"token": "not.a.token"}  # refused before any key set is fetched
    exec(compile(text, where, "exec"), namespace)  # noqa: S102 - our own documentation
    if "verdict" in namespace:
        verdict = namespace["verdict"]
        assert verdict.valid is False and verdict.reason.value == "malformed"  # type: ignore[attr-defined]
    else:  # the middleware example: a request without a token gets the bare challenge
        import asyncio

        import httpx

        async def ask() -> httpx.Response:
            transport = httpx.ASGITransport(app=namespace["app"])  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://mail.test") as client:
                return await client.get("/mail/inbox")

        response = asyncio.run(ask())
        assert response.status_code == 401 and response.headers["www-authenticate"] == 'Bearer realm="signward"'


def test_loaded_blocks_of_the_readme_load() -> None:
    """yaml, toml and python blocks (the pages under docs/ hold most of them)."""
    for kind, text in BLOCKS:
        if kind == "yaml":
            check_yaml(text, "README.md")
        elif kind == "toml":
            check_toml(text)
        elif kind == "python":
            check_python(text, "README.md")


def command_lines(blocks: list[tuple[str, str]]) -> list[str]:
    """Every `signward ...` invocation in the blocks that show commands, continuation lines joined
    and `a | b | c` alternatives expanded into full commands."""
    lines: list[str] = []
    for kind, text in blocks:
        if kind not in {RUN} | NOT_RUN:
            continue
        for raw in text.splitlines():
            line = raw.split("  #")[0].rstrip()
            stripped = line.strip()
            if lines and raw.startswith(" ") and stripped.startswith(("[", "--")) and "signward" not in stripped:
                lines[-1] += " " + stripped  # an option continuation of the previous command
                continue
            match = re.search(r"(?:^\s*(?:\$ )?|/)signward (\S.*)", line)
            if match:
                lines.append("signward " + re.split(r"\s(?:&&|;|>|<|&)\s?", match.group(1))[0])
            elif re.fullmatch(r"\s*(?:\$ )?signward", line):
                lines.append("signward")
    expanded: list[str] = []
    for line in lines:
        first, *alternatives = re.split(r" \| (?=[a-z])", line)
        expanded.append(first)
        group = first.split()[:2]
        expanded += [" ".join(group + alt.split()) for alt in alternatives
                     if alt.split()[0] not in ("grep", "head", "tail", "wc", "less", "cat")]  # a real pipe
    return expanded


def resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = cli
    path: list[str] = []
    for word in words:
        sub = command.get_command(click.Context(command), word) if isinstance(command, click.Group) else None
        if sub is not None:  # through get_command: the root group loads its commands lazily
            command = sub
            path.append(word)
        elif word.startswith("-") or not isinstance(command, click.Group):
            break
    return command, path


def check_command_line(line: str) -> None:
    words = line.replace("[", " ").replace("]", " ").replace("|", " ").replace('"', " ").split()[1:]
    if not [w for w in words if not w.startswith("-")]:  # `signward`, `signward --version`
        assert set(words) <= GLOBAL, f"{line}: unknown option(s)"
        return
    command, path = resolve([w for w in words if not w.startswith("--home") and not w.startswith("/")])
    # `watch` runs, `watch report` too
    runnable = not isinstance(command, click.Group) or command.invoke_without_command
    help_only = isinstance(command, click.Group) and set(words) & {"--help", "-h"}
    assert path and (runnable or help_only), f"no such command: {line}"
    known = GLOBAL | {name for p in command.params for name in (*p.opts, *p.secondary_opts)}
    shown = {w.split("=")[0] for w in words if w.startswith("-") and w != "-"}
    assert shown <= known, f"{line}: unknown option(s) {sorted(shown - known)}"


@pytest.mark.parametrize("line", command_lines(BLOCKS))
def test_every_command_line_names_real_commands_and_options(line: str) -> None:
    check_command_line(line)


def test_there_are_command_lines() -> None:
    assert len(command_lines(BLOCKS)) > 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_shell(script: str, workdir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run documented shell lines as a newcomer would, with `bash -e` in `workdir` (which stands
    for the repository: it has no .venv, so the `signward` found on PATH is this interpreter's),
    a temporary directory of its own for `mktemp` (a short path under /tmp: the HSM's unix socket
    lives in the home, and a socket path has at most 107 bytes; under pytest-xdist's basetemp a
    home inside `workdir` passed it), and port 8080 replaced by a free one. Whatever the script
    leaves running (an issuer, the HSM) is stopped afterwards, and the directory removed."""
    shim = workdir / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "signward").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m signward "$@"\n')
    (shim / "signward").chmod(0o755)
    temp = Path(tempfile.mkdtemp(prefix="signward-readme-"))
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "TMPDIR": str(temp), "COLUMNS": "80",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("SIGNWARD_HOME", None)
    port = free_port()
    script = script.replace(":8080", f":{port}").replace("--port 8080", f"--port {port}")
    # files, not pipes: a server left in the background must not keep the test waiting for EOF
    with open(workdir / ".stdout", "w+") as stdout, open(workdir / ".stderr", "w+") as stderr:
        process = subprocess.Popen(["bash", "-e", "-c", script], cwd=workdir, env=env, stdout=stdout, stderr=stderr,
                                   start_new_session=True)
        try:
            process.wait(timeout=timeout)
        finally:
            stop_what_it_left(process, temp, env)
            shutil.rmtree(temp, ignore_errors=True)
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout.read(), stderr.read())


def stop_what_it_left(process: subprocess.Popen[bytes], temp: Path, env: dict[str, str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)  # an issuer left in the background
    except ProcessLookupError:
        pass
    for home in temp.iterdir():  # an HSM a failed script did not stop
        if (home / "hsm").is_dir():
            subprocess.run([sys.executable, "-m", "signward", "--home", str(home), "hsm", "stop"], env=env,
                           capture_output=True, timeout=60)


def test_the_five_minutes_run_as_written(tmp_path: Path) -> None:
    """The README's bash blocks, in order, in one shell: from nothing to an issued token verified
    from the key set, then the same over HTTP against `signward serve`."""
    runnable = [text for kind, text in BLOCKS if kind == RUN]
    assert len(runnable) >= 2
    done = run_shell("\n".join(runnable), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [line for line in done.stdout.splitlines() if line.startswith("valid (issuer ")]
    assert len(verdicts) == 2, done.stdout  # the token from the CLI and the one over HTTP
    assert '"token_endpoint"' in done.stdout and "HSM stopped" in done.stdout
    kid = re.search(r"^kid: +(\S+)$", done.stdout, re.M)  # `keys list` in a pipe: records, the kid whole
    assert kid is not None and kid.group(1) in verdicts[0], done.stdout


@pytest.mark.parametrize("model,depth", [("storm-0558-2021", 1), ("storm-0558-signward", 8)])
def test_the_depth_examples_give_the_depths_the_readme_states(model: str, depth: int, tmp_path: Path) -> None:
    assert f"signward depth analyze {model} " in README
    done = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", model, "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)  # by name, from anywhere
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["assets"][0]["min_failures"] == depth
