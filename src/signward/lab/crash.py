"""Real processes for the lab: `signward serve` on loopback, crashed with SIGSEGV, and its core.

With a plain core_pattern (a file name without '/') the kernel writes the core into the
process's working directory, which the lab sets. When the pattern pipes to a handler
(systemd-coredump, apport) or names a directory, the lab cannot read that, so the live process
is dumped with gdb's gcore first and then crashed.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Self

import httpx

from ..errors import ConfigError

SIGNWARD = [sys.executable, "-m", "signward"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# glibc sizes every thread's stack by the soft stack limit a process starts with (8 MiB by
# default): the issuer's 18 threads (then 16 grant threads) reserved 144 MiB of stacks that stay
# zero but make up two thirds of a 211 MB core, which every reader of the dump reads in full.
# 2 MiB each leaves a core of about 97 MB and the same heap, key material and threads.
CRASH_STACK_LIMIT = 2 << 20


def _allow_cores() -> None:
    """Core dumps on, as far as the hard limit allows (a limit of 0 ends in a clear error later),
    and thread stacks of `CRASH_STACK_LIMIT` (never raised: a lower limit stays)."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft == resource.RLIM_INFINITY or soft > CRASH_STACK_LIMIT:
        resource.setrlimit(resource.RLIMIT_STACK, (CRASH_STACK_LIMIT, hard))


class ServedIssuer:
    """`signward --home H serve` as a real process on a loopback port (a free one unless given),
    run in `workdir`, with core dumps on unless `cores` is False."""

    def __init__(self, home: Path, workdir: Path, port: int | None = None, cores: bool = True) -> None:
        self.home = home
        self.workdir = workdir
        self.cores = cores
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "issuer.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([*SIGNWARD, "--home", str(self.home), "serve", "--port", str(self.port)],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.workdir,
                                         preexec_fn=_allow_cores if self.cores else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ConfigError(f"the issuer exited with {self.proc.returncode}: {self.tail()}")
            try:
                httpx.get(self.base + "/healthz", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise ConfigError(f"the issuer did not come up: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-600:] if self.log.exists() else ""

    def crash(self, timeout: float = 60.0) -> Path:
        """SIGSEGV the issuer and return its core file."""
        assert self.proc is not None
        return crash_and_collect_core(self.proc, self.workdir, timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def core_pattern() -> str:
    try:
        return Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return ""


def crash_and_collect_core(proc: subprocess.Popen[bytes], cwd: Path, timeout: float = 60.0) -> Path:
    """Crash `proc` with SIGSEGV and return its core file (gcore first when the kernel's goes elsewhere)."""
    pattern = core_pattern()
    gcore_path = None
    if pattern.startswith("|") or "/" in pattern:
        if shutil.which("gcore") is None:
            raise ConfigError(f"core_pattern is {pattern!r} and gdb's gcore is not installed")
        gcore_path = cwd / "gcore"
        subprocess.run(["gcore", "-o", str(gcore_path), str(proc.pid)], check=True, capture_output=True,
                       timeout=timeout)
    os.kill(proc.pid, signal.SIGSEGV)
    proc.wait(timeout)
    if proc.returncode != -signal.SIGSEGV:
        raise ConfigError(f"the process ended with {proc.returncode}, not SIGSEGV")
    if gcore_path is not None:
        return Path(f"{gcore_path}.{proc.pid}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cores = sorted(cwd.glob("core*"))
        if cores and _stable(cores[0]):
            return cores[0]
        time.sleep(0.1)
    raise ConfigError(f"no core file appeared in {cwd} (core_pattern {pattern!r}; is the core size limit 0?)")


def _stable(path: Path) -> bool:
    size = path.stat().st_size
    time.sleep(0.2)
    return size > 0 and path.stat().st_size == size


__all__ = ["ServedIssuer", "core_pattern", "crash_and_collect_core", "free_port"]
