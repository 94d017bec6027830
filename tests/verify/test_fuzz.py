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
    # libFuzzer's RSS limit reads the peak RSS, which Linux carries over exec from the process that
    # started the fuzzer: under a long pytest session (2.2 GB) the fuzzer was "out of memory" at its
    # first input. The peak is the suite's, not the parser's: the RSS limit is lifted and any single
    # allocation over 2 GB still fails the run (-malloc_limit_mb).
    done = subprocess.run([sys.executable, str(FUZZER), "-runs=20000", "-max_len=2048", "-rss_limit_mb=0",
                           "-malloc_limit_mb=2048"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "Done 20000 runs" in done.stderr
