"""The issuance check end to end: the running issuer's RFC 7662 endpoint and the validator that
asks it. A token signed with the realm's real key but never issued (what a stolen key makes)
passes every local check and is refused as `not_issued`, with an alert."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from signward.verify import Introspector, Reason, Validator
from tests.conftest import Served, signward_json
from tests.verify.forge import b64, enc

PROGRAMS = Path(__file__).resolve().parents[1] / "programs"


@pytest.fixture(scope="module")
def relying_party(served: Served) -> tuple[str, str]:
    """A client of the enterprise realm holding the introspect scope (the mail service)."""
    made = signward_json(served.home, "client", "create", "--realm", "enterprise", "--tenant", "contoso",
                         "--audience", "mail", "--scope", "introspect")
    return made["client_id"], made["client_secret"]


@pytest.fixture(scope="module")
def relying_parties(served: Served, relying_party: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """A client holding the introspect scope in every realm (each realm's own mail service)."""
    made = signward_json(served.home, "client", "create", "--realm", "consumer", "--tenant", "consumers",
                         "--audience", "mail", "--scope", "introspect")
    return {"enterprise": relying_party, "consumer": (made["client_id"], made["client_secret"])}


def issued(served: Served, realm: str = "enterprise") -> str:
    client_id, secret = served.clients[realm]
    resp = httpx.post(f"{served.base}/realms/{realm}/token", auth=(client_id, secret),
                      data={"grant_type": "client_credentials", "audience": "mail"})
    assert resp.status_code == 200
    return str(resp.json()["access_token"])


def stolen_key_token(served: Served, sub: str = "mallory") -> str:
    """Signed in the HSM with the realm's current key, but never recorded: the forger's token
    (made in its own process: this one never opens the served home's HSM)."""
    done = subprocess.run([sys.executable, str(PROGRAMS / "stolen_key_token.py"), str(served.home.root),
                           "enterprise", sub], capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def introspect(served: Served, auth: tuple[str, str], token: str, realm: str = "enterprise") -> httpx.Response:
    return httpx.post(f"{served.base}/realms/{realm}/introspect", auth=auth, data={"token": token})


def validator(served: Served, relying_party: tuple[str, str], alerts: list[dict[str, object]],
              **options: float) -> Validator:
    issuer = f"{served.base}/realms/enterprise"
    how = Introspector(f"{issuer}/introspect", *relying_party, **options)  # type: ignore[arg-type]
    return Validator(trust={issuer: f"{issuer}/jwks.json"}, audience="mail", introspect={issuer: how},
                     on_alert=alerts.append)


def test_the_endpoint_answers_only_for_tokens_it_issued(served: Served, relying_party: tuple[str, str]) -> None:
    token = issued(served)
    answer = introspect(served, relying_party, token)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["active"] is True and body["aud"] == "mail" and body["iss"].endswith("/realms/enterprise")
    assert introspect(served, relying_party, stolen_key_token(served)).json() == {"active": False}
    head, payload, _ = token.split(".")  # the real jti, kid and sub with a scope of the forger's choosing
    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=="))
    claims["scope"] = "mail.read mail.admin"
    assert introspect(served, relying_party, f"{head}.{enc(claims)}.{b64(b'x' * 64)}").json() == {"active": False}
    assert introspect(served, relying_party, "garbage").json() == {"active": False}
    assert introspect(served, ("no-such-client", "x"), token).status_code == 401
    assert introspect(served, served.clients["enterprise"], token).status_code == 403  # no introspect scope
    discovery = httpx.get(f"{served.base}/realms/enterprise/.well-known/openid-configuration").json()
    assert discovery["introspection_endpoint"] == f"{served.base}/realms/enterprise/introspect"


def test_the_validator_refuses_a_stolen_key_token_as_not_issued(served: Served,
                                                                relying_party: tuple[str, str]) -> None:
    alerts: list[dict[str, object]] = []
    with validator(served, relying_party, alerts) as checking:
        how = checking.introspect[f"{served.base}/realms/enterprise"]
        token = issued(served)
        assert checking.verify(token).valid and checking.verify(token).valid
        assert how.calls == 1  # the second check of a known-active token costs no network call
        forged = checking.verify(stolen_key_token(served))
        assert forged.reason is Reason.NOT_ISSUED and alerts and alerts[-1]["reason"] == "not_issued"
        local = Validator(trust=dict(checking.sources), audience="mail")
        assert local.verify(stolen_key_token(served)).valid  # what every local check alone accepts


def test_revocation_and_an_unreachable_issuer(served: Served, relying_party: tuple[str, str]) -> None:
    alerts: list[dict[str, object]] = []
    with validator(served, relying_party, alerts, active_ttl=1.0) as checking:
        token = issued(served)
        assert checking.verify(token).valid
        jti = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
        signward_json(served.home, "token", "revoke", jti, "--reason", "test")
        deadline = time.monotonic() + 10  # the rule: the issuer's 5 s cache plus this validator's 1 s
        while checking.verify(token).valid:
            assert time.monotonic() < deadline, "a revoked token still passes"
            time.sleep(0.2)
        assert checking.verify(token).reason is Reason.NOT_ISSUED
    issuer = f"{served.base}/realms/enterprise"
    down = Introspector("http://127.0.0.1:9/introspect", *relying_party, timeout=0.5)
    with Validator(trust={issuer: f"{issuer}/jwks.json"}, audience="mail", introspect={issuer: down}) as checking:
        assert checking.verify(issued(served)).reason is Reason.INTROSPECTION_UNAVAILABLE


def test_the_guard_introspects_on_routes_that_ask_for_it(served: Served, relying_party: tuple[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from signward.guard import Attempt, GuardConfig, GuardService

    issuer = f"{served.base}/realms/enterprise"
    monkeypatch.setenv("GUARD_INTROSPECT_SECRET", relying_party[1])
    config = GuardConfig.from_dict({
        "issuer": [{"issuer": issuer, "jwks": f"{issuer}/jwks.json", "introspect_url": f"{issuer}/introspect",
                    "introspect_client_id": relying_party[0], "introspect_secret_env": "GUARD_INTROSPECT_SECRET"}],
        "route": [{"prefix": "/mail", "audience": "mail", "introspect": True},
                  {"prefix": "/files", "audience": "mail"}]})
    guard = GuardService(config).start()
    try:
        def decide(path: str, token: str) -> str:
            attempt = Attempt("GET", "rp", path, {"authorization": [f"Bearer {token}"]}, "test")
            assert guard.may_wait(attempt) == path.startswith("/mail")  # introspection is I/O: off the loop
            return guard.decide(attempt).reason

        forged = stolen_key_token(served)
        assert decide("/mail/inbox", issued(served)) == "ok"
        assert decide("/mail/inbox", forged) == "not_issued"
        assert decide("/files/x", forged) == "ok"  # a route without the issuance check takes it
    finally:
        guard.close()
    with pytest.raises(Exception, match="no introspect_url"):
        GuardConfig.from_dict({"issuer": [{"issuer": issuer, "jwks": f"{issuer}/jwks.json"}],
                               "route": [{"prefix": "/mail", "audience": "mail", "introspect": True}]})


REALMS = ("consumer", "enterprise")


@pytest.mark.parametrize(("issuing", "asked"), [(i, a) for i in REALMS for a in REALMS if a != i])
def test_every_realm_but_the_issuing_one_answers_inactive(served: Served, relying_parties: dict[str, tuple[str, str]],
                                                          issuing: str, asked: str) -> None:
    """The same live token, asked by an authorized client of each realm: active only at the realm
    that issued it. The client is one the asked realm accepts (an unknown client would be 401),
    the token is the issuing realm's own (active there), so only the realm binding says no."""
    token = issued(served, issuing)
    assert introspect(served, relying_parties[issuing], token, issuing).json()["active"] is True
    answer = introspect(served, relying_parties[asked], token, asked)
    assert answer.status_code == 200 and answer.json() == {"active": False}
    assert introspect(served, relying_parties[asked], issued(served, asked), asked).json()["active"] is True
    assert introspect(served, relying_parties[issuing], token, asked).status_code == 401  # a client of one realm only


@pytest.mark.parametrize(("issuing", "asked"), [(i, a) for i in REALMS for a in REALMS if a != i])
def test_a_validator_asking_another_realm_refuses_as_not_issued(served: Served,
                                                                relying_parties: dict[str, tuple[str, str]],
                                                                issuing: str, asked: str) -> None:
    """A validator whose issuance check for the issuing realm asks another realm's endpoint (as a
    misconfigured or redirected relying party would): not_issued, where the issuing realm's own
    endpoint (the control case, same token, same validator otherwise) says valid."""
    issuer = f"{served.base}/realms/{issuing}"
    token = issued(served, issuing)
    for realm, expected in ((issuing, None), (asked, Reason.NOT_ISSUED)):
        how = Introspector(f"{served.base}/realms/{realm}/introspect", *relying_parties[realm])
        with Validator(trust={issuer: f"{issuer}/jwks.json"}, audience="mail", introspect={issuer: how}) as checking:
            assert checking.verify(token).reason is expected


def test_concurrent_grants_are_each_answered_recorded_and_introspectable(served: Served,
                                                                         relying_party: tuple[str, str]) -> None:
    """Grants sent together share the signing threads' batches and the committer's transactions
    (issue 39): each is answered with its own token in the answer's exact JSON, and each token is
    on record (introspection answers it active, with its own jti)."""
    client_id, secret = served.clients["enterprise"]

    def grant(_: int) -> httpx.Response:
        return httpx.post(f"{served.base}/realms/enterprise/token", auth=(client_id, secret),
                          data={"grant_type": "client_credentials", "audience": "mail"}, timeout=30)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(grant, range(24)))
    tokens = []
    for answer in answers:
        assert answer.status_code == 200
        body = answer.json()
        assert answer.content == json.dumps(body, separators=(",", ":")).encode()  # compact, in this key order
        assert list(body) == ["access_token", "token_type", "expires_in", "scope"] and body["token_type"] == "Bearer"
        tokens.append(body["access_token"])
    jtis = set()
    for token in tokens:
        found = introspect(served, relying_party, token).json()
        assert found["active"] is True
        jtis.add(found["jti"])
    assert len(jtis) == len(tokens)
