"""With a home: the tripwire keys are honey kids without configuring them, and every refusal
(except a request without a token) is an audit record, alerts at alert severity."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from signward.algorithms import Alg
from signward.guard import Attempt, GuardConfig, GuardService
from signward.keys import TripwireKind
from signward.keys.registry import verify_window
from signward.services import Services

ISSUER = "https://id.example.com/realms/enterprise"


def test_tripwire_tokens_are_honey_and_refusals_are_audited(services: Services, tmp_path: Path) -> None:
    realm = services.registry.create_realm("enterprise", ISSUER, Alg.ES256)
    services.tripwires.ensure(realm, verify_window(realm.policy))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(services.registry.jwks("enterprise")))
    config = GuardConfig.from_dict({"issuer": [{"issuer": ISSUER, "jwks": str(jwks)}],
                                    "route": [{"prefix": "/", "audience": "mail"}]})
    guard = GuardService(config, audit=services.audit, honey=services.honey_kids, clock=services.clock).start()
    try:
        wire = services.tripwires.find("enterprise", TripwireKind.EXPIRED)
        token = services.tripwires.token(wire, issuer=ISSUER, audience="mail")
        decision = guard.decide(Attempt("GET", "mail", "/inbox", {"authorization": [f"Bearer {token}"]}, "test"))
        assert decision.reason == "honey_key"  # not merely key_expired: the home's tripwires are honey
        assert guard.decide(Attempt("GET", "mail", "/inbox", {}, "test")).reason == "no_token"
        garbage = guard.decide(Attempt("GET", "mail", "/inbox", {"authorization": ["Bearer a.b.c"]}, "test"))
        assert garbage.reason == "malformed"
    finally:
        guard.close()  # writes what the audit queue holds
    records = services.audit.records(action="token.reject")
    assert [(r.details["reason"], r.severity) for r in records] == [("honey_key", "alert"), ("malformed", "warning")]
    assert records[0].object == wire.kid and records[0].actor == "guard"
    assert services.audit.verify().ok


def test_a_garbage_signature_under_a_tripwire_kid_is_no_alert(services: Services, tmp_path: Path) -> None:
    """Regression (#34): a token naming the home's tripwire kid (read from the published JWKS)
    with a made-up signature was refused honey_key and audited at alert severity. Only a token
    that verifies under the tripwire key is an alert; this one is bad_signature, a warning."""
    realm = services.registry.create_realm("enterprise", ISSUER, Alg.ES256)
    services.tripwires.ensure(realm, verify_window(realm.policy))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(services.registry.jwks("enterprise")))
    config = GuardConfig.from_dict({"issuer": [{"issuer": ISSUER, "jwks": str(jwks)}],
                                    "route": [{"prefix": "/", "audience": "mail"}]})
    guard = GuardService(config, audit=services.audit, honey=services.honey_kids, clock=services.clock).start()
    try:
        wire = services.tripwires.find("enterprise", TripwireKind.FOREIGN_ISSUER)  # inside its window
        head, body, _ = services.tripwires.token(wire, issuer=ISSUER, audience="mail").split(".")
        garbage = f"{head}.{body}.{base64.urlsafe_b64encode(bytes([1]) * 64).rstrip(b'=').decode()}"
        decision = guard.decide(Attempt("GET", "mail", "/inbox", {"authorization": [f"Bearer {garbage}"]}, "t"))
        assert decision.reason == "bad_signature"
    finally:
        guard.close()
    records = services.audit.records(action="token.reject")
    assert [(r.details["reason"], r.severity) for r in records] == [("bad_signature", "warning")]
    assert records[0].object == wire.kid


def test_a_canary_key_is_a_honey_key_the_guard_can_check(tmp_path: Path) -> None:
    """A canary's key is in no key set: `signward guard` gives the home's canary public keys as
    honey keys, so a token the canary key really signed is honey_key (a dump leaked) and one
    with a made-up signature under the canary's kid is bad_signature."""
    from signward.dumps.canary import Canary, make_canary
    from tests.verify.forge import TestKey, b64

    make_canary(tmp_path / "canary.json", 0)
    canary = Canary.load(tmp_path / "canary.json")
    assert canary.ec is not None
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    config = GuardConfig.from_dict({"issuer": [{"issuer": ISSUER, "jwks": str(jwks)}],
                                    "route": [{"prefix": "/", "audience": "mail"}]})
    guard = GuardService(config, honey_keys=canary.public()["keys"]).start()
    try:
        now = int(time.time())
        token = TestKey(canary.ec, "ES256").token({"iss": ISSUER, "aud": "mail", "sub": "x", "iat": now,
                                                   "exp": now + 300})
        head, body, _ = token.split(".")

        def decide(text: str) -> str | None:
            return guard.decide(Attempt("GET", "mail", "/", {"authorization": [f"Bearer {text}"]}, "t")).reason

        assert decide(f"{head}.{body}.{b64(bytes([1]) * 64)}") == "bad_signature"
        assert decide(token) == "honey_key"
    finally:
        guard.close()
