"""The issuer's own record of every token it issued, and the answer to "did you issue this?".

Each issued token leaves a row (jti, realm, kid, sub, the SHA-256 of the whole token, exp)
written before the token is released. A stolen key signs perfectly, but its tokens are not in
this table: RFC 7662 introspection (`POST /realms/{realm}/introspect`) answers active only for
a token whose exact bytes were issued by that realm, that has not expired and that has not been
revoked (`signward token revoke JTI`). Matching the digest, not only jti, kid and sub, means a
forger who saw one real token cannot reuse its jti with claims of their own.

Lookups go through a small per-process cache (at most `CACHE_SIZE` answers, each for at most
`CACHE_SECONDS`), so a revocation reaches every replica within that time; the store is shared
(PostgreSQL for several replicas), the cache is not.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, SystemClock
from ..errors import NotFound, Rejected
from ..keys.model import KeyState
from ..store.base import Store
from ..verify import jws

ClientCheck = tuple[str, str, str]  # client_id, realm, secret hash: what a cached authentication relied on
CACHE_SIZE = 10_000
CACHE_SECONDS = 5.0
KEEP_AFTER_EXP = 3600.0  # rows of expired tokens are pruned this long after their exp


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Issuance:
    jti: str
    realm: str
    kid: str
    sub: str
    digest: str
    exp: float
    revoked_at: float | None


_INSERT_PROBE = "INSERT INTO issued_tokens (jti, realm, kid, sub, digest, exp) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_KEY = ("INSERT INTO issued_tokens (jti, realm, kid, sub, digest, exp) VALUES (?, ?, "
               "(SELECT kid FROM keys WHERE kid = ? AND state NOT IN (?, ?)), ?, ")
_INSERT_KEY_CHECKED = _INSERT_KEY + "?, ?)"
_CLIENT_CHECKED = ("(SELECT CAST(? AS TEXT) FROM clients WHERE client_id = ? AND realm = ? AND disabled = 0 "
                   "AND secret_hash = ?)")
_INSERT_CHECKED = _INSERT_KEY + _CLIENT_CHECKED + ", ?)"
_REVOKED, _DESTROYED = KeyState.REVOKED.value, KeyState.DESTROYED.value


class IssuanceRecords:
    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self._cache: OrderedDict[str, tuple[float, Issuance | None]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def statement(*, jti: str, realm: str, kid: str, sub: str, token: str, exp: float,
                  client: ClientCheck | None = None, key_in_registry: bool = True) -> tuple[str, tuple[Any, ...]]:
        """The row's INSERT, for a caller that commits it with the token's audit record.

        The INSERT itself re-checks, inside the transaction that releases the token, what the
        issuer's caches may have missed: the key must not be revoked or destroyed, and (given
        `client`: client_id, realm and secret hash the grant was authenticated against) the
        client must still exist, enabled, with that secret. Otherwise a NOT NULL column gets
        NULL, the statement fails and the token is never released. `key_in_registry=False` is for
        the watch's probe tokens only: they are signed by tripwire keys, which the key registry
        does not hold, and no issuer cache stands behind them."""
        if not key_in_registry:
            return _INSERT_PROBE, (jti, realm, kid, sub, digest(token), exp)
        if client is None:
            return _INSERT_KEY_CHECKED, (jti, realm, kid, _REVOKED, _DESTROYED, sub, digest(token), exp)
        return _INSERT_CHECKED, (jti, realm, kid, _REVOKED, _DESTROYED, sub, digest(token), *client, exp)

    def record(self, *, jti: str, realm: str, kid: str, sub: str, token: str, exp: float,
               client: ClientCheck | None = None, key_in_registry: bool = True) -> None:
        """Write the row (raises StoreError: then the token must not be released)."""
        with self.store.transaction() as tx:
            tx.execute(*self.statement(jti=jti, realm=realm, kid=kid, sub=sub, token=token, exp=exp, client=client,
                                       key_in_registry=key_in_registry))

    def _lookup(self, jti: str) -> Issuance | None:
        now = self.clock.now()
        with self._lock:
            hit = self._cache.get(jti)
            if hit is not None and now - hit[0] < CACHE_SECONDS:
                return hit[1]
        with self.store.snapshot() as tx:
            row = tx.one("SELECT * FROM issued_tokens WHERE jti = ?", (jti,))
        found = Issuance(**{k: row[k] for k in ("jti", "realm", "kid", "sub", "digest", "exp", "revoked_at")}) \
            if row else None
        with self._lock:
            self._cache[jti] = (now, found)
            self._cache.move_to_end(jti)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def active(self, realm: str, token: str, claims: dict[str, Any], kid: str | None) -> bool:
        """Whether this realm issued exactly this token, and it is neither expired nor revoked."""
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        found = self._lookup(jti)
        if found is None or found.realm != realm or found.kid != kid or found.sub != claims.get("sub"):
            return False
        if not hmac.compare_digest(found.digest, digest(token)):
            return False
        return found.revoked_at is None and self.clock.now() < found.exp

    def introspect(self, realm: str, token: str) -> dict[str, Any]:
        """The RFC 7662 answer: the token's claims with `active: true` only when `active`."""
        try:
            parsed = jws.parse(token)
            claims = jws.json_object(parsed.payload, "payload")
        except Rejected:
            return {"active": False}
        if not self.active(realm, token, claims, parsed.kid):
            return {"active": False}
        return {**claims, "active": True, "token_type": "Bearer"}

    def revoke(self, jti: str) -> Issuance:
        """Mark the token revoked (its introspection turns inactive within CACHE_SECONDS)."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            row = tx.one("SELECT * FROM issued_tokens WHERE jti = ?", (jti,))
            if row is None:
                raise NotFound(f"no issued token with jti {jti!r}")
            if row["revoked_at"] is None:
                tx.execute("UPDATE issued_tokens SET revoked_at = ? WHERE jti = ?", (now, jti))
        with self._lock:
            self._cache.pop(jti, None)
        return Issuance(jti=row["jti"], realm=row["realm"], kid=row["kid"], sub=row["sub"], digest=row["digest"],
                        exp=row["exp"], revoked_at=row["revoked_at"] or now)

    def prune(self) -> int:
        """Remove the rows of tokens expired over an hour ago (the audit log keeps token.issue)."""
        with self.store.transaction() as tx:
            return tx.execute("DELETE FROM issued_tokens WHERE exp < ?", (self.clock.now() - KEEP_AFTER_EXP,))
