"""Access tokens as JWTs per RFC 9068, signed through the HSM path.

Header: typ `at+jwt`, alg and kid from the signing key (never chosen by the caller).
Claims: iss, sub, aud, tid, client_id, scope, iat, nbf, exp, jti.
"""

from __future__ import annotations

import binascii
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..audit.batch import Pending, Statement
from ..audit.chain import canonical_details
from ..clock import Clock, SystemClock
from ..compact_json import CompactEncoder
from ..errors import NotFound, SignatureCheckFailed, UsageError
from ..hsm.base import CheckedSigner
from ..keys.jwk import thumbprint
from ..keys.model import KeyRecord, Realm
from ..keys.registry import Auditor, Registry
from .issuance import ClientCheck, IssuanceRecords

log = logging.getLogger("signward.issuer")
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 2), in C: binascii and bytes.translate."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_URLSAFE)


_ENCODER = CompactEncoder(sort_keys=True)  # one C encoder, not one per call (compact_json)


def _json(obj: dict[str, Any]) -> bytes:
    return _ENCODER.encode(obj).encode()


MAX_CLAIM_TEXT = 1024  # characters in sub, aud, tid, client_id and scope
_CONTROL = re.compile("[\x00-\x1f]")


_CHECKED: set[str] = set()  # values that passed _check_text (a pure check): a client's are the same every token


def _check_text(name: str, value: str) -> None:
    """A claim value is UTF-8 text of bounded length without control characters."""
    if value in _CHECKED:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{name} is not UTF-8 text") from None
    if len(value) > MAX_CLAIM_TEXT or _CONTROL.search(value) is not None:
        raise UsageError(f"{name} must be at most {MAX_CLAIM_TEXT} characters without control characters")
    if len(_CHECKED) >= 4096:  # bounded: many distinct subjects only cost the check again
        _CHECKED.clear()
    _CHECKED.add(value)


_HEADERS: dict[tuple[str, str], bytes] = {}  # (alg, kid): the header's base64url segment and its dot


def _header_segment(alg: str, kid: str) -> bytes:
    """The protected header's encoded segment for a key, built once per (alg, kid)."""
    segment = _HEADERS.get((alg, kid))
    if segment is None:
        segment = _b64(_json({"alg": alg, "kid": kid, "typ": "at+jwt"})) + b"."
        if len(_HEADERS) >= 1024:  # bounded: keys rotate, the old entries go
            _HEADERS.clear()
        _HEADERS[(alg, kid)] = segment
    return segment


@dataclass(frozen=True)
class TokenRecord:
    """What a signed token needs on record before release: its audit record's actor, object
    (kid) and details, and its issued-token row (`IssuanceRecords.statement`'s arguments)."""

    actor: str
    kid: str
    details: dict[str, Any]
    row: dict[str, Any]
    also: Sequence[Statement]  # the row's INSERT, committed with the audit record (none without issuance)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    kid: str
    jti: str
    expires_in: int
    claims: dict[str, Any]


class TokenService:
    """Builds and signs access tokens for a realm with its current signing key."""

    def __init__(self, registry: Registry, signer: CheckedSigner, clock: Clock | None = None,
                 cache_seconds: float = 5.0, audit: Auditor | None = None,
                 issuance: IssuanceRecords | None = None) -> None:
        self.audit = audit
        self.issuance = issuance
        self.registry = registry
        self.signer = signer
        self.clock = clock or registry.clock or SystemClock()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Realm, KeyRecord]] = {}
        self._kids_checked: set[str] = set()  # kids whose backend key was shown to be that key
        self._lock = threading.Lock()
        self.observe_hsm: Callable[[str, float], None] | None = None  # (realm, seconds) of each signature

    def _current(self, realm_name: str) -> tuple[Realm, KeyRecord]:
        now = self.clock.now()
        hit = self._cache.get(realm_name)
        if hit is not None:
            fetched, realm, key = hit
            if now - fetched < self.cache_seconds and fetched <= now and key.can_sign(now):
                return realm, key
        realm = self.registry.realm(realm_name)
        key = self.registry.signing_key(realm_name)
        with self._lock:
            self._cache[realm_name] = (now, realm, key)
        return realm, key

    def knows(self, realm_name: str) -> bool:
        """Whether the realm exists (cached like the signing key; never raises)."""
        if realm_name in self._cache:
            return True
        try:
            self.registry.realm(realm_name)
        except NotFound:
            return False
        return True

    def forget(self) -> None:
        """Drop cached keys (after a revocation in this process)."""
        with self._lock:
            self._cache.clear()

    def issue(self, realm_name: str, *, sub: str, audience: str, tenant: str, client_id: str | None = None,
              scope: str = "", ttl: float | None = None, client: ClientCheck | None = None) -> IssuedToken:
        """Sign and record a token. `client` (from `ClientRegistry.authenticate_cached`) makes the
        token's record commit only while that client is still enabled with that secret."""
        issued, record = self.sign(realm_name, sub=sub, audience=audience, tenant=tenant, client_id=client_id,
                                   scope=scope, ttl=ttl, client=client)
        self.record(record)
        return issued

    def sign(self, realm_name: str, *, sub: str, audience: str, tenant: str, client_id: str | None = None,
             scope: str = "", ttl: float | None = None,
             client: ClientCheck | None = None) -> tuple[IssuedToken, TokenRecord]:
        """Build and sign a token, checked against the key, and what must be durably recorded
        before it may be released (`record` or `record_all`): the token is not released yet."""
        for name, value in (("sub", sub), ("audience", audience), ("tenant", tenant), ("client_id", client_id or ""),
                            ("scope", scope)):
            _check_text(name, value)
        realm, key = self._current(realm_name)
        lifetime = realm.policy.max_token_lifetime if ttl is None else ttl
        if not 0 < lifetime <= realm.policy.max_token_lifetime:
            raise UsageError(f"token lifetime must be between 1 and {int(realm.policy.max_token_lifetime)} seconds")
        now = int(self.clock.now())
        jti = secrets.token_urlsafe(16)
        claims: dict[str, Any] = {
            "iss": realm.issuer, "sub": sub, "aud": audience, "tid": tenant,
            "client_id": client_id or sub, "scope": scope, "iat": now, "nbf": now,
            "exp": now + int(lifetime), "jti": jti,
        }
        if key.kid not in self._kids_checked:
            # the backend's key behind the handle must be the kid's key (its RFC 7638 thumbprint):
            # a key deleted and made again under the same name in Transit signs valid-looking
            # tokens no relying party accepts, and the checked signer alone compares against it
            if thumbprint(self.signer.public_key(key.handle, key.alg)) != key.kid:
                raise SignatureCheckFailed(f"the {self.signer.backend.name} key behind kid {key.kid} is not that key "
                                           "(replaced in the backend): nothing is signed with it")
            self._kids_checked.add(key.kid)
        signing_input = _header_segment(key.alg.value, key.kid) + _b64(_json(claims))
        started = time.perf_counter()
        signature = self.signer.sign(key.handle, key.alg, signing_input)
        if self.observe_hsm is not None:
            self.observe_hsm(realm.name, time.perf_counter() - started)
        token = (signing_input + b"." + _b64(signature)).decode()
        row: dict[str, Any] = dict(jti=jti, realm=realm.name, kid=key.kid, sub=sub, token=token, exp=claims["exp"],
                                   client=client)
        # the issued-token row (what introspection answers from) commits with the audit record
        also = [IssuanceRecords.statement(**row)] if self.issuance is not None else []
        record = TokenRecord(client_id or sub, key.kid, {"kid": key.kid, "sub": sub, "tid": tenant, "jti": jti,
                                                         "aud": audience, "realm": realm.name}, row, also)
        return IssuedToken(token=token, kid=key.kid, jti=jti, expires_in=int(lifetime), claims=claims), record

    def record(self, record: TokenRecord) -> None:
        """Make a signed token's record durable (raises StoreError: then it must not be released)."""
        if self.audit is not None:  # no record, no token: a failed write raises before release
            # in the audit log's group commit
            self.audit.append(record.actor, "token.issue", record.kid, record.details, also=record.also)
        elif self.issuance is not None:
            self.issuance.record(**record.row)

    def record_all(self, records: Sequence[TokenRecord]) -> list[Exception | None]:
        """Make several tokens' records durable in one write transaction (issue 39: the issuer's
        committer thread; `AuditLog.append_batch`, so the log's remembered Merkle range and its
        checkpoints follow); each entry None once its record is durable, else the error that keeps
        that token from release. A batch that fails is tried again one record at a time
        (`record`), so one record that cannot be written fails only its own token."""
        append_batch = getattr(self.audit, "append_batch", None)
        if append_batch is None or len(records) < 2:
            return [self._recorded(record) for record in records]
        try:
            append_batch([Pending(r.actor, "token.issue", r.kid, "info", canonical_details(r.details), tuple(r.also),
                                  r.details) for r in records])
        except Exception:  # noqa: BLE001 - each record alone: only the one that cannot be written fails
            return [self._recorded(record) for record in records]
        return [None] * len(records)

    def _recorded(self, record: TokenRecord) -> Exception | None:
        try:
            self.record(record)
        except Exception as exc:  # noqa: BLE001 - handed to the token's request, which answers for it
            return exc
        return None
