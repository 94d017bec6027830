"""The whole rotation schedule with an injectable clock, JWKS contents checked at each step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signward.clock import FixedClock
from signward.errors import ConfigError, InvalidTransition, NoSigningKey
from signward.hsm import Alg
from signward.issuer import IssuerContext
from signward.keys import KeyState, Registry, RotationPolicy

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ISSUER = "https://login.example.com/realms/consumer"


def kids(doc: dict[str, list[dict[str, object]]]) -> list[object]:
    return [k["kid"] for k in doc["keys"]]


def states(reg: Registry) -> dict[str, str]:
    return {k.kid: k.state.value for k in reg.keys("consumer")}


def test_schedule_over_two_rotations(context: IssuerContext, clock: FixedClock) -> None:
    reg = context.registry
    start = clock.now()
    reg.create_realm("consumer", ISSUER, Alg.ES256)
    (k1,) = reg.keys("consumer")
    assert k1.state is KeyState.ACTIVE and k1.sign_from == start
    assert k1.sign_until == start + 30 * 86400 and k1.verify_until == k1.sign_until + 3600
    doc = reg.jwks("consumer")
    assert kids(doc) == [k1.kid]
    published = doc["keys"][0]
    assert published["nbf"] == int(k1.sign_from) and published["exp"] == int(k1.verify_until)
    assert published["issuer"] == ISSUER and published["alg"] == "ES256" and "d" not in published
    assert reg.rotate("consumer") == []  # idempotent: nothing due

    clock.advance(28 * DAY)
    assert reg.rotate("consumer") == []  # lead is 1 day: still nothing due
    clock.advance(1 * DAY)
    events = reg.rotate("consumer")
    assert [e["action"] for e in events] == ["key.create"] and events[0]["reason"] == "successor"
    assert reg.rotate("consumer") == []
    k2 = reg.key(events[0]["kid"])
    assert k2.state is KeyState.PENDING and k2.sign_from == k1.sign_until
    assert kids(reg.jwks("consumer")) == [k1.kid, k2.kid]  # published before it signs
    assert reg.signing_key("consumer").kid == k1.kid

    clock.set(k1.sign_until)
    reg.rotate("consumer")
    assert states(reg) == {k1.kid: "retiring", k2.kid: "active"}
    assert reg.signing_key("consumer").kid == k2.kid
    assert kids(reg.jwks("consumer")) == [k1.kid, k2.kid]  # old tokens still verify

    clock.set(k1.verify_until - 1)
    assert k1.kid in kids(reg.jwks("consumer"))
    clock.set(k1.verify_until)
    assert kids(reg.jwks("consumer")) == [k2.kid]  # gone by time, even before rotate runs
    reg.rotate("consumer")
    assert states(reg)[k1.kid] == "retired"

    handles_before = {a.handle for a in reg.backend.attributes()}
    assert k1.handle in handles_before
    clock.advance(7 * DAY)
    events = reg.rotate("consumer")
    assert {"action": "key.destroy", "kid": k1.kid, "realm": "consumer"} in events
    assert states(reg)[k1.kid] == "destroyed"
    assert k1.handle not in {a.handle for a in reg.backend.attributes()}


def test_key_past_sign_until_never_signs_without_rotate(context: IssuerContext, clock: FixedClock) -> None:
    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    key = reg.signing_key("consumer")
    clock.set(key.sign_until)
    with pytest.raises(NoSigningKey):
        reg.signing_key("consumer")
    with pytest.raises(NoSigningKey):
        context.tokens.issue("consumer", sub="s", audience="a", tenant="t")


def test_revoke_leaves_jwks_at_once_and_a_new_key_signs(context: IssuerContext, clock: FixedClock) -> None:
    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    old = reg.signing_key("consumer")
    reg.revoke(old.kid)
    assert old.kid not in kids(reg.jwks("consumer"))
    new = reg.signing_key("consumer")
    assert new.kid != old.kid and new.sign_from == clock.now()
    with pytest.raises(InvalidTransition):
        reg.revoke(old.kid)
    with pytest.raises(InvalidTransition):
        reg.retire(old.kid)


def test_retire_stops_signing_but_stays_published(context: IssuerContext, clock: FixedClock) -> None:
    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    old = reg.signing_key("consumer")
    clock.advance(HOUR)
    retired = reg.retire(old.kid)
    assert retired.state is KeyState.RETIRING and retired.sign_until == clock.now()
    assert retired.verify_until == clock.now() + 3600
    assert reg.signing_key("consumer").kid != old.kid
    assert old.kid in kids(reg.jwks("consumer"))
    clock.advance(HOUR)
    assert old.kid not in kids(reg.jwks("consumer"))


def test_manual_create_is_prepublished(context: IssuerContext, clock: FixedClock) -> None:
    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    current = reg.signing_key("consumer")
    made = reg.create_key("consumer")
    assert made.state is KeyState.PENDING and made.sign_from == clock.now() + 86400
    assert made.kid in kids(reg.jwks("consumer"))
    assert reg.signing_key("consumer").kid == current.kid
    clock.advance(DAY)
    reg.rotate("consumer")
    assert reg.signing_key("consumer").kid == made.kid


def test_long_gap_without_rotation_recovers(context: IssuerContext, clock: FixedClock) -> None:
    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    clock.advance(400 * DAY)
    reg.rotate("consumer")
    signing = reg.signing_key("consumer")
    assert signing.sign_from == clock.now()
    assert kids(reg.jwks("consumer")) == [signing.kid]


def test_realms_are_separate(context: IssuerContext) -> None:
    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    reg.create_realm("enterprise", "https://login.example.com/realms/enterprise", Alg.RS256)
    c, e = reg.jwks("consumer"), reg.jwks("enterprise")
    assert set(kids(c)).isdisjoint(kids(e))
    assert {k["issuer"] for k in e["keys"]} == {"https://login.example.com/realms/enterprise"}
    with pytest.raises(ConfigError):
        reg.create_realm("other", ISSUER)  # an issuer belongs to one realm
    with pytest.raises(ConfigError):
        reg.create_realm("Bad Name", "https://x.example.com")
    with pytest.raises(ConfigError):
        reg.create_realm("plain", "http://example.com/realms/plain")  # http only on loopback


def test_policy_is_validated() -> None:
    with pytest.raises(ConfigError):
        RotationPolicy(max_signing_lifetime=86400, prepublish_lead=2 * 86400)
    with pytest.raises(ConfigError):
        RotationPolicy(max_token_lifetime=0)


def test_kid_is_rfc7638_thumbprint(context: IssuerContext) -> None:
    from joserfc.jwk import ECKey

    reg = context.registry
    reg.create_realm("consumer", ISSUER)
    key = reg.signing_key("consumer")
    assert ECKey.import_key(key.public_jwk).thumbprint() == key.kid
