"""The pages under docs/ cannot drift: their blocks are checked as the README's are
(`tests/test_readme.py` says which fences run), their links resolve, and the two references
that restate the code's own tables (the configuration and the lab's controls) are compared with
those tables, so a key or a control added to the code fails here until the page says it."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from signward.home import Config
from signward.lab import CONTROLS

from .test_readme import (
    LOADED,
    NOT_RUN,
    ROOT,
    RUN,
    blocks_of,
    check_command_line,
    check_python,
    check_toml,
    check_yaml,
    command_lines,
    run_shell,
)

DOCS = ROOT / "docs"
PAGES = {path.relative_to(ROOT).as_posix(): path.read_text() for path in sorted(DOCS.glob("*.md"))}
BLOCKS = [(page, kind, text) for page, body in PAGES.items() for kind, text in blocks_of(body)]
PAGE_NAMES = ["audit", "benchmarks", "cli", "configuration", "depth", "design", "dumps", "guard",
              "issuer-and-keys", "lab", "testing", "threat-model", "validator", "watch", "README"]


def test_one_page_per_component_and_a_table_of_contents() -> None:
    assert {Path(page).stem for page in PAGES} == set(PAGE_NAMES)
    contents = PAGES["docs/README.md"]
    for page in PAGES:
        if page != "docs/README.md":
            assert f"]({Path(page).name})" in contents, f"docs/README.md does not list {page}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_block_says_what_it_is_and_every_link_resolves(page: str) -> None:
    for kind, _ in blocks_of(PAGES[page]):
        assert kind in {RUN} | NOT_RUN | LOADED, f"{page}: a block fenced {kind!r} (say bash, console, text, ...)"
    for target in re.findall(r"\]\(([^)#\s]+)", PAGES[page]):
        if not target.startswith("http"):
            assert (DOCS / target).exists(), f"{page} links to a missing file: {target}"


def test_the_docs_hold_blocks_of_every_kind() -> None:
    kinds = {kind for _, kind, _ in BLOCKS}
    assert {RUN, "text", "console", "yaml", "toml", "python", "ini"} <= kinds, kinds


@pytest.mark.parametrize("page,text", [(p, t) for p, k, t in BLOCKS if k == "yaml"])
def test_yaml_blocks_are_valid_models(page: str, text: str) -> None:
    check_yaml(text, page)


@pytest.mark.parametrize("page,text", [(p, t) for p, k, t in BLOCKS if k == "toml"])
def test_toml_blocks_are_valid_configurations(page: str, text: str) -> None:
    check_toml(text)


@pytest.mark.parametrize("page,text", [(p, t) for p, k, t in BLOCKS if k == "python"])
def test_python_blocks_run(page: str, text: str) -> None:
    check_python(text, page)


LINES = [(page, line) for page in PAGES for line in command_lines([(k, t) for p, k, t in BLOCKS if p == page])]


@pytest.mark.parametrize("page,line", LINES)
def test_every_command_line_names_real_commands_and_options(page: str, line: str) -> None:
    check_command_line(line)


def test_there_are_many_command_lines() -> None:
    assert len(LINES) > 40


@pytest.mark.parametrize("page,text", [(p, t) for p, k, t in BLOCKS if k == RUN])
def test_bash_blocks_run_in_a_fresh_home(page: str, text: str, tmp_path: Path) -> None:
    done = run_shell('export SIGNWARD_HOME="$(mktemp -d)"\n' + text, tmp_path)
    assert done.returncode == 0, f"{page}:\n{text}\n{done.stdout}{done.stderr}"
    assert "Traceback" not in done.stderr


def test_the_configuration_reference_is_the_codes() -> None:
    """Every section and key of `Config` with its default, and nothing else."""
    [text] = [t for p, k, t in BLOCKS if p == "docs/configuration.md" and k == "toml"]
    documented = tomllib.loads(text)
    defaults = Config()
    expected = {section.name: {f.name: getattr(getattr(defaults, section.name), f.name)
                               for f in dataclasses.fields(getattr(defaults, section.name))}
                for section in dataclasses.fields(defaults)
                if dataclasses.is_dataclass(getattr(defaults, section.name))}
    assert set(documented) == set(expected)
    for section, keys in expected.items():
        assert documented[section] == keys, f"[{section}] in docs/configuration.md differs from home.py"


def test_the_lab_controls_table_is_the_labs() -> None:
    """The controls table of docs/lab.md names the controls `--disable` takes, in the lab's order."""
    page = PAGES["docs/lab.md"]
    table = page[page.index("| control | on | off |"):]
    rows = re.findall(r"^\| `(\w+)` \|", table.split("\n\n")[0], re.M)
    assert rows == list(CONTROLS)


def test_the_cli_reference_names_every_command_group() -> None:
    """docs/cli.md lists every top-level command the CLI has (their --help is the reference)."""
    from signward.cli import COMMAND_MODULES

    page = PAGES["docs/cli.md"]
    missing = [name for name in COMMAND_MODULES if f"`{name}`" not in page]
    assert not missing, f"docs/cli.md does not name {missing}"
