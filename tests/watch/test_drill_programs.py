"""The fire drills' processes are real modules run with `python -m` (not program text inside
the product): each starts from its module name, says `ready` once it holds what its drill
looks for, and refuses bad usage with one line and no traceback."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from signward.home import Home
from signward.services import init_home
from signward.watch import drills


def run_module(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", module, *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


def test_the_drills_start_modules_of_the_package() -> None:
    for program in (drills.HOLDER, drills.SIGNER):
        assert program.startswith("signward.probes.programs.")
        assert importlib.util.find_spec(program) is not None, program


def test_the_holder_loads_no_more_than_the_issuer_holding_its_canaries() -> None:
    """Regression: under signward.watch the holder imported the watch, the depth analyzer and
    httpx, and the redaction drill's re-scan ran out of its budget on the larger core."""
    script = f"import sys\nimport {drills.HOLDER}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-P", "-c", script], capture_output=True, text=True, timeout=60,
                          check=True)
    loaded = set(done.stdout.split())
    assert loaded & {"signward.watch", "signward.depth", "signward.services", "httpx", "numpy", "scipy",
                     "prometheus_client"} == set(), sorted(m for m in loaded if m.startswith("signward"))


@pytest.mark.parametrize("module", [drills.HOLDER, drills.SIGNER])
def test_bad_usage_is_one_line_and_exit_2(module: str, tmp_path: Path) -> None:
    for args in ((), ("a", "b"), ("",)):
        done = run_module(module, *args, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == "", done
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("usage: python -m " + module), done.stderr


def test_a_missing_canary_file_or_home_is_one_line(tmp_path: Path) -> None:
    done = run_module(drills.HOLDER, str(tmp_path / "missing.json"), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("holder: ")
    done = run_module(drills.SIGNER, str(tmp_path / "no-home"), cwd=tmp_path)
    assert done.returncode == 3 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("signer: ")


def test_the_holder_holds_a_homes_canaries_until_killed(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    init_home(home)
    canary = home.canary_path(home.load_config())
    assert canary is not None and canary.exists()
    proc = subprocess.Popen([sys.executable, "-P", "-m", drills.HOLDER, str(canary)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        assert proc.poll() is None  # waits to be dumped
    finally:
        proc.kill()
        proc.communicate(timeout=30)
