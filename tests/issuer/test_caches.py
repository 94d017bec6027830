"""The issuer's caches (issue 39) never outlive what they cache: a running `signward serve`
reuses a client's row and the realm's signing key between requests, and another process (an
operator's CLI, another replica) disables the client or revokes the key; the very next request
gets no token, because the token's record re-checks both as it commits."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from pathlib import Path

import httpx

from signward.audit.batch import GroupCommit, Pending, WriterLock
from signward.audit.chain import AuditRecord
from tests.conftest import Served, signward_json

FORM = {"grant_type": "client_credentials", "audience": "mail"}


def _db(served: Served) -> sqlite3.Connection:
    return sqlite3.connect(served.home.db_path)


def _token(served: Served, client: tuple[str, str], realm: str = "consumer") -> httpx.Response:
    return httpx.post(f"{served.base}/realms/{realm}/token", auth=client, data=FORM, timeout=30)


def test_a_client_disabled_by_another_process_gets_no_token_from_the_cached_row(served: Served) -> None:
    made = signward_json(served.home, "client", "create", "--realm", "consumer", "--tenant", "consumers",
                         "--audience", "mail")
    client = (made["client_id"], made["client_secret"])
    assert _token(served, client).status_code == 200  # the row is cached now (for ROW_CACHE_SECONDS)
    with _db(served) as db:  # disabled outside the issuer: its cache is not told
        db.execute("UPDATE clients SET disabled = 1 WHERE client_id = ?", (client[0],))
        before = db.execute("SELECT COUNT(*) FROM issued_tokens WHERE sub = ?", (client[0],)).fetchone()[0]
    refused = _token(served, client)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    with _db(served) as db:
        after = db.execute("SELECT COUNT(*) FROM issued_tokens WHERE sub = ?", (client[0],)).fetchone()[0]
    assert after == before == 1  # nothing recorded, nothing released
    assert _token(served, served.clients["consumer"]).status_code == 200  # the others are served


def test_a_key_revoked_by_another_process_never_signs_a_released_token_again(served: Served) -> None:
    signward_json(served.home, "realm", "create", "revoking", "--issuer", f"{served.base}/realms/revoking",
                  "--alg", "ES256")
    made = signward_json(served.home, "client", "create", "--realm", "revoking", "--tenant", "t",
                         "--audience", "mail")
    client = (made["client_id"], made["client_secret"])
    first = _token(served, client, "revoking")
    assert first.status_code == 200  # the key is cached now (issuer.key_cache_seconds, 5 s)
    kid = signward_json(served.home, "keys", "list", "--realm", "revoking")[0]["kid"]
    signward_json(served.home, "keys", "revoke", kid)
    after = _token(served, client, "revoking")
    # revocation rotates in a new key at once: the next token is signed by it, never by the cached one
    assert after.status_code == 200
    header = json.loads(base64.urlsafe_b64decode(after.json()["access_token"].split(".")[0] + "=="))
    assert header["kid"] != kid
    with _db(served) as db:
        recorded = db.execute("SELECT COUNT(*) FROM issued_tokens WHERE kid = ?", (kid,)).fetchone()[0]
    assert recorded == 1  # the token issued before the revocation, and none after


def test_the_writer_lock_orders_leaders_and_never_blocks_for_ever(tmp_path: Path) -> None:
    """Two locks on one file (as two processes hold): the second waits while the first holds,
    and gives up after its bound (SQLite's own lock then decides)."""
    first, second = WriterLock(tmp_path / "db.writers"), WriterLock(tmp_path / "db.writers", wait=0.2)
    with first:
        started = time.monotonic()
        with second:
            waited = time.monotonic() - started
    assert 0.2 <= waited < 2
    sizes: list[int] = []

    def write(batch: list[Pending]) -> list[AuditRecord]:
        sizes.append(len(batch))
        return [AuditRecord(1, 0.0, "a", "b", "", "info", {}, "", "") for _ in batch]

    batcher = GroupCommit(write)
    batcher.writer_lock = first
    batcher.submit(Pending("a", "b", "", "info", "{}"))  # the lock is free again: taken and let go
    assert sizes == [1]
    with second:  # and free after the batch
        pass
    first.close()
    second.close()
