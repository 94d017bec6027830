"""Scale-out: three `signward serve` replicas on one PostgreSQL and one HSM service, behind a real
nginx load balancer, under load from wrk; one replica killed with SIGKILL under load; rotation
raced by three replica processes with an injected clock."""

from __future__ import annotations

import base64
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from signward.home import AuditConfig, Config, Home, StoreConfig
from signward.hsm import server as hsm_server
from signward.services import init_home, open_services
from signward.verify import Validator
from tests.conftest import signward_json
from tests.helpers import free_port, fresh_database, nginx_main_conf

PROGRAMS = Path(__file__).resolve().parents[1] / "programs"
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=mail.read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic ${BASIC}"
local count = 0
function setup(thread)
  count = count + 1
  thread:set("tid", count)
end
function init(args)
  out = io.open("${OUT}." .. tid, "w")
  out:setvbuf("line")
end
function response(status, headers, body)
  out:write(status, " ", string.format("%.3f", os.time()), " ", (body:gsub("[\\r\\n]", "")), "\\n")
end
"""


@dataclass
class Cluster:
    home: Home
    tmp: Path
    db: str
    replicas: list[subprocess.Popen[bytes]]
    ports: list[int]
    lb_port: int
    basic: str
    issuer: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"


def _start_replica(home: Home, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port",
                                 str(port)], stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"replica exited with {proc.returncode}"
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


def _nginx(tmp: Path, ports: list[int], port: int) -> subprocess.Popen[bytes]:
    """nginx balancing over the replicas (started after them: a refused connection marks one down)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    servers = "".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=30s; " for p in ports)
    conf = nginx_main_conf(tmp, f"""    upstream issuers {{ {servers} keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://issuers;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}""")
    with (tmp / "nginx.log").open("ab") as log:
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("nginx did not come up")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres: str) -> Iterator[Cluster]:
    if shutil.which("wrk") is None or not Path(shutil.which("nginx") or "/usr/sbin/nginx").exists():
        pytest.skip("wrk and nginx are not installed (scripts/setup.sh installs them)")
    tmp = tmp_path_factory.mktemp("cluster")
    db = fresh_database(postgres)
    home = Home(tmp / "home")
    config = init_home(home, Config(store=StoreConfig(url=db), audit=AuditConfig(checkpoint_every=400)))
    hsm_server.start(home, config.hsm)
    ports, lb_port = [free_port() for _ in range(3)], free_port()
    issuer = f"http://127.0.0.1:{lb_port}/realms/consumer"
    signward_json(home, "realm", "create", "consumer", "--issuer", issuer, "--alg", "ES256")
    made = signward_json(home, "client", "create", "--realm", "consumer", "--tenant", "consumers",
                         "--audience", "mail", "--scope", "mail.read")
    basic = base64.b64encode(f"{made['client_id']}:{made['client_secret']}".encode()).decode()
    # the three start together: their HSM session pools open at once
    replicas = [_start_replica(home, port, tmp / f"replica{i}.log") for i, port in enumerate(ports)]
    lb = None
    try:
        for port, proc in zip(ports, replicas, strict=True):
            _wait_healthy(f"http://127.0.0.1:{port}", proc)
        lb = _nginx(tmp, ports, lb_port)
        yield Cluster(home, tmp, db, replicas, ports, lb_port, basic, issuer)
    finally:
        for proc in replicas:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in replicas:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        if lb is not None:
            lb.terminate()
            lb.wait(10)
        hsm_server.stop(home)


def _wrk(cluster: Cluster, name: str, seconds: int, connections: int = 12) -> subprocess.Popen[bytes]:
    out = cluster.tmp / name
    script = cluster.tmp / f"{name}.lua"
    script.write_text(WRK_SCRIPT.replace("${BASIC}", cluster.basic).replace("${OUT}", str(out)))
    return subprocess.Popen(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                             f"{cluster.base}/realms/consumer/token"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _answers(cluster: Cluster, name: str) -> list[tuple[int, float, str]]:
    out = []
    for path in sorted(cluster.tmp.glob(f"{name}.*")):
        if path.suffix == ".lua":
            continue
        for line in path.read_text().splitlines():
            status, when, body = line.split(" ", 2)
            out.append((int(status), float(when), body))
    return out


def _issued(cluster: Cluster) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """jti -> count, in the audit log's token.issue records and in the issued-token rows."""
    from signward.store.postgres import PostgresStore

    store = PostgresStore(cluster.db)
    try:
        with store.snapshot() as tx:
            records = tx.all("SELECT details FROM audit_records WHERE action = 'token.issue'")
            rows = tx.all("SELECT jti FROM issued_tokens")
    finally:
        store.close()
    return (collections.Counter(json.loads(r["details"])["jti"] for r in records),
            collections.Counter(r["jti"] for r in rows))


def _validator(cluster: Cluster) -> Validator:
    """The strict validator on the key set the cluster serves (through the load balancer)."""
    served = cluster.tmp / "jwks.json"
    served.write_bytes(httpx.get(f"{cluster.base}/realms/consumer/jwks.json", timeout=5).content)
    return Validator(trust={cluster.issuer: str(served)}, audience="mail")


def _check_tokens(cluster: Cluster, bodies: list[str]) -> set[str]:
    validator = _validator(cluster)
    jtis = set()
    for body in bodies:
        verdict = validator.verify(json.loads(body)["access_token"])
        assert verdict.valid and verdict.claims is not None, verdict
        jtis.add(verdict.claims["jti"])
    assert len(jtis) == len(bodies), "two answers carried the same token"
    return jtis


def _audit_intact(cluster: Cluster) -> None:
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(cluster.home.root), "audit", "verify",
                           "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_three_replicas_under_load_answer_only_2xx_and_keep_one_chain(cluster: Cluster) -> None:
    wrk = _wrk(cluster, "steady", 4)
    summary = wrk.communicate(timeout=60)[0].decode()
    answers = _answers(cluster, "steady")
    statuses = collections.Counter(status for status, _, _ in answers)
    assert set(statuses) == {200}, f"non-2xx answers while the HSM is up: {statuses}\n{summary}"
    assert len(answers) >= 200, summary
    jtis = _check_tokens(cluster, [body for _, _, body in answers])
    records, rows = _issued(cluster)
    assert jtis <= set(records) and jtis <= set(rows)
    assert max(records.values()) == 1 and max(rows.values()) == 1 and set(records) == set(rows)
    _audit_intact(cluster)
    # every replica took part, and each reports its batches
    for port in cluster.ports:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        issued = [line for line in metrics.splitlines() if line.startswith("signward_tokens_issued_total")]
        assert issued and float(issued[0].split()[-1]) > 0, metrics[:400]
        assert "signward_audit_batch_size_count" in metrics and "signward_hsm_sign_seconds_count" in metrics


def test_a_replica_killed_under_load_loses_and_duplicates_nothing(cluster: Cluster) -> None:
    before, _ = _issued(cluster)
    wrk = _wrk(cluster, "kill", 6)
    time.sleep(2.5)
    victim = cluster.replicas[0]
    victim.send_signal(signal.SIGKILL)
    killed_at = time.time()
    victim.wait(10)
    summary = wrk.communicate(timeout=60)[0].decode()
    answers = _answers(cluster, "kill")
    statuses = collections.Counter(status for status, _, _ in answers)
    assert set(statuses) <= {200, 502}, f"{statuses}\n{summary}"
    after_kill = [status for status, when, _ in answers if when >= killed_at + 1]
    assert len(after_kill) >= 50 and set(after_kill) == {200}, "the other replicas did not keep answering"
    ok = [body for status, _, body in answers if status == 200]
    jtis = _check_tokens(cluster, ok)
    records, rows = _issued(cluster)
    assert jtis <= set(records) - set(before), "a delivered token has no audit record"
    assert max(records.values()) == 1 and max(rows.values()) == 1 and set(records) == set(rows)
    _audit_intact(cluster)


def test_rotation_raced_by_three_replicas_makes_one_successor_per_step(cluster: Cluster) -> None:
    """Three processes rotate the same realm at the same injected instants, each step due: one
    successor key per step, whichever replica wins; the others see it and do nothing."""
    signward_json(cluster.home, "realm", "create", "race", "--issuer", "https://race.example/realms/race",
                  "--alg", "ES256")
    with open_services(cluster.home) as services:
        first = services.registry.keys("race")
    assert len(first) == 1
    day = 86400.0
    steps = [first[0].sign_until - 0.5 * day + k * 30 * day for k in range(3)]
    start = time.time() + 4  # every replica has its pool open before the first step
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, str(PROGRAMS / "rotation_replica.py"), str(cluster.home.root), "race",
                               str(start), *map(str, steps)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for _ in range(3)]
    created: dict[int, list[str]] = collections.defaultdict(list)
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-800:]
        for line in out.decode().splitlines():
            step = json.loads(line)
            created[step["step"]] += [e["kid"] for e in step["events"] if e["action"] == "key.create"]
    assert {step: len(kids) for step, kids in created.items()} == {0: 1, 1: 1, 2: 1}
    with open_services(cluster.home) as services:
        keys = services.registry.keys("race")
    assert len(keys) == 4
    starts = sorted(k.sign_from for k in keys)
    assert len(set(starts)) == 4 and all(b - a == 30 * day for a, b in zip(starts, starts[1:], strict=False))
