"""HAR files: a real HAR recorded by headless Chromium (Playwright, Debian's chromium) from real
traffic to the issuer on loopback; its live access token found and verified, the file
sanitized (the token dead, its claims readable, the HAR still a HAR), the canary token a
recorder plants required."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from signward.dumps import Canary, KnownKeys, make_canary, scan_path
from signward.scan import har
from signward.verify import Validator
from tests.conftest import Served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def record_har(served: Served, path: Path, canary_token: str | None = None) -> str:
    """Chromium fetches a token from the issuer, sets a session cookie and calls an API with the
    token; Playwright writes what it saw as a HAR. Returns the access token."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/setup.sh installs it)")
    client_id, secret = served.clients["consumer"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(record_har_path=str(path), record_har_content="embed")
            page = context.new_page()
            page.goto(f"{served.base}/healthz")
            token = page.evaluate("""async ([base, basic, canary]) => {
                const answer = await fetch(base + "/realms/consumer/token", {method: "POST",
                    headers: {"Authorization": "Basic " + basic,
                              "Content-Type": "application/x-www-form-urlencoded"},
                    body: "grant_type=client_credentials&audience=mail"});
                const token = (await answer.json()).access_token;
                document.cookie = "session=s3ssion-" + Math.random().toString(36).slice(2) + "; path=/";
                const headers = {"Authorization": "Bearer " + token};
                if (canary) headers["X-Debug-Canary"] = canary;
                await fetch(base + "/realms/consumer/jwks.json", {headers});
                return token;
            }""", [served.base, basic, canary_token])
            context.close()
        finally:
            browser.close()
    return str(token)


def served_keys(served: Served, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_bytes(httpx.get(f"{served.base}/realms/consumer/jwks.json", timeout=10).content)
    return path


def signward(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", "--home", str(served.home.root), *args],
                          capture_output=True, text=True, timeout=300)


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def test_a_real_har_holds_a_live_token_found_verified_and_killed(served: Served, tmp_path: Path) -> None:
    recorded = tmp_path / "session.har"
    token = record_har(served, recorded)
    jwks = served_keys(served, tmp_path)
    known = KnownKeys()
    known.load(jwks.read_bytes(), str(jwks))
    raw = recorded.read_bytes()
    assert token.encode() in raw, "the recorder did not capture the token"

    report = scan_path(recorded, None, known)
    assert report.format == "har"
    kid = jwt.get_unverified_header(token)["kid"]
    live = [f for f in report.findings if f.kind == "jws-signature" and f.verified]
    assert live and all(f.kid == kid for f in live)
    assert len(live) >= 2  # in the token response's body and in the API call's Authorization header
    assert "a live token of realm" in live[0].detail and "valid until" in live[0].detail
    assert all(raw[f.offset:f.end].decode() == token.rsplit(".", 1)[1] for f in live)
    kinds = {f.kind for f in report.findings}
    assert {"cookie-value", "authorization"} <= kinds  # the session cookie, the client's Basic credentials

    out = tmp_path / "clean.har"
    done = signward(served, "dumps", "sanitize", str(recorded), "-o", str(out), "--keys", str(jwks), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "clean" and result["attestation"]

    cleaned = json.loads(out.read_text())  # still a HAR a viewer opens
    original = json.loads(raw)
    assert len(cleaned["log"]["entries"]) == len(original["log"]["entries"])
    assert token.encode() not in out.read_bytes()
    secret = served.clients["consumer"][1]
    assert base64.b64encode(f"{served.clients['consumer'][0]}:{secret}".encode()) not in out.read_bytes()
    dead = next(h["value"].split(" ", 1)[1] for e in cleaned["log"]["entries"] for h in e["request"]["headers"]
                if h["name"].lower() == "authorization" and h["value"].startswith("Bearer "))
    assert claims_of(dead) == claims_of(token)  # the claims stay readable for debugging
    issuer = claims_of(token)["iss"]
    validator = Validator(trust={issuer: str(jwks)}, audience="mail")
    assert validator.verify(token).valid
    verdict = validator.verify(dead)
    assert not verdict.valid, "the sanitized token still verifies"
    assert scan_path(out, None, known).findings == [] or all(
        f.advisory for f in scan_path(out, None, known).findings)


def test_the_planted_canary_token_must_be_found(served: Served, tmp_path: Path) -> None:
    canary_file = tmp_path / "canary.json"
    make_canary(canary_file, 1_790_000_000.0)
    canary = Canary.load(canary_file)
    assert canary.ec is not None
    planted = jwt.encode({"sub": "har-canary", "iss": "canary"}, canary.ec, algorithm="ES256",
                         headers={"kid": canary.kids["ec"]})
    with_canary, without = tmp_path / "with.har", tmp_path / "without.har"
    record_har(served, with_canary, planted)
    record_har(served, without)
    done = signward(served, "dumps", "sanitize", str(with_canary), "-o", str(tmp_path / "a.har"),
                    "--canary", str(canary_file), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["canaries"]["found_in_input"] == ["har-token"]
    done = signward(served, "dumps", "sanitize", str(without), "-o", str(tmp_path / "b.har"),
                    "--canary", str(canary_file), "--json")
    assert done.returncode == 1 and json.loads(done.stdout)["reason"] == "canary_missed"
    assert not (tmp_path / "b.har").exists()


def test_escapes_and_unicode_stay_valid_json(tmp_path: Path) -> None:
    """Secrets inside escaped JSON bodies and next to non-ASCII text are cut at whole characters."""
    body = json.dumps({"refresh_token": "r\u00e9fr\u00e9sh-\u2603-token", "note": "caf\u00e9",
                       "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJcdTAwZTkifQ." + "A" * 40})
    document = {"log": {"version": "1.2", "entries": [{
        "request": {"url": "https://idp.example/cb?code=Spl0tchCode99&state=x", "headers": [],
                    "cookies": [{"name": "sid", "value": "abc\u00e9def123"}]},
        "response": {"headers": [{"name": "Set-Cookie", "value": "sid=zzz999yyy; Path=/; HttpOnly"}],
                     "content": {"text": body}}}]}}
    for ascii_only in (True, False):
        raw = json.dumps(document, ensure_ascii=ascii_only, indent=1).encode()
        parsed, strings = har.parse(raw)
        findings = har.scan_parsed(raw, parsed, strings, KnownKeys())
        kinds = {f.kind for f in findings}
        assert {"credential:refresh_token", "credential:code", "jws-signature", "cookie-value"} <= kinds
        cleaned = har.redact(raw, [(f.offset, f.end) for f in findings], strings)
        again = json.loads(cleaned)
        assert len(cleaned) == len(raw)
        text = again["log"]["entries"][0]["response"]["content"]["text"]
        inner = json.loads(text)
        assert set(inner["refresh_token"]) == {"x"} and inner["note"] == "caf\u00e9"
        assert inner["id_token"].startswith("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJcdTAwZTkifQ.x")
        assert "Spl0tchCode99" not in again["log"]["entries"][0]["request"]["url"]
        parsed, strings = har.parse(cleaned)
        assert har.scan_parsed(cleaned, parsed, strings, KnownKeys()) == []


def test_hostile_har_input_is_refused_cleanly(tmp_path: Path) -> None:
    deep = tmp_path / "deep.har"
    deep.write_text('{"log": {"entries": ' + "[" * 100_000 + "]" * 100_000 + "}}")
    bad = tmp_path / "bad.har"
    bad.write_bytes(b'{"log": {"entries": [] } } trailing')
    for path in (deep, bad):
        done = subprocess.run([sys.executable, "-m", "signward", "dumps", "scan", str(path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr


def test_the_pipeline_captures_a_har_and_requires_its_canary_token(tmp_path: Path) -> None:
    from signward.home import Home
    from signward.services import init_home

    home = Home(tmp_path / "home")
    init_home(home)
    canary = Canary.load(home.root / "dumps" / "canary.json")
    assert canary.ec is not None
    planted = jwt.encode({"sub": "canary"}, canary.ec, algorithm="ES256", headers={"kid": canary.kids["ec"]})
    stolen = jwt.encode({"sub": "alice", "iss": "https://idp.example"}, canary.ec, algorithm="ES256",
                        headers={"kid": "k1"})
    headers = [{"name": "X-Canary", "value": planted}, {"name": "Authorization", "value": f"Bearer {stolen}"}]
    states = {}
    for name, kept in (("with", headers), ("without", headers[1:])):
        path = tmp_path / f"{name}.har"
        path.write_text(json.dumps({"log": {"version": "1.2", "entries": [
            {"request": {"url": "https://app.example/", "headers": kept}, "response": {"content": {"text": "{}"}}}]}}))
        done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "dumps", "capture",
                               "--file", str(path), "--json"], capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
        states[name] = json.loads(done.stdout)
    assert states["with"]["state"] == "sanitized"
    assert states["without"]["state"] == "refused" and states["without"]["reason"] == "canary_missed"
    assert states["without"]["detail"]  # kept apart from the reason
