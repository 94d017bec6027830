"""HSM restart under concurrent load: 503s during the outage, recovery without help, every token valid."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import jwt
import pytest

from signward.hsm import server as hsm_server
from tests.conftest import Served


@pytest.mark.slow
def test_hsm_restart_under_load(served: Served) -> None:
    client_id, secret = served.clients["enterprise"]
    url = f"{served.base}/realms/enterprise/token"
    results: list[tuple[float, int, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                resp = http.post(url, auth=(client_id, secret), data={"grant_type": "client_credentials"})
                with lock:
                    results.append((time.monotonic(), resp.status_code, resp.text))

    def count(code: int, after: float) -> int:
        with lock:
            return sum(1 for at, c, _ in results if c == code and at > after)

    def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait on what the service answers, not on a fixed sleep; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                stop.set()
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    began = time.monotonic()
    wait_for("20 tokens before the outage", lambda: count(200, began) >= 20)
    down_at = time.monotonic()
    hsm_server.stop(served.home)
    stopped_after = time.monotonic() - down_at
    wait_for("30 refusals during the outage", lambda: count(503, down_at) >= 30)
    restarting = time.monotonic()  # from here a request may reach the HSM again before start() returns
    hsm_server.start(served.home, served.home.load_config().hsm)
    up_at = time.monotonic()
    wait_for("recovery", lambda: count(200, up_at) >= 1)
    recovered_at = time.monotonic()
    wait_for("20 tokens after recovery", lambda: count(200, recovered_at + 0.5) >= 20)
    settled = time.monotonic()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)

    codes = {code for _, code, _ in results}
    assert codes <= {200, 503}, f"unexpected statuses {codes}"
    first_refusal = min(at for at, code, _ in results if code == 503 and at > down_at)
    outage = [code for at, code, _ in results if first_refusal <= at < restarting]
    timeline = sorted((round(at - down_at, 2), code) for at, code, _ in results)
    # once the first refusal is seen, only the requests already inside the HSM (one per client
    # thread at most) may still complete; everything else fails cleanly with 503
    assert outage.count(503) >= 30 and outage.count(200) <= len(threads), (
        f"stop took {stopped_after:.2f}s: {timeline[:: max(1, len(timeline) // 60)]}")
    late = [code for at, code, _ in results if recovered_at + 0.5 < at <= settled]
    assert len(late) >= 20 and all(code == 200 for code in late), "the service recovered by itself and stays up"
    for _, code, text in results:
        if code == 503:
            assert httpx.Response(503, text=text).json()["error"] == "temporarily_unavailable"

    jwks = jwt.PyJWKSet.from_dict(httpx.get(f"{served.base}/realms/enterprise/jwks.json").json())
    keys = {k.key_id: k for k in jwks.keys}
    tokens = [httpx.Response(200, text=text).json()["access_token"] for _, code, text in results if code == 200]
    assert len(tokens) > 50
    for token in tokens:
        kid = jwt.get_unverified_header(token)["kid"]
        jwt.decode(token, keys[kid].key, algorithms=["RS256"], audience="mail")
