"""The issuer under hostile input (issue: hostile inputs): each test reproduces an attack that
worked on the code as it was."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from signward.errors import AlgorithmUnsupported, ConfigError
from signward.hsm import Alg
from signward.issuer import ClientRegistry
from signward.keys import check_issuer_url
from signward.services import Services
from tests.conftest import Served


def test_discovery_never_builds_urls_from_the_host_header(services: Services) -> None:
    """The realm's issuer has no /realms/NAME path: the served URLs came from the Host header
    (and were cached publicly); now they come from the configured issuer only."""
    import asyncio

    services.registry.create_realm("c", "https://id.example.com")

    async def ask() -> dict[str, str]:
        transport = httpx.ASGITransport(app=services.issuer_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example.net") as client:
            response = await client.get("/realms/c/.well-known/openid-configuration")
            return response.json()  # type: ignore[no-any-return]

    meta = asyncio.run(ask())
    assert meta["token_endpoint"] == "https://id.example.com/realms/c/token"
    assert meta["jwks_uri"] == "https://id.example.com/realms/c/jwks.json" and "evil" not in json.dumps(meta)


@pytest.mark.parametrize("url", ["https://[::1/realms/r9", "https://a.example.com:99999/x", "https://a b.example.com",
                                 "https://a.example.com/x\n", "https://a.example.com/realms/../../x",
                                 "https://user:pw@a.example.com", "https://a.example.com/?q=1", "http://a.example.com",
                                 "https://exa_mple.com", "ftp://a.example.com"])
def test_issuer_urls_are_parsed_and_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_issuer_url(url)


def test_a_realm_whose_first_key_fails_is_not_left_behind(services: Services) -> None:
    offered = {a.value for a in Alg}
    try:
        services.registry.create_realm("edwards", "https://edwards.example.com", Alg.EdDSA)
    except AlgorithmUnsupported:
        assert services.registry.realms() == []  # one transaction: no realm without a key
        services.registry.create_realm("next", "https://next.example.com", Alg.ES256)
        assert [r.name for r in services.registry.realms()] == ["next"]
    else:
        assert "EdDSA" in offered  # this p11-kit forwards EdDSA: nothing to show


def test_unknown_and_known_client_ids_cost_one_scrypt_each(services: Services,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    services.registry.create_realm("c", "https://c.example.com")
    clients = ClientRegistry(services.store)
    made, _ = clients.create("c", "t")
    calls: list[int] = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert clients.authenticate("c", "c-nosuchclient", "guess") is None
    unknown = len(calls)
    assert clients.authenticate("c", made.client_id, "wrong") is None
    assert unknown == len(calls) - unknown == 1


def test_repeated_scopes_are_deduplicated_and_capped(served: Served) -> None:
    client_id, secret = served.clients["enterprise"]
    url = f"{served.base}/realms/enterprise/token"
    repeated = httpx.post(url, auth=(client_id, secret), data={"grant_type": "client_credentials",
                                                               "scope": " ".join(["mail.read"] * 1300)})
    assert repeated.status_code == 200 and repeated.json()["scope"] == "mail.read"
    assert len(repeated.json()["access_token"]) < 2000


def test_an_aborted_body_is_one_log_line_and_a_slow_body_times_out(served: Served) -> None:
    port = int(served.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:  # announces 100 bytes, sends 5, waits
        conn.sendall(b"POST /realms/enterprise/token HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant")
        started = time.monotonic()
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 20
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:  # and one that hangs up
        conn.sendall(b"POST /realms/enterprise/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\ngr")
    assert httpx.get(f"{served.base}/healthz").status_code == 200  # served after the hang-up, so it was handled
    assert "Traceback" not in served.issuer.log.read_text()


def test_serve_refuses_a_port_it_cannot_bind_as_given(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(tmp_path), "serve", "--port", "99999"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "99999" in done.stderr


def test_hsm_stop_in_a_copied_home_leaves_the_original_running(tmp_path: Path) -> None:
    from signward.hsm import server as hsm_server
    from tests.conftest import make_hsm_home

    original = make_hsm_home(tmp_path / "original")
    try:
        copy = tmp_path / "copy"
        shutil.copytree(original.root, copy, symlinks=True, ignore=shutil.ignore_patterns("*.sock"))
        stopped = subprocess.run([sys.executable, "-m", "signward", "--home", str(copy), "hsm", "stop", "--json"],
                                 capture_output=True, text=True, timeout=60)
        assert json.loads(stopped.stdout) == {"stopped": False}
        assert hsm_server.running_pid(original) is not None
    finally:
        hsm_server.stop(original)


def test_half_open_and_dripping_connections_are_closed_at_the_head_deadline(served: Served) -> None:
    """Regression: a connection that never completed its request head was held for minutes, so
    a few thousand of them made the server turn every client away (uvicorn has no head timeout)."""
    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "signward", "--home", str(served.home.root), "serve", "--port",
                             str(port), "--head-timeout", "1", "--limit-concurrency", "30"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        held = []
        for _ in range(40):  # more than --limit-concurrency, each with half a request head
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHo")
            held.append(conn)
        drip = socket.create_connection(("127.0.0.1", port), timeout=10)
        started = time.monotonic()
        closed_after = None
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:  # a byte every 0.1 s
            try:
                drip.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - started
                break
            if time.monotonic() - started > 5:  # held past the bound asserted below: no need to drip on
                break  # (the 23 s of the whole head made a server that never closes take that long to fail)
            time.sleep(0.1)
        assert closed_after is not None and closed_after < 5, "a dripping head was held past its deadline"
        for conn in held:
            assert conn.recv(100) == b""  # closed by the server, nothing served
            conn.close()
        drip.close()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200  # everyone else is served
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err
