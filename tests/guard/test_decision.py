"""The guard's rules on one request, with the real validator and JWKS files (no proxy).

Every test runs with keys published under their RFC 7638 thumbprint and under a third party's
named kids (`2024-01`, `key-1`): a check keyed by kid must not silently be one by thumbprint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from signward.clock import FixedClock
from signward.guard import Attempt
from tests.guard.conftest import CONSUMER, ENTERPRISE, HONEY_KID, Keys, claims
from tests.verify.forge import KID_STYLES

NAMES = {"enterprise": "2024-01", "consumer": "key-1", "old": "2021-01", "honey": HONEY_KID}


@pytest.fixture(scope="module", params=KID_STYLES)
def guard_keys(guard_keys: Keys, request: pytest.FixtureRequest) -> Keys:
    """The session's keys, under thumbprint kids or named kids (the honey key: under its honey kid)."""
    named = request.param == "named"
    return Keys(*(getattr(guard_keys, role).named(NAMES[role] if named else None)
                  for role in ("enterprise", "consumer", "old", "honey")))


def attempt(token: str | None = None, path: str = "/mail/inbox", host: str = "mail.example.com",
            **headers: str) -> Attempt:
    found: dict[str, list[str]] = {k.replace("_", "-"): [v] for k, v in headers.items()}
    if token is not None:
        found["authorization"] = [f"Bearer {token}"]
    return Attempt(method="GET", host=host, path=path, headers=found, via="test")


def test_a_valid_token_sends_its_claims_and_strips_the_clients(service: Any, guard_keys: Keys) -> None:
    token = guard_keys.enterprise.token(claims(sub="alice", jti="j-1"))
    decision = service.decide(attempt(token, x_signward_sub="mallory", x_signward_scope="mail.admin"))
    assert decision.allowed and decision.status == 200
    assert decision.upstream == {"x-signward-sub": "alice", "x-signward-tid": "contoso", "x-signward-jti": "j-1",
                                 "x-signward-kid": guard_keys.enterprise.kid, "x-signward-iss": ENTERPRISE,
                                 "x-signward-path": "/mail/inbox"}
    assert decision.remove == ("x-signward-scope",)  # x-signward-sub is overwritten, scope removed


@pytest.mark.parametrize(("path", "reason"), [
    ("/public/../mail/inbox", "path_dot_segment"), ("/mail/./inbox", "path_dot_segment"),
    ("//mail/inbox", "path_empty_segment"), ("/public/%2e%2e/mail", "path_dot_segment"),
    ("/public%2fmail", "path_escaped_slash"), ("/public\\..\\mail", "path_backslash"),
    ("/mail/%00", "path_escaped_control"), ("mail/inbox", "path_not_absolute"), ("", "no_original_request")])
def test_ambiguous_paths_are_denied(service: Any, guard_keys: Keys, path: str, reason: str) -> None:
    decision = service.decide(attempt(guard_keys.enterprise.token(claims()), path=path))
    assert (decision.allowed, decision.status, decision.reason) == (False, 401, reason)


def test_route_rules(service: Any, guard_keys: Keys) -> None:
    consumer = guard_keys.consumer.token(claims(CONSUMER))
    assert service.decide(attempt(consumer)).reason == "issuer_not_allowed_on_route"
    no_scope = guard_keys.enterprise.token(claims(scope="mail.send"))
    scoped = service.decide(attempt(no_scope))
    assert (scoped.status, scoped.reason) == (403, "insufficient_scope")
    assert 'error="insufficient_scope", scope="mail.read"' in scoped.challenge
    files = guard_keys.consumer.token(claims(CONSUMER, aud="files"))
    assert service.decide(attempt(files, path="/anything", host="FILES.example.com:443")).allowed
    assert service.decide(attempt(files, path="/anything", host="mail.example.com")).reason == "no_route"
    assert service.decide(attempt(files, path="/mailbox")).reason == "no_route"
    assert service.decide(attempt(None, path="/public/x")).allowed


def test_token_forms_and_unsafe_claims(service: Any, guard_keys: Keys) -> None:
    good = guard_keys.enterprise.token(claims())
    doubled = Attempt("GET", "h", "/mail", {"authorization": [f"Bearer {good}", f"Bearer {good}"]}, "test")
    assert service.decide(doubled).reason == "malformed"
    listed = Attempt("GET", "h", "/mail", {"authorization": [f"Bearer {good}, Bearer {good}"]}, "test")
    assert service.decide(listed).reason == "malformed"
    basic = Attempt("GET", "h", "/mail", {"authorization": ["Basic YTpi"]}, "test")
    assert service.decide(basic).reason == "malformed"
    missing = service.decide(attempt(None))
    assert (missing.reason, missing.challenge) == ("no_token", 'Bearer realm="signward"')
    injected = guard_keys.enterprise.token(claims(sub="alice\r\nx-signward-tid: fabrikam"))
    assert service.decide(attempt(injected)).reason == "claim_not_header_safe"


def test_storm_0558_tokens_and_honey_kids(service: Any, guard_keys: Keys) -> None:
    assert service.decide(attempt(guard_keys.old.token(claims()))).reason == "key_expired"
    assert service.decide(attempt(guard_keys.consumer.token(claims(ENTERPRISE)))).reason == "key_not_bound_to_issuer"
    assert service.decide(attempt(guard_keys.honey.token(claims(), kid=HONEY_KID))).reason == "honey_key"
    text = service.metrics.render().decode()
    assert 'signward_guard_checks_total{reason="key_expired",result="deny"} 1.0' in text


def test_a_bug_in_the_validator_denies(service: Any, guard_keys: Keys) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    service.validator.verify = broken
    decision = service.decide(attempt(guard_keys.enterprise.token(claims()), x_signward_sub="mallory"))
    assert (decision.allowed, decision.status, decision.reason) == (False, 401, "internal_error")
    assert decision.remove == ("x-signward-sub",)


def test_a_remembered_verdict_is_checked_again_on_every_use(service: Any, guard_keys: Keys, clock: FixedClock,
                                                             tmp_path: Path) -> None:
    token = guard_keys.enterprise.token(claims(exp=int(clock.now()) + 600))
    first = service.decide(attempt(token))
    assert first.allowed and service.decide(attempt(token)).upstream == first.upstream
    assert service.guard.verdicts.hits == 1
    clock.advance(600 + service.config.clock_skew)  # exp plus the skew: expired, cached or not
    assert service.decide(attempt(token)).reason == "expired"

    token = guard_keys.enterprise.token(claims(exp=int(clock.now()) + 600))
    assert service.decide(attempt(token)).allowed
    for listed in (guard_keys.enterprise.kid, guard_keys.enterprise.thumbprint):  # declared honey since
        service.validator.honey = service.validator.honey | {listed}
        assert service.decide(attempt(token)).reason == "honey_key"
        service.validator.honey = frozenset({HONEY_KID})
        assert service.decide(attempt(token)).allowed

    document = json.loads((tmp_path / "enterprise.json").read_text())  # the key revoked: it leaves the JWKS
    document["keys"] = [k for k in document["keys"] if k["kid"] != guard_keys.enterprise.kid]
    (tmp_path / "enterprise.json").write_text(json.dumps(document))
    deadline = time.monotonic() + 5
    while service.decide(attempt(token)).allowed:  # the file source re-reads within a second
        assert time.monotonic() < deadline, "a revoked key's cached verdict still allows"
        time.sleep(0.1)
    assert service.decide(attempt(token)).reason == "unknown_key"


def test_only_an_unknown_kid_may_wait(service: Any, guard_keys: Keys) -> None:
    assert not service.may_wait(attempt(guard_keys.enterprise.token(claims())))
    assert not service.may_wait(attempt(guard_keys.consumer.token(claims(CONSUMER))))
    assert not service.may_wait(attempt("not-a-token"))
    assert not service.may_wait(attempt(None))
    assert service.may_wait(attempt(guard_keys.enterprise.token(claims(), kid="never-published")))


def _window(tmp_path: Path, keys: Keys) -> tuple[int, int]:
    """The enterprise key's nbf and exp as the service's JWKS file publishes them."""
    document = json.loads((tmp_path / "enterprise.json").read_text())
    jwk = next(k for k in document["keys"] if k["kid"] == keys.enterprise.kid)
    return int(jwk["nbf"]), int(jwk["exp"])


@pytest.mark.parametrize(("edge", "now", "iat", "exp", "reason"), [
    ("exp", -1, -600, 0, "ok"), ("exp", -600, -599, 1, "key_expired"), ("exp", 0, -600, 0, "key_expired"),
    ("nbf", 0, 0, 600, "ok"), ("nbf", 10, -1, 600, "key_not_yet_valid"), ("nbf", -1, 0, 600, "key_not_yet_valid"),
], ids=["exp=key-exp", "exp=key-exp+1", "now=key-exp", "iat=key-nbf", "iat=key-nbf-1", "now=key-nbf-1"])
def test_tokens_at_the_edges_of_their_keys_window(service: Any, guard_keys: Keys, clock: FixedClock,
                                                  tmp_path: Path, edge: str, now: int, iat: int, exp: int,
                                                  reason: str) -> None:
    """Times relative to the key's nbf or exp; the /mail route admits the enterprise token, so
    only the key's window can deny it (the claims are fresh at `now`, the lifetime short)."""
    nbf_at, exp_at = _window(tmp_path, guard_keys)
    base = exp_at if edge == "exp" else nbf_at
    clock.set(base + now)
    token = guard_keys.enterprise.token(claims(iat=base + iat, nbf=base + iat, exp=base + exp))
    assert service.decide(attempt(token)).reason == reason


def test_a_remembered_verdict_ends_with_its_key(service: Any, guard_keys: Keys, clock: FixedClock,
                                                tmp_path: Path) -> None:
    """A token that ends with its key: remembered while the key lives, denied (key_expired) in the
    key's first second past its window although the token is inside its skew."""
    _, key_exp = _window(tmp_path, guard_keys)
    clock.set(key_exp - 600)
    token = guard_keys.enterprise.token(claims(iat=key_exp - 600, nbf=None, exp=key_exp))
    assert service.decide(attempt(token)).allowed
    clock.set(key_exp - 1)
    assert service.decide(attempt(token)).allowed and service.guard.verdicts.hits == 1
    clock.set(key_exp)
    assert service.decide(attempt(token)).reason == "key_expired"


def test_each_denial_is_a_refusal_with_an_enum_reason(service: Any, guard_keys: Keys) -> None:
    from signward.errors import Refusal
    from signward.guard.decision import GuardReason
    from signward.guard.paths import PathReason
    from signward.verify.reasons import Reason

    assert service.decide(attempt(None)).reason is GuardReason.NO_TOKEN
    assert service.decide(attempt(None, path="/public/x")).reason is GuardReason.OK
    assert service.decide(attempt(None, path="/public/x")).refusal is None
    dotted = service.decide(attempt(guard_keys.enterprise.token(claims()), path="/a/../mail/inbox"))
    assert dotted.refusal == Refusal(PathReason.DOT_SEGMENT, "")
    expired = service.decide(attempt(guard_keys.old.token(claims())))
    assert expired.reason is Reason.KEY_EXPIRED and expired.refusal is not None
    assert expired.refusal.reason is Reason.KEY_EXPIRED and expired.refusal.detail == expired.detail
