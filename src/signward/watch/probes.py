"""Probes aimed at the deployment: each exercises a control where it lives, through its real
interface, and can fail there.

- key_expiry, issuer_binding: every relying party of the watch config gets a control token
  (the realm's current key; it must be accepted, else the probe is broken, not the control),
  then a token under the realm's expired tripwire key, and one claiming the realm's issuer
  under another realm's foreign-issuer tripwire key (`keys/tripwire.py`); both must get a
  status the relying party declared as "refused".
- issuance_check: the same relying parties get a token signed with the realm's current key
  that the issuer never recorded (no issuance record, as a thief would make); it must be
  refused.
- rotation: the issuer's served JWKS, fetched over HTTP from the discovery document at each
  realm's configured issuer URL, holds no key past its window, none signing longer than the
  watch config's `max_signing_lifetime` (30 days; a realm's own policy may be what is wrong)
  and none the registry does not know (tripwires excepted).
- audit_retention: the audit log verifies under its pinned key, its published checkpoint is
  fresh, and the configured retention meets the floor.
- hsm: the PKCS#11 attributes of every key and a crash drill (`watch/drills.py`).
- redaction, canary_check, release_gate, store_rescan, grant_approval: fire drills through
  the deployed dump pipeline (`watch/drills.py`).
- input:undecoded_encoding: a common-mode drill, hostile artifacts through both scans
  (`watch/drills.py`); when both pass one, the input class counts as failed and the depth drops.

Every probe takes the shared `ProbeContext` (the home and the watch configuration) and returns
a `ProbeOutcome` (`signward.probes.base`). Every probe opens the home's services in its own
thread (the runner's timeout leaves a hung probe behind without sharing a connection with it).
"""

from __future__ import annotations

import json
import time
from base64 import urlsafe_b64decode
from typing import Any

import httpx

from ..errors import ConfigError, SignwardError
from ..hsm.base import CheckedSigner
from ..issuer.tokens import TokenService
from ..keys import PROBE_SUBJECT, TripwireKind
from ..probes.base import ProbeContext, ProbeOutcome, ProbeReason
from ..retention import check_retention
from ..services import Services, open_services
from ..verify.bounded import read_limited
from .config import RelyingParty

HTTP_TIMEOUT = 10.0
MAX_DOCUMENT = 512 * 1024


def _send(party: RelyingParty, token: str) -> int:
    response = httpx.request(party.method, party.url, headers={"Authorization": f"Bearer {token}"},
                             timeout=HTTP_TIMEOUT, follow_redirects=False)
    return response.status_code


def _control_accepted(services: Services, party: RelyingParty) -> str | None:
    """None when the relying party accepts a token of the realm's current key; else why not."""
    issued = services.tokens.issue(party.realm, sub=PROBE_SUBJECT, audience=party.audience, tenant=PROBE_SUBJECT,
                                   client_id=PROBE_SUBJECT, ttl=300)
    status = _send(party, issued.token)
    if not 200 <= status < 300:
        return f"{party.name}: the control token (current key) got {status}: probe broken, not the control"
    return None


def _record_as_issued(services: Services, realm: str, kid: str, token: str) -> None:
    """Put a probe's tripwire token on the issuer's record, so that a relying party's issuance
    check (introspection) says active and only the control under probe can refuse it."""
    claims = json.loads(urlsafe_b64decode(token.split(".")[1] + "=="))
    services.issuance.record(jti=claims["jti"], realm=realm, kid=kid, sub=claims["sub"], token=token,
                             exp=claims["exp"], key_in_registry=False)  # a tripwire key: not in the registry


NO_PARTY = "no relying party in the watch config: nothing shows this control works where it lives"


def _verdict(problems: list[str], passed: list[str], broken: list[str]) -> ProbeOutcome:
    """Held when every relying party refused; else failed, or the probe broken when no party
    failed the control itself."""
    if problems:
        return ProbeOutcome.failed(ProbeReason.FAILED, "; ".join(problems + broken))
    if broken:
        return ProbeOutcome.failed(ProbeReason.PROBE_BROKEN, "; ".join(broken))
    return ProbeOutcome.passed("; ".join(passed))


def _relying_parties(ctx: ProbeContext, kind: TripwireKind) -> ProbeOutcome:
    parties = ctx.watch.relying_parties
    if not parties:
        return ProbeOutcome.failed(ProbeReason.NOT_SHOWN, NO_PARTY)
    problems: list[str] = []
    passed: list[str] = []
    broken: list[str] = []
    with open_services(ctx.home, actor="signward-watch") as services:
        for party in parties:
            realm = services.registry.realm(party.realm)
            if kind is TripwireKind.EXPIRED:
                wire = services.tripwires.find(party.realm, TripwireKind.EXPIRED)
            else:
                others = [w for w in services.tripwires.all() if w.realm != party.realm
                          and w.kind is TripwireKind.FOREIGN_ISSUER and w.nbf <= services.clock.now() < w.exp]
                if not others:
                    broken.append(f"{party.name}: no other realm has a foreign-issuer tripwire (run 'signward "
                                  f"keys tripwire' for a second realm)")
                    continue
                wire = others[-1]
            control = _control_accepted(services, party)
            if control:
                broken.append(control)
                continue
            token = services.tripwires.token(wire, issuer=realm.issuer, audience=party.audience)
            _record_as_issued(services, party.realm, wire.kid, token)
            status = _send(party, token)
            what = "expired-key" if kind is TripwireKind.EXPIRED else f"other-issuer ({wire.realm}'s key)"
            if status in party.refused:
                passed.append(f"{party.name}: {what} token refused ({status})")
            else:
                problems.append(f"{party.name}: {what} token ACCEPTED ({status})")
    return _verdict(problems, passed, broken)


def relying_parties_refuse_expired_keys(ctx: ProbeContext) -> ProbeOutcome:
    """key_expiry where it lives: each relying party refuses a token under a key past its window."""
    return _relying_parties(ctx, TripwireKind.EXPIRED)


def relying_parties_bind_issuers(ctx: ProbeContext) -> ProbeOutcome:
    """issuer_binding where it lives: each relying party refuses another issuer's key."""
    return _relying_parties(ctx, TripwireKind.FOREIGN_ISSUER)


def relying_parties_check_issuance(ctx: ProbeContext) -> ProbeOutcome:
    """issuance_check where it lives: each relying party refuses a token signed with the realm's
    current key (in the HSM) that the issuer never recorded, what a thief holding the key
    makes; it lives 60 s and names the probe's subject."""
    parties = ctx.watch.relying_parties
    if not parties:
        return ProbeOutcome.failed(ProbeReason.NOT_SHOWN, NO_PARTY)
    problems: list[str] = []
    passed: list[str] = []
    broken: list[str] = []
    with open_services(ctx.home, actor="signward-watch") as services:
        unrecorded = TokenService(services.registry, CheckedSigner(services.backend), services.clock)
        for party in parties:
            control = _control_accepted(services, party)
            if control:
                broken.append(control)
                continue
            token = unrecorded.issue(party.realm, sub=PROBE_SUBJECT, audience=party.audience, tenant=PROBE_SUBJECT,
                                     client_id=PROBE_SUBJECT, ttl=60).token
            status = _send(party, token)
            if status in party.refused:
                passed.append(f"{party.name}: never-issued token refused ({status})")
            else:
                problems.append(f"{party.name}: a validly signed token the issuer never issued was ACCEPTED ({status})")
    return _verdict(problems, passed, broken)


def _get_json(url: str) -> Any:
    with httpx.stream("GET", url, timeout=HTTP_TIMEOUT, follow_redirects=False) as response:
        if response.status_code != 200:
            raise SignwardError(f"{url}: HTTP {response.status_code}")
        try:
            body = read_limited(response, MAX_DOCUMENT)
        except ValueError as exc:
            raise SignwardError(f"{url}: {exc}") from None
    return httpx.Response(200, content=body).json()


def served_jwks_within_policy(ctx: ProbeContext) -> ProbeOutcome:
    """rotation where it lives: the JWKS the issuer serves, read over HTTP."""
    problems, checked = [], 0
    with open_services(ctx.home, actor="signward-watch") as services:
        tripwires = {w.kid for w in services.tripwires.all()}
        known = {k.kid for k in services.registry.keys()}
        now = time.time()
        for realm in services.registry.realms():
            meta = _get_json(f"{realm.issuer}/.well-known/openid-configuration")
            if not isinstance(meta, dict) or not isinstance(meta.get("jwks_uri"), str):
                problems.append(f"{realm.name}: discovery has no jwks_uri")
                continue
            document = _get_json(meta["jwks_uri"])
            keys = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(keys, list):
                problems.append(f"{realm.name}: the served JWKS has no key list")
                continue
            # published from sign_from to sign_until + the token lifetime: the signing span is the rest
            longest = ctx.watch.max_signing_lifetime + realm.policy.max_token_lifetime
            for jwk in keys:
                kid = jwk.get("kid") if isinstance(jwk, dict) else None
                if kid in tripwires:
                    continue
                checked += 1
                nbf, exp = jwk.get("nbf"), jwk.get("exp")
                if kid not in known:
                    problems.append(f"{realm.name}: serves {kid}, which the registry does not know")
                elif not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float)):
                    problems.append(f"{realm.name}: {kid} is served without a window")
                elif exp <= now:
                    problems.append(f"{realm.name}: {kid} is served past its window")
                elif exp - nbf > longest + 1:
                    problems.append(f"{realm.name}: {kid} signs for {exp - nbf - realm.policy.max_token_lifetime:.0f}s,"
                                    f" the watch policy allows {ctx.watch.max_signing_lifetime:.0f}s")
    if problems:
        return ProbeOutcome.failed(ProbeReason.FAILED, "; ".join(problems))
    return ProbeOutcome.passed(f"{checked} served keys within policy")


def audit_log_verifies(ctx: ProbeContext) -> ProbeOutcome:
    """audit_retention: the chain verifies under the pinned key, its checkpoint is fresh, and the
    configured retention meets the floor for this home's keys."""
    with open_services(ctx.home, actor="signward-watch") as services:
        result = services.audit.verify()  # under the pinned key, with the published checkpoint
        if not result.ok:
            return ProbeOutcome.failed(ProbeReason.FAILED,
                                       f"audit verify: {result.broken.to_dict() if result.broken else 'failed'}")
        try:
            check_retention(services.config.audit.retention_days * 86400, services.registry.max_verify_window())
        except ConfigError as exc:  # below the retention floor
            return ProbeOutcome.failed(ProbeReason.FAILED, str(exc))
    return ProbeOutcome.passed(f"{result.records} records verify, {result.checkpoints} checkpoints; retention meets "
                               "the floor")


DEPLOYMENT_PROBES = {
    "hsm": "signward.watch.drills:drill_hsm",
    "key_expiry": "signward.watch.probes:relying_parties_refuse_expired_keys",
    "issuer_binding": "signward.watch.probes:relying_parties_bind_issuers",
    "issuance_check": "signward.watch.probes:relying_parties_check_issuance",
    "grant_approval": "signward.watch.drills:drill_grant_approval",
    "rotation": "signward.watch.probes:served_jwks_within_policy",
    "audit_retention": "signward.watch.probes:audit_log_verifies",
    "redaction": "signward.watch.drills:drill_redaction",
    "canary_check": "signward.watch.drills:drill_canary_check",
    "release_gate": "signward.watch.drills:drill_release_gate",
    "store_rescan": "signward.watch.drills:drill_store_rescan",
    # an input class of the model: the drill fails when one hostile artifact passes both scans
    "input:undecoded_encoding": "signward.watch.drills:drill_undecoded_encoding",
}

__all__ = ["DEPLOYMENT_PROBES", "audit_log_verifies", "relying_parties_bind_issuers",
           "relying_parties_check_issuance",
           "relying_parties_refuse_expired_keys", "served_jwks_within_policy"]
