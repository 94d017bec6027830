"""A short coverage-guided fuzz run (atheris) of the parser and validator.

The long run is documented in the README: `.venv/bin/python bench/fuzz_verify.py -runs=2000000`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FUZZER = Path(__file__).resolve().parents[2] / "bench" / "fuzz_verify.py"


@pytest.mark.slow
def test_short_atheris_run() -> None:
    pytest.importorskip("atheris")
    done = subprocess.run([sys.executable, str(FUZZER), "-runs=20000", "-max_len=2048"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "Done 20000 runs" in done.stderr
