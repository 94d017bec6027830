"""Key sets and honey lists from hostile files: bounded, never blocking, one-line refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signward.verify import FileSource, JwksUnavailable
from tests.verify.conftest import ENTERPRISE, World


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "deep", "not_utf8", "oversize"])
def test_a_hostile_jwks_file_is_refused_fast(tmp_path: Path, kind: str) -> None:
    """Regressions: /dev/zero was read without bound (the limit trusted st_size), a FIFO hung,
    a JWKS nested 50,000 deep printed a traceback."""
    path = tmp_path / "jwks.json"
    if kind == "dev_zero":
        path = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "deep":
        path.write_text("[" * 50_000 + "]" * 50_000)
    elif kind == "not_utf8":
        path.write_bytes(b'{"keys": ["\xff\xfe"]}')
    else:
        path.write_text('{"keys": [], "pad": "' + "x" * (600 * 1024) + '"}')
    with pytest.raises(JwksUnavailable):
        FileSource(ENTERPRISE, path).keys()
    done = run("jws", "verify", "a.b.c", "--jwks", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_honey_list_that_is_not_utf8_is_a_usage_error(world: World, tmp_path: Path) -> None:
    honey = tmp_path / "honey.txt"
    honey.write_bytes(b"kid-\xff\n")
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    done = run("token", "verify", "a.b.c", "--trust", f"{ENTERPRISE}={jwks}", "--audience", "mail",
               "--honey-kids", str(honey))
    assert done.returncode == 2 and "not UTF-8" in done.stderr and "Traceback" not in done.stderr
