"""docs/configuration.md is generated from the code's tables (`signward.config_reference`): the
committed page must be what the code generates, so a key, a bound or a register row added to the
code fails here until `python scripts/config_reference.py` is run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from signward.config_reference import render
from signward.config_schema import insecure_settings, reference
from signward.controls_config import REGISTER
from signward.guard.config import GuardFile
from signward.home import Config
from signward.watch.config import WatchConfig

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"


def test_the_committed_page_is_what_the_code_generates() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), \
        "docs/configuration.md differs from the code: run python scripts/config_reference.py"


def test_the_page_names_every_key_of_every_file_and_every_register_row() -> None:
    page = render()
    for schema in (Config, GuardFile, WatchConfig):
        for key in reference(schema):
            assert f"| `{key.path}` |" in page
    for row in REGISTER:
        assert f"| `{row.setting}` |" in page


def test_every_insecure_opt_in_is_a_row_of_the_register() -> None:
    insecure = insecure_settings(Config)
    assert "hsm.allow_insecure_software_keys" in insecure and "dumps.insecure_self_grant" in insecure
    assert set(insecure) <= {row.setting for row in REGISTER}
    assert insecure_settings(GuardFile) == [] and insecure_settings(WatchConfig) == []


def test_the_script_checks_the_page(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "config_reference.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "scripts"  # a tree whose page drifted: --check says so, exit 1
    (tmp_path / "docs").mkdir()
    copy.mkdir()
    (copy / "config_reference.py").write_text(script.read_text())
    (tmp_path / "docs" / "configuration.md").write_text(PAGE.read_text().replace("| `hsm.sessions` |", "| `x` |"))
    drifted = subprocess.run([sys.executable, str(copy / "config_reference.py"), "--check"], capture_output=True,
                             text=True, timeout=60)
    assert drifted.returncode == 1 and "differs from the code" in drifted.stderr
