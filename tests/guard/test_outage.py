"""Envoy (gRPC ext_authz) and the guard when things break: the JWKS endpoint down, the guard
killed and restarted. Known keys work until their max age, then the issuer fails closed; no
request reaches the upstream through an error path."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from signward.lab.crash import free_port
from tests.guard.conftest import GuardProcess, JwksServer, Keys, Upstream, claims, documents, guard_toml, start_envoy

pytestmark = pytest.mark.slow


def test_jwks_down_guard_killed_and_restarted(guard_keys: Keys, tmp_path: Path) -> None:
    jwks = JwksServer(documents(guard_keys, time.time()), max_age=1)
    upstream = Upstream()
    config = tmp_path / "guard.toml"
    config.write_text(guard_toml(jwks, max_age="3s"))
    guard = GuardProcess(config, free_port(), free_port(), tmp_path / "no-home", tmp_path).start()
    envoy, port = start_envoy("envoy-grpc.yaml", tmp_path, guard, upstream)
    url = f"http://127.0.0.1:{port}/mail/inbox"

    def ask() -> int:
        token = guard_keys.enterprise.token(claims())
        return httpx.get(url, headers={"authorization": f"Bearer {token}"}, timeout=10).status_code

    try:
        base = len(upstream.seen)  # the readiness request on the anonymous route
        assert ask() == 200
        jwks.up = False
        down = time.monotonic()
        answers: list[tuple[float, int]] = []
        while time.monotonic() - down < 5:
            answers.append((time.monotonic() - down, ask()))
            time.sleep(0.1)
        statuses = [s for _, s in answers]
        assert statuses[0] == 200  # the known key keeps working ...
        closed = statuses.index(401)  # ... then the issuer fails closed, for good while the JWKS is down
        assert set(statuses[closed:]) == {401} and answers[closed][0] <= 3.5, answers
        allowed = len(upstream.seen)
        assert allowed == base + 1 + closed  # exactly the answered 200s reached the upstream

        guard.process.stop(signal.SIGKILL)  # type: ignore[union-attr]
        assert ask() in (403, 503) and len(upstream.seen) == allowed  # Envoy denies without its guard

        guard.start()  # restarted while the JWKS is still down: nothing to trust, nothing passes
        assert httpx.get(f"http://127.0.0.1:{guard.port}/healthz", timeout=5).status_code == 503
        assert [ask() for _ in range(5)] == [401] * 5 and len(upstream.seen) == allowed
        assert "jwks_unavailable" in guard.metrics()

        jwks.up = True
        deadline = time.monotonic() + 15
        while ask() != 200:
            assert time.monotonic() < deadline, "the guard did not recover when the JWKS came back"
            time.sleep(0.2)
    finally:
        envoy.stop()
        guard.stop()
        upstream.close()
        jwks.close()
