"""OAuth clients of a realm (RFC 6749 section 2.3): secrets shown once, stored as salted scrypt hashes.

Verification runs scrypt (deliberately slow); a successful check is remembered for a short
time under a keyed hash of the secret, so a busy client does not pay scrypt on every call.
The token endpoint also reuses a client's row for up to `ROW_CACHE_SECONDS`
(`authenticate_cached`); the token's record then commits only while the row still holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, SystemClock
from ..errors import ConfigError, NotFound
from ..store.base import Store
from .issuance import ClientCheck

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
ROW_CACHE_SECONDS = 10.0  # a client's row is read again after this (the token's record re-checks it anyway)
MAX_CACHED_ROWS = 10_000
TENANT = re.compile(r"\A[A-Za-z0-9._:-]{1,128}\Z")


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return "scrypt${}${}${}${}${}".format(SCRYPT_N, SCRYPT_R, SCRYPT_P, base64.b64encode(salt).decode(),
                                         base64.b64encode(digest).decode())


def check_secret(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r),
                                p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


@dataclass(frozen=True)
class Client:
    client_id: str
    realm: str
    tenant: str
    audiences: tuple[str, ...]
    scopes: tuple[str, ...]


class ClientRegistry:
    def __init__(self, store: Store, clock: Clock | None = None, remember_seconds: float = 60.0,
                 row_cache_seconds: float = ROW_CACHE_SECONDS) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.remember_seconds = remember_seconds
        self._pepper = secrets.token_bytes(32)
        self._verified: dict[tuple[str, bytes], float] = {}
        self._lock = threading.Lock()
        self._decoy = hash_secret(secrets.token_urlsafe(32))  # checked for unknown ids: one scrypt, as for known
        self.row_cache_seconds = row_cache_seconds
        self._rows: dict[tuple[str, str], tuple[float, tuple[dict[str, Any], Client]]] = {}

    def create(self, realm: str, tenant: str, audiences: list[str] | None = None,
               scopes: list[str] | None = None) -> tuple[Client, str]:
        """Register a client; return it with its secret, which is never shown again."""
        if not TENANT.match(tenant):
            raise ConfigError(f"tenant {tenant!r} must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':', '-'")
        audiences = audiences or ["api"]
        scopes = scopes or []
        client_id = f"{realm}-{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            if tx.one("SELECT name FROM realms WHERE name = ?", (realm,)) is None:
                raise NotFound(f"no realm named {realm!r}")
            tx.execute("INSERT INTO clients (client_id, realm, tenant, grants, secret_hash, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (client_id, realm, tenant, json.dumps({"audiences": audiences, "scopes": scopes}),
                        hash_secret(secret), self.clock.now()))
        return Client(client_id, realm, tenant, tuple(audiences), tuple(scopes)), secret

    def authenticate(self, realm: str, client_id: str, secret: str) -> Client | None:
        """The client if the id belongs to `realm` and the secret matches; None otherwise."""
        found = self._authenticate(realm, client_id, secret, cached=False)
        return found[0] if found is not None else None

    def authenticate_cached(self, realm: str, client_id: str, secret: str) -> tuple[Client, ClientCheck] | None:
        """`authenticate` from a row read at most `row_cache_seconds` ago, with what it relied on
        (client_id, realm, secret hash): the token's record must commit only while that still
        holds (`IssuanceRecords.statement(client=...)`), so a client disabled (or whose secret
        changed) in any process gets no token, cached row or not. After such a refusal, `forget`."""
        return self._authenticate(realm, client_id, secret, cached=True)

    def authenticate_checked(self, realm: str, client_id: str, secret: str) -> tuple[Client, ClientCheck] | None:
        """`authenticate` from the database now, with what it relied on (as `authenticate_cached`)."""
        return self._authenticate(realm, client_id, secret, cached=False)

    def forget(self, realm: str | None = None, client_id: str | None = None) -> None:
        """Drop cached client rows (all, or one client's)."""
        with self._lock:
            if client_id is None:
                self._rows.clear()
            else:
                self._rows.pop((realm or "", client_id), None)

    def _row(self, realm: str, client_id: str, cached: bool) -> tuple[dict[str, Any], Client] | None:
        """The client's row and the Client it describes (parsed once per read of the row)."""
        now = self.clock.now()
        if cached:
            hit = self._rows.get((realm, client_id))
            if hit is not None and hit[0] <= now < hit[0] + self.row_cache_seconds:
                return hit[1]
        with self.store.snapshot() as tx:
            row = tx.one("SELECT * FROM clients WHERE client_id = ? AND realm = ? AND disabled = 0",
                         (client_id, realm))
        found = None if row is None else (row, _client(row))
        with self._lock:
            if found is None:
                self._rows.pop((realm, client_id), None)
            else:
                if len(self._rows) >= MAX_CACHED_ROWS:
                    self._rows.clear()
                self._rows[(realm, client_id)] = (now, found)
        return found

    def _authenticate(self, realm: str, client_id: str, secret: str,
                      cached: bool) -> tuple[Client, ClientCheck] | None:
        found = self._row(realm, client_id, cached)
        if found is None:
            check_secret(secret, self._decoy)  # the same single scrypt whether or not the id exists
            return None
        row, client = found
        # a keyed hash (BLAKE2b's keyed mode, a MAC: one C call) of the stored hash and the secret,
        # under this process's random pepper: the secret itself is never kept
        marker = (client_id, hashlib.blake2b((row["secret_hash"] + "\0" + secret).encode(), key=self._pepper,
                                             digest_size=32).digest())
        now = self.clock.now()
        remembered = self._verified.get(marker)
        if remembered is None or now >= remembered:
            if not check_secret(secret, row["secret_hash"]):
                return None
            with self._lock:
                if len(self._verified) > 10000:
                    self._verified.clear()
                self._verified[marker] = now + self.remember_seconds
        return client, (row["client_id"], row["realm"], row["secret_hash"])

    def list(self, realm: str | None = None) -> list[Client]:
        with self.store.snapshot() as tx:
            rows = (tx.all("SELECT * FROM clients WHERE realm = ? ORDER BY client_id", (realm,)) if realm
                    else tx.all("SELECT * FROM clients ORDER BY client_id"))
        return [_client(row) for row in rows]


def _client(row: dict[str, Any]) -> Client:
    meta = json.loads(row["grants"])
    return Client(row["client_id"], row["realm"], row["tenant"], tuple(meta["audiences"]), tuple(meta["scopes"]))
