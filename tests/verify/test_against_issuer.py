"""The validator against the running issuer: its tokens pass; forgeries fail for the right reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from signward.clock import FixedClock
from signward.verify import Reason, Validator
from tests.conftest import Served
from tests.verify.forge import enc, new_key


def _token(served: Served, realm: str) -> str:
    client_id, secret = served.clients[realm]
    resp = httpx.post(f"{served.base}/realms/{realm}/token", auth=(client_id, secret),
                      data={"grant_type": "client_credentials", "audience": "mail"})
    assert resp.status_code == 200
    return str(resp.json()["access_token"])


def _trust(served: Served) -> dict[str, str]:
    return {f"{served.base}/realms/{r}": f"{served.base}/realms/{r}/jwks.json" for r in ("consumer", "enterprise")}


def test_issued_tokens_validate_over_http_jwks(served: Served) -> None:
    with Validator(trust=_trust(served), audience="mail") as v:
        for realm in ("consumer", "enterprise"):
            verdict = v.verify(_token(served, realm))
            assert verdict.valid, verdict
            assert verdict.issuer == f"{served.base}/realms/{realm}"


def test_a_relabelled_token_is_a_bad_signature_not_an_alert(served: Served) -> None:
    """The forger cannot reach the HSM key, so it takes a real consumer token's signed parts and
    re-labels the issuer: the consumer's kid under the enterprise issuer. The signature does not
    cover the new claims, so this is `bad_signature` at warning, not the `key_not_bound_to_issuer`
    alert: only a token really signed by the other issuer's key raises that (the validator tests
    forge one with the private key), so nobody can flood the alert channel with garbage."""
    consumer_token = _token(served, "consumer")
    head, _, sig = consumer_token.split(".")
    claims = json.loads(__import__("base64").urlsafe_b64decode(consumer_token.split(".")[1] + "=="))
    claims["iss"] = f"{served.base}/realms/enterprise"
    forged = f"{head}.{enc(claims)}.{sig}"
    alerts: list[object] = []
    with Validator(trust=_trust(served), audience="mail", on_alert=alerts.append) as v:
        assert v.verify(forged).reason is Reason.BAD_SIGNATURE
    assert alerts == []


REALMS = ("consumer", "enterprise")
PROGRAMS = Path(__file__).resolve().parents[1] / "programs"


def _signed_by(served: Served, signing: str, claimed: str) -> str:
    """A token signed in the HSM with realm `signing`'s current key, claiming realm `claimed`'s
    issuer (its own process: this one never opens the served home's HSM)."""
    done = subprocess.run([sys.executable, str(PROGRAMS / "cross_realm_token.py"), str(served.home.root), signing,
                           claimed], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


@pytest.mark.parametrize(("signing", "claimed"), [(s, c) for s in REALMS for c in REALMS if c != s])
def test_a_realms_key_for_every_other_realm_is_not_bound(served: Served, signing: str, claimed: str) -> None:
    """The breach against the running issuer, in both directions: a token really signed with one
    realm's key (its published kid) claiming another realm's issuer is key_not_bound_to_issuer,
    with an alert. The same key's token for its own realm passes, so only the binding refuses."""
    alerts: list[dict[str, object]] = []
    with Validator(trust=_trust(served), audience="mail", on_alert=alerts.append) as v:
        assert v.verify(_signed_by(served, signing, signing)).valid
        verdict = v.verify(_signed_by(served, signing, claimed))
        assert verdict.reason is Reason.KEY_NOT_BOUND_TO_ISSUER
        assert verdict.issuer == f"{served.base}/realms/{claimed}"
    assert [a["reason"] for a in alerts] == ["key_not_bound_to_issuer"]


@pytest.mark.parametrize(("realm", "other"), [(r, o) for r in REALMS for o in REALMS if o != r])
def test_a_realms_tokens_find_no_key_in_any_other_realms_jwks(served: Served, realm: str, other: str) -> None:
    """Each realm publishes only its own keys: a validator that takes another realm's JWKS for
    this realm's issuer knows none of its kids (unknown_key); with the realm's own, valid."""
    issuer = f"{served.base}/realms/{realm}"
    token = _token(served, realm)
    for jwks, expected in ((realm, None), (other, Reason.UNKNOWN_KEY)):
        with Validator(trust={issuer: f"{served.base}/realms/{jwks}/jwks.json"}, audience="mail") as v:
            assert v.verify(token).reason is expected


def test_token_signed_after_the_keys_verify_window_is_key_expired(served: Served) -> None:
    jwks = httpx.get(f"{served.base}/realms/enterprise/jwks.json").json()["keys"]
    closes = max(k["exp"] for k in jwks)
    token = _token(served, "enterprise")
    with Validator(trust=_trust(served), audience="mail", clock=FixedClock(closes + 86400)) as v:
        # the cached JWKS would not list a closed key; here the served document still does,
        # so the validator's own window check is what refuses it
        assert v.verify(token).reason is Reason.KEY_EXPIRED


def test_attacker_key_with_enterprise_kid_is_bad_signature(served: Served) -> None:
    real = httpx.get(f"{served.base}/realms/enterprise/jwks.json").json()["keys"][0]
    attacker = new_key("RS256")
    claims = json.loads(__import__("base64").urlsafe_b64decode(_token(served, "enterprise").split(".")[1] + "=="))
    forged = attacker.token(claims, kid=real["kid"])
    with Validator(trust=_trust(served), audience="mail") as v:
        assert v.verify(forged).reason is Reason.BAD_SIGNATURE


def test_cli_token_verify(served: Served, tmp_path: Path) -> None:
    token = _token(served, "enterprise")
    trust = [a for r in ("consumer", "enterprise")
             for a in ("--trust", f"{served.base}/realms/{r}={served.base}/realms/{r}/jwks.json")]
    done = subprocess.run([sys.executable, "-m", "signward", "token", "verify", "-", *trust, "--audience", "mail",
                           "--json"], input=token, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["valid"] and out["reason"] is None and out["claims"]["tid"] == "contoso"
    honey = tmp_path / "honey.txt"
    honey.write_text(f"# decoys\n{out['kid']}\n")
    done = subprocess.run([sys.executable, "-m", "signward", "token", "verify", token, *trust, "--audience", "mail",
                           "--honey-kids", str(honey), "--json"], capture_output=True, text=True)
    assert done.returncode == 1 and json.loads(done.stdout)["reason"] == "honey_key"
    assert "honey_key" in done.stderr  # the CRITICAL alert line
    bad = subprocess.run([sys.executable, "-m", "signward", "token", "verify", token, "--trust", "nonsense",
                          "--audience", "mail"], capture_output=True, text=True)
    assert bad.returncode == 2 and "ISSUER=SOURCE" in bad.stderr
    missing = tmp_path / "no-such-jwks.json"  # regression: the text said only "jwks_unavailable"
    gone = subprocess.run([sys.executable, "-m", "signward", "token", "verify", token, "--trust",
                           f"{served.base}/realms/enterprise={missing}", "--audience", "mail"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert gone.returncode == 1 and "jwks_unavailable" in gone.stdout and str(missing) in gone.stdout
