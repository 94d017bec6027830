"""Busy ports and unwritable output paths are the operator's input (exit 2, one line naming the
port or the path), never exit 3 (HSM or store unavailable) and never after a line that says
the server runs (#34)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from signward.cli import main

MODELS = Path(__file__).resolve().parents[1] / "models"
GUARD_TOML = """
[[issuer]]
issuer = "https://login.example.com/realms/enterprise"
jwks = "{jwks}"

[[route]]
prefix = "/"
audience = "mail"
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def busy() -> Iterator[int]:
    """A port that something else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr.strip()


def test_serve_on_a_busy_port_is_2_naming_it_before_saying_it_runs(tmp_path: Path, busy: int) -> None:
    assert main(["--home", str(tmp_path), "init"]) == 0  # a real home: the port is checked before its HSM
    done = run("--home", str(tmp_path), "serve", "--port", str(busy))
    line = one_line(done)
    assert done.returncode == 2 and f"127.0.0.1:{busy}" in line and "in use" in line
    assert "issuer on" not in done.stderr


@pytest.mark.parametrize("which", ["--port", "--grpc-port"])
def test_guard_on_a_busy_port_is_2_naming_it_before_saying_it_runs(tmp_path: Path, busy: int, which: str) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    config = tmp_path / "guard.toml"
    config.write_text(GUARD_TOML.format(jwks=jwks))
    with socket.socket() as spare:  # the other port: free
        spare.bind(("127.0.0.1", 0))
        free = spare.getsockname()[1]
    ports = {"--port": free, "--grpc-port": free}
    ports[which] = busy
    done = run("--home", str(tmp_path / "no-home"), "guard", "--config", str(config),
               "--port", str(ports["--port"]), "--grpc-port", str(ports["--grpc-port"]))
    line = one_line(done)
    assert done.returncode == 2 and f"127.0.0.1:{busy}" in line and "in use" in line
    assert ("gRPC" in line) == (which == "--grpc-port")
    assert "guard on" not in done.stderr


def test_depth_analyze_to_an_unwritable_path_is_2_naming_it(tmp_path: Path) -> None:
    for option in ("--html", "--dot"):
        target = tmp_path / "no-such-directory" / f"report.{option[2:]}"
        done = run("depth", "analyze", str(MODELS / "storm-0558-signward.yaml"), option, str(target))
        line = one_line(done)
        assert done.returncode == 2 and str(target) in line and "cannot write" in line
