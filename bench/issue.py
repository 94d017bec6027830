"""Issuance benchmark: the issuer's signing path against raw python-pkcs11 on the same key,
and HTTP issuance throughput with p50/p99 latency under concurrent load on loopback.

Run: .venv/bin/python bench/issue.py [--n 2000] [--http 2000] [--concurrency 16] [--alg ES256]
Prints ratios measured in one run (the machine is noisy: compare ratios, not absolute rates).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pkcs11

from signward.hsm import Alg, digest
from signward.hsm import server as hsm_server
from signward.home import Home
from signward.services import init_home, open_services


def in_threads(threads: int, n: int, work: Callable[[int], None]) -> float:
    """Run work(count) in `threads` threads sharing n calls; return calls per second."""
    per = n // threads
    pool = [threading.Thread(target=work, args=(per,)) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return per * threads / (time.perf_counter() - started)


def raw_rate(home: Home, handle: str, alg: Alg, n: int, threads: int) -> float:
    """Plain python-pkcs11 sign calls on the same key, one session per thread, no checks."""
    lib = pkcs11.lib(hsm_server.p11kit_client_module())
    token = lib.get_token(token_label=home.load_config().hsm.token_label)
    data = b"x" * 300
    login = token.open(user_pin=home.secret("hsm/pin"))  # the login is shared by later sessions

    def work(count: int) -> None:
        with token.open() as session:
            key = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, id=bytes.fromhex(handle))
            for _ in range(count):
                if alg in (Alg.ES256, Alg.ES384):
                    key.sign(digest(alg, data), mechanism=pkcs11.Mechanism.ECDSA)
                else:
                    key.sign(data, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)

    try:
        return in_threads(threads, n, work)
    finally:
        login.close()


async def http_load(base: str, client_id: str, secret: str, total: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker(http: httpx.AsyncClient) -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t0 = time.perf_counter()
            resp = await http.post(f"{base}/realms/bench/token", auth=(client_id, secret),
                                   data={"grant_type": "client_credentials"})
            latencies.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise SystemExit(f"HTTP {resp.status_code}: {resp.text}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return total / elapsed, latencies


def wrk_load(base: str, client_id: str, secret: str, concurrency: int) -> dict[str, object] | None:
    """The same load from wrk (C), when installed: the Python client above is itself a bottleneck."""
    import base64
    import re
    import shutil

    if shutil.which("wrk") is None:
        return None
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method="POST"\nwrk.body="grant_type=client_credentials"\n'
                     'wrk.headers["Content-Type"]="application/x-www-form-urlencoded"\n'
                     f'wrk.headers["Authorization"]="Basic {auth}"\n')
    out = subprocess.run(["wrk", "-t1", f"-c{concurrency}", "-d5s", "--latency", "-s", script.name,
                          f"{base}/realms/bench/token"], capture_output=True, text=True).stdout
    Path(script.name).unlink()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"tokens_per_s": float(rate.group(1)) if rate else None,
            "p50": "".join(p50.groups()) if p50 else None, "p99": "".join(p99.groups()) if p99 else None,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--http", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--alg", default="ES256")
    args = parser.parse_args()
    alg = Alg.parse(args.alg)
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home")
        config = init_home(home)
        hsm_server.start(home, config.hsm)
        issuer = None
        try:
            port = 18000 + int(time.time()) % 1000
            base = f"http://127.0.0.1:{port}"
            ctx = open_services(home)
            ctx.registry.create_realm("bench", f"{base}/realms/bench", alg)
            client, secret = ctx.clients.create("bench", "bench", ["api"])
            key = ctx.registry.signing_key("bench")
            ctx.tokens.issue("bench", sub="warm", audience="api", tenant="t")
            raw_rate(home, key.handle, alg, 100, 1)  # warm-up

            def issue(count: int) -> None:
                for i in range(count):
                    ctx.tokens.issue("bench", sub=f"s{i}", audience="api", tenant="t")

            rates = {}
            for threads in (1, 4):
                rates[threads] = (in_threads(threads, args.n, issue), raw_rate(home, key.handle, alg, args.n, threads))
            path_rate, raw = rates[4]

            issuer = subprocess.Popen([sys.executable, "-m", "signward", "--home", str(home.root), "serve",
                                       "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(400):
                try:
                    httpx.get(f"{base}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            asyncio.run(http_load(base, client.client_id, secret, 100, args.concurrency))  # warm-up
            rate, lat = asyncio.run(http_load(base, client.client_id, secret, args.http, args.concurrency))
            lat.sort()
            wrk_result = wrk_load(base, client.client_id, secret, args.concurrency)
            result = {
                "alg": alg.value,
                "issuer_path_tokens_per_s_1_thread": round(rates[1][0], 1),
                "raw_pkcs11_signs_per_s_1_thread": round(rates[1][1], 1),
                "ratio_path_vs_raw_1_thread": round(rates[1][0] / rates[1][1], 3),
                "issuer_path_tokens_per_s_4_threads": round(path_rate, 1),
                "raw_pkcs11_signs_per_s_4_threads": round(raw, 1),
                "ratio_path_vs_raw_4_threads": round(path_rate / raw, 3),
                "goal_ratio": 0.8,
                "http_tokens_per_s": round(rate, 1),
                "http_concurrency": args.concurrency,
                "http_p50_ms": round(statistics.median(lat) * 1000, 2),
                "http_p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 2),
                "ratio_http_vs_raw": round(rate / raw, 3),
                "wrk": wrk_result,
            }
            print(json.dumps(result, indent=2))
        finally:
            if issuer is not None:
                issuer.terminate()
                issuer.wait()
            hsm_server.stop(home)


if __name__ == "__main__":
    main()
