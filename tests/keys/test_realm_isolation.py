"""Per-realm rules asked at the wrong realm: rotating, revoking or signing in one realm never
touches another's keys, its JWKS or its signing key (a consumer key is never an enterprise one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signward.clock import FixedClock
from signward.errors import NoSigningKey
from signward.hsm import Alg
from signward.issuer import IssuerContext
from signward.keys import Registry

DAY = timedelta(days=1)
ISSUERS = {"consumer": "https://login.example.com/realms/consumer",
           "enterprise": "https://login.example.com/realms/enterprise"}
PAIRS = [("consumer", "enterprise"), ("enterprise", "consumer")]


def kids(reg: Registry, realm: str) -> set[str]:
    return {str(k["kid"]) for k in reg.jwks(realm)["keys"]}


def states(reg: Registry, realm: str) -> dict[str, str]:
    return {k.kid: k.state.value for k in reg.keys(realm)}


def two_realms(context: IssuerContext, clock: FixedClock, other: str, acted: str) -> Registry:
    """`other` first, `acted` a day later: the acted-on realm's keys are the newest in the store,
    so a query that forgot its realm would find them first."""
    reg = context.registry
    reg.create_realm(other, ISSUERS[other], Alg.ES256 if other == "consumer" else Alg.RS256)
    clock.advance(DAY)
    reg.create_realm(acted, ISSUERS[acted], Alg.ES256 if acted == "consumer" else Alg.RS256)
    return reg


@pytest.mark.parametrize(("acted", "other"), PAIRS)
def test_each_realm_signs_with_its_own_key_and_publishes_only_its_own(context: IssuerContext, clock: FixedClock,
                                                                      acted: str, other: str) -> None:
    reg = two_realms(context, clock, other, acted)
    own = {k.kid for k in reg.keys(other)}
    assert reg.signing_key(other).kid in own and reg.signing_key(other).realm == other
    assert kids(reg, other) == own and kids(reg, other).isdisjoint(kids(reg, acted))
    assert {k["issuer"] for k in reg.jwks(other)["keys"]} == {ISSUERS[other]}


@pytest.mark.parametrize(("acted", "other"), PAIRS)
def test_rotating_one_realm_leaves_every_other_as_it_was(context: IssuerContext, clock: FixedClock,
                                                         acted: str, other: str) -> None:
    """Past the other realm's signing window, rotating this realm changes only this realm: the
    other's key keeps its state (its own rotation was not run) and it has no key to sign with."""
    reg = two_realms(context, clock, other, acted)
    before = states(reg, other)
    (first,) = reg.keys(other)
    clock.set(first.sign_until)
    events = reg.rotate(acted)
    assert events and {e["realm"] for e in events} == {acted}
    assert states(reg, other) == before
    with pytest.raises(NoSigningKey):
        reg.signing_key(other)
    assert reg.rotate(other)  # its own rotation does it
    assert reg.signing_key(other).realm == other


@pytest.mark.parametrize(("acted", "other"), PAIRS)
def test_revoking_in_one_realm_leaves_every_other_signing(context: IssuerContext, clock: FixedClock,
                                                          acted: str, other: str) -> None:
    reg = two_realms(context, clock, other, acted)
    before, published, signing = states(reg, other), kids(reg, other), reg.signing_key(other).kid
    reg.revoke(reg.signing_key(acted).kid)
    assert states(reg, other) == before and kids(reg, other) == published
    assert reg.signing_key(other).kid == signing
