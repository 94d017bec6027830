"""A real JVM's heap dump for the tests: run a holder program from tests/programs, wait for its
"ready", dump it with `jcmd PID GC.heap_dump`, kill it (skipped where OpenJDK is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def heap_dump(holder: Path, folder: Path, *args: str) -> Path:
    """`folder`/heap.hprof, dumped from `java holder args...` once it printed "ready"."""
    java, jcmd = shutil.which("java"), shutil.which("jcmd")
    if java is None or jcmd is None:
        pytest.skip("OpenJDK is not installed (scripts/setup.sh installs it)")
    dump = folder / "heap.hprof"
    proc = subprocess.Popen([java, "-Xmx64m", str(holder), *args], stdout=subprocess.PIPE, cwd=folder)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        subprocess.run([jcmd, str(proc.pid), "GC.heap_dump", str(dump)], check=True, capture_output=True, timeout=120)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return dump
