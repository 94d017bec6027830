"""Key commands and the issuer write audit records, end to end, and the chain verifies."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from signward.audit import AuditLog
from signward.clock import FixedClock
from signward.errors import StoreError
from signward.issuer import IssuerContext
from tests.conftest import Served


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", *args], capture_output=True, text=True, timeout=120)


def test_issuer_and_key_commands_are_audited(served: Served) -> None:
    home = str(served.home.root)
    client_id, secret = served.clients["enterprise"]
    resp = httpx.post(f"{served.base}/realms/enterprise/token", auth=(client_id, secret),
                      data={"grant_type": "client_credentials", "audience": "mail"})
    jti = json.loads(__import__("base64").urlsafe_b64decode(resp.json()["access_token"].split(".")[1] + "=="))["jti"]
    made = json.loads(run("--home", home, "keys", "create", "--realm", "consumer", "--json").stdout)
    assert run("--home", home, "keys", "revoke", made["kid"]).returncode == 0
    records = json.loads(run("--home", home, "audit", "query", "--json").stdout)
    actions = [r["action"] for r in records]
    assert actions.count("realm.create") == 2 and "key.create" in actions and "key.revoke" in actions
    issued = [r for r in records if r["action"] == "token.issue" and r["details"]["jti"] == jti]
    assert issued and issued[0]["details"]["tid"] == "contoso" and issued[0]["details"]["sub"] == client_id
    by_kid = json.loads(run("--home", home, "audit", "query", "--kid", made["kid"], "--json").stdout)
    assert [r["action"] for r in by_kid] == ["key.create", "key.revoke"]
    assert run("--home", home, "audit", "checkpoint").returncode == 0
    verified = run("--home", home, "audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"]
    pinned = served.home.root / "audit" / "pinned-key.jwk"  # the auditor's copy of the key, outside the database
    assert (served.home.root / "audit" / "checkpoint.json").is_file()
    assert run("--home", home, "audit", "verify", "--key", str(pinned)).returncode == 0
    other = pinned.with_name("other.jwk")
    from cryptography.hazmat.primitives.asymmetric import ec

    from signward.keys import public_jwk

    other.write_text(json.dumps(public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())))
    held_to_another = run("--home", home, "audit", "verify", "--key", str(other))
    assert held_to_another.returncode == 1 and "pinned audit key" in held_to_another.stdout


def test_audit_verify_names_the_broken_record(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run("--home", str(home), "init").returncode == 0
    from signward.store import open_store

    log = AuditLog(open_store(home / "signward.db"))
    for i in range(5):
        log.append("alice", "token.issue", f"k{i}")
    conn = sqlite3.connect(home / "signward.db")
    conn.execute("UPDATE audit_records SET actor = 'mallory' WHERE seq = 3")
    conn.commit()
    conn.close()
    done = run("--home", str(home), "audit", "verify", "--json")
    assert done.returncode == 1 and json.loads(done.stdout)["broken"]["seq"] == 3


def test_failed_audit_write_fails_the_action(context: IssuerContext, clock: FixedClock) -> None:
    class BrokenAudit:
        def append(self, *args: object, **kwargs: object) -> None:
            raise StoreError("audit store unavailable")

    context.registry.create_realm("consumer", "https://c.example.com")
    context.registry.audit = BrokenAudit()
    before = [k.kid for k in context.registry.keys("consumer")]
    try:
        context.registry.create_key("consumer")
        raise AssertionError("the key was created without its audit record")
    except StoreError:
        pass
    assert [k.kid for k in context.registry.keys("consumer")] == before  # rolled back
    context.tokens.audit = BrokenAudit()
    try:
        context.tokens.issue("consumer", sub="s", audience="a", tenant="t")
        raise AssertionError("a token was released without its audit record")
    except StoreError:
        pass


def test_validator_rejections_are_audited_with_a_home(served: Served, tmp_path: Path) -> None:
    home = str(served.home.root)
    consumer_token = httpx.post(f"{served.base}/realms/consumer/token", auth=served.clients["consumer"],
                                data={"grant_type": "client_credentials", "audience": "mail"}).json()["access_token"]
    import base64

    head, body, sig = consumer_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["iss"] = f"{served.base}/realms/enterprise"
    forged = f"{head}.{base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b'=').decode()}.{sig}"
    trust = [a for r in ("consumer", "enterprise")
             for a in ("--trust", f"{served.base}/realms/{r}={served.base}/realms/{r}/jwks.json")]
    done = run("--home", home, "token", "verify", forged, *trust, "--audience", "mail", "--json")
    # re-labelled without the key: the signature does not cover the new claims (a warning only)
    assert done.returncode == 1 and json.loads(done.stdout)["reason"] == "bad_signature"
    assert run("--home", home, "token", "verify", "garbage", *trust, "--audience", "mail").returncode == 1
    honey = tmp_path / "honey.txt"
    honey.write_text(json.loads(done.stdout)["kid"] + "\n")  # the consumer key as a honey key: an alert
    honeyed = run("--home", home, "token", "verify", consumer_token, *trust, "--audience", "mail",
                  "--honey-kids", str(honey), "--json")
    assert honeyed.returncode == 1 and json.loads(honeyed.stdout)["reason"] == "honey_key"
    alerts = json.loads(run("--home", home, "audit", "alerts", "--json").stdout)
    assert any(a["action"] == "token.reject" and a["details"]["reason"] == "honey_key" for a in alerts)
    assert not any(a["details"].get("reason") == "bad_signature" for a in alerts)
    rejects = json.loads(run("--home", home, "audit", "query", "--action", "token.reject", "--json").stdout)
    assert {r["details"]["reason"] for r in rejects} >= {"honey_key", "bad_signature", "malformed"}
    assert {r["severity"] for r in rejects} == {"alert", "warning"}
    assert run("--home", home, "audit", "verify").returncode == 0
