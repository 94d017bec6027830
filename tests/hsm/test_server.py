"""The HSM process: started, non-dumpable, restartable; clients reconnect by themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signward.errors import HsmError, HsmUnavailable
from signward.home import Home
from signward.hsm import Alg, CheckedSigner, open_backend
from signward.hsm import server as hsm_server
from tests.conftest import make_hsm_home
from tests.helpers import core_pattern


def _wait_exit(proc: subprocess.Popen[bytes]) -> int:
    return proc.wait(10)


@pytest.mark.skipif(core_pattern().startswith("|") or "/" in core_pattern(),
                    reason="core_pattern hands cores to a handler; the kernel would not write into cwd")
def test_preload_makes_a_crashing_process_write_no_core(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    home.init()
    preload = hsm_server.nodump_library(home)
    assert preload is not None, "a C compiler is needed to build the non-dumpable preload"
    for name, lib in (("control", None), ("guarded", preload)):
        cwd = tmp_path / name
        cwd.mkdir()
        proc = hsm_server.spawn_non_dumpable(["sleep", "30"], dict(os.environ), lib, tmp_path / f"{name}.log",
                                             core_limit_zero=False, cwd=cwd)
        time.sleep(0.3)
        import resource
        resource.prlimit(proc.pid, resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        os.kill(proc.pid, signal.SIGSEGV)
        assert _wait_exit(proc) == -signal.SIGSEGV
        time.sleep(0.5)
        cores = list(cwd.glob("core*"))
        if name == "control":
            assert cores, "the control process must dump core, or this test proves nothing"
        else:
            assert cores == []


def _core_limit(pid: int) -> list[str]:
    limits = Path(f"/proc/{pid}/limits").read_text()
    return next(line for line in limits.splitlines() if line.startswith("Max core file size")).split()[4:6]


def test_key_holding_processes_are_preloaded_and_core_limited(hsm_home: Home, backend: object) -> None:
    """p11-kit server forks a p11-kit-remote per client connection; that child loads SoftHSM
    and so holds the keys. It inherits the non-dumpable preload and the zero core limit."""
    backend.status()  # type: ignore[attr-defined]  # make sure our connection (and its child) is up
    pid = hsm_server.running_pid(hsm_home)
    assert pid is not None
    assert "nodump.so" in Path(f"/proc/{pid}/maps").read_text()
    assert _core_limit(pid) == ["0", "0"]
    children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    holders = [c for c in children if "libsofthsm2" in Path(f"/proc/{c}/maps").read_text()]
    assert holders, "the module is loaded in a child of the server"
    for child in holders:
        assert "nodump.so" in Path(f"/proc/{child}/maps").read_text()
        assert _core_limit(child) == ["0", "0"]


def test_client_process_never_loads_softhsm(backend: object) -> None:
    backend.status()  # type: ignore[attr-defined]  # the pool opens lazily: open it, then look
    maps = Path("/proc/self/maps").read_text()
    assert "p11-kit-client.so" in maps or "signward-p11-client-" in maps  # the pool's private copies
    # The direct-module EdDSA test may load libsofthsm2 in this process; the issuer never does.


def test_restart_and_reconnect(hsm_home: Home, backend: object) -> None:
    """Stop the shared HSM under a live client: signing fails closed, then recovers by itself."""
    b = backend
    signer = CheckedSigner(b)  # type: ignore[arg-type]
    handle, _ = b.generate(Alg.ES256, label="r")  # type: ignore[attr-defined]
    signer.sign(handle, Alg.ES256, b"before")
    hsm_server.stop(hsm_home)
    with pytest.raises(HsmUnavailable):
        signer.sign(handle, Alg.ES256, b"during")
    hsm_server.start(hsm_home, hsm_home.load_config().hsm)
    assert signer.sign(handle, Alg.ES256, b"after")
    status = hsm_server.start(hsm_home, hsm_home.load_config().hsm)
    assert status["started"] is False  # idempotent


# python-pkcs11's OperationContext.__del__ raises DeviceError for an operation whose server died
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_session_waits_with_backoff_for_an_hsm_coming_up(hsm_home: Home, backend: object) -> None:
    """Replicas starting with (or just before) their HSM: a session that cannot open yet is retried
    with backoff for hsm.connect_retry_seconds, so the call succeeds instead of failing."""
    import threading
    import time

    b = backend
    signer = CheckedSigner(b)  # type: ignore[arg-type]
    handle, _ = b.generate(Alg.ES256, label="r")  # type: ignore[attr-defined]
    hsm_server.stop(hsm_home)
    starter = threading.Timer(0.5, hsm_server.start, (hsm_home, hsm_home.load_config().hsm))
    previous, b.connect_retry = b.connect_retry, 20.0  # type: ignore[attr-defined]
    try:
        started = time.monotonic()
        starter.start()
        assert signer.sign(handle, Alg.ES256, b"while the HSM comes up")
        assert time.monotonic() - started >= 0.5
    finally:
        starter.join()
        b.connect_retry = previous  # type: ignore[attr-defined]
        hsm_server.start(hsm_home, hsm_home.load_config().hsm)


def test_second_embedded_hsm_in_one_process_is_refused(tmp_path: Path, backend: object) -> None:
    home = make_hsm_home(tmp_path / "second")
    try:
        with pytest.raises(HsmError, match="one embedded HSM"):
            open_backend(home, home.load_config())
    finally:
        hsm_server.stop(home)


def test_a_home_whose_socket_path_is_too_long_is_refused_in_one_line(tmp_path: Path) -> None:
    """A unix socket's address holds 107 bytes: p11-kit aborted with an assertion and `hsm start`
    said only that the server did not come up (exit 3). Now: the path, why, exit 2, nothing started."""
    deep = tmp_path / ("d" * (hsm_server.MAX_SOCKET_PATH - len(str(tmp_path)) - 10))
    home = Home(deep)
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(deep), "init"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(deep), "hsm", "start"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "socket" in done.stderr and "shorter path" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not home.socket_path.exists() and hsm_server.running_pid(home) is None
