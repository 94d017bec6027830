"""The strict token validator: no expired key, no key of another issuer, no JWS trick.

`Validator.verify(token)` returns a `Verdict`; it never raises for any input. Inside,
each rule raises `Rejected(reason)`. The checks run in this order of concern: strict
parsing, header rules (allowlist, no key references, crit), issuer trust, the key bound to
that issuer, the key's validity window, the signature, then the claims (RFC 9068 / 7519).

Insecure options exist for the Storm-0558 lab only; they say so in their names and log a
warning when used.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Any, NoReturn

from ..algorithms import signature_ok
from ..clock import Clock, SystemClock
from ..errors import ConfigError, Rejected
from . import jws
from .introspection import IntrospectionUnavailable, Introspector
from .keyset import KeyDropped, TrustedKey, load_key
from .reasons import ALERT_REASONS, Reason
from .sources import JwksSource, JwksUnavailable, source_for

log = logging.getLogger("signward.verify")
alert_log = logging.getLogger("signward.alert")
MAX_SKEW = 600.0
_SEAL = object()


class VerifiedClaims(Mapping[str, Any]):
    """Claims of a token that passed every check; only the validator can make one."""

    def __init__(self, claims: dict[str, Any], seal: object) -> None:
        if seal is not _SEAL:
            raise TypeError("VerifiedClaims are made by the validator only")
        self._claims = MappingProxyType(dict(claims))

    def __getitem__(self, key: str) -> Any:
        return self._claims[key]

    def __iter__(self) -> Any:
        return iter(self._claims)

    def __len__(self) -> int:
        return len(self._claims)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._claims)


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: Reason | None
    kid: str | None = None
    issuer: str | None = None
    claims: VerifiedClaims | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason.value if self.reason else None, "kid": self.kid,
                "issuer": self.issuer, "claims": self.claims.to_dict() if self.claims else {}}


@dataclass(frozen=True)
class JwsVerdict:
    valid: bool
    reason: Reason | None
    kid: str | None = None
    payload_b64: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason.value if self.reason else None, "kid": self.kid,
                "payload_b64": self.payload_b64}


Alert = dict[str, Any]


def _seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z: later is no date a token can carry


def _number(claims: dict[str, Any], name: str, required: bool) -> float | None:
    if name not in claims:
        if required:
            raise Rejected(Reason.MALFORMED, f"required claim {name} missing")
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Rejected(Reason.MALFORMED, f"{name} is not a NumericDate")
    if isinstance(value, int) and not 0 <= value <= MAX_NUMERIC_DATE:  # checked before float(): 10**400
        raise Rejected(Reason.MALFORMED, f"{name} is outside the NumericDate range")
    if not math.isfinite(value) or not 0 <= value <= MAX_NUMERIC_DATE:
        raise Rejected(Reason.MALFORMED, f"{name} is not a NumericDate in range")
    return float(value)


def _check_types(claims: dict[str, Any]) -> None:
    for name in ("iss", "sub", "tid", "client_id", "scope", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise Rejected(Reason.MALFORMED, f"{name} is not a string")
    aud = claims.get("aud")
    if "aud" in claims and not (isinstance(aud, str) or (isinstance(aud, list) and aud
                                                          and all(isinstance(a, str) for a in aud))):
        raise Rejected(Reason.MALFORMED, "aud is not a string or a list of strings")


def _honey_loaded(jwk: Mapping[str, Any]) -> list[TrustedKey]:
    """A honey key's public JWK as TrustedKeys: an RSA key without `alg` once per RSA algorithm
    (whoever holds the private key chooses); ConfigError when it is not a usable public key."""
    document = dict(jwk)
    algs: list[str | None] = ["RS256", "PS256"] if document.get("kty") == "RSA" and "alg" not in document else [None]
    try:
        return [load_key({**document, "alg": alg} if alg else document, None) for alg in algs]
    except KeyDropped as exc:
        raise ConfigError(f"honey key {document.get('kid')!r} is not a usable public JWK: {exc}") from None


class _ForeignKey(Rejected):
    """Inside the validator: the kid names a key of another trusted issuer (`key`)."""

    def __init__(self, key: TrustedKey, detail: str) -> None:
        super().__init__(Reason.KEY_NOT_BOUND_TO_ISSUER, detail)
        self.key = key


def check_key_window(key: TrustedKey, now: float, iat: float | None = None, exp: float | None = None) -> None:
    """A key verifies only inside its window, and only tokens that end inside it."""
    if key.exp is not None and now >= key.exp:
        raise Rejected(Reason.KEY_EXPIRED, f"key {key.kid} expired at {key.exp:.0f}")
    if key.nbf is not None and (now < key.nbf or (iat is not None and iat < key.nbf)):
        raise Rejected(Reason.KEY_NOT_YET_VALID, f"key {key.kid} is valid from {key.nbf:.0f}")
    if key.exp is not None and exp is not None and exp > key.exp:
        raise Rejected(Reason.KEY_EXPIRED, f"token outlives key {key.kid}")


def check_signature(key: TrustedKey, parsed: jws.ParsedJws) -> None:
    if parsed.alg != key.alg.value:
        raise Rejected(Reason.ALG_NOT_ALLOWED, f"header alg {parsed.alg} is not the key's {key.alg.value}")
    if not signature_ok(key.public_key, key.alg, parsed.signing_input, parsed.signature):
        raise Rejected(Reason.BAD_SIGNATURE, "signature does not verify")


class Validator:
    """Validates access tokens against per-issuer trusted key sets; strict by default."""

    def __init__(self, *, trust: Mapping[str, str | JwksSource], audience: str,
                 clock_skew: timedelta | float = 60.0, max_lifetime: timedelta | float = 86400.0,
                 require_at_jwt: bool = True, honey: Iterable[str] = (),
                 honey_keys: Iterable[Mapping[str, Any]] = (), clock: Clock | None = None,
                 on_alert: Callable[[Alert], None] | None = None,
                 on_reject: Callable[[Alert], None] | None = None,
                 insecure_ignore_key_validity: bool = False,
                 insecure_shared_keyset: bool = False,
                 introspect: Mapping[str, Introspector | tuple[str, str, str]] | None = None,
                 introspect_audiences: Iterable[str] | None = None) -> None:
        if not trust:
            raise ConfigError("trust must name at least one issuer")
        if not isinstance(audience, str) or not audience:
            raise ConfigError("audience must be a non-empty string")
        skew = _seconds(clock_skew)
        if not 0 <= skew <= MAX_SKEW:
            raise ConfigError(f"clock_skew must be between 0 and {MAX_SKEW:.0f} seconds")
        lifetime = _seconds(max_lifetime)
        if lifetime <= 0:
            raise ConfigError("max_lifetime must be positive")
        self.clock = clock or SystemClock()
        self.sources: dict[str, JwksSource] = {
            issuer: (source_for(issuer, src, self.clock) if isinstance(src, str) else src)
            for issuer, src in trust.items()}
        self.audience = audience
        self.skew = skew
        self.max_lifetime = lifetime
        self.require_at_jwt = require_at_jwt
        # a honey kid raises an alert only for a signature that verifies under its key: the key
        # comes from `honey_keys` (public JWKs, e.g. canaries that no key set publishes) or from
        # a trusted key set (tripwires); without one the token is an ordinary refusal
        self.honey_keys: dict[str, list[TrustedKey]] = {}
        for jwk in honey_keys:
            for key in _honey_loaded(jwk):
                for name in dict.fromkeys((key.kid, key.thumbprint)):
                    self.honey_keys.setdefault(name, []).append(key)
        self.honey = frozenset(honey) | frozenset(self.honey_keys)
        self.internal_errors = 0  # verdicts that a bug, not a rule, refused (tests require none)
        self.on_alert = on_alert
        self.on_reject = on_reject
        unknown = set(introspect or {}) - set(self.sources)
        if unknown:
            raise ConfigError(f"introspect names issuers that are not trusted: {sorted(unknown)}")
        self.introspect: dict[str, Introspector] = {
            issuer: (how if isinstance(how, Introspector) else Introspector(*how, clock=self.clock))
            for issuer, how in (introspect or {}).items()}
        self.introspect_audiences = frozenset(introspect_audiences) if introspect_audiences is not None else None
        self.insecure_ignore_key_validity = insecure_ignore_key_validity
        self.insecure_shared_keyset = insecure_shared_keyset
        if insecure_ignore_key_validity:
            log.warning("INSECURE: key validity windows are ignored (insecure_ignore_key_validity)")
        if insecure_shared_keyset:
            log.warning("INSECURE: one key set for every issuer (insecure_shared_keyset)")

    def close(self) -> None:
        """Close the HTTP clients of URL sources."""
        for source in self.sources.values():
            closer = getattr(source, "close", None)
            if callable(closer):
                closer()
        for introspector in self.introspect.values():
            introspector.close()

    def __enter__(self) -> "Validator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- entry points ---------------------------------------------------------------------

    def verify(self, token: str | bytes, *, audience: str | None = None, introspect: bool | None = None) -> Verdict:
        """The verdict on a token; never raises. `audience` replaces the validator's own for this
        check (a gateway with one audience per route shares one validator and its key sets);
        `introspect` True or False decides the issuance check for this call (None: by audience)."""
        if audience is not None and (not isinstance(audience, str) or not audience):
            raise ConfigError("audience must be a non-empty string")  # the caller's bug, not the token's
        state: dict[str, str | None] = {"kid": None, "issuer": None}
        try:
            claims = self._verify(token, state, audience or self.audience, introspect)
        except Rejected as rejected:
            reason = Reason(rejected.reason)
            self._alert(reason, state, rejected.detail)
            return Verdict(False, reason, state["kid"], state["issuer"], None, rejected.detail)
        except Exception as exc:  # a bug must not turn into acceptance or a 500: refused, counted, logged
            self.internal_errors += 1
            log.exception("validator error")
            return Verdict(False, Reason.INTERNAL_ERROR, state["kid"], state["issuer"], None, type(exc).__name__)
        return Verdict(True, None, state["kid"], state["issuer"], VerifiedClaims(claims, _SEAL))

    def _verify(self, token: str | bytes, state: dict[str, str | None], audience: str,
                introspect: bool | None = None) -> dict[str, Any]:
        parsed = jws.parse(token)
        state["kid"] = parsed.kid
        claims = jws.json_object(parsed.payload, "payload")
        _check_types(claims)
        exp = _number(claims, "exp", required=True)
        iat = _number(claims, "iat", required=True)
        nbf = _number(claims, "nbf", required=False)
        issuer = claims.get("iss")
        state["issuer"] = issuer if isinstance(issuer, str) else None
        if parsed.kid is not None and parsed.kid in self.honey:
            self._honey_signed(parsed, parsed.kid, issuer if isinstance(issuer, str) else None, exp)
        if not isinstance(issuer, str) or issuer not in self.sources:
            raise Rejected(Reason.WRONG_ISSUER, f"issuer {issuer!r} is not trusted")
        if parsed.kid is None:
            raise Rejected(Reason.UNKNOWN_KEY, "no kid")
        try:
            key = self._key_for(issuer, parsed.kid)
        except _ForeignKey as foreign:
            # an alert only for a token really signed by the other issuer's key: unsigned garbage
            # naming a known kid is bad_signature (a warning), so nobody floods the alert channel
            check_signature(foreign.key, parsed)
            raise Rejected(Reason.KEY_NOT_BOUND_TO_ISSUER, foreign.detail) from None
        if key.thumbprint in self.honey:
            check_signature(key, parsed)  # an alert only for a token really signed by the honey key
            self._not_a_replay(key.kid, exp)
            raise Rejected(Reason.HONEY_KEY, f"key {key.kid} is a honey key")
        if not self.insecure_ignore_key_validity:
            try:
                check_key_window(key, self.clock.now(), iat, exp)
            except Rejected:
                check_signature(key, parsed)  # the same: key_expired (an alert) only for a real signature
                raise
        check_signature(key, parsed)
        self._check_claims(parsed, claims, issuer, audience, exp or 0.0, iat or 0.0, nbf)
        if introspect is None:
            introspect = self.introspect_audiences is None or audience in self.introspect_audiences
        if introspect:
            self._check_issued(token, issuer, exp or 0.0)
        return claims

    def verify_jws(self, token: str | bytes, keys: Mapping[str, TrustedKey]) -> JwsVerdict:
        """JWS level only: header and signature rules (and the key's window), any payload."""
        kid = None
        try:
            parsed = jws.parse(token)
            kid = parsed.kid
            if kid is not None and kid not in keys and kid in self.honey_keys:
                self._honey_signed(parsed, kid, None)
            if kid is None or kid not in keys:
                raise Rejected(Reason.UNKNOWN_KEY, "no such kid")
            key = keys[kid]
            if kid in self.honey or key.thumbprint in self.honey:
                check_signature(key, parsed)  # as in verify: an alert needs a real signature
                raise Rejected(Reason.HONEY_KEY, f"key {kid} is a honey key")
            check_key_window(key, self.clock.now())
            check_signature(key, parsed)
        except Rejected as rejected:
            reason = Reason(rejected.reason)
            self._alert(reason, {"kid": kid, "issuer": None}, rejected.detail)
            return JwsVerdict(False, reason, kid, None, rejected.detail)
        except Exception as exc:  # as in verify: refused, counted, logged
            self.internal_errors += 1
            log.exception("validator error")
            return JwsVerdict(False, Reason.INTERNAL_ERROR, kid, None, type(exc).__name__)
        payload_b64 = parsed.signing_input.split(b".", 1)[1].decode()
        return JwsVerdict(True, None, kid, payload_b64)

    # -- rules ----------------------------------------------------------------------------

    def _honey_signed(self, parsed: jws.ParsedJws, kid: str, issuer: str | None,
                      exp: float | None = None) -> NoReturn:
        """A token naming honey kid `kid`: HONEY_KEY (an alert: the key is in someone's hands)
        only when it is not a replay of an expired token (`_not_a_replay`: `expired`, whatever its
        signature) and its signature verifies under that key; else the ordinary refusal, never an
        alert that anyone could raise with a made-up signature or an old probe token."""
        self._not_a_replay(kid, exp)  # first: an expired token needs no key lookup (nor a refresh)
        key = self._honey_key(kid, issuer, parsed.alg)
        if key is None:
            raise Rejected(Reason.UNKNOWN_KEY, f"kid {kid} is a honey kid, but no key for it is known to check "
                                               "the signature (give its public JWK as a honey key)")
        check_signature(key, parsed)
        raise Rejected(Reason.HONEY_KEY, f"kid {kid} is a honey key (the signature verifies under it)")

    def _not_a_replay(self, kid: str, exp: float | None) -> None:
        """A honey-signed token that expired (beyond the skew) is an ordinary `expired` refusal, not
        an alert: a probe token (`signward watch`) a relying party once saw, replayed, proves
        nothing about who holds the key now, and would raise CRITICAL on every replay."""
        if exp is not None and self.clock.now() >= exp + self.skew:
            raise Rejected(Reason.EXPIRED, f"signed by honey key {kid}, but expired at {exp:.0f}: a replay, "
                                           "not an alert")

    def _honey_key(self, kid: str, issuer: str | None, alg: str) -> TrustedKey | None:
        """The public key of honey kid `kid`: a honey key (the one for the header's alg, where an
        RSA key names none), else the claimed issuer's set, else any trusted set (by kid or
        thumbprint; windows do not matter here)."""
        if kid in self.honey_keys:
            given = self.honey_keys[kid]
            return next((key for key in given if key.alg.value == alg), given[0])
        order = sorted(self.sources, key=lambda name: name != issuer)
        for name in order:
            try:
                keys = self.sources[name].keys(refresh_for_kid=kid) if name == issuer else self.sources[name].keys()
            except JwksUnavailable:
                continue
            if kid in keys:
                return keys[kid]
            for key in keys.values():
                if key.thumbprint == kid:
                    return key
        return None

    def _key_for(self, issuer: str, kid: str) -> TrustedKey:
        try:
            keys = self.sources[issuer].keys(refresh_for_kid=kid)
        except JwksUnavailable as exc:
            raise Rejected(Reason.JWKS_UNAVAILABLE, exc.diagnostics()) from None
        if kid in keys:
            return keys[kid]
        for other, source in self.sources.items():
            if other == issuer:
                continue
            try:
                elsewhere = source.keys()
            except JwksUnavailable:
                continue
            if kid in elsewhere:
                if self.insecure_shared_keyset:
                    return elsewhere[kid]
                raise _ForeignKey(elsewhere[kid], f"kid {kid} belongs to {other}, not {issuer}")
        raise Rejected(Reason.UNKNOWN_KEY, f"no key {kid} for {issuer}")

    def _check_claims(self, parsed: jws.ParsedJws, claims: dict[str, Any], issuer: str, audience: str,
                      exp: float, iat: float, nbf: float | None) -> None:
        if claims.get("iss") != issuer:
            raise Rejected(Reason.WRONG_ISSUER, "iss mismatch")
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else (aud or [])
        if audience not in audiences:
            raise Rejected(Reason.WRONG_AUDIENCE, f"audience {audience!r} not in {audiences!r}")
        now = self.clock.now()
        if now >= exp + self.skew:
            raise Rejected(Reason.EXPIRED, f"expired at {exp:.0f}")
        if (nbf is not None and nbf > now + self.skew) or iat > now + self.skew:
            raise Rejected(Reason.NOT_YET_VALID, "issued or valid in the future")
        if exp - iat > self.max_lifetime:
            raise Rejected(Reason.LIFETIME_TOO_LONG, f"lifetime {exp - iat:.0f}s over {self.max_lifetime:.0f}s")
        if self.require_at_jwt:
            typ = parsed.header.get("typ")
            if not isinstance(typ, str) or typ.lower() not in ("at+jwt", "application/at+jwt"):
                raise Rejected(Reason.WRONG_TYPE, f"typ {typ!r} is not at+jwt")

    def _check_issued(self, token: str | bytes, issuer: str, exp: float) -> None:
        """After every local check: ask the issuer, where it has an introspector, whether it issued the token."""
        introspector = self.introspect.get(issuer)
        if introspector is None:
            return
        text = token.decode("ascii") if isinstance(token, bytes) else token
        try:
            issued = introspector.issued(text, exp)
        except IntrospectionUnavailable as exc:
            raise Rejected(Reason.INTROSPECTION_UNAVAILABLE, exc.diagnostics()) from None
        if not issued:
            raise Rejected(Reason.NOT_ISSUED, f"{issuer} did not issue this token (or revoked it)")

    def _alert(self, reason: Reason, state: Mapping[str, str | None], detail: str) -> None:
        """Every rejection goes to `on_reject` (e.g. the audit log); alert reasons also to the
        CRITICAL alert log line and `on_alert`."""
        alert = reason in ALERT_REASONS
        event: Alert = {"event": "token_rejected", "severity": "alert" if alert else "warning",
                        "reason": reason.value, "kid": state.get("kid"), "issuer": state.get("issuer"),
                        "detail": detail, "time": self.clock.now()}
        if self.on_reject is not None:
            try:
                self.on_reject(event)
            except Exception:  # the verdict is a rejection already: still deny, and say so loudly
                alert_log.exception("rejection could not be recorded")
        if not alert:
            log.info("token rejected: %s (%s)", reason.value, detail)
            return
        alert_log.critical(json.dumps(event, sort_keys=True))
        if self.on_alert is not None:
            try:
                self.on_alert(event)
            except Exception:
                alert_log.exception("alert hook failed")
