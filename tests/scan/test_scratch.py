"""Nameless scratch files: no name while they hold a secret, none left by SIGKILL, and a
certified result published atomically, in both the O_TMPFILE and the unlinked-file modes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from signward.scan.scratch import Scratch

SECRET = b"-----BEGIN PRIVATE KEY----- not really, but treated as such"


@pytest.mark.parametrize("nameless", [True, False])
def test_a_scratch_file_has_no_name_and_publishes_atomically(tmp_path: Path, nameless: bool) -> None:
    with Scratch(tmp_path, nameless=nameless) as scratch:
        assert scratch.linkable is nameless
        scratch.path.write_bytes(SECRET)
        assert list(tmp_path.iterdir()) == []  # nothing to find by name while it holds the secret
        assert scratch.path.read_bytes() == SECRET
        (tmp_path / "out").write_bytes(b"older output")
        scratch.publish(tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == SECRET
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("nameless", [True, False])
def test_sigkill_leaves_no_scratch_file_behind(tmp_path: Path, nameless: bool) -> None:
    child = (f"import sys, time\nfrom pathlib import Path\nfrom signward.scan.scratch import Scratch\n"
             f"s = Scratch(Path({str(tmp_path)!r}), nameless={nameless})\ns.path.write_bytes({SECRET!r} * 1000)\n"
             f"print('ready', flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    held = [os.readlink(fd) for fd in Path(f"/proc/{proc.pid}/fd").iterdir()
            if os.readlink(fd).startswith(str(tmp_path))]
    assert len(held) == 1 and held[0].endswith("(deleted)")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert list(tmp_path.iterdir()) == []


def test_publish_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    (tmp_path / "out").symlink_to(victim)
    with Scratch(tmp_path) as scratch:
        scratch.path.write_bytes(b"clean")
        scratch.publish(tmp_path / "out")  # replaces the link itself, never its target
    assert victim.read_bytes() == b"keep me"
    assert not (tmp_path / "out").is_symlink() and (tmp_path / "out").read_bytes() == b"clean"
