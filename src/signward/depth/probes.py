"""Probes: check on the live system whether a control really works.

A probe is `module:function` (called with a `ProbeContext`, returns True when the control
works) or `cmd: shell command` (exit 0 when it works). Each runs with a timeout; a probe
that fails, raises or times out marks its control failed (fail closed).

Shipped probes for signward's own controls act for real: they read the HSM's key
attributes, the registry's key windows, and forge tokens and present them to the validator.
"""

from __future__ import annotations

import importlib
import json
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..home import Home


@dataclass(frozen=True)
class ProbeContext:
    home: Home


@dataclass(frozen=True)
class ProbeResult:
    control: str
    probe: str
    works: bool
    detail: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"control": self.control, "probe": self.probe, "works": self.works, "detail": self.detail,
                "seconds": round(self.seconds, 3)}


def run_probe(control: str, probe: str, ctx: ProbeContext, timeout: float = 60.0) -> ProbeResult:
    started = time.monotonic()
    if probe.startswith("cmd:"):
        try:
            done = subprocess.run(shlex.split(probe[4:]), capture_output=True, text=True, timeout=timeout,
                                  env={"SIGNWARD_HOME": str(ctx.home.root), "PATH": "/usr/bin:/bin:/usr/local/bin"})
            works, detail = done.returncode == 0, (done.stdout or done.stderr).strip()[:200]
        except (OSError, subprocess.TimeoutExpired) as exc:
            works, detail = False, f"{type(exc).__name__}: {exc}"
        return ProbeResult(control, probe, works, detail, time.monotonic() - started)
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            module_name, _, func_name = probe.partition(":")
            func = getattr(importlib.import_module(module_name), func_name)
            value = func(ctx)
            outcome["works"], outcome["detail"] = (value if isinstance(value, tuple) else (bool(value), ""))
        except Exception as exc:  # a probe that cannot run says the control is not shown to work
            outcome["works"], outcome["detail"] = False, f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return ProbeResult(control, probe, False, f"timed out after {timeout:.0f}s", time.monotonic() - started)
    return ProbeResult(control, probe, bool(outcome.get("works")), str(outcome.get("detail", ""))[:300],
                       time.monotonic() - started)


# -- shipped probes ---------------------------------------------------------------------------

def hsm_keys_non_extractable(ctx: ProbeContext) -> tuple[bool, str]:
    """Every private key in the signing backend is SENSITIVE, not EXTRACTABLE, unreadable, in a token."""
    from ..hsm import open_backend

    backend = open_backend(ctx.home, ctx.home.load_config())
    try:
        if backend.holds_keys_in_process:
            return False, "signing keys are held in process memory (software signer)"
        attrs = backend.attributes()
    finally:
        backend.close()
    bad = [a.handle for a in attrs if a.extractable or not a.sensitive or a.value_readable or not a.in_token]
    return (not bad and bool(attrs)), (f"{len(attrs)} keys checked" if not bad else f"exposed: {bad}")


def key_ages_within_policy(ctx: ProbeContext) -> tuple[bool, str]:
    """No key signs longer than its realm's policy allows, and no key past its window is active."""
    from ..clock import SystemClock
    from ..keys import KeyState, Registry
    from ..store import store_for

    class _NoBackend:
        name = "none"

    store = store_for(ctx.home.load_config().store.url, ctx.home.db_path)
    registry = Registry(store, _NoBackend(), SystemClock())  # type: ignore[arg-type]
    now = time.time()
    problems = []
    for realm in registry.realms():
        for key in registry.keys(realm.name):
            if key.sign_until - key.sign_from > realm.policy.max_signing_lifetime + 1:
                problems.append(f"{key.kid} signs for {key.sign_until - key.sign_from:.0f}s")
            if key.state is KeyState.ACTIVE and now >= key.verify_until:
                problems.append(f"{key.kid} active past its verify window")
    return not problems, "; ".join(problems) or "all key windows within policy"


def _probe_keys() -> dict[str, tuple[Any, str, dict[str, Any]]]:
    """Three throw-away P-256 keys (private key, kid, public JWK) for forging probe tokens."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from ..keys import public_jwk, thumbprint

    keys = {}
    for name in ("consumer", "enterprise", "expired"):
        private = ec.generate_private_key(ec.SECP256R1())
        keys[name] = (private, thumbprint(private.public_key()), public_jwk(private.public_key()))
    return keys


def _sign(private: Any, kid: str, claims: dict[str, Any]) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from joserfc.util import urlsafe_b64encode

    def b64(data: bytes) -> str:
        return bytes(urlsafe_b64encode(data)).decode()

    head = b64(json.dumps({"alg": "ES256", "kid": kid, "typ": "at+jwt"}).encode())
    body = b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{head}.{body}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _validator_case(kind: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="signward-probe-") as scratch:
        return _validator_case_in(kind, Path(scratch))


def _validator_case_in(kind: str, tmp: Path) -> tuple[bool, str]:
    from ..verify import Reason, Validator

    keys = _probe_keys()
    now = int(time.time())
    consumer, enterprise = "https://probe.invalid/consumer", "https://probe.invalid/enterprise"
    c_priv, c_kid, c_jwk = keys["consumer"]
    e_priv, e_kid, e_jwk = keys["enterprise"]
    x_priv, x_kid, x_jwk = keys["expired"]
    (tmp / "c.json").write_text(json.dumps({"keys": [{**c_jwk, "kid": c_kid, "alg": "ES256"}]}))
    (tmp / "e.json").write_text(json.dumps({"keys": [
        {**e_jwk, "kid": e_kid, "alg": "ES256"},
        {**x_jwk, "kid": x_kid, "alg": "ES256", "nbf": now - 5 * 365 * 86400, "exp": now - 2 * 365 * 86400}]}))
    claims = {"iss": enterprise, "sub": "probe", "aud": "mail", "tid": "probe", "iat": now, "nbf": now,
              "exp": now + 300}
    with Validator(trust={consumer: str(tmp / "c.json"), enterprise: str(tmp / "e.json")}, audience="mail") as v:
        control = v.verify(_sign(e_priv, e_kid, claims))
        if not control.valid:
            return False, f"the probe's own valid token was refused ({control.reason}): probe broken"
        if kind == "expired":
            verdict = v.verify(_sign(x_priv, x_kid, claims))
            return verdict.reason is Reason.KEY_EXPIRED, f"expired-key token: {verdict.reason}"
        verdict = v.verify(_sign(c_priv, c_kid, claims))
        return verdict.reason is Reason.KEY_NOT_BOUND_TO_ISSUER, f"other issuer's key: {verdict.reason}"


def validator_rejects_expired_key(ctx: ProbeContext) -> tuple[bool, str]:
    """Forge a token with a key whose window closed two years ago; the validator must refuse it."""
    return _validator_case("expired")


def validator_rejects_other_issuer(ctx: ProbeContext) -> tuple[bool, str]:
    """Forge an enterprise token with the consumer issuer's key; the validator must refuse it."""
    return _validator_case("other_issuer")
