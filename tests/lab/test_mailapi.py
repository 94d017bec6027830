"""The lab's mail API on loopback: the tenant's messages only to the enterprise issuer's token for
that tenant, a consumer mailbox only to its own consumer token; kept key files; rejections audited."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from signward.lab.attacker import StolenKey, forge_token
from signward.lab.mailapi import MailService, sync_keys

CONSUMER, ENTERPRISE = "https://login.consumer.lab", "https://login.enterprise.lab"
NOW = 1_800_000_000.0


def key_of(issuer: str, exp: float) -> tuple[StolenKey, dict[str, object]]:
    private = rsa.generate_private_key(65537, 2048)
    imported = RSAKey.import_key(private.public_key())
    jwk: dict[str, object] = dict(imported.as_dict(), kid=imported.thumbprint(), alg="RS256", issuer=issuer,
                                  nbf=NOW - 100, exp=exp)
    return StolenKey(str(jwk["kid"]), "RS256", issuer, private), jwk


def test_sync_keeps_every_key_it_was_ever_sent(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    sync_keys(path, {"keys": [{"kid": "a", "kty": "RSA"}]})
    assert sync_keys(path, {"keys": [{"kid": "b", "kty": "RSA"}]}) == 2
    assert {k["kid"] for k in json.loads(path.read_text())["keys"]} == {"a", "b"}


def test_routes_bind_issuer_and_tenant_and_rejections_are_audited(tmp_path: Path) -> None:
    consumer, consumer_jwk = key_of(CONSUMER, NOW + 3600)
    enterprise, enterprise_jwk = key_of(ENTERPRISE, NOW + 3600)
    service = MailService(tmp_path, CONSUMER, ENTERPRISE, "contoso", [{"subject": "hi"}], key_expiry=True,
                          issuer_binding=True, now=NOW)
    service.sync(CONSUMER, {"keys": [consumer_jwk]})
    service.sync(ENTERPRISE, {"keys": [enterprise_jwk]})
    service.start()
    try:
        def get(path: str, key: StolenKey, issuer: str, sub: str, tid: str) -> int:
            token = forge_token(key, issuer=issuer, subject=sub, tenant=tid, audience="mail", now=NOW)
            return httpx.get(service.base + path, headers={"Authorization": f"Bearer {token}"}).status_code

        assert get("/mail/tenants/contoso/messages", enterprise, ENTERPRISE, "admin", "contoso") == 200
        assert get("/mail/tenants/contoso/messages", enterprise, ENTERPRISE, "admin", "fabrikam") == 403
        assert get("/mail/tenants/contoso/messages", consumer, CONSUMER, "admin", "contoso") == 403
        assert get("/mail/consumers/alice/messages", consumer, CONSUMER, "alice", "consumers") == 200
        assert get("/mail/consumers/alice/messages", consumer, CONSUMER, "bob", "consumers") == 403
        assert get("/mail/tenants/contoso/messages", consumer, ENTERPRISE, "admin", "contoso") == 401
        assert httpx.get(service.base + "/mail/tenants/contoso/messages").status_code == 401
        service.clock.set(NOW + 7200)  # past both keys' windows
        assert get("/mail/consumers/alice/messages", consumer, CONSUMER, "alice", "consumers") == 401
        reasons = [(r.severity, r.details["reason"]) for r in service.audit.records(action="token.rejected")]
        assert reasons == [("alert", "key_not_bound_to_issuer"), ("alert", "key_expired")]
    finally:
        service.stop()
