"""The home of probes. `base` holds the vocabulary every probe shares (`ProbeContext`,
`Probe`, `ProbeOutcome`, `ProbeReason`); this module holds signward's own probes of
`models/storm-0558-signward.yaml`, each exercising a control through the home's services (the
HSM's key attributes, the registry's key windows, tokens forged and presented to the
validator). `signward depth analyze --probe` runs them through the generic runner of
`signward.depth.probes`; the watch's deployment probes and fire drills (`signward.watch.probes`,
`signward.watch.drills`) speak the same vocabulary.

The home's services are imported when a probe runs, not with this package: `signward.depth`
imports `signward.probes.base` without the issuer, the HSM or the dump path.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import Probe, ProbeContext, ProbeOutcome, ProbeReason

if TYPE_CHECKING:
    from ..services import Services


def key_objects_protected(services: Services) -> ProbeOutcome:
    """Every private key in the signing backend is SENSITIVE, not EXTRACTABLE, unreadable, in a token."""
    if services.backend.holds_keys_in_process:
        return ProbeOutcome.failed(ProbeReason.FAILED, "signing keys are held in process memory (software signer)")
    attrs = services.backend.attributes()
    if not attrs:
        return ProbeOutcome.failed(ProbeReason.NOT_SHOWN, "the signing backend holds no key to check")
    bad = [a.handle for a in attrs if a.extractable or not a.sensitive or a.value_readable or not a.in_token]
    if bad:
        return ProbeOutcome.failed(ProbeReason.FAILED, f"exposed: {bad}")
    replaced = _replaced_keys(services)
    if replaced:
        return ProbeOutcome.failed(ProbeReason.FAILED, f"the backend's key is not the kid's key: {replaced}")
    return ProbeOutcome.passed(f"{len(attrs)} keys checked")


def _replaced_keys(services: Services) -> list[str]:
    """Kids of signing-capable keys whose backend key (by handle) has another thumbprint: a key
    deleted and made again under the same name."""
    from ..keys import KeyState
    from ..keys.jwk import thumbprint

    replaced = []
    for key in services.registry.keys():
        if key.state in (KeyState.PENDING, KeyState.ACTIVE) and key.backend == services.backend.name:
            if thumbprint(services.backend.public_key(key.handle, key.alg)) != key.kid:
                replaced.append(key.kid)
    return replaced


def hsm_keys_non_extractable(ctx: ProbeContext) -> ProbeOutcome:
    """Every private key in the signing backend is SENSITIVE, not EXTRACTABLE, unreadable, in a token."""
    from ..services import open_services

    with open_services(ctx.home) as services:
        return key_objects_protected(services)


def key_ages_within_policy(ctx: ProbeContext) -> ProbeOutcome:
    """No key signs longer than its realm's policy allows, and no key past its window is active."""
    from ..keys import KeyState
    from ..services import open_services

    problems = []
    with open_services(ctx.home) as services:  # reads only: the HSM is not opened
        now = services.clock.now()
        for realm in services.registry.realms():
            for key in services.registry.keys(realm.name):
                if key.sign_until - key.sign_from > realm.policy.max_signing_lifetime + 1:
                    problems.append(f"{key.kid} signs for {key.sign_until - key.sign_from:.0f}s")
                if key.state is KeyState.ACTIVE and now >= key.verify_until:
                    problems.append(f"{key.kid} active past its verify window")
    if problems:
        return ProbeOutcome.failed(ProbeReason.FAILED, "; ".join(problems))
    return ProbeOutcome.passed("all key windows within policy")


def _probe_keys() -> dict[str, tuple[Any, str, dict[str, Any]]]:
    """Three throw-away P-256 keys (private key, kid, public JWK) for forging probe tokens."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..keys import public_jwk, thumbprint

    keys = {}
    for name in ("consumer", "enterprise", "expired"):
        private = ec.generate_private_key(ec.SECP256R1())
        keys[name] = (private, thumbprint(private.public_key()), public_jwk(private.public_key()))
    return keys


def _sign(private: Any, kid: str, claims: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from joserfc.util import urlsafe_b64encode

    def b64(data: bytes) -> str:
        return bytes(urlsafe_b64encode(data)).decode()

    head = b64(json.dumps({"alg": "ES256", "kid": kid, "typ": "at+jwt"}).encode())
    body = b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{head}.{body}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class _ProbeAlerts(logging.Filter):
    """Drops the alert lines of the probe's own forged tokens (issuers under probe.invalid), so
    a probe run does not look like an attack; every other alert passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return PROBE_ISSUERS not in record.getMessage()


PROBE_ISSUERS = "https://probe.invalid/"


def _validator_case(kind: str) -> ProbeOutcome:
    quiet = _ProbeAlerts()
    alert_log = logging.getLogger("signward.alert")
    alert_log.addFilter(quiet)
    try:
        with tempfile.TemporaryDirectory(prefix="signward-probe-") as scratch:
            return _validator_case_in(kind, Path(scratch))
    finally:
        alert_log.removeFilter(quiet)


def _validator_case_in(kind: str, tmp: Path) -> ProbeOutcome:
    from ..verify import Reason, Validator

    keys = _probe_keys()
    now = int(time.time())
    consumer, enterprise = PROBE_ISSUERS + "consumer", PROBE_ISSUERS + "enterprise"
    c_priv, c_kid, c_jwk = keys["consumer"]
    e_priv, e_kid, e_jwk = keys["enterprise"]
    x_priv, x_kid, x_jwk = keys["expired"]
    (tmp / "c.json").write_text(json.dumps({"keys": [{**c_jwk, "kid": c_kid, "alg": "ES256"}]}))
    (tmp / "e.json").write_text(json.dumps({"keys": [
        {**e_jwk, "kid": e_kid, "alg": "ES256"},
        {**x_jwk, "kid": x_kid, "alg": "ES256", "nbf": now - 5 * 365 * 86400, "exp": now - 2 * 365 * 86400}]}))
    claims = {"iss": enterprise, "sub": "probe", "aud": "mail", "tid": "probe", "iat": now, "nbf": now,
              "exp": now + 300}
    with Validator(trust={consumer: str(tmp / "c.json"), enterprise: str(tmp / "e.json")}, audience="mail") as v:
        control = v.verify(_sign(e_priv, e_kid, claims))
        if not control.valid:
            return ProbeOutcome.failed(ProbeReason.PROBE_BROKEN,
                                       f"the probe's own valid token was refused ({control.reason}): probe broken")
        if kind == "expired":
            verdict, expected, what = v.verify(_sign(x_priv, x_kid, claims)), Reason.KEY_EXPIRED, "expired-key token"
        else:
            verdict, expected, what = (v.verify(_sign(c_priv, c_kid, claims)), Reason.KEY_NOT_BOUND_TO_ISSUER,
                                       "other issuer's key")
        if verdict.reason is expected:
            return ProbeOutcome.passed(f"{what}: {verdict.reason}")
        return ProbeOutcome.failed(ProbeReason.FAILED, f"{what}: {verdict.reason}")


def validator_rejects_expired_key(ctx: ProbeContext) -> ProbeOutcome:
    """Forge a token with a key whose window closed two years ago; the validator must refuse it."""
    return _validator_case("expired")


def validator_rejects_other_issuer(ctx: ProbeContext) -> ProbeOutcome:
    """Forge an enterprise token with the consumer issuer's key; the validator must refuse it."""
    return _validator_case("other_issuer")


__all__ = ["Probe", "ProbeContext", "ProbeOutcome", "ProbeReason", "hsm_keys_non_extractable",
           "key_ages_within_policy", "key_objects_protected", "validator_rejects_expired_key",
           "validator_rejects_other_issuer"]
