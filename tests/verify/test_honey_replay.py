"""Regression (#34, red team): a honey-signed token that expired long ago (a `signward watch`
probe token a relying party once received) raised CRITICAL honey_key on every replay, because
the honey check runs before exp. A replay is now an ordinary `expired` refusal, not an alert;
a live token under the honey key still alerts."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from signward.clock import FixedClock
from signward.verify.reasons import Reason
from signward.verify.validator import Validator
from tests.verify.forge import new_key

ISSUER = "https://login.example.com/realms/enterprise"
HONEY = "tripwire-kid-replay"


def _claims(now: float, **over: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "sub": "signward-probe", "aud": "mail", "iat": int(now), "nbf": int(now),
            "exp": int(now) + 300, "jti": "probe-1"}
    return {**base, **over}


@pytest.fixture
def world(tmp_path: Path) -> tuple[Validator, Any, list[dict[str, Any]], FixedClock]:
    now = time.time()
    honey, real = new_key("ES256"), new_key("ES256")
    jwks = tmp_path / "jwks.json"
    window = {"nbf": int(now - 2 * 365 * 86400), "exp": int(now + 86400)}
    jwks.write_text(json.dumps({"keys": [real.jwk(**window), {**honey.jwk(**window), "kid": HONEY}]}))
    alerts: list[dict[str, Any]] = []
    clock = FixedClock(now)
    validator = Validator(trust={ISSUER: str(jwks)}, audience="mail", honey=[HONEY], clock=clock,
                          on_alert=alerts.append)
    return validator, honey, alerts, clock


def test_a_replayed_expired_probe_token_is_expired_not_a_honey_alert(
        world: tuple[Validator, Any, list[dict[str, Any]], FixedClock], caplog: pytest.LogCaptureFixture) -> None:
    validator, honey, alerts, clock = world
    year_ago = clock.now() - 365 * 86400
    probe = honey.token(_claims(year_ago), kid=HONEY)  # a real signature under the honey key, expired a year ago
    with caplog.at_level(logging.CRITICAL, logger="signward.alert"):
        verdict = validator.verify(probe)
    assert verdict.reason is Reason.EXPIRED and "replay" in verdict.detail
    assert alerts == [] and not [r for r in caplog.records if r.levelno >= logging.CRITICAL]


def test_a_live_token_under_the_honey_key_still_alerts(
        world: tuple[Validator, Any, list[dict[str, Any]], FixedClock]) -> None:
    validator, honey, alerts, clock = world
    verdict = validator.verify(honey.token(_claims(clock.now()), kid=HONEY))
    assert verdict.reason is Reason.HONEY_KEY
    assert [a["reason"] for a in alerts] == ["honey_key"]


def test_expired_within_the_skew_still_alerts(world: tuple[Validator, Any, list[dict[str, Any]], FixedClock]) -> None:
    """The leeway is the validator's skew: a token 10 s past exp (skew 60 s) is not a replay."""
    validator, honey, alerts, clock = world
    verdict = validator.verify(honey.token(_claims(clock.now() - 310), kid=HONEY))
    assert verdict.reason is Reason.HONEY_KEY and len(alerts) == 1
