"""The README cannot drift: every code and config block in it is checked against the code.

- yaml blocks load as depth models, toml blocks as a configuration, python blocks run;
- every `signward ...` command line in any block names a command that exists, and every
  `--option` it shows is an option of that command (or a global one);
- the `signward depth analyze` examples run and give the depth the README states.
"""

from __future__ import annotations

import re
import subprocess
import sys
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
BLOCKS = [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", README, re.M | re.S)]
GLOBAL = {"--home", "--config", "-v", "--verbose", "-h", "--help"}


def test_the_readme_has_blocks_of_every_kind() -> None:
    kinds = {kind for kind, _ in BLOCKS}
    assert {"", "bash", "yaml", "toml", "python", "ini"} <= kinds, kinds


@pytest.mark.parametrize("text", [t for k, t in BLOCKS if k == "yaml"])
def test_yaml_blocks_are_valid_models(text: str) -> None:
    model = parse_model(text, "README.md")
    assert analyze(model).assets


@pytest.mark.parametrize("text", [t for k, t in BLOCKS if k == "toml"])
def test_toml_blocks_are_valid_configurations(text: str) -> None:
    if text.startswith("# WATCH.toml"):  # the watch configuration
        assert WatchConfig.from_dict(tomllib.loads(text)).relying_parties
        return
    if text.startswith("# GUARD.toml"):  # the guard configuration
        assert GuardConfig.from_dict(tomllib.loads(text)).routes
        return
    config = Config.from_dict(tomllib.loads(text))
    assert config.weakened() == []  # the documented defaults weaken nothing


@pytest.mark.parametrize("text", [t for k, t in BLOCKS if k == "python"])
def test_python_blocks_run(text: str) -> None:
    namespace: dict[str, object] = {"token": "not.a.token"}  # refused before any key set is fetched
    exec(compile(text, "README.md", "exec"), namespace)  # noqa: S102 - our own README
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



def command_lines() -> list[str]:
    """Every `signward ...` invocation in the README's blocks, continuation lines joined and
    `a | b | c` alternatives expanded into full commands."""
    lines: list[str] = []
    for kind, text in BLOCKS:
        if kind not in ("", "bash", "ini"):
            continue
        for raw in text.splitlines():
            line = raw.split("  #")[0].rstrip()
            stripped = line.strip()
            if lines and raw.startswith(" ") and stripped.startswith(("[", "--")) and "signward" not in stripped:
                lines[-1] += " " + stripped  # an option continuation of the previous command
                continue
            match = re.search(r"(?:^\s*(?:\$ )?|/)signward (\S.*)", line)
            if match:
                lines.append("signward " + re.split(r"\s(?:&&|;|>)\s?", match.group(1))[0])
    expanded: list[str] = []
    for line in lines:
        first, *alternatives = re.split(r" \| (?=[a-z])", line)
        expanded.append(first)
        group = first.split()[:2]
        expanded += [" ".join(group + alt.split()) for alt in alternatives]
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


@pytest.mark.parametrize("line", command_lines())
def test_every_command_line_names_real_commands_and_options(line: str) -> None:
    words = line.replace("[", " ").replace("]", " ").replace("|", " ").replace('"', " ").split()[1:]
    command, path = resolve([w for w in words if not w.startswith("--home") and not w.startswith("/")])
    runnable = not isinstance(command, click.Group) or command.invoke_without_command  # `watch` runs, `watch report` too
    assert path and runnable, f"no such command: {line}"
    known = GLOBAL | {name for p in command.params for name in (*p.opts, *p.secondary_opts)}
    shown = {w.split("=")[0] for w in words if w.startswith("-") and w != "-"}
    assert shown <= known, f"{line}: unknown option(s) {sorted(shown - known)}"


def test_there_are_many_command_lines() -> None:
    assert len(command_lines()) > 40


@pytest.mark.parametrize("model,depth", [("storm-0558-2021.yaml", 1), ("storm-0558-signward.yaml", 8)])
def test_the_depth_examples_give_the_depths_the_readme_states(model: str, depth: int) -> None:
    assert f"signward depth analyze models/{model}" in README
    done = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", f"models/{model}", "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    import json

    assert json.loads(done.stdout)["assets"][0]["min_failures"] == depth
