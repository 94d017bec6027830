"""Issuance benchmark (issue 17): HTTP tokens/s from wrk against raw python-pkcs11 signing on the
same key with as many threads, measured in one run, on SQLite and on PostgreSQL, with 1, 2 and
3 issuer processes (`serve --workers N`: one socket, each process a replica with its own HSM
session pool, store connections and audit group commit); tokens/s per core next to Keycloak's
planning figure of 120 client-credential grants/s per vCPU.

Run: .venv/bin/python bench/issue.py [--seconds 5] [--threads 4] [--connections 32] [--alg ES256]
Goal: HTTP tokens/s at least 0.5 of the raw signing rate, with SQLite and with PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pkcs11

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signward.hsm import Alg, digest  # noqa: E402
from signward.hsm import server as hsm_server  # noqa: E402
from signward.home import Config, Home, StoreConfig  # noqa: E402
from signward.lab.crash import free_port  # noqa: E402
from signward.services import init_home, open_services  # noqa: E402

KEYCLOAK_PER_VCPU = 120  # Keycloak's sizing guide: client-credential grants/s per vCPU
TICKS = os.sysconf("SC_CLK_TCK")
# the issuer's HTTP stack with no work: read the form body, answer a token-sized JSON
EMPTY_ENDPOINT = """
import sys
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from signward.issuer.server import run
async def token(request):
    await request.body()
    return JSONResponse({"access_token": "x" * 520, "token_type": "Bearer", "expires_in": 300, "scope": "api"},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
run(Starlette(routes=[Route("/realms/bench/token", token, methods=["POST"])]), host="127.0.0.1",
    port=int(sys.argv[1]), limit_concurrency=1000, keep_alive=30)
"""


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and every descendant alive now (with what each has reaped)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
    total = 0.0
    for pid, cpu in times.items():
        up = pid
        while up not in (0, 1, root) and up in parents:
            up = parents[up]
        if up == root:
            total += cpu
    return total


def in_threads(threads: int, seconds: float, work: Callable[[], None]) -> float:
    """Call work() from `threads` threads for `seconds`; calls per second."""
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def run(t: int) -> None:
        while time.monotonic() < stop:
            work()
            counts[t] += 1

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def raw_rate(home: Home, handle: str, alg: Alg, threads: int, seconds: float) -> tuple[float, float, float]:
    """Plain python-pkcs11 sign calls on the same key, one session per thread, no checks: calls
    per second, and CPU microseconds per call in the HSM's processes and in this client."""
    lib = pkcs11.lib(hsm_server.p11kit_client_module())
    token = lib.get_token(token_label=home.load_config().hsm.token_label)
    data = b"x" * 300
    login = token.open(user_pin=home.secret("hsm/pin"))  # the login is shared by later sessions
    local = threading.local()

    def sign() -> None:
        key = getattr(local, "key", None)
        if key is None:
            local.session = token.open()
            key = local.key = local.session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY,
                                                    id=bytes.fromhex(handle))
        if alg in (Alg.ES256, Alg.ES384):
            key.sign(digest(alg, data), mechanism=pkcs11.Mechanism.ECDSA)
        else:
            key.sign(data, mechanism=pkcs11.Mechanism.SHA256_RSA_PKCS)

    try:
        sign()  # this thread's session opened before the clocks start
        hsm = hsm_server.running_pid(home) or 0
        hsm_before, own_before = tree_cpu(hsm), time.process_time()
        started = time.perf_counter()
        rate = in_threads(threads, seconds, sign)
        calls = rate * (time.perf_counter() - started)
        return (rate, (tree_cpu(hsm) - hsm_before) / calls * 1e6, (time.process_time() - own_before) / calls * 1e6)
    finally:
        login.close()


def wrk(base: str, basic: str, connections: int, seconds: int) -> dict[str, object]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method="POST"\nwrk.body="grant_type=client_credentials"\n'
                     'wrk.headers["Content-Type"]="application/x-www-form-urlencoded"\n'
                     f'wrk.headers["Authorization"]="Basic {basic}"\n')
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name,
                              f"{base}/realms/bench/token"], capture_output=True, text=True).stdout
    finally:
        Path(script.name).unlink()
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"tokens_per_s": round(float(rate.group(1)), 1) if rate else 0.0, "p50": p50.group(1) if p50 else None,
            "p99": p99.group(1) if p99 else None, "non_2xx": int(non2xx.group(1)) if non2xx else 0}


@contextlib.contextmanager
def serving(home: Home, port: int, workers: int, argv: list[str] | None = None) -> Iterator[tuple[str, int]]:
    """`signward serve` (or `argv`) on the port until the block ends: its base URL and pid."""
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(argv or [sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port",
                                     str(port), "--workers", str(workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code in (200, 404):
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        time.sleep(0.5 * workers)  # every worker up, not only the first
        yield base, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def run_home(home: Home, config: Config, alg: Alg, args: argparse.Namespace) -> dict[str, object]:
    init_home(home, config)
    hsm_server.start(home, config.hsm)
    try:
        port = free_port()
        with open_services(home) as services:
            services.registry.create_realm("bench", f"http://127.0.0.1:{port}/realms/bench", alg)
            client, secret = services.clients.create("bench", "bench", ["api"])
            handle = services.registry.signing_key("bench").handle
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        raw, hsm_cpu, client_cpu = raw_rate(home, handle, alg, args.threads, args.seconds)
        out: dict[str, object] = {"raw_pkcs11_signs_per_s": round(raw, 1),
                                  "raw_cpu_us_per_sign": {"hsm": round(hsm_cpu), "client": round(client_cpu)}}
        for workers in (1, 2, 3):
            with serving(home, port, workers) as (base, pid):
                wrk(base, basic, args.connections, 1)  # warm-up: pools, caches, connections
                before = tree_cpu(pid), tree_cpu(hsm_server.running_pid(home) or 0)
                out[f"http_{workers}_replicas"] = result = wrk(base, basic, args.connections, args.seconds)
                tokens = float(result["tokens_per_s"]) * args.seconds or 1.0  # type: ignore[arg-type]
                result["issuer_cpu_us_per_token"] = round((tree_cpu(pid) - before[0]) / tokens * 1e6)
                result["hsm_cpu_us_per_token"] = round(
                    (tree_cpu(hsm_server.running_pid(home) or 0) - before[1]) / tokens * 1e6)
        with serving(home, port, 1, [sys.executable, "-c", EMPTY_ENDPOINT, str(port)]) as (base, pid):
            wrk(base, basic, args.connections, 1)
            before_empty = tree_cpu(pid)
            empty = wrk(base, basic, args.connections, args.seconds)
            requests = float(empty["tokens_per_s"]) * args.seconds or 1.0  # type: ignore[arg-type]
            out["empty_endpoint"] = {"requests_per_s": empty["tokens_per_s"],
                                     "cpu_us_per_request": round((tree_cpu(pid) - before_empty) / requests * 1e6)}
        # at the goal (0.5 x raw tokens/s) the machine has this much CPU per token, of which the
        # HSM's own signing takes its share; the rest is all the issuer, wrk and the store may use
        budget = (os.cpu_count() or 1) * 1e6 / (0.5 * raw)
        out["cpu_budget_us_per_token_at_goal"] = {"all": round(budget), "left_after_hsm": round(budget - hsm_cpu)}
        best = max(float(out[f"http_{w}_replicas"]["tokens_per_s"]) for w in (1, 2, 3))  # type: ignore[index]
        out["ratio_http_best_vs_raw"] = round(best / raw, 3)
        out["ratio_http_1_replica_vs_raw"] = round(
            float(out["http_1_replicas"]["tokens_per_s"]) / raw, 3)  # type: ignore[index]
        out["tokens_per_s_per_core"] = round(best / (os.cpu_count() or 1), 1)
        out["keycloak_per_vcpu"] = KEYCLOAK_PER_VCPU
        return out
    finally:
        hsm_server.stop(home)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4, help="raw signing threads (the pool has 4 sessions)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--alg", default="ES256")
    parser.add_argument("--postgres", default="", help="libpq conninfo of a server (default: start one)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/setup.sh installs it)")
    alg = Alg.parse(args.alg)
    if args.only:  # one store per process: a process reaches one embedded HSM
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            config = Config()
            if args.only == "postgresql":
                from tests.helpers import temporary_postgres

                config = Config(store=StoreConfig(url=args.postgres or stack.enter_context(temporary_postgres())))
            print(json.dumps(run_home(Home(Path(tmp) / "home"), config, alg, args)))
        return
    result: dict[str, object] = {"alg": alg.value, "cores": os.cpu_count(), "goal_ratio": 0.5}
    for store in ("sqlite", "postgresql"):
        done = subprocess.run([sys.executable, __file__, "--only", store, *sys.argv[1:]], capture_output=True,
                              text=True, check=True)
        result[store] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
