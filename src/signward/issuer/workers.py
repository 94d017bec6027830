"""`signward serve --workers N`: N issuer processes sharing one listening socket.

The parent binds the socket once and starts N children (`signward serve --fd N`), each a
whole issuer with its own HSM session pool, store connections and audit group commit; the
kernel spreads connections over them. The parent only supervises: a child that dies is
started again (after a short, growing pause, so a crash loop does not spin), and SIGTERM or
SIGINT stops every child and then the parent. Children are started with the parent's
interpreter and the same home and configuration; the parent opens nothing of the home.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence

RESTART_PAUSE_MAX = 5.0


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def supervise(sock: socket.socket, workers: int, child_args: Sequence[str]) -> int:
    """Run `workers` children serving `sock` until SIGTERM/SIGINT; return the exit code."""
    command = [sys.executable, "-m", "signward", *child_args, "--fd", str(sock.fileno())]
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    children: dict[int, subprocess.Popen[bytes]] = {}
    pauses = [0.0] * workers
    try:
        for slot in range(workers):
            children[slot] = subprocess.Popen(command, pass_fds=(sock.fileno(),))
        while not stopping:
            time.sleep(0.1)
            for slot, child in list(children.items()):
                if child.poll() is None or stopping:
                    continue
                pauses[slot] = min(RESTART_PAUSE_MAX, max(0.1, pauses[slot] * 2))
                print(f"signward: worker {child.pid} exited with {child.returncode}; "
                      f"starting another in {pauses[slot]:.1f} s", file=sys.stderr, flush=True)
                time.sleep(pauses[slot])
                if not stopping:
                    children[slot] = subprocess.Popen(command, pass_fds=(sock.fileno(),))
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return 0


def socket_from_fd(fd: int) -> socket.socket:
    """The listening socket a supervisor passed down (refused unless it is one)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as exc:
        raise ValueError(f"--fd {fd} is not an open socket ({exc.strerror})") from None
    if sock.type != socket.SOCK_STREAM or sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) != 1:
        sock.close()
        raise ValueError(f"--fd {fd} is not a listening stream socket")
    return sock


__all__ = ["bind", "socket_from_fd", "supervise"]
