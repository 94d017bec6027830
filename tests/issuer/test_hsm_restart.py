"""HSM restart under concurrent load: 503s during the outage, recovery without help, every token valid."""

from __future__ import annotations

import threading
import time

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

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    down_at = time.monotonic()
    hsm_server.stop(served.home)
    stopped_after = time.monotonic() - down_at
    time.sleep(1.5)
    hsm_server.start(served.home, served.home.load_config().hsm)
    up_at = time.monotonic()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()

    codes = {code for _, code, _ in results}
    assert codes <= {200, 503}, f"unexpected statuses {codes}"
    outage = [code for at, code, _ in results if down_at + 0.2 < at < up_at]
    timeline = sorted((round(at - down_at, 2), code) for at, code, _ in results)
    assert 503 in outage, f"requests during the outage fail cleanly (stop took {stopped_after:.2f}s): {timeline[:: max(1, len(timeline) // 60)]}"
    assert all(code == 503 for code in outage[: len(outage) // 2])
    late = [code for at, code, _ in results if at > up_at + 1.0]
    assert late and all(code == 200 for code in late), "the service recovered by itself"
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
