"""OpenBao/Vault Transit signing backend: keys made and used inside the Transit engine.

This module owns the Transit custody: one Transit key per signward key, named
`signward-<32 hex>` (the handle), created `exportable=false`, `allow_plaintext_backup=false`
and `deletion_allowed=false`. A kid is never a moving key version: every signature asks for
`key_version=1` explicitly and a key whose `latest_version` is not 1 is refused, as is an
exportable one. Transit hashes (`prehashed` is never set) and marshals ECDSA as JWS wants it
(`marshaling_algorithm=jws`: r||s of fixed size, base64url); PS256 asks for `salt_length=hash`
(RFC 7518 3.5: a salt as long as the hash). The caller (`CheckedSigner`) verifies every
signature against the public key before it leaves.

Fail closed: OpenBao sealed, down or slower than the timeout, and a token it refuses, are
`HsmUnavailable` (the issuer answers 503 with Retry-After, as for an HSM outage); nothing
falls back to another custody. A refused token is said once in one ALERT log line.

Token renewal: a small daemon thread (started on first use, one per backend and process) looks
the token up (`auth/token/lookup-self`) and renews it (`auth/token/renew-self`) once less than a
third of its TTL is left; signatures never wait for it. A token that will die anyway (not
renewable, capped at its max TTL, renewal refused or failing) is said once, in one ALERT line,
before it expires; the 403 that follows its death is not said again, and signing fails closed
(503). A new token in the token file (an agent's rewrite) is picked up and looked up again.
The least-privilege policies the issuer and the operator run under ship beside this module
(`policies/issuer.hcl`, `policies/operator.hcl`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ..algorithms import RSA_BITS_ALLOWED, SPECS, Alg, PublicKey
from ..errors import AlgorithmUnsupported, ConfigError, HsmError, HsmUnavailable, KeyNotFound, SignwardError
from .base import KeyAttributes

log = logging.getLogger("signward.hsm.transit")

KEY_PREFIX = "signward-"
HANDLE = re.compile(r"signward-[0-9a-f]{32}")
MAX_RESPONSE = 256 * 1024  # bytes of one Transit answer; a key document is a few KiB
MAX_SIGNATURE = 1024  # bytes of one decoded signature (RSA-4096: 512)
MAX_LISTED = 10_000  # keys one attribute check reads at most
RENEW_WHEN_LEFT = 1 / 3  # renew the token once less than this share of its TTL is left
RENEW_RETRY = 5.0  # seconds between renewal attempts after one failed (and between checks of a dying token)
NO_EXPIRY_RECHECK = 60.0  # seconds between looks at a token without a TTL (or one that could not be looked up)

KEY_TYPES: dict[Alg, str] = {
    Alg.ES256: "ecdsa-p256",
    Alg.ES384: "ecdsa-p384",
    Alg.EdDSA: "ed25519",
}
SIGN_PARAMS: dict[Alg, dict[str, Any]] = {
    Alg.ES256: {"hash_algorithm": "sha2-256"},
    Alg.ES384: {"hash_algorithm": "sha2-384"},
    Alg.RS256: {"hash_algorithm": "sha2-256", "signature_algorithm": "pkcs1v15"},
    Alg.PS256: {"hash_algorithm": "sha2-256", "signature_algorithm": "pss", "salt_length": "hash"},
    Alg.EdDSA: {},
}


class TransitTokenRefused(HsmUnavailable):
    """OpenBao refused the token (expired, revoked, or without the policy the call needs)."""

    def __init__(self, doing: str, errors: str) -> None:
        super().__init__(f"Transit refused the token while {doing} (HTTP 403: {errors or 'denied'})")
        self.doing = doing
        self.errors = errors


def policy_text(name: str, mount: str = "transit") -> str:
    """The shipped policy `name` ("issuer" or "operator") as HCL, for the engine at `mount`."""
    if name not in ("issuer", "operator"):
        raise ValueError(f"no shipped Transit policy {name!r}")
    text = resources.files("signward.hsm").joinpath("policies", f"{name}.hcl").read_text(encoding="utf-8")
    return text.replace('path "transit/', f'path "{mount.strip("/")}/')


def key_type(alg: Alg, rsa_bits: int = 2048) -> str:
    """The Transit key type an algorithm's key is made as."""
    if SPECS[alg].kty == "RSA":
        if rsa_bits not in RSA_BITS_ALLOWED:
            raise AlgorithmUnsupported(f"RSA keys must have {RSA_BITS_ALLOWED} bits, not {rsa_bits}")
        return f"rsa-{rsa_bits}"
    return KEY_TYPES[alg]


def _checked_handle(handle: str) -> str:
    if not HANDLE.fullmatch(handle):
        raise KeyNotFound(f"{handle!r} is not a Transit key of signward (expected {KEY_PREFIX}<32 hex>)")
    return handle


MAX_TOKEN = 4096


def _check_token(token: str) -> None:
    """A token is printable ASCII without spaces, at most MAX_TOKEN characters: anything else (a
    CR, a NUL, a BOM) is refused here, without echoing it, before it could reach a header, an
    exception or a log line."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN or not token.isascii() \
            or not token.isprintable() or any(c.isspace() for c in token):
        raise ConfigError(f"the Transit token is not a token (printable ASCII without spaces, 1 to {MAX_TOKEN} "
                          "characters); it is not shown")


class TransitBackend:
    """Signs with non-exportable keys held by an OpenBao/Vault Transit engine, over HTTP."""

    name = "transit"
    holds_keys_in_process = False

    def __init__(self, url: str, mount: str, token: str | Callable[[], str], timeout: float = 2.0,
                 known_handles: Callable[[], Iterable[str]] | None = None) -> None:
        """`token` is the token, or a function that reads it (a file an agent rewrites): read
        now, and again when OpenBao refuses the one in use."""
        self._token_source = token if callable(token) else None
        token = token() if callable(token) else token
        self.url = url.rstrip("/")
        self.mount = mount.strip("/")
        self.timeout = timeout
        self._known_handles = known_handles
        _check_token(token)
        # trust_env=False: HTTP(S)_PROXY would send the token (in clear for a loopback http:// URL)
        # to a proxy, and SSL_CERT_FILE/DIR would choose whom https:// trusts; neither is configuration
        self._client = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout), follow_redirects=False,
                                    trust_env=False, headers={"X-Vault-Token": token, "X-Vault-Request": "true"},
                                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
        self._alerted = False
        self._lock = threading.Lock()
        # token renewal (the keeper thread): the token it looked up, when that one expires
        # (monotonic; None: never), its full TTL, and the token whose death was already alerted
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by close() and by a new token read from the file
        self._keeper: threading.Thread | None = None
        self._keeper_pid = 0
        self._tended = ""
        self._expires: float | None = None
        self._ttl = 0.0
        self._renewable = False
        self._dying = False
        self._token_alerted = ""

    # -- HTTP -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, doing: str, body: dict[str, Any] | None = None,
              expect: tuple[int, ...] = (200, 204), alert: bool = True) -> tuple[int, dict[str, Any]]:
        """One request; every failure becomes a signward error (fail closed). A refused token is
        read again from its source and the request retried once if it changed (an agent renewed
        it); still refused, it raises an ALERT log line once (not when `alert` is False: a
        refusal the caller expects)."""
        self._ensure_keeper()
        try:
            return self._call_once(method, path, doing, body, expect)
        except TransitTokenRefused as refused:
            failure = refused
        if self._fresh_token():
            try:
                return self._call_once(method, path, doing, body, expect)
            except TransitTokenRefused as again:
                failure = again
        if alert:
            self._alert(doing, failure.errors)
        raise failure

    def _fresh_token(self) -> bool:
        """Read the token again from its source; whether it changed."""
        if self._token_source is None:
            return False
        try:
            token = self._token_source()
            _check_token(token)
        except (SignwardError, ValueError, OSError):
            return False
        with self._lock:
            if not token or token == self._client.headers.get("X-Vault-Token"):
                return False
            self._client.headers["X-Vault-Token"] = token
        self._wake.set()  # the keeper looks the new token up now
        return True

    def _call_once(self, method: str, path: str, doing: str, body: dict[str, Any] | None,
                   expect: tuple[int, ...]) -> tuple[int, dict[str, Any]]:
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream(method, f"/v1/{path}", json=body) as response:
                raw = b""
                for chunk in response.iter_bytes():
                    raw += chunk
                    if len(raw) > MAX_RESPONSE:
                        raise HsmError(f"Transit answered more than {MAX_RESPONSE} bytes while {doing}")
                    if time.monotonic() > deadline:  # each read has the timeout; the whole call too
                        raise httpx.ReadTimeout("the answer arrived slower than the timeout")
                status = response.status_code
        except httpx.TimeoutException as exc:
            raise HsmUnavailable(f"Transit at {self.url} did not answer within {self.timeout:g}s "
                                 f"while {doing}") from exc
        except httpx.HTTPError as exc:
            raise HsmUnavailable(f"Transit at {self.url} unreachable while {doing}: {type(exc).__name__}") from exc
        try:
            document = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            document = None
        if not isinstance(document, dict):
            if status >= 500:
                raise HsmUnavailable(f"Transit at {self.url} answered {status} while {doing}")
            raise HsmError(f"Transit answered {status} with a body that is not a JSON object while {doing}")
        errors = "; ".join(" ".join(e.split())[:200] for e in document.get("errors") or [] if isinstance(e, str))[:400]
        if status in expect:
            with self._lock:
                self._alerted = False
            return status, document
        if status == 403:
            raise TransitTokenRefused(doing, errors)
        if status == 404:
            raise KeyNotFound(f"no such key in Transit while {doing} (HTTP 404)")
        if status in (429, 500, 501, 502, 503, 504) or status >= 500:
            sealed = " (sealed)" if "sealed" in errors else ""
            raise HsmUnavailable(f"Transit at {self.url} unavailable{sealed} while {doing}: HTTP {status}"
                                 + (f": {errors}" if errors else ""))
        raise HsmError(f"Transit refused while {doing}: HTTP {status}" + (f": {errors}" if errors else ""))

    def _alert(self, doing: str, errors: str) -> None:
        with self._lock:
            if self._alerted or self._client.headers.get("X-Vault-Token") == self._token_alerted:
                return  # said already (for a dying token: before it expired)
            self._alerted = True
        log.error("ALERT: OpenBao at %s refused signward's Transit token while %s (%s): it expired, was revoked "
                  "or lacks the policy for this; what needs it fails closed (signing: 503) until that is fixed",
                  self.url, doing, errors or "permission denied")

    def _data(self, document: dict[str, Any], doing: str) -> dict[str, Any]:
        data = document.get("data")
        if not isinstance(data, dict):
            raise HsmError(f"Transit answered without a data object while {doing}")
        return data

    # -- token renewal -------------------------------------------------------------------

    def _ensure_keeper(self) -> None:
        """Start the renewal thread in this process if it is not running (cheap when it is)."""
        keeper = self._keeper
        if self._stop.is_set() or (keeper is not None and self._keeper_pid == os.getpid() and keeper.is_alive()):
            return
        with self._lock:
            if self._keeper is not None and self._keeper_pid == os.getpid() and self._keeper.is_alive():
                return
            self._keeper_pid = os.getpid()
            self._tended = ""  # a forked child looks its token up again
            self._keeper = threading.Thread(target=self._keep_token, name="signward-transit-token", daemon=True)
            self._keeper.start()

    def _keep_token(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self._tend_token()
            except Exception:  # noqa: BLE001 - the keeper never dies of one bad answer; signing fails closed
                log.exception("Transit token renewal check failed")
                wait = RENEW_RETRY
            self._wake.wait(max(0.05, wait))
            self._wake.clear()

    def _tend_token(self) -> float:
        """Look a new token up, renew a due one, alert once on one that will die; the seconds
        until the next check."""
        self._fresh_token()  # an agent's rewrite of the token file is adopted before renewing the old one
        token = str(self._client.headers.get("X-Vault-Token", ""))
        if self._stop.is_set():
            return 0
        if token != self._tended:
            try:
                _, document = self._call_once("GET", "auth/token/lookup-self", "looking up the Transit token",
                                              None, (200,))
                info = self._data(document, "looking up the Transit token")
            except SignwardError as exc:
                log.warning("cannot look up signward's Transit token at %s (%s): it is not renewed until it can be",
                            self.url, exc)
                return RENEW_RETRY
            ttl, full = info.get("ttl"), info.get("creation_ttl")
            self._tended, self._dying = token, False
            listed = info.get("policies")
            policies: list[Any] = listed if isinstance(listed, list) else []
            broad = sorted(str(p) for p in policies if p not in ("signward-issuer", "default"))
            if "root" in policies or broad:
                # a control weakened is never silent: the issuer's token should hold the issuer policy only
                log.warning("INSECURE: signward's Transit token at %s carries %s besides signward-issuer: what the "
                            "issuer may do in OpenBao is no longer only signing (give it a token with "
                            "-policy=signward-issuer -no-default-policy)", self.url, ", ".join(broad) or "root")
            if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
                self._expires = None  # a root or otherwise non-expiring token
                return NO_EXPIRY_RECHECK
            self._expires = time.monotonic() + _whole_seconds_left(ttl)
            self._ttl = float(full) if isinstance(full, int) and full >= ttl else float(ttl)
            self._renewable = info.get("renewable") is True
        if self._expires is None:
            return NO_EXPIRY_RECHECK
        left = self._expires - time.monotonic()
        if left > self._ttl * RENEW_WHEN_LEFT:
            return left - self._ttl * RENEW_WHEN_LEFT
        if self._dying:
            return RENEW_RETRY  # said already; waiting for a new token in the token file
        if not self._renewable:
            self._dying = True
            self._expiring(token, left, "it is not renewable")
            return RENEW_RETRY
        try:
            _, document = self._call_once("POST", "auth/token/renew-self", "renewing the Transit token", {}, (200,))
            auth = document.get("auth")
            granted = auth.get("lease_duration") if isinstance(auth, dict) else None
            if not isinstance(granted, int) or isinstance(granted, bool) or granted <= 0:
                raise HsmError("OpenBao answered the renewal without a lease duration")
        except TransitTokenRefused as refused:
            self._dying = True
            self._expiring(token, left, f"renewing it was refused ({refused.errors or 'permission denied'})")
            return RENEW_RETRY
        except SignwardError as exc:
            self._expiring(token, left, f"renewing it failed ({exc}); retrying every {RENEW_RETRY:g}s")
            if left <= 0:
                return RENEW_RETRY  # expired: nothing left to save by hurrying; wait for a new token
            return min(RENEW_RETRY, max(1.0, left / 2))
        self._expires = time.monotonic() + _whole_seconds_left(granted)
        if granted < self._ttl:  # OpenBao capped the renewal at the token's max TTL
            self._dying = True
            self._expiring(token, granted, "it reached its max TTL")
            return RENEW_RETRY
        with self._lock:
            if self._token_alerted == token:
                self._token_alerted = ""  # renewed after all: a later death is said again
        log.info("renewed signward's Transit token for %ss", granted)
        return granted - self._ttl * RENEW_WHEN_LEFT

    def _expiring(self, token: str, left: float, why: str) -> None:
        """The one ALERT line for a token that will not live on (its later 403 is not said again)."""
        with self._lock:
            if self._token_alerted == token:
                return
            self._token_alerted = token
        log.error("ALERT: signward's Transit token at %s expires in %.0fs and is not renewed: %s; once it expires, "
                  "signing fails closed (503) until a new token is in the token file", self.url, max(0.0, left), why)

    # -- keys -----------------------------------------------------------------------------

    def _read_key(self, handle: str) -> dict[str, Any]:
        doing = f"reading Transit key {handle}"
        _, document = self._call("GET", f"{self.mount}/keys/{_checked_handle(handle)}", doing)
        return self._data(document, doing)

    def generate(self, alg: Alg, label: str, rsa_bits: int = 2048) -> tuple[str, PublicKey]:
        kind = key_type(alg, rsa_bits)
        handle = KEY_PREFIX + secrets.token_hex(16)
        self._call("POST", f"{self.mount}/keys/{handle}", f"creating a {alg.value} key in Transit",
                   {"type": kind, "exportable": False, "allow_plaintext_backup": False})
        return handle, self.public_key(handle, alg)

    def public_key(self, handle: str, alg: Alg) -> PublicKey:
        data = self._read_key(handle)
        problem = _custody_problem(data)
        expected = key_type(alg, _rsa_bits(data)) if SPECS[alg].kty == "RSA" else KEY_TYPES[alg]
        if data.get("type") != expected:
            problem = f"it is a {data.get('type')!r} key, {alg.value} needs {expected!r}"
        if problem:
            raise HsmError(f"refusing Transit key {handle}: {problem}")
        versions = data.get("keys")
        entry = versions.get("1") if isinstance(versions, dict) else None
        pem = entry.get("public_key") if isinstance(entry, dict) else None
        if not isinstance(pem, str) or not pem:
            raise HsmError(f"Transit key {handle} has no public key for version 1")
        return _public_from_text(pem, alg)

    def raw_sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        doing = f"signing with Transit key {handle}"
        body = {"input": base64.b64encode(data).decode(), "key_version": 1, "marshaling_algorithm": "jws",
                **SIGN_PARAMS[alg]}
        _, document = self._call("POST", f"{self.mount}/sign/{_checked_handle(handle)}", doing, body)
        answer = self._data(document, doing)
        if answer.get("key_version") != 1:
            raise HsmError(f"Transit signed with version {answer.get('key_version')!r} of {handle}, not 1")
        return _decode_signature(answer.get("signature"), handle)

    def destroy(self, handle: str) -> None:
        """Delete the key (operator policy only): allow deletion on this one key, then delete it."""
        _checked_handle(handle)
        self._call("POST", f"{self.mount}/keys/{handle}/config", f"allowing deletion of {handle}",
                   {"deletion_allowed": True})
        self._call("DELETE", f"{self.mount}/keys/{handle}", f"deleting Transit key {handle}")

    def _names(self) -> list[str]:
        names = set(self._known_handles() if self._known_handles else ())
        try:  # the operator's token may list; the issuer's may not, and needs not
            _, document = self._call("GET", f"{self.mount}/keys?list=true", "listing Transit keys", alert=False)
            listed = self._data(document, "listing Transit keys").get("keys") or []
            names |= {k for k in listed if isinstance(k, str) and k.startswith(KEY_PREFIX)}
        except (TransitTokenRefused, KeyNotFound):
            pass
        return sorted(n for n in names if HANDLE.fullmatch(n))[:MAX_LISTED]

    def attributes(self) -> list[KeyAttributes]:
        out = []
        for handle in self._names():
            data = self._read_key(handle)
            exportable = data.get("exportable") is not False
            backup = data.get("allow_plaintext_backup") is not False
            moved = data.get("latest_version") != 1
            out.append(KeyAttributes(handle=handle, sensitive=not backup and not moved, extractable=exportable,
                                     value_readable=exportable or backup, in_token=True))
        return out

    def status(self) -> dict[str, object]:
        _, health = self._call("GET", "sys/health", "reading OpenBao health", expect=(200,))
        _, token = self._call("GET", "auth/token/lookup-self", "looking up the Transit token")
        info = self._data(token, "looking up the Transit token")
        return {"url": self.url, "mount": self.mount, "version": health.get("version"),
                "sealed": health.get("sealed"), "token_ttl": info.get("ttl"),
                "token_policies": info.get("policies"), "private_keys": len(self._names()),
                "algorithms": [a.value for a in Alg]}

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        keeper = self._keeper
        if keeper is not None and keeper is not threading.current_thread() and self._keeper_pid == os.getpid():
            keeper.join(self.timeout + 1)
        self._client.close()


def _whole_seconds_left(ttl: int) -> float:
    """The seconds a TTL OpenBao gives in whole seconds (rounded either way) surely leaves."""
    return max(ttl - 1.0, ttl / 2)


def _custody_problem(data: dict[str, Any]) -> str:
    """Why a Transit key document is no custody signward signs with ("" when it is)."""
    if data.get("exportable") is not False:
        return "it is exportable"
    if data.get("allow_plaintext_backup") is not False:
        return "it allows a plaintext backup"
    if data.get("latest_version") != 1:
        return f"its latest version is {data.get('latest_version')!r}, not 1 (a kid is never a moving key version)"
    return ""


def _rsa_bits(data: dict[str, Any]) -> int:
    kind = str(data.get("type", ""))
    return int(kind[4:]) if kind[:4] == "rsa-" and kind[4:].isdigit() else 0


def _public_from_text(text: str, alg: Alg) -> PublicKey:
    spec = SPECS[alg]
    try:
        if spec.kty == "OKP":
            return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
        key = load_pem_public_key(text.encode())
    except (ValueError, binascii.Error) as exc:
        raise HsmError(f"Transit returned an unreadable {alg.value} public key") from exc
    if spec.kty == "RSA" and isinstance(key, rsa.RSAPublicKey):
        return key
    if spec.kty == "EC" and isinstance(key, ec.EllipticCurvePublicKey) \
            and key.curve.key_size == spec.field_bytes * 8:
        return key
    raise HsmError(f"Transit returned a public key that is not {alg.value}'s")


def _decode_signature(value: object, handle: str) -> bytes:
    prefix = "vault:v1:"
    if not isinstance(value, str) or not value.startswith(prefix) or len(value) > 2 * MAX_SIGNATURE:
        raise HsmError(f"Transit returned a signature of {handle} that is not a version 1 JWS signature")
    body = value[len(prefix):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error) as exc:
        raise HsmError(f"Transit returned an undecodable signature of {handle}") from exc
    if not raw or len(raw) > MAX_SIGNATURE:
        raise HsmError(f"Transit returned a signature of {handle} of {len(raw)} bytes")
    return raw


__all__ = ["KEY_PREFIX", "TransitBackend", "TransitTokenRefused", "key_type", "policy_text"]
