"""The key registry: realms, keys and every lifecycle transition, each in one transaction.

Key generation happens inside the write transaction and destruction after its commit, so a
process killed at any point leaves the registry as it was before or after the transition,
never between, and every key the registry can use still has its HSM object. (The worst a
kill can leave is an unreferenced object in the HSM, which is never published or used.)
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol, Sequence
from urllib.parse import urlsplit

from ..algorithms import Alg
from ..clock import Clock, SystemClock
from ..errors import ConfigError, InvalidTransition, NoSigningKey, NotFound, SignwardError
from ..hsm.base import SigningBackend
from ..retention import check_retention
from ..store.base import Store, Transaction
from .jwk import jwks_document, public_jwk, thumbprint
from .model import KeyRecord, KeyState, Realm, RotationPolicy
from .tripwire import published_tripwires

REALM_NAME = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,62}\Z")
Event = dict[str, Any]
alert_log = logging.getLogger("signward.alert")


class Auditor(Protocol):
    """What the registry needs of the audit log (signward.audit.AuditLog)."""

    def append(self, actor: str, action: str, obj: str = "", details: dict[str, Any] | None = None,
               severity: str = "info", tx: Transaction | None = None,
               also: Sequence[tuple[str, Sequence[Any]]] = ()) -> Any: ...


HOST = re.compile(r"\A(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                  r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z")
PATH_SEGMENT = re.compile(r"\A[A-Za-z0-9._~!$&'()*+,;=:@%-]*\Z")


def check_issuer_url(url: str) -> str:
    """An issuer is an absolute https URL (http only on loopback) with a plain host name or IP
    address, a valid port, no user info, query or fragment, and a path of plain segments
    (no '.', '..', whitespace or control characters). Returned without a trailing slash."""
    if not isinstance(url, str) or len(url) > 2048 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ConfigError(f"issuer must be an absolute URL without whitespace, not {url!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise ConfigError(f"issuer {url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigError(f"issuer must be an absolute https URL without query or fragment, not {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"issuer {url!r} must not carry user information")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"issuer {url!r} has an invalid port")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
        if not HOST.match(host):
            raise ConfigError(f"issuer {url!r} has an invalid host name") from None
    segments = parts.path.rstrip("/").split("/")[1:] if parts.path.rstrip("/") else []
    if any(s in ("", ".", "..") or not PATH_SEGMENT.match(s) for s in segments):
        raise ConfigError(f"issuer {url!r} has an invalid path (empty, '.' or '..' segments)")
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if parts.scheme == "http" and not loopback:
        raise ConfigError(f"issuer {url!r} must use https (plain http only on loopback)")
    return url.rstrip("/")


def verify_window(policy: RotationPolicy) -> float:
    """How long one key of this policy is published: pre-publication, signing, then token lifetime."""
    return policy.prepublish_lead + policy.max_signing_lifetime + policy.max_token_lifetime


def _state_by_time(key: KeyRecord, now: float) -> KeyState:
    """Where time alone moves a key that has not been revoked or destroyed."""
    if key.state in (KeyState.REVOKED, KeyState.DESTROYED):
        return key.state
    if now >= key.verify_until:
        return KeyState.RETIRED
    if key.state is KeyState.RETIRING or now >= key.sign_until:
        return KeyState.RETIRING
    if now >= key.sign_from:
        return KeyState.ACTIVE
    return KeyState.PENDING


class Registry:
    """Realms and their keys; the only writer of key state."""

    def __init__(self, store: Store, backend: SigningBackend, clock: Clock | None = None,
                 listeners: list[Callable[[Event], None]] | None = None, audit: Auditor | None = None,
                 actor: str = "system", retention_seconds: float | None = None) -> None:
        """`retention_seconds`: the audit log's retention; a realm whose keys would outlive it is refused."""
        self.retention_seconds = retention_seconds
        self.store = store
        self.backend = backend
        self.clock = clock or SystemClock()
        self.listeners = listeners if listeners is not None else []
        self.audit = audit
        self.actor = actor

    def _record_weakened(self, tx: Transaction, record: KeyRecord) -> None:
        """A key made in process memory: the weakened HSM control takes effect, on the record."""
        if self.audit is not None and self.backend.holds_keys_in_process:
            self.audit.append(self.actor, "control.weakened", record.kid,
                              {"setting": "hsm.allow_insecure_software_keys", "backend": self.backend.name},
                              severity="warning", tx=tx)

    def _record(self, tx: Transaction, event: Event) -> None:
        """Audit an event inside the transaction that makes it: no record, no change."""
        if self.audit is not None:
            details = {k: v for k, v in event.items() if k not in ("action", "kid")}
            self.audit.append(self.actor, str(event["action"]), str(event.get("kid") or event.get("realm", "")),
                              details, tx=tx)

    # -- realms ---------------------------------------------------------------------------

    def create_realm(self, name: str, issuer: str, alg: Alg = Alg.ES256,
                     policy: RotationPolicy | None = None) -> Realm:
        if not REALM_NAME.match(name):
            raise ConfigError(f"realm name {name!r} must be 1-63 characters of a-z, 0-9, '-' and '_'")
        issuer = check_issuer_url(issuer)
        policy = policy or RotationPolicy()
        if self.retention_seconds is not None:
            check_retention(self.retention_seconds, max(self.max_verify_window(), verify_window(policy)))
        now = self.clock.now()
        with self.store.transaction() as tx:
            if tx.one("SELECT name FROM realms WHERE name = ? OR issuer = ?", (name, issuer)):
                raise ConfigError(f"a realm named {name!r} or with issuer {issuer!r} exists already")
            tx.execute(
                "INSERT INTO realms (name, issuer, alg, max_signing_lifetime, prepublish_lead, "
                "max_token_lifetime, destroy_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, issuer, alg.value, policy.max_signing_lifetime, policy.prepublish_lead,
                 policy.max_token_lifetime, policy.destroy_after, now))
            event = {"action": "realm.create", "realm": name, "issuer": issuer, "alg": alg.value}
            self._record(tx, event)
            # the first key in the same transaction: a realm never exists without one (an algorithm
            # the HSM lacks, or an HSM that is down, leaves no realm behind)
            first = self._generate(tx, Realm(name, issuer, alg, policy, now), now, now)
            key_event = {"action": "key.create", "kid": first.kid, "reason": "no signing key",
                         "sign_from": first.sign_from, "realm": name}
            self._record(tx, key_event)
        self._emit(event)
        self._emit(key_event)
        self.rotate(name)
        return self.realm(name)

    def realm(self, name: str) -> Realm:
        with self.store.snapshot() as tx:
            row = tx.one("SELECT * FROM realms WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"no realm named {name!r}")
        return _realm(row)

    def realms(self) -> list[Realm]:
        with self.store.snapshot() as tx:
            return [_realm(r) for r in tx.all("SELECT * FROM realms ORDER BY name")]

    def realm_names(self) -> list[str]:
        """Every realm's name, read without parsing the rest of its row (a realm whose stored
        algorithm this version does not know is still listed, to be reported, not skipped)."""
        with self.store.snapshot() as tx:
            return [str(r["name"]) for r in tx.all("SELECT name FROM realms ORDER BY name")]

    def rotate_each(self, names: Sequence[str] | None = None) -> tuple[dict[str, list[Event]], dict[str, str]]:
        """Rotate every realm (or those named) on its own: a realm that cannot rotate (an
        algorithm the HSM cannot make, one this version does not know, any error at all) raises
        an alert and is left for the next round; the others rotate. Returns (events per realm
        rotated, error per realm that failed)."""
        done: dict[str, list[Event]] = {}
        failed: dict[str, str] = {}
        for name in (self.realm_names() if names is None else names):
            try:
                done[name] = self.rotate(name)
            except Exception as exc:  # noqa: BLE001 - one realm never stops the rotation of the others
                failed[name] = rotation_error(exc)
                self._alert_rotation_failure(name, failed[name])
        return done, failed

    def _alert_rotation_failure(self, realm: str, error: str) -> None:
        """The alert of a realm that did not rotate: a CRITICAL line on `signward.alert` and an
        audit record at alert severity (a failing audit is logged, the other realms go on)."""
        alert_log.critical(json.dumps({"alert": "rotation_failed", "realm": realm, "error": error}))
        if self.audit is None:
            return
        try:
            self.audit.append(self.actor, "rotation.failed", realm, {"error": error}, severity="alert")
        except Exception as exc:  # noqa: BLE001 - the log line above is the alert then
            alert_log.critical(json.dumps({"alert": "rotation_failed_unaudited", "realm": realm,
                                           "error": rotation_error(exc)}))

    def max_verify_window(self) -> float:
        """The longest time any realm's key stays verifiable (what the audit retention must outlive)."""
        return max((verify_window(r.policy) for r in self.realms()), default=0.0)

    # -- keys -----------------------------------------------------------------------------

    def keys(self, realm: str | None = None) -> list[KeyRecord]:
        """Every key of `realm` (NotFound when there is no such realm), or of every realm."""
        if realm is not None:
            self.realm(realm)  # an unknown (mistyped) realm is an error, not "0 keys"
        with self.store.snapshot() as tx:
            rows = (tx.all("SELECT * FROM keys WHERE realm = ? ORDER BY sign_from, kid", (realm,)) if realm
                    else tx.all("SELECT * FROM keys ORDER BY realm, sign_from, kid"))
        return [KeyRecord.from_row(r) for r in rows]

    def key(self, kid: str) -> KeyRecord:
        with self.store.snapshot() as tx:
            row = tx.one("SELECT * FROM keys WHERE kid = ?", (kid,))
        if row is None:
            raise NotFound(f"no key with kid {kid!r}")
        return KeyRecord.from_row(row)

    def _generate(self, tx: Transaction, realm: Realm, sign_from: float, now: float,
                  alg: Alg | None = None) -> KeyRecord:
        alg = alg or realm.alg
        handle, public = self.backend.generate(alg, label=f"signward:{realm.name}")
        kid = thumbprint(public)
        sign_until = sign_from + realm.policy.max_signing_lifetime
        record = KeyRecord(
            kid=kid, realm=realm.name, alg=alg,
            state=KeyState.ACTIVE if sign_from <= now else KeyState.PENDING,
            backend=self.backend.name, handle=handle, public_jwk=public_jwk(public), created_at=now,
            sign_from=sign_from, sign_until=sign_until,
            verify_until=sign_until + realm.policy.max_token_lifetime)
        tx.execute(
            "INSERT INTO keys (kid, realm, alg, state, backend, handle, public_jwk, created_at, sign_from, "
            "sign_until, verify_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.kid, record.realm, alg.value, record.state.value, record.backend, handle,
             json.dumps(record.public_jwk, sort_keys=True), now, sign_from, sign_until, record.verify_until))
        self._record_weakened(tx, record)
        return record

    def create_key(self, realm_name: str, alg: Alg | None = None, sign_from: float | None = None, *,
                   immediate: bool = False) -> KeyRecord:
        """A new key, published now; it signs from `sign_from`, or now with `immediate`, or by
        default after the pre-publication lead. The clock is read once."""
        if immediate and sign_from is not None:
            raise ConfigError("give sign_from or immediate, not both")
        realm = self.realm(realm_name)
        now = self.clock.now()
        start = now if immediate else now + realm.policy.prepublish_lead if sign_from is None else sign_from
        if start < now:
            raise ConfigError("a new key cannot start signing in the past")
        with self.store.transaction() as tx:
            record = self._generate(tx, realm, start, now, alg)
            event = {"action": "key.create", "realm": realm.name, "kid": record.kid, "alg": record.alg.value,
                     "sign_from": record.sign_from, "sign_until": record.sign_until}
            self._record(tx, event)
        self._emit(event)
        return record

    def rotate(self, realm_name: str) -> list[Event]:
        """Do what the rotation policy says is due now; doing it twice changes nothing."""
        realm = self.realm(realm_name)
        events: list[Event] = []
        to_destroy: list[str] = []
        with self.store.transaction() as tx:
            now = self.clock.now()
            keys = [KeyRecord.from_row(r) for r in tx.all("SELECT * FROM keys WHERE realm = ?", (realm.name,))]
            for key in keys:
                target = _state_by_time(key, now)
                destroy = (target is KeyState.RETIRED
                           and now >= key.verify_until + realm.policy.destroy_after)
                if destroy:
                    # Recorded first, destroyed after the commit: a kill in between leaves an
                    # unused object in the HSM, never a registry key whose object is gone.
                    tx.execute("UPDATE keys SET state = ?, destroyed_at = ? WHERE kid = ?",
                               (KeyState.DESTROYED.value, now, key.kid))
                    to_destroy.append(key.handle)
                    events.append({"action": "key.destroy", "kid": key.kid})
                elif target is not key.state:
                    tx.execute("UPDATE keys SET state = ? WHERE kid = ?", (target.value, key.kid))
                    events.append({"action": f"key.{target.value}", "kid": key.kid})
            live = [KeyRecord.from_row(r) for r in tx.all(
                "SELECT * FROM keys WHERE realm = ? AND state IN (?, ?)",
                (realm.name, KeyState.ACTIVE.value, KeyState.PENDING.value))]
            if not any(k.can_sign(now) for k in live):
                fresh = self._generate(tx, realm, now, now)
                live.append(fresh)
                events.append({"action": "key.create", "kid": fresh.kid, "reason": "no signing key",
                               "sign_from": fresh.sign_from})
            tail = max(k.sign_until for k in live)
            if tail - now <= realm.policy.prepublish_lead:
                successor = self._generate(tx, realm, tail, now)
                events.append({"action": "key.create", "kid": successor.kid, "reason": "successor",
                               "sign_from": successor.sign_from})
            for event in events:
                self._record(tx, {**event, "realm": realm.name})
        for handle in to_destroy:
            self.backend.destroy(handle)
        events = [{**event, "realm": realm.name} for event in events]
        for event in events:
            self._emit(event)
        return events

    def retire(self, kid: str) -> KeyRecord:
        """Stop a key signing now; it stays published until its verify window closes."""
        with self.store.transaction() as tx:
            key = self._locked_key(tx, kid)
            if key.state not in (KeyState.PENDING, KeyState.ACTIVE):
                raise InvalidTransition(f"key {kid} is {key.state.value}; only pending or active keys retire")
            realm = _realm(tx.one("SELECT * FROM realms WHERE name = ?", (key.realm,)) or {})
            now = self.clock.now()
            until = min(key.sign_until, max(now, key.sign_from))
            tx.execute("UPDATE keys SET state = ?, sign_until = ?, verify_until = ? WHERE kid = ?",
                       (KeyState.RETIRING.value, until, until + realm.policy.max_token_lifetime, kid))
            self._record(tx, {"action": "key.retire", "kid": kid, "realm": key.realm})
        self._emit({"action": "key.retire", "kid": kid, "realm": key.realm})
        self.rotate(key.realm)
        return self.key(kid)

    def revoke(self, kid: str) -> KeyRecord:
        """Withdraw a key at once: it leaves the JWKS now and never signs again."""
        with self.store.transaction() as tx:
            key = self._locked_key(tx, kid)
            if key.state in (KeyState.REVOKED, KeyState.DESTROYED):
                raise InvalidTransition(f"key {kid} is {key.state.value} already")
            tx.execute("UPDATE keys SET state = ?, revoked_at = ? WHERE kid = ?",
                       (KeyState.REVOKED.value, self.clock.now(), kid))
            self._record(tx, {"action": "key.revoke", "kid": kid, "realm": key.realm})
        self._emit({"action": "key.revoke", "kid": kid, "realm": key.realm})
        self.rotate(key.realm)
        return self.key(kid)

    def signing_key(self, realm_name: str) -> KeyRecord:
        """The key that signs for the realm now: active, inside its window, newest first."""
        now = self.clock.now()
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT * FROM keys WHERE realm = ? AND state = ? AND sign_from <= ? AND sign_until > ? "
                          "ORDER BY sign_from DESC LIMIT 1", (realm_name, KeyState.ACTIVE.value, now, now))
        if not rows:
            raise NoSigningKey(f"realm {realm_name!r} has no key allowed to sign now (run 'signward keys rotate')")
        return KeyRecord.from_row(rows[0])

    def jwks(self, realm_name: str) -> dict[str, Any]:
        """The realm's published keys, its tripwires among them (indistinguishable there)."""
        realm = self.realm(realm_name)
        now = self.clock.now()
        document = jwks_document(self.keys(realm.name), realm.issuer, now)
        document["keys"] += [w.published(realm.issuer) for w in published_tripwires(self.store, realm.name, now)]
        return document

    # -- helpers --------------------------------------------------------------------------

    def _locked_key(self, tx: Transaction, kid: str) -> KeyRecord:
        row = tx.one("SELECT * FROM keys WHERE kid = ?", (kid,))
        if row is None:
            raise NotFound(f"no key with kid {kid!r}")
        return KeyRecord.from_row(row)

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)


def rotation_error(exc: BaseException) -> str:
    """One line for a rotation failure: the error's own diagnostics, or its class and text."""
    if isinstance(exc, SignwardError):
        return exc.diagnostics()
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def _realm(row: dict[str, Any]) -> Realm:
    if not row:
        raise NotFound("realm vanished")
    return Realm(name=row["name"], issuer=row["issuer"], alg=Alg(row["alg"]),
                 policy=RotationPolicy(max_signing_lifetime=row["max_signing_lifetime"],
                                       prepublish_lead=row["prepublish_lead"],
                                       max_token_lifetime=row["max_token_lifetime"],
                                       destroy_after=row["destroy_after"]),
                 created_at=row["created_at"])
