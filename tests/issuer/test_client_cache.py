"""The client check's per-process memory (issue 39): a remembered success is keyed by the exact
secret and the stored hash (a keyed BLAKE2b under the process's pepper, the secret itself never
kept), and the Client comes from the row as last read."""

from __future__ import annotations

import json

from signward.hsm import Alg
from signward.issuer.clients import ClientRegistry
from signward.services import Services


def _client(services: Services) -> tuple[ClientRegistry, str, str]:
    services.registry.create_realm("consumer", "https://issuer.example/realms/consumer", Alg.ES256)
    client, secret = services.clients.create("consumer", "consumers", ["mail"], ["mail.read"])
    return services.clients, client.client_id, secret


def test_a_remembered_success_does_not_admit_another_secret(services: Services) -> None:
    clients, client_id, secret = _client(services)
    assert clients.authenticate_cached("consumer", client_id, secret) is not None  # remembered now
    near = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for wrong in (near, secret + "x", secret[:-1], ""):
        assert clients.authenticate_cached("consumer", client_id, wrong) is None, wrong
    assert clients.authenticate_cached("consumer", client_id, secret) is not None


def test_a_remembered_success_ends_when_the_stored_hash_changes(services: Services) -> None:
    clients, client_id, secret = _client(services)
    assert clients.authenticate_checked("consumer", client_id, secret) is not None  # remembered now
    other, other_secret = services.clients.create("consumer", "consumers", ["mail"], ["mail.read"])
    with services.store.transaction() as tx:  # another process gives the client another secret's hash
        row = tx.one("SELECT secret_hash FROM clients WHERE client_id = ?", (other.client_id,))
        tx.execute("UPDATE clients SET secret_hash = ? WHERE client_id = ?", (row["secret_hash"], client_id))
    assert clients.authenticate_checked("consumer", client_id, secret) is None  # the old secret: refused
    found = clients.authenticate_checked("consumer", client_id, other_secret)
    assert found is not None and found[1][2] == row["secret_hash"]


def test_the_client_is_parsed_from_the_row_as_last_read(services: Services) -> None:
    clients, client_id, secret = _client(services)
    clients.row_cache_seconds = 0  # every call reads the row
    first = clients.authenticate_cached("consumer", client_id, secret)
    assert first is not None and first[0].scopes == ("mail.read",)
    with services.store.transaction() as tx:
        tx.execute("UPDATE clients SET grants = ? WHERE client_id = ?",
                   (json.dumps({"audiences": ["mail"], "scopes": ["mail.send"]}), client_id))
    again = clients.authenticate_cached("consumer", client_id, secret)
    assert again is not None and again[0].scopes == ("mail.send",)
