"""Test helpers that start real parts: the HSM process, the issuer on loopback, crashing processes."""

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

import httpx

from signward.cli import main
from signward.home import Home
from signward.lab.crash import core_pattern, crash_and_collect_core, free_port  # noqa: F401 (re-exported)

SIGNWARD = [sys.executable, "-m", "signward"]


def run_cli(*args: str) -> int:
    return main(list(args))


class IssuerProcess:
    """`signward serve` as a real process on loopback."""

    def __init__(self, home: Home, port: int | None = None, core_dir: Path | None = None) -> None:
        self.home = home
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.core_dir = core_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> "IssuerProcess":
        def allow_cores() -> None:
            if self.core_dir is not None:
                resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        log = open(self.home.root / f"issuer-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [*SIGNWARD, "--home", str(self.home.root), "serve", "--port", str(self.port)],
            stdout=log, stderr=log, cwd=self.core_dir or self.home.root, preexec_fn=allow_cores)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"issuer exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                httpx.get(self.base + "/healthz", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"issuer did not come up: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.home.root / f"issuer-{self.port}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def factor_windows(data: bytes, modulus: int, prime_bytes: int) -> list[tuple[int, str]]:
    """Every 8-byte-aligned window of `prime_bytes` that, read big- or little-endian, divides
    the modulus (1 < x < n). RSA primes of an n-bit key have exactly n/2 bits and are odd,
    so only windows with the top bit set and the low bit set are tried."""
    hits: list[tuple[int, str]] = []
    last = len(data) - prime_bytes
    view = memoryview(data)
    firsts = data[0:last + 1:8]
    lasts = data[prime_bytes - 1:last + prime_bytes:8]
    for index, (first, final) in enumerate(zip(firsts, lasts)):
        offset = index * 8
        if first >= 0x80 and final & 1:
            x = int.from_bytes(view[offset:offset + prime_bytes], "big")
            if 1 < x < modulus and modulus % x == 0:
                hits.append((offset, "big"))
        if final >= 0x80 and first & 1:
            x = int.from_bytes(view[offset:offset + prime_bytes], "little")
            if 1 < x < modulus and modulus % x == 0:
                hits.append((offset, "little"))
    return hits


class ThreadedServer:
    """An ASGI app served by uvicorn in a thread on loopback (for small test peers)."""

    def __init__(self, app: object) -> None:
        import threading

        import uvicorn

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "ThreadedServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)
