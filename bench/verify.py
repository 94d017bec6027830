"""Validation benchmark: the full signward policy against PyJWT's decode and raw cryptography
verify, on the same tokens, in one run. Prints rates and ratios (compare ratios, not rates).

Run: .venv/bin/python bench/verify.py [--n 3000] [--introspect-n 300]
Goal: at least PyJWT's rate while checking more; at least 0.9 of raw verify.

Then the issuance check: a real issuer (HSM home, `signward serve` on loopback) issues tokens,
and the validator that introspects them is measured against the local-only validator on the
same tokens: once per token (first seen: one introspection call each) and again (cached: no
call). Issue 21 asks that a cached token cost no network call.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.verify.forge import new_key  # noqa: E402

from signward.verify import Validator  # noqa: E402

ISSUER = "https://login.example.com/realms/enterprise"


def rate(fn, tokens: list[str]) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for t in tokens:
        fn(t)
    return len(tokens) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--introspect-n", type=int, default=300, help="0: skip the issuance-check part")
    args = parser.parse_args()
    now = int(time.time())
    results = {}
    for alg in ("ES256", "RS256"):
        key = new_key(alg)
        tmp = Path(tempfile.mkdtemp()) / "jwks.json"
        tmp.write_text(json.dumps({"keys": [key.jwk(issuer=ISSUER, nbf=now - 86400, exp=now + 86400)]}))
        tokens = [key.token({"iss": ISSUER, "sub": f"u{i}", "aud": "mail", "tid": "t", "iat": now, "nbf": now,
                             "exp": now + 600, "jti": str(i)}) for i in range(args.n)]
        validator = Validator(trust={ISSUER: str(tmp)}, audience="mail")
        assert all(validator.verify(t).valid for t in tokens[:10])
        public = key.private.public_key()

        def full(t: str) -> None:
            if not validator.verify(t).valid:
                raise SystemExit("rejected a valid token")

        def pyjwt(t: str) -> None:
            jwt.decode(t, public, algorithms=[alg], audience="mail", issuer=ISSUER,
                       options={"verify_iat": True}, leeway=0)

        def raw(t: str) -> None:
            head, body, sig = t.rsplit(".", 2)[0], t.split(".")[1], t.split(".")[2]
            signature = base64.urlsafe_b64decode(sig + "==")
            data = f"{t.split('.')[0]}.{body}".encode()
            if alg == "ES256":
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                public.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
            else:
                public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg]
            _ = head

        for fn in (full, pyjwt, raw):  # warm-up
            rate(fn, tokens[:200])
        r_full, r_pyjwt, r_raw = rate(full, tokens), rate(pyjwt, tokens), rate(raw, tokens)
        results[alg] = {"signward_per_s": round(r_full), "pyjwt_per_s": round(r_pyjwt),
                        "raw_verify_per_s": round(r_raw),
                        "ratio_vs_pyjwt": round(r_full / r_pyjwt, 3), "ratio_vs_raw": round(r_full / r_raw, 3)}
        validator.close()
    if args.introspect_n:
        results["introspection"] = introspection(args.introspect_n)
    print(json.dumps(results, indent=2))


def introspection(n: int) -> dict[str, object]:
    """Local-only against introspecting validation of tokens a real issuer issued."""
    import shutil

    import httpx
    from tests.conftest import make_hsm_home, setup_realms, signward_json
    from tests.helpers import IssuerProcess, free_port

    from signward.hsm import server as hsm_server
    from signward.verify import Introspector

    root = Path(tempfile.mkdtemp(prefix="signward-bench-introspect-"))
    home = make_hsm_home(root / "home")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clients = setup_realms(home, base)
    rp = signward_json(home, "client", "create", "--realm", "enterprise", "--tenant", "contoso", "--audience", "mail",
                       "--scope", "introspect")
    issuer_process = IssuerProcess(home, port).start()
    issuer = f"{base}/realms/enterprise"
    try:
        with httpx.Client(auth=clients["enterprise"]) as http:
            tokens = [http.post(f"{issuer}/token", data={"grant_type": "client_credentials", "audience": "mail"})
                      .json()["access_token"] for _ in range(n)]
        local = Validator(trust={issuer: f"{issuer}/jwks.json"}, audience="mail")
        asking = Introspector(f"{issuer}/introspect", rp["client_id"], rp["client_secret"])
        checking = Validator(trust={issuer: f"{issuer}/jwks.json"}, audience="mail", introspect={issuer: asking})

        def ok(validator: Validator):  # type: ignore[no-untyped-def]
            def check(t: str) -> None:
                if not validator.verify(t).valid:
                    raise SystemExit("rejected a valid token")
            return check

        rate(ok(local), tokens[:20])
        r_local = rate(ok(local), tokens)
        first = rate(ok(checking), tokens)
        calls = asking.calls
        cached = rate(ok(checking), tokens)
        assert asking.calls == calls == n, (asking.calls, n)  # one call per new token, none when cached
        local.close()
        checking.close()
        return {"tokens": n, "local_only_per_s": round(r_local), "introspecting_first_seen_per_s": round(first),
                "introspecting_cached_per_s": round(cached), "calls_first_pass": calls,
                "calls_cached_pass": asking.calls - calls, "cached_vs_local": round(cached / r_local, 3),
                "first_seen_vs_local": round(first / r_local, 3)}
    finally:
        issuer_process.stop()
        hsm_server.stop(home)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
