"""Keys and realms as values: lifecycle states, validity windows and the rotation policy.

A key belongs to one realm (issuer). It signs only inside [sign_from, sign_until); it is
published until verify_until = sign_until + the realm's max token lifetime.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from ..algorithms import Alg
from ..errors import ConfigError

DAY = 86400.0
HOUR = 3600.0


class KeyState(str, enum.Enum):
    """Where a key is in its life; only an active key inside its signing window signs."""

    PENDING = "pending"  # published ahead of time, not signing yet
    ACTIVE = "active"  # signs (inside its window) and is published
    RETIRING = "retiring"  # no longer signs; published until verify_until
    RETIRED = "retired"  # past verify_until: unpublished; private object awaits destruction
    DESTROYED = "destroyed"  # private object deleted from the HSM; public record kept for audit
    REVOKED = "revoked"  # withdrawn at once: unpublished, never signs again

    @property
    def published(self) -> bool:
        return self in (KeyState.PENDING, KeyState.ACTIVE, KeyState.RETIRING)


@dataclass(frozen=True)
class RotationPolicy:
    """Per-realm rotation policy; defaults follow the foundation issue."""

    max_signing_lifetime: float = 30 * DAY
    prepublish_lead: float = 1 * DAY
    max_token_lifetime: float = 1 * HOUR
    destroy_after: float = 7 * DAY  # retired -> destroyed

    def __post_init__(self) -> None:
        if self.max_signing_lifetime <= 0:
            raise ConfigError("max signing lifetime must be positive")
        if not 0 <= self.prepublish_lead < self.max_signing_lifetime:
            raise ConfigError("pre-publication lead must be at least 0 and shorter than the signing lifetime")
        if not 0 < self.max_token_lifetime <= 1 * DAY:
            raise ConfigError("max token lifetime must be between 1 second and 1 day")
        if self.destroy_after < 0:
            raise ConfigError("destroy_after must not be negative")


@dataclass(frozen=True)
class Realm:
    name: str
    issuer: str
    alg: Alg
    policy: RotationPolicy
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "issuer": self.issuer, "alg": self.alg.value,
                "max_signing_lifetime": self.policy.max_signing_lifetime,
                "prepublish_lead": self.policy.prepublish_lead,
                "max_token_lifetime": self.policy.max_token_lifetime,
                "destroy_after": self.policy.destroy_after, "created_at": self.created_at}


@dataclass(frozen=True)
class KeyRecord:
    """The registry's record of a key: its public half, its window and its state, never private bytes."""

    kid: str
    realm: str
    alg: Alg
    state: KeyState
    backend: str
    handle: str = field(repr=False)
    public_jwk: dict[str, Any] = field(repr=False)
    created_at: float
    sign_from: float
    sign_until: float
    verify_until: float
    revoked_at: float | None = None
    destroyed_at: float | None = None

    def can_sign(self, now: float) -> bool:
        return self.state is KeyState.ACTIVE and self.sign_from <= now < self.sign_until

    def is_published(self, now: float) -> bool:
        return self.state.published and now < self.verify_until

    def to_dict(self) -> dict[str, Any]:
        return {"kid": self.kid, "realm": self.realm, "alg": self.alg.value, "state": self.state.value,
                "backend": self.backend, "created_at": self.created_at, "sign_from": self.sign_from,
                "sign_until": self.sign_until, "verify_until": self.verify_until,
                "revoked_at": self.revoked_at, "destroyed_at": self.destroyed_at}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "KeyRecord":
        return cls(kid=row["kid"], realm=row["realm"], alg=Alg(row["alg"]), state=KeyState(row["state"]),
                   backend=row["backend"], handle=row["handle"], public_jwk=json.loads(row["public_jwk"]),
                   created_at=row["created_at"], sign_from=row["sign_from"], sign_until=row["sign_until"],
                   verify_until=row["verify_until"], revoked_at=row["revoked_at"],
                   destroyed_at=row["destroyed_at"])
