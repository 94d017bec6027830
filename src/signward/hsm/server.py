"""The embedded HSM: SoftHSM2 served by `p11-kit server` as a separate, non-dumpable process.

`start` initialises the token on first use (PINs in 0600 files in the home), then runs
`p11-kit server` in its own session with RLIMIT_CORE 0 and a preloaded constructor that
calls prctl(PR_SET_DUMPABLE, 0). Clients reach it through p11-kit-client.so at the socket
in the home; they never load SoftHSM, so they never hold key material.
"""

from __future__ import annotations

import glob
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from importlib import resources
from pathlib import Path

from ..errors import ConfigError, HsmUnavailable
from ..home import Home, HsmConfig

MAX_SOCKET_PATH = 106  # p11-kit asserts strlen(path) < sizeof(sockaddr_un.sun_path) - 1 (108 on Linux)
SOFTHSM_CANDIDATES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/*/softhsm/libsofthsm2.so",
                      "/usr/local/lib/softhsm/libsofthsm2.so"]
# Servers started by this process, kept so they are reaped (and not warned about) on stop.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}

CLIENT_CANDIDATES = ["/usr/lib/*/pkcs11/p11-kit-client.so", "/usr/lib/pkcs11/p11-kit-client.so",
                     "/usr/local/lib/pkcs11/p11-kit-client.so"]


def _find(candidates: list[str], what: str, package: str) -> str:
    for pattern in candidates:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise HsmUnavailable(f"{what} not found (install the Debian package {package})")


def softhsm_module() -> str:
    return _find(SOFTHSM_CANDIDATES, "SoftHSM2 module libsofthsm2.so", "softhsm2")


def p11kit_client_module() -> str:
    return _find(CLIENT_CANDIDATES, "p11-kit-client.so", "p11-kit-modules")


def server_address(home: Home) -> str:
    return f"unix:path={home.socket_path}"


def _softhsm_env(home: Home) -> dict[str, str]:
    conf = home.hsm_dir / "softhsm2.conf"
    tokens = home.hsm_dir / "tokens"
    if not conf.exists():
        tokens.mkdir(parents=True, exist_ok=True)
        os.chmod(tokens, 0o700)
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return {**os.environ, "SOFTHSM2_CONF": str(conf)}


def init_token(home: Home, cfg: HsmConfig) -> bool:
    """Initialise the SoftHSM token once; return True if it was created now."""
    env = _softhsm_env(home)
    if shutil.which("softhsm2-util") is None:
        raise HsmUnavailable("softhsm2-util not found (install the Debian package softhsm2)")
    shown = subprocess.run(["softhsm2-util", "--show-slots"], env=env, capture_output=True, text=True)
    if f"Label:            {cfg.token_label}" in shown.stdout or f"Label: {cfg.token_label}" in shown.stdout:
        return False
    pin = home.secret(cfg.pin_file, cfg.pin_env, create_bytes=16)
    so_pin = home.secret("hsm/so-pin", create_bytes=16)
    made = subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", cfg.token_label, "--pin", pin, "--so-pin", so_pin],
        env=env, capture_output=True, text=True)
    if made.returncode != 0:
        raise HsmUnavailable(f"softhsm2-util --init-token failed: {made.stderr.strip() or made.stdout.strip()}")
    return True


def nodump_library(home: Home) -> Path | None:
    """Build (once) the preload library that makes the server non-dumpable; None without a C compiler."""
    target = home.hsm_dir / "nodump.so"
    if target.exists():
        return target
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    source = resources.files("signward.hsm").joinpath("nodump.c")
    with resources.as_file(source) as src:
        built = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(target), str(src)],
                               capture_output=True, text=True)
    if built.returncode != 0:
        raise HsmUnavailable(f"building the non-dumpable preload failed: {built.stderr.strip()}")
    return target


def spawn_non_dumpable(argv: list[str], env: dict[str, str], preload: Path | None, log: Path,
                       core_limit_zero: bool = True, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start argv in its own session with core dumps off and PR_SET_DUMPABLE 0 from the first instruction."""
    env = dict(env)
    if preload is not None:
        env["LD_PRELOAD"] = f"{preload} {env['LD_PRELOAD']}" if env.get("LD_PRELOAD") else str(preload)

    def limits() -> None:
        if core_limit_zero:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with open(log, "ab") as out:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, preexec_fn=limits, cwd=cwd)


def _pid_file(home: Home) -> Path:
    return home.hsm_dir / "server.pid"


def running_pid(home: Home) -> int | None:
    try:
        pid = int(_pid_file(home).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # the p11-kit server of THIS home: its command line names this home's socket (a copied
    # home carries the original's pid file; its pid must not stop the original's HSM)
    socket = str(home.socket_path).encode()
    return pid if b"p11-kit" in cmdline and socket in cmdline.split(b"\0") else None


def start(home: Home, cfg: HsmConfig, timeout: float = 15.0) -> dict[str, object]:
    """Start the embedded HSM (idempotent)."""
    if cfg.module:
        raise ConfigError(f"hsm.module is set to {cfg.module}: an external HSM is not started by signward")
    pid = running_pid(home)
    if pid is not None and home.socket_path.exists():
        return {"pid": pid, "socket": str(home.socket_path), "started": False}
    if shutil.which("p11-kit") is None:
        raise HsmUnavailable("p11-kit not found (install the Debian package p11-kit)")
    length = len(os.fsencode(home.socket_path))
    if length > MAX_SOCKET_PATH:
        raise ConfigError(f"the HSM's socket {home.socket_path} would be {length} bytes long, over the "
                          f"{MAX_SOCKET_PATH} a unix socket's address holds: use a home with a shorter path")
    created = init_token(home, cfg)
    preload = nodump_library(home)
    home.socket_path.unlink(missing_ok=True)
    argv = ["p11-kit", "server", "-f", "-p", softhsm_module(), "-n", str(home.socket_path),
            f"pkcs11:token={cfg.token_label}"]
    proc = spawn_non_dumpable(argv, _softhsm_env(home), preload, home.hsm_dir / "server.log")
    deadline = time.monotonic() + timeout
    while not _accepting(home.socket_path):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            tail = (home.hsm_dir / "server.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise HsmUnavailable(f"p11-kit server did not come up: {tail[0] if tail else 'no output'}")
        time.sleep(0.02)
    _pid_file(home).write_text(str(proc.pid))
    _CHILDREN[proc.pid] = proc
    return {"pid": proc.pid, "socket": str(home.socket_path), "started": True, "token_created": created,
            "non_dumpable": preload is not None}


def stop(home: Home, timeout: float = 10.0) -> bool:
    """Stop the embedded HSM; True if it was running."""
    pid = running_pid(home)
    if pid is None:
        home.socket_path.unlink(missing_ok=True)
        return False
    # The server forks a p11-kit-remote per client connection, in its process group: stop them all.
    _signal_group(pid, signal.SIGTERM)
    child = _CHILDREN.pop(pid, None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None:
            if child.poll() is not None:
                break
        elif not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.02)
    else:
        _signal_group(pid, signal.SIGKILL)
        if child is not None:
            child.wait()
    # A p11-kit-remote busy with a client outlives SIGTERM (seen: spinning, orphaned, still
    # answering). Each one holds the module and so key material: none may survive a stop.
    _signal_group(pid, signal.SIGKILL)
    home.socket_path.unlink(missing_ok=True)
    _pid_file(home).unlink(missing_ok=True)
    return True



def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the server's process group (the server and every p11-kit-remote it forked)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _accepting(path: Path) -> bool:
    """The socket file appears at bind(); only a successful connect shows the server listens."""
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()
