"""Real dumps for the scanner tests: processes that hold keys are started and crashed here."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from signward.dumps import KnownKeys, load_known_keys, make_canary
from tests.helpers import crash_and_collect_core
from tests.scan.openssl_server import start_openssl_server

HOLDER = Path(__file__).with_name("holder.py")


def allow_cores() -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


@dataclass
class CrashedProcess:
    core: Path
    directory: Path
    secrets: dict[str, Any]

    @property
    def jwks(self) -> Path:
        return self.directory / "public.jwks"

    def known(self) -> KnownKeys:
        return load_known_keys([self.jwks])


def crash_holder(directory: Path, *what: str) -> CrashedProcess:
    """Start holder.py holding `what`, wait until it is ready, crash it with SIGSEGV, return its core."""
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, str(HOLDER), str(directory), *what], cwd=directory,
                            stdout=subprocess.PIPE, preexec_fn=allow_cores)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == b"ready", line
    core = crash_and_collect_core(proc, directory)
    proc.stdout.close()
    return CrashedProcess(core, directory, json.loads((directory / "secrets.json").read_text()))


@pytest.fixture(scope="session")
def key_holder(tmp_path_factory: pytest.TempPathFactory) -> CrashedProcess:
    """A Python process holding RSA, EC and Ed25519 keys through cryptography, a PEM and a JWK in
    its heap, a UTF-16LE PEM and an AES cipher in use, crashed with SIGSEGV."""
    return crash_holder(tmp_path_factory.mktemp("key-holder"), "rsa", "ec", "ed25519", "aes", "pem", "jwk", "utf16")


@pytest.fixture(scope="session")
def canary_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("canary") / "canary.json"
    make_canary(path, 1_790_000_000.0)
    return path


@pytest.fixture(scope="session")
def canary_holder(tmp_path_factory: pytest.TempPathFactory, canary_file: Path) -> CrashedProcess:
    """A process that loaded canary material with hold_canaries and nothing else, crashed."""
    return crash_holder(tmp_path_factory.mktemp("canary-holder"), "none", f"canary={canary_file}")


@pytest.fixture(scope="session")
def clean_process(tmp_path_factory: pytest.TempPathFactory) -> CrashedProcess:
    """A process that never touched a key (coreutils sleep), crashed."""
    directory = tmp_path_factory.mktemp("clean-process")
    proc = subprocess.Popen(["sleep", "600"], cwd=directory, preexec_fn=allow_cores)
    import time

    time.sleep(0.3)
    return CrashedProcess(crash_and_collect_core(proc, directory), directory, {})


@pytest.fixture(scope="session")
def openssl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashedProcess]:
    """`openssl s_server` holding an RSA key it loaded from a PEM file, crashed."""
    directory = tmp_path_factory.mktemp("openssl")
    proc, key = start_openssl_server(directory, preexec_fn=allow_cores)
    (directory / "public.jwks").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    core = crash_and_collect_core(proc, directory)
    assert proc.stdin is not None
    proc.stdin.close()
    yield CrashedProcess(core, directory, {"rsa_n": str(key.public_key().public_numbers().n)})
