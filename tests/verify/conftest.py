"""Two issuers with software test keys, JWKS files, and a validator on a fixed clock.

Every test on `world` runs twice: with keys published under their RFC 7638 thumbprint (as
signward's issuer does) and under names, as third-party issuers publish them (`2024-01`,
`key-1`), so that no check keyed by kid is silently a check keyed by thumbprint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from signward.clock import FixedClock
from signward.verify import Validator
from tests.verify.forge import KID_STYLES, TestKey, new_key, styled

CONSUMER = "https://login.example.com/realms/consumer"
ENTERPRISE = "https://login.example.com/realms/enterprise"
NOW = 1_800_000_000.0
NAMES = {"consumer": "key-1", "enterprise": "2024-01", "old": "2021-01"}  # a third party's named kids
WINDOW = {"nbf": int(NOW - 86400), "exp": int(NOW + 30 * 86400)}  # the current keys' window


@dataclass
class World:
    clock: FixedClock
    consumer: TestKey
    enterprise: TestKey
    old_enterprise: TestKey  # verify window closed a year ago
    files: dict[str, Path]
    style: str = "thumbprint"
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def claims(self, issuer: str = ENTERPRISE, **over: Any) -> dict[str, Any]:
        now = int(self.clock.now())
        base = {"iss": issuer, "sub": "alice", "aud": "mail", "tid": "contoso", "iat": now, "nbf": now,
                "exp": now + 600, "jti": "j1"}
        base.update(over)
        return {k: v for k, v in base.items() if v is not None}

    def validator(self, **options: Any) -> Validator:
        return Validator(trust={CONSUMER: str(self.files[CONSUMER]), ENTERPRISE: str(self.files[ENTERPRISE])},
                         audience="mail", clock=self.clock, on_alert=self.alerts.append, **options)


@pytest.fixture(scope="session")
def keys() -> dict[str, TestKey]:
    return {"consumer": new_key("ES256"), "enterprise": new_key("RS256"), "old": new_key("RS256")}


@pytest.fixture(params=KID_STYLES)
def kid_style(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(keys: dict[str, TestKey], kid_style: str, tmp_path: Path) -> World:
    clock = FixedClock(NOW)
    files = {}
    window = WINDOW
    keys = styled(keys, kid_style, NAMES)
    docs = {
        CONSUMER: {"keys": [keys["consumer"].jwk(issuer=CONSUMER, **window)]},
        ENTERPRISE: {"keys": [keys["enterprise"].jwk(issuer=ENTERPRISE, **window),
                              keys["old"].jwk(issuer=ENTERPRISE, nbf=int(NOW - 400 * 86400),
                                              exp=int(NOW - 365 * 86400))]},
    }
    for issuer, doc in docs.items():
        path = tmp_path / (issuer.rsplit("/", 1)[1] + ".json")
        path.write_text(json.dumps(doc))
        files[issuer] = path
    return World(clock, keys["consumer"], keys["enterprise"], keys["old"], files, kid_style)


Factory = Callable[..., str]
