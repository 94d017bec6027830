"""`signward watch` against a real deployment: the issuer process (HSM behind p11-kit), its
realms' tripwire keys, and relying parties as real HTTP services on loopback. Each relying
party probe must be able to fail: the common PyJWT setup fails key_expiry, issuer_binding and
issuance_check, signward's introspecting validator passes, and the validator with one switch
off (or without introspection) fails that one control;
the current depth drops by what the model says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from signward.depth import analyze, load_model
from signward.lab.ablate import MODEL
from signward.lab.loopback import ThreadedServer
from tests.conftest import Served, free_port, signward_json
from tests.helpers import dom_of
from tests.watch.conftest import relying_party, verdicts, watch_once

NOT_DUMPS = "key_expiry,issuer_binding,issuance_check,rotation,audit_retention"  # the drills have their own tests


@pytest.mark.parametrize("kind,broken", [
    ("signward", set()),
    ("pyjwt", {"key_expiry", "issuer_binding", "issuance_check"}),
    ("signward-no-expiry", {"key_expiry"}),
    ("signward-shared-keyset", {"issuer_binding"}),
    ("signward-no-issuance-check", {"issuance_check"}),
])
def test_relying_party_probes_fail_exactly_where_the_deployment_is_weak(wired: Served, tmp_path: Path, kind: str,
                                                                       broken: set[str]) -> None:
    with relying_party(wired, kind) as url:
        code, report = watch_once(wired, tmp_path, url, "--only", NOT_DUMPS)
    seen = verdicts(report)
    assert {c for c, works in seen.items() if not works} == broken, report["probes"]
    assert {p["control"]: p["reason"] for p in report["probes"]} == {  # the control refused, not the probe broke
        c: "failed" if c in broken else "held" for c in seen}, report["probes"]
    assert {"rotation", "audit_retention", "key_expiry", "issuer_binding", "issuance_check"} == set(seen)
    model = load_model(MODEL)
    expected = {a.asset: a.to_dict()["min_failures"] for a in analyze(model, sorted(broken)).assets}
    designed = {a.asset: a.to_dict()["min_failures"] for a in analyze(model).assets}
    assert {asset: d["current"] for asset, d in report["depth"].items()} == expected
    assert {asset: d["designed"] for asset, d in report["depth"].items()} == designed
    if broken:
        assert all(report["depth"][a]["current"] < designed[a] for a in designed)
        assert any("failed its probe" in alert for alert in report["alerts"])
    assert code == (0 if report["policy_ok"] else 1)
    assert report["policy_ok"] == all(v >= model.min_failures for v in expected.values())  # type: ignore[operator]


def test_probe_results_are_audited_and_tripwires_are_published(wired: Served, tmp_path: Path) -> None:
    with relying_party(wired, "pyjwt") as url:
        watch_once(wired, tmp_path, url, "--only", NOT_DUMPS)
    records = signward_json(wired.home, "audit", "query", "--action", "probe.fail")
    assert {r["object"] for r in records} >= {"key_expiry", "issuer_binding"}
    alerts = signward_json(wired.home, "audit", "query", "--action", "watch.alert")
    assert alerts and all(r["severity"] == "alert" for r in alerts)
    served_kids = {k["kid"] for k in httpx.get(f"{wired.base}/realms/enterprise/jwks.json").json()["keys"]}
    tripwires = {w["kid"] for w in signward_json(wired.home, "keys", "tripwire", "--realm", "enterprise")}
    assert tripwires <= served_kids  # published like any key; nothing in the JWKS marks them
    honey = subprocess.run([sys.executable, "-m", "signward", "--home", str(wired.home.root), "keys", "honey"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert tripwires <= set(honey) and len(honey) == len(set(honey)) >= len(tripwires) + 3  # and the canaries


def test_no_relying_party_configured_fails_closed(wired: Served, tmp_path: Path) -> None:
    _, report = watch_once(wired, tmp_path, None, "--only", NOT_DUMPS)
    seen = verdicts(report)
    assert seen["key_expiry"] is False and seen["issuer_binding"] is False
    reasons = {p["control"]: p["reason"] for p in report["probes"]}
    assert reasons["key_expiry"] == reasons["issuer_binding"] == reasons["issuance_check"] == "not_shown"
    assert reasons["rotation"] == "held"


def test_a_relying_party_that_refuses_the_control_token_breaks_the_probe_not_the_control(
        wired: Served, tmp_path: Path) -> None:
    """The watch config names the wrong audience: the relying party refuses even the token of the
    realm's current key, so its refusals of the tripwire tokens show nothing: not held, probe broken."""
    with relying_party(wired, "signward") as url:
        party = f'[[relying_party]]\nname = "mail"\nurl = "{url}"\nrealm = "enterprise"\naudience = "calendar"\n'
        _, report = watch_once(wired, tmp_path, None, "--only", "key_expiry,issuer_binding,issuance_check",
                               settings=party)
    probes = {p["control"]: p for p in report["probes"]}
    assert {c: (p["works"], p["reason"]) for c, p in probes.items()} == {
        c: (False, "probe_broken") for c in ("key_expiry", "issuer_binding", "issuance_check")}, report["probes"]
    assert all("probe broken, not the control" in p["detail"] for p in probes.values())


def test_served_keys_signing_longer_than_the_watch_policy_fail_rotation(wired: Served, tmp_path: Path) -> None:
    """The realms sign for 30 days; a deployment whose policy is 20 days is exposed by the served JWKS."""
    _, report = watch_once(wired, tmp_path, None, "--only", NOT_DUMPS,
                           settings='max_signing_lifetime = "20d"\n')
    rotation = next(p for p in report["probes"] if p["control"] == "rotation")
    assert rotation["works"] is False and rotation["reason"] == "failed"
    assert "the watch policy allows 1728000s" in rotation["detail"]


def raising_probe(ctx: object) -> bool:
    raise RuntimeError("the probe itself broke <script>document.title='owned'</script>")


LOOP_MODEL = """
name: watch-loop
policy: {min_failures: 3}
controls:
  rotation: {description: the deployment probe of the served JWKS}
  slow: {description: hangs, probe: "cmd: sleep 60"}
  raising: {description: raises, probe: "tests.watch.test_watch:raising_probe"}
  steady: {description: passes, probe: "cmd: true"}
nodes:
  attacker: {entry: true}
  secret: {asset: true}
steps:
  - {from: attacker, to: secret, blocked_by: [rotation, slow, raising, steady]}
"""


def test_three_rounds_survive_a_hung_and_a_raising_probe_and_metrics_match_the_audit(wired: Served,
                                                                                      tmp_path: Path) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(LOOP_MODEL)
    hooked: list[dict[str, Any]] = []

    async def hook(request: Request) -> JSONResponse:
        hooked.append(await request.json())
        return JSONResponse({})

    receiver = ThreadedServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])).start()
    config = tmp_path / "watch.toml"
    config.write_text(f'probe_timeout = "1s"\nwebhook = "{receiver.base}/hook"\n')
    port = free_port()
    before = len(signward_json(wired.home, "audit", "query", "--actor", "signward-watch"))
    proc = subprocess.Popen([sys.executable, "-m", "signward", "--home", str(wired.home.root), "watch", "--model",
                             str(model), "--watch-config", str(config), "--every", "1s", "--rounds", "3",
                             "--metrics-port", str(port), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None
    rounds = [json.loads(proc.stdout.readline())]
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text  # served while the watcher runs
    assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    rest, err = proc.communicate(timeout=120)
    receiver.stop()
    rounds += [json.loads(line) for line in rest.splitlines()]
    assert proc.returncode == 1, err  # current depth 2 < policy 3
    assert len(hooked) == 3 and all(len(h["alerts"]) == 3 for h in hooked)  # one POST per round with alerts
    assert '"alert": "watch"' in err  # the CRITICAL JSON lines
    assert len(rounds) == 3
    for found in rounds:
        detail = {p["control"]: (p["works"], p["detail"]) for p in found["probes"]}
        reasons = {p["control"]: p["reason"] for p in found["probes"]}
        assert reasons == {"slow": "timed_out", "raising": "raised", "rotation": "held", "steady": "held"}
        assert detail["slow"] == (False, "TimeoutExpired: Command '['sleep', '60']' timed out after 1.0 seconds")
        assert detail["raising"] == (False, "RuntimeError: the probe itself broke <script>document.title='owned'"
                                            "</script>")
        assert detail["rotation"][0] is True and detail["steady"][0] is True
        assert found["depth"] == {"secret": {"designed": 4, "current": 2}}
    for control, up in (("rotation", 1), ("slow", 0), ("raising", 0), ("steady", 1)):
        assert f'signward_control_up{{control="{control}"}} {up}.0' in metrics
    assert 'signward_depth_designed{asset="secret"} 4.0' in metrics
    assert 'signward_depth_current{asset="secret"} 2.0' in metrics
    records = signward_json(wired.home, "audit", "query", "--actor", "signward-watch")[before:]
    assert sum(r["action"] == "probe.pass" for r in records) == 3 * 2
    assert sum(r["action"] == "probe.fail" for r in records) == 3 * 2
    alerts = [r for r in records if r["action"] == "watch.alert"]
    assert len(alerts) == 3 * 3 and {r["severity"] for r in alerts} == {"alert"}  # two controls + the depth

    page = tmp_path / "watch.html"  # the history, as a browser shows it
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(wired.home.root), "watch", "report",
                           "--html", str(page)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    dom = dom_of(page, tmp_path / "profile")
    assert "<title>signward watch</title>" in dom and "owned" not in dom.split("</title>")[0]
    assert "<script" not in dom  # the probe's detail is text, escaped
    assert re.search(r"<polyline class=\"current\" data-asset=\"secret\"", dom)
    assert re.search(r"<polyline class=\"designed\" data-asset=\"secret\"", dom)
    slow = re.search(r'<tr data-control="slow">.*?</tr>', dom, re.S)
    assert slow is not None and slow.group(0).count('class="mark fail"') == 3
    failures = dom[dom.index('id="failures"'):]
    assert "TimeoutExpired" in failures and "the probe itself broke" in failures


def test_a_bad_watch_config_is_a_clear_error(wired: Served, tmp_path: Path) -> None:
    for text, message in (('every = "soon"\n', "bad duration"), ("probe_timeout = nan\n", "finite"),
                          ('[[relying_party]]\nname = "x"\nurl = "ftp://x"\nrealm = "r"\naudience = "a"\n', "http"),
                          ("surprise = 1\n", "unknown key")):
        config = tmp_path / "watch.toml"
        config.write_text(text)
        done = subprocess.run([sys.executable, "-m", "signward", "--home", str(wired.home.root), "watch", "--once",
                               "--watch-config", str(config)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
