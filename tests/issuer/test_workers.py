"""`signward serve --workers N`: N issuer processes on one socket, a dead one replaced, all
stopped together."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from signward.hsm import server as hsm_server
from tests.conftest import make_hsm_home, signward_json
from tests.helpers import free_port


def _children(pid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def _wait(what: str, predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_workers_share_the_socket_and_a_dead_one_is_replaced(tmp_path: Path) -> None:
    home = make_hsm_home(tmp_path / "home")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = None
    try:
        signward_json(home, "realm", "create", "consumer", "--issuer", f"{base}/realms/consumer")
        made = signward_json(home, "client", "create", "--realm", "consumer", "--tenant", "t", "--audience", "mail")
        basic = base64.b64encode(f"{made['client_id']}:{made['client_secret']}".encode()).decode()
        with (tmp_path / "serve.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port",
                                     str(port), "--workers", "2"], stdout=log, stderr=subprocess.STDOUT)
        _wait("two workers", lambda: len(_children(proc.pid)) == 2 and _up(base))

        def issue(_: int) -> int:
            with httpx.Client(timeout=30) as http:  # a new connection each: the kernel spreads them
                return http.post(f"{base}/realms/consumer/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {basic}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(issue, range(40))) == {200}
        first = _children(proc.pid)
        victim = min(first)
        subprocess.run(["kill", "-9", str(victim)], check=True)
        _wait("a replacement worker", lambda: len(_children(proc.pid) - first) == 1 and len(_children(proc.pid)) == 2)
        _wait("the replacement serving", lambda: _up(base))
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(issue, range(40))) == {200}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not _up(base)
        for child in _children(proc.pid) | first:
            assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        hsm_server.stop(home)


def test_workers_refuse_a_bad_fd_and_a_taken_port(tmp_path: Path) -> None:
    home = make_hsm_home(tmp_path / "home")
    try:
        done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--fd", "0"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        assert done.returncode == 2 and "--fd 0 is not" in done.stderr and "Traceback" not in done.stderr
        import socket

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port",
                                   str(port), "--workers", "2"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "cannot listen" in done.stderr
    finally:
        hsm_server.stop(home)
