"""Tripwire keys: HSM-held keys published in a realm's JWKS that no real token ever uses.

They let a probe test a relying party where it is deployed, with the keys it really trusts:

- `expired`: published with a window that closed a month ago. A relying party that accepts
  a token under it ignores key windows (`key_expiry` fails where it lives).
- `foreign-issuer`: published, inside its window, in this realm's JWKS only; probes sign
  tokens with it that claim another realm's issuer. A relying party that accepts one looks
  keys up across issuers (`issuer_binding` fails), the Storm-0558 acceptance.

Tripwires never sign real tokens (rotation and `Registry.signing_key` never see them); their
tokens name the probe subject and tenant `signward-probe`, so a relying party that wrongly
accepts one exposes nothing real. Their kids are honey kids: any other use is an alert.
"""

from __future__ import annotations

import enum
import json
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc.util import urlsafe_b64encode

from ..algorithms import Alg
from ..clock import Clock, SystemClock
from ..errors import NotFound
from ..hsm.base import CheckedSigner, SigningBackend
from ..store.base import Store
from .jwk import public_jwk, thumbprint
from .model import DAY, Realm


class Auditor(Protocol):
    def append(self, actor: str, action: str, obj: str = "", details: dict[str, Any] | None = None,
               severity: str = "info", tx: Any = None) -> Any: ...

PROBE_SUBJECT = "signward-probe"  # sub and tid of every tripwire token
EXPIRED_FOR = 30 * DAY  # the expired tripwire's window closed this long before its creation
EXPIRED_WINDOW = 365 * DAY  # ... and lasted this long


class TripwireKind(str, enum.Enum):
    EXPIRED = "expired"
    FOREIGN_ISSUER = "foreign-issuer"


@dataclass(frozen=True)
class Tripwire:
    kid: str
    realm: str
    kind: TripwireKind
    alg: Alg
    handle: str
    public_jwk: dict[str, Any]
    created_at: float
    nbf: float
    exp: float

    def published(self, issuer: str) -> dict[str, Any]:
        """The JWK as the realm's JWKS shows it (nothing marks it as a tripwire there)."""
        return {**self.public_jwk, "kid": self.kid, "alg": self.alg.value, "use": "sig", "nbf": int(self.nbf),
                "exp": int(self.exp), "issuer": issuer}

    def to_dict(self) -> dict[str, Any]:
        return {"kid": self.kid, "realm": self.realm, "kind": self.kind.value, "alg": self.alg.value,
                "nbf": self.nbf, "exp": self.exp}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Tripwire:
        return cls(kid=row["kid"], realm=row["realm"], kind=TripwireKind(row["kind"]), alg=Alg(row["alg"]),
                   handle=row["handle"], public_jwk=json.loads(row["public_jwk"]), created_at=row["created_at"],
                   nbf=row["nbf"], exp=row["exp"])


def published_tripwires(store: Store, realm: str, now: float) -> list[Tripwire]:
    """The realm's tripwires that its JWKS shows now: the expired one always, the foreign-issuer
    one inside its window."""
    with store.snapshot() as tx:
        rows = tx.all("SELECT * FROM tripwires WHERE realm = ? ORDER BY created_at", (realm,))
    wires = [Tripwire.from_row(r) for r in rows]
    return [w for w in wires if w.kind is TripwireKind.EXPIRED or w.nbf <= now < w.exp]


class Tripwires:
    """Create, list and sign with tripwire keys (the backend holds them like any signing key)."""

    def __init__(self, store: Store, backend: SigningBackend, clock: Clock | None = None,
                 audit: Auditor | None = None, actor: str = "system") -> None:
        self.store = store
        self.backend = backend
        self.clock = clock or SystemClock()
        self.audit = audit
        self.actor = actor

    def ensure(self, realm: Realm, lifetime: float) -> list[Tripwire]:
        """The realm's two tripwires, made where missing (the foreign-issuer one again once its
        window of `lifetime` seconds is over); doing it twice changes nothing."""
        now = self.clock.now()
        current = {w.kind: w for w in published_tripwires(self.store, realm.name, now)}
        for kind in TripwireKind:
            if kind in current:
                continue
            handle, public = self.backend.generate(realm.alg, label=f"signward-tripwire:{realm.name}")
            nbf, exp = ((now - EXPIRED_FOR - EXPIRED_WINDOW, now - EXPIRED_FOR) if kind is TripwireKind.EXPIRED
                        else (now, now + lifetime))
            wire = Tripwire(kid=thumbprint(public), realm=realm.name, kind=kind, alg=realm.alg, handle=handle,
                            public_jwk=public_jwk(public), created_at=now, nbf=nbf, exp=exp)
            with self.store.transaction() as tx:
                tx.execute("INSERT INTO tripwires (kid, realm, kind, alg, backend, handle, public_jwk, created_at, "
                           "nbf, exp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (wire.kid, wire.realm, kind.value, wire.alg.value, self.backend.name, handle,
                            json.dumps(wire.public_jwk, sort_keys=True), now, nbf, exp))
                if self.audit is not None:  # drill material, marked as such: never a real incident
                    self.audit.append(self.actor, "key.tripwire", wire.kid,
                                      {**wire.to_dict(), "drill": True}, tx=tx)
            current[kind] = wire
        return [current[kind] for kind in TripwireKind]

    def all(self) -> list[Tripwire]:
        with self.store.snapshot() as tx:
            return [Tripwire.from_row(r) for r in tx.all("SELECT * FROM tripwires ORDER BY realm, created_at")]

    def honey_kids(self) -> list[str]:
        """Every tripwire kid ever made: a token under one outside a probe is an alert."""
        return [w.kid for w in self.all()]

    def find(self, realm: str, kind: TripwireKind) -> Tripwire:
        wires = [w for w in published_tripwires(self.store, realm, self.clock.now()) if w.kind is kind]
        if not wires:
            raise NotFound(f"realm {realm!r} has no {kind.value} tripwire (run 'signward keys tripwire --realm "
                           f"{realm}')")
        return wires[-1]

    def token(self, wire: Tripwire, *, issuer: str, audience: str, ttl: int = 300) -> str:
        """A token under the tripwire, claiming `issuer`, for the probe subject and tenant."""
        now = int(self.clock.now())
        claims = {"iss": issuer, "sub": PROBE_SUBJECT, "tid": PROBE_SUBJECT, "aud": audience,
                  "client_id": PROBE_SUBJECT, "scope": "", "iat": now, "nbf": now, "exp": now + ttl,
                  "jti": f"{PROBE_SUBJECT}-{wire.kind.value}-{now}-{secrets.token_hex(4)}"}
        header = {"alg": wire.alg.value, "kid": wire.kid, "typ": "at+jwt"}
        signing_input = _b64(header) + b"." + _b64(claims)
        signature = CheckedSigner(self.backend).sign(wire.handle, wire.alg, signing_input)
        return (signing_input + b"." + bytes(urlsafe_b64encode(signature))).decode()


def _b64(obj: dict[str, Any]) -> bytes:
    return bytes(urlsafe_b64encode(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()))


__all__ = ["PROBE_SUBJECT", "Tripwire", "TripwireKind", "Tripwires", "published_tripwires"]
