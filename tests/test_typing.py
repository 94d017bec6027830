"""mypy --strict on src/ is part of the suite (configured in pyproject.toml)."""

import shutil
import subprocess
import sys

import pytest


@pytest.mark.skipif(shutil.which("mypy") is None and not shutil.os.path.exists(sys.prefix + "/bin/mypy"),
                    reason="mypy not installed")
def test_mypy_strict_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
