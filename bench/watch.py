"""Watch benchmark: one full `signward watch` round against a real deployment made here (an
HSM home, two realms with tripwires, `signward serve`, a relying party behind signward's
validator), with the wall time and the CPU seconds of each probe, against the peer measured
in the same run: `signward depth analyze --probe`, whose probes test private copies.

Run: .venv/bin/python bench/watch.py
Goal: a full round under 60 s on this machine (2 cores); the ratio to the peer says what
probing the deployment itself costs.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from signward.lab.crash import free_port  # noqa: E402

SIGNWARD = [sys.executable, "-m", "signward"]


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SIGNWARD, "--home", str(home), *args], capture_output=True, text=True, check=False,
                          timeout=900)


def timed(home: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds and CPU seconds (the command and everything it started) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = run(home, *args)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def wait_for(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not come up")
        time.sleep(0.1)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="signward-bench-watch-"))
    home = work / "home"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        assert run(home, "init").returncode == 0 and run(home, "hsm", "start").returncode == 0
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        for realm, alg in (("consumer", "ES256"), ("enterprise", "RS256")):
            made = run(home, "realm", "create", realm, "--issuer", f"{base}/realms/{realm}", "--alg", alg)
            assert made.returncode == 0, made.stderr
            assert run(home, "keys", "tripwire", "--realm", realm).returncode == 0
        procs.append(subprocess.Popen([*SIGNWARD, "--home", str(home), "serve", "--port", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(f"{base}/healthz", procs[-1])
        rp_port = free_port()
        trust = [f"{base}/realms/{r}={base}/realms/{r}/jwks.json" for r in ("consumer", "enterprise")]
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "tests" / "programs" / "relying_party.py"),
                                       str(rp_port), "signward", "mail", *trust], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, cwd=ROOT))
        wait_for(f"http://127.0.0.1:{rp_port}/inbox", procs[-1])
        config = work / "watch.toml"
        config.write_text(f'probe_timeout = 300\n[[relying_party]]\nname = "mail"\n'
                          f'url = "http://127.0.0.1:{rp_port}/inbox"\nrealm = "enterprise"\naudience = "mail"\n')
        model = ROOT / "models" / "storm-0558-signward.yaml"
        wall, cpu, done = timed(home, "watch", "--once", "--json", "--watch-config", str(config))
        round_ = json.loads(done.stdout)
        peer_wall, peer_cpu, peer = timed(home, "depth", "analyze", str(model), "--probe", "--json")
        print(f"{'control':18s} {'works':>6s} {'seconds':>8s}")
        for probe in sorted(round_["probes"], key=lambda p: -p["seconds"]):
            print(f"{probe['control']:18s} {str(probe['works']):>6s} {probe['seconds']:8.2f}")
        print(f"full watch round: {wall:.1f} s wall, {cpu:.1f} CPU s (goal < 60 s wall): "
              f"{'ok' if wall < 60 else 'OVER'}")
        print(f"depth analyze --probe (private copies): {peer_wall:.1f} s wall, {peer_cpu:.1f} CPU s "
              f"(exit {peer.returncode})")
        print(f"ratio watch round / depth --probe: {wall / peer_wall:.1f}x wall, {cpu / max(peer_cpu, 1e-9):.1f}x CPU")
        print(f"depth: {round_['depth']}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        run(home, "hsm", "stop")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
