"""Guard benchmark: Envoy with `signward guard` (gRPC ext_authz) against Envoy's own jwt_authn
filter, on the same RS256 tokens, the same nginx upstream and the same load generator (wrk),
measured in one run; plus Envoy with no check at all as the floor, the guard over HTTP
ext_authz, and the guard's gRPC on grpcio (SIGNWARD_GUARD_GRPCIO=1, the reference transport)
beside its default on nghttp2.

Run: .venv/bin/python bench/guard.py [--seconds 5]
Goal (issue 16): the guard at no less than half of jwt_authn's throughput, and p99 added
latency under 5 ms at 500 requests/s.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
from tests.guard.conftest import (  # noqa: E402
    ENTERPRISE,
    GuardProcess,
    JwksServer,
    Keys,
    Process,
    claims,
    documents,
    envoy_binary,
    guard_toml,
    render,
    wait_http,
)
from tests.verify.forge import new_key  # noqa: E402

from signward.lab.crash import free_port  # noqa: E402

ENVOY_PLAIN = """
static_resources:
  listeners:
  - name: ingress
    address: {socket_address: {address: 127.0.0.1, port_value: %(port)d}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - {name: rp, domains: ["*"], routes: [{match: {prefix: "/"}, route: {cluster: relying_party}}]}
          http_filters:
%(filters)s
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: relying_party
    type: STATIC
    load_assignment:
      cluster_name: relying_party
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: \
{address: 127.0.0.1, port_value: %(upstream)d}}}}]}]
"""

JWT_AUTHN = """
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                enterprise:
                  issuer: %(issuer)s
                  audiences: [mail]
                  local_jwks: {inline_string: '%(jwks)s'}
                  claim_to_headers:
                  - {header_name: x-signward-sub, claim_name: sub}
                  - {header_name: x-signward-tid, claim_name: tid}
              rules:
              - match: {prefix: /}
                requires: {provider_name: enterprise}
"""


def start_nginx_upstream(tmp: Path) -> tuple[Process, int]:
    port = free_port()
    (tmp / "ngx").mkdir()
    conf = tmp / "upstream.conf"
    conf.write_text(f"""daemon off; worker_processes 1; pid {tmp}/ngx/pid; error_log {tmp}/ngx/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}/ngx/b; proxy_temp_path {tmp}/ngx/p;
fastcgi_temp_path {tmp}/ngx/f; uwsgi_temp_path {tmp}/ngx/u; scgi_temp_path {tmp}/ngx/s;
server {{ listen 127.0.0.1:{port}; location / {{ return 200 "upstream"; }} }} }}
""")
    process = Process([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(tmp)],
                      tmp / "upstream.log")
    wait_http(f"http://127.0.0.1:{port}/")
    return process, port


def start_plain_envoy(tmp: Path, name: str, upstream: int, filters: str) -> tuple[Process, int]:
    port = free_port()
    config = tmp / f"{name}.yaml"
    config.write_text(ENVOY_PLAIN % {"port": port, "upstream": upstream, "filters": filters})
    process = Process([envoy_binary(), "-c", str(config), "--base-id", str(port), "-l", "error"],
                      tmp / f"{name}.log")
    wait_http(f"http://127.0.0.1:{port}/", ok=(200, 401))
    return process, port


def throughput(port: int, token: str, seconds: int) -> float:
    done = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}",
                           f"http://127.0.0.1:{port}/mail/inbox"], capture_output=True, text=True, check=True)
    if "Non-2xx" in done.stdout:
        raise SystemExit(f"refused requests under load:\n{done.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]


def paced_latencies(port: int, token: str, rate: float, seconds: float) -> list[float]:
    """One keep-alive connection, one request every 1/rate s: each request's latency."""
    latencies = []
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(timeout=5) as client:
        start = time.perf_counter()
        for n in range(int(rate * seconds)):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            began = time.perf_counter()
            if client.get(f"http://127.0.0.1:{port}/mail/inbox", headers=headers).status_code != 200:
                raise SystemExit("a paced request was refused")
            latencies.append(time.perf_counter() - began)
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    keys = Keys(new_key("RS256"), new_key("ES256"), new_key("RS256"), new_key("ES256"))
    tmp = Path(tempfile.mkdtemp(prefix="signward-bench-guard-"))
    jwks = JwksServer(documents(keys, time.time()), max_age=300)
    config = tmp / "guard.toml"
    config.write_text(guard_toml(jwks))
    token = keys.enterprise.token(claims(exp=int(time.time()) + 3000))
    processes: list[Process] = []
    guard = GuardProcess(config, free_port(), free_port(), tmp / "no-home", tmp)
    # the same guard serving gRPC with grpcio (the reference transport), for the row beside nghttp2's
    grpcio = GuardProcess(config, free_port(), free_port(), tmp / "no-home", tmp / "grpcio",
                          env={"SIGNWARD_GUARD_GRPCIO": "1"})
    grpcio.tmp.mkdir()
    try:
        upstream, upstream_port = start_nginx_upstream(tmp)
        processes.append(upstream)
        guard.start()
        grpcio.start()
        enterprise_jwks = json.dumps({"keys": [keys.enterprise.jwk()]})
        plain, plain_port = start_plain_envoy(tmp, "plain", upstream_port, "")
        jwt, jwt_port = start_plain_envoy(tmp, "jwt_authn", upstream_port,
                                          JWT_AUTHN % {"issuer": ENTERPRISE, "jwks": enterprise_jwks})
        processes += [plain, jwt]
        setups = {"envoy (no check)": plain_port, "envoy jwt_authn": jwt_port}
        for name, template, server in (("envoy + guard (gRPC)", "envoy-grpc.yaml", guard),
                                       ("envoy + guard (gRPC, grpcio)", "envoy-grpc.yaml", grpcio),
                                       ("envoy + guard (HTTP)", "envoy-http.yaml", guard)):
            port = free_port()
            conf = render(template, server.tmp, LISTEN_PORT=port, UPSTREAM_PORT=upstream_port, GUARD_PORT=server.port,
                          GUARD_GRPC_PORT=server.grpc_port)
            processes.append(Process([envoy_binary(), "-c", str(conf), "--base-id", str(port), "-l", "error"],
                                     tmp / f"{template}.log"))
            wait_http(f"http://127.0.0.1:{port}/public/ready")
            setups[name] = port
        rows = {}
        for name, port in setups.items():
            throughput(port, token, 1)  # warm up
            rps = throughput(port, token, args.seconds)
            lat = paced_latencies(port, token, 500, args.seconds)
            rows[name] = (rps, pct(lat, 50), pct(lat, 99))
        print(f"{'setup':30} {'checks/s':>10} {'p50 ms @500/s':>14} {'p99 ms @500/s':>14}")
        for name, (rps, p50, p99) in rows.items():
            print(f"{name:30} {rps:10.0f} {p50:14.2f} {p99:14.2f}")
        for name in ("envoy + guard (gRPC)", "envoy + guard (gRPC, grpcio)", "envoy + guard (HTTP)"):
            ratio = rows[name][0] / rows["envoy jwt_authn"][0]
            added = rows[name][2] - rows["envoy (no check)"][2]
            print(f"{name}: throughput / jwt_authn {ratio:.2f} (goal >= 0.5); "
                  f"p99 added at 500/s {added:.2f} ms (goal < 5 ms)")
        print(f"gRPC on nghttp2 / on grpcio: "
              f"{rows['envoy + guard (gRPC)'][0] / rows['envoy + guard (gRPC, grpcio)'][0]:.2f}")
    finally:
        for process in processes:
            process.stop()
        guard.stop()
        grpcio.stop()
        jwks.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
