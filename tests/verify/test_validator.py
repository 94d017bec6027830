"""The validator's rules, one reason each, and the attack corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signward.errors import ConfigError
from signward.verify import Reason, Validator, VerifiedClaims
from signward.verify.keyset import TrustedKey, load_key
from tests.verify import forge
from tests.verify.conftest import CONSUMER, ENTERPRISE, NOW, WINDOW, World
from tests.verify.forge import b64, enc, hs256_with_public_key


def reason(world: World, token: str | bytes, **options: object) -> Reason | None:
    return world.validator(**options).verify(token).reason  # type: ignore[arg-type]


def test_valid_token(world: World) -> None:
    verdict = world.validator().verify(world.enterprise.token(world.claims()))
    assert verdict.valid and verdict.reason is None
    assert verdict.kid == world.enterprise.kid and verdict.issuer == ENTERPRISE
    assert verdict.claims is not None and verdict.claims["tid"] == "contoso"
    assert world.validator().verify(world.consumer.token(world.claims(CONSUMER))).valid


def test_claims_object_cannot_be_forged() -> None:
    with pytest.raises(TypeError):
        VerifiedClaims({"sub": "x"}, object())


# -- the breach -------------------------------------------------------------------------------

def test_consumer_key_for_enterprise_tenant_is_not_bound(world: World) -> None:
    forged = world.consumer.token(world.claims(ENTERPRISE))
    assert reason(world, forged) is Reason.KEY_NOT_BOUND_TO_ISSUER
    assert world.alerts and world.alerts[-1]["reason"] == "key_not_bound_to_issuer"


def test_unsigned_garbage_naming_a_key_raises_no_alert(world: World) -> None:
    """Regression: a signature of 64 bytes 0x01 with the consumer's kid and the enterprise iss
    (or an expired key's kid) raised a CRITICAL alert and an alert-severity audit record: anyone
    could flood the alert channel. Alerts need a signature that verifies under the named key."""
    for signer in (world.consumer, world.old_enterprise):
        head, body, _ = signer.token(world.claims(ENTERPRISE)).split(".")
        garbage = f"{head}.{body}.{b64(bytes([1]) * (64 if signer is world.consumer else 256))}"
        before = len(world.alerts)
        assert reason(world, garbage) is Reason.BAD_SIGNATURE
        assert len(world.alerts) == before


def test_a_jwk_whose_key_ops_exclude_verify_is_not_used(world: World) -> None:
    from signward.verify import load_jwks

    jwk = world.enterprise.jwk(key_ops=["sign"])
    assert load_jwks({"keys": [jwk]}, ENTERPRISE, "test") == {}
    assert load_jwks({"keys": [world.enterprise.jwk(key_ops=["verify"])]}, ENTERPRISE, "test")


def test_expired_key_is_refused_even_with_fresh_claims(world: World) -> None:
    assert reason(world, world.old_enterprise.token(world.claims())) is Reason.KEY_EXPIRED
    assert world.alerts[-1]["reason"] == "key_expired"


def test_a_key_past_its_window_is_refused_even_for_a_token_that_ended_inside_it(world: World) -> None:
    """The key's own expiry on its own: the token ended before the key did, so only `now >= key
    exp` can refuse it as key_expired (the claims check would say expired)."""
    key_exp = NOW - 365 * 86400
    token = world.old_enterprise.token(world.claims(iat=int(key_exp - 900), nbf=None, exp=int(key_exp - 300)))
    assert reason(world, token) is Reason.KEY_EXPIRED


def test_token_outliving_its_key_is_refused(world: World) -> None:
    key_exp = int(world.clock.now()) + 30 * 86400
    token = world.enterprise.token(world.claims(iat=key_exp - 100, nbf=None, exp=key_exp + 100))
    world.clock.set(key_exp - 50)
    assert reason(world, token) is Reason.KEY_EXPIRED


KEY_NBF, KEY_EXP = WINDOW["nbf"], WINDOW["exp"]


@pytest.mark.parametrize(("now", "iat", "exp", "expected"), [
    (KEY_EXP - 1, KEY_EXP - 600, KEY_EXP, None),  # the token ends with its key
    (KEY_EXP - 600, KEY_EXP - 599, KEY_EXP + 1, Reason.KEY_EXPIRED),  # one second past it: only exp > key exp
    (KEY_EXP - 600, KEY_EXP - 601, KEY_EXP - 1, None),
    (KEY_EXP, KEY_EXP - 600, KEY_EXP, Reason.KEY_EXPIRED),  # the key's last second is over: only now >= key exp
    (KEY_NBF, KEY_NBF, KEY_NBF + 600, None),  # issued in the key's first second
    (KEY_NBF + 10, KEY_NBF - 1, KEY_NBF + 600, Reason.KEY_NOT_YET_VALID),  # one before: only iat < key nbf
    (KEY_NBF - 1, KEY_NBF, KEY_NBF + 600, Reason.KEY_NOT_YET_VALID),  # checked a second early: only now < key nbf
    (KEY_NBF + 1, KEY_NBF + 1, KEY_NBF + 601, None),
], ids=["exp=key-exp", "exp=key-exp+1", "exp=key-exp-1", "now=key-exp", "iat=key-nbf", "iat=key-nbf-1",
        "now=key-nbf-1", "iat=key-nbf+1"])
def test_tokens_at_the_edges_of_their_keys_window(world: World, now: int, iat: int, exp: int,
                                                  expected: Reason | None) -> None:
    """Each refusal arranged so that one comparison alone refuses it: the claims are fresh at
    `now` (inside the skew) and the lifetime is short; the neighbour one second inside passes."""
    world.clock.set(now)
    for signer, issuer in ((world.enterprise, ENTERPRISE), (world.consumer, CONSUMER)):
        token = signer.token(world.claims(issuer, iat=iat, nbf=iat, exp=exp))
        assert reason(world, token) is expected


def test_issuers_that_name_their_keys_alike_still_refuse_a_foreign_key(keys: dict[str, forge.TestKey],
                                                                       tmp_path: Path) -> None:
    """Two third-party issuers may both publish `key-1`: then the kid names a key of the claimed
    issuer and the binding check (by kid) cannot see the other issuer's key. The consumer key's
    token for the enterprise is refused all the same, by the enterprise key's algorithm (and its
    signature), never accepted; it is no key_not_bound_to_issuer alert."""
    files = {}
    for issuer, key in ((CONSUMER, keys["consumer"]), (ENTERPRISE, keys["enterprise"])):
        files[issuer] = tmp_path / f"{issuer.rsplit('/', 1)[1]}.json"
        files[issuer].write_text(json.dumps({"keys": [key.named("key-1").jwk(issuer=issuer, **WINDOW)]}))
    alerts: list[dict[str, object]] = []
    from signward.clock import FixedClock

    validator = Validator(trust={k: str(v) for k, v in files.items()}, audience="mail", clock=FixedClock(NOW),
                          on_alert=alerts.append)
    claims = {"iss": ENTERPRISE, "sub": "alice", "aud": "mail", "iat": int(NOW), "exp": int(NOW) + 600}
    consumer, enterprise = keys["consumer"].named("key-1"), keys["enterprise"].named("key-1")
    assert validator.verify(enterprise.token(claims)).valid
    assert validator.verify(consumer.token(claims)).reason is Reason.ALG_NOT_ALLOWED
    assert validator.verify(consumer.token(claims, alg="RS256")).reason is Reason.BAD_SIGNATURE
    assert validator.verify(consumer.token({**claims, "iss": CONSUMER})).valid
    assert alerts == []


def test_token_issued_before_key_nbf(world: World) -> None:
    token = world.enterprise.token(world.claims(iat=int(world.clock.now()) - 2 * 86400))
    assert reason(world, token, max_lifetime=10 * 86400) is Reason.KEY_NOT_YET_VALID


def test_insecure_options_reproduce_the_2023_acceptance(world: World) -> None:
    forged = world.old_enterprise.token(world.claims())
    assert reason(world, forged, insecure_ignore_key_validity=True) is None
    cross = world.consumer.token(world.claims(ENTERPRISE))
    assert reason(world, cross, insecure_shared_keyset=True) is None


# -- the attack corpus ------------------------------------------------------------------------

def test_alg_none(world: World) -> None:
    token = f"{enc({'alg': 'none', 'kid': world.enterprise.kid, 'typ': 'at+jwt'})}.{enc(world.claims())}."
    assert reason(world, token) is Reason.ALG_NOT_ALLOWED


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "RS1", "ES256K", ""])
def test_the_alg_allowlist_is_checked_before_any_key_is_looked_up(world: World, alg: str) -> None:
    """The allowlist on its own: with an unknown kid, only the header check can name the alg."""
    token = f"{enc({'alg': alg, 'kid': 'no-such-kid', 'typ': 'at+jwt'})}.{enc(world.claims())}.c2ln"
    assert reason(world, token) is Reason.ALG_NOT_ALLOWED


def test_alg_confusion_cve_2015_9235_hs256_with_rsa_public_key(world: World) -> None:
    pem = world.enterprise.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    assert reason(world, hs256_with_public_key(world.enterprise, world.claims(), pem)) is Reason.ALG_NOT_ALLOWED


def test_header_alg_must_be_the_keys(world: World) -> None:
    token = world.enterprise.token(world.claims(), alg="PS256")  # signed PKCS1, labelled PSS
    assert reason(world, token) is Reason.ALG_NOT_ALLOWED


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c"])
def test_embedded_key_references(world: World, member: str) -> None:
    value = world.consumer.jwk() if member == "jwk" else (["MIIB"] if member == "x5c" else "https://evil.example/k")
    assert reason(world, world.enterprise.token(world.claims(), **{member: value})) is Reason.UNTRUSTED_KEY_REFERENCE


def test_unknown_crit(world: World) -> None:
    assert reason(world, world.enterprise.token(world.claims(), crit=["exp"])) is Reason.UNSUPPORTED_CRIT


def test_duplicate_members(world: World) -> None:
    head = b64(b'{"alg":"RS256","kid":"%s","typ":"at+jwt","alg":"none"}' % world.enterprise.kid.encode())
    body = b64(json.dumps(world.claims()).encode())
    sig = b64(world.enterprise.sign(f"{head}.{body}".encode()))
    assert reason(world, f"{head}.{body}.{sig}") is Reason.MALFORMED
    body2 = b64(b'{"iss":"%s","iss":"%s"}' % (ENTERPRISE.encode(), CONSUMER.encode()))
    assert reason(world, f"{head}.{body2}.{sig}") is Reason.MALFORMED


def test_oversize(world: World) -> None:
    assert reason(world, world.enterprise.token(world.claims(pad="x" * 17000))) is Reason.MALFORMED


@pytest.mark.parametrize("mangle", [
    lambda t: t + "=",
    lambda t: t.replace(".", "+", 1),
    lambda t: t.split(".")[0] + "==." + ".".join(t.split(".")[1:]),
    lambda t: t[:-1] + "*",
    lambda t: t + ".x",
    lambda t: ".".join(t.split(".")[:2]),
    lambda t: "",
    lambda t: "...",
    lambda t: t.encode("utf-16"),
])
def test_bad_base64_and_shape(world: World, mangle: object) -> None:
    token = world.enterprise.token(world.claims())
    assert reason(world, mangle(token)) is Reason.MALFORMED  # type: ignore[operator]


def test_non_canonical_base64_last_char(world: World) -> None:
    token = world.consumer.token(world.claims(CONSUMER))
    head, body, sig = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = sig[-1]
    # an ES256 signature is 64 bytes: the last char carries 4 unused bits; flip one of them
    twin = alphabet[alphabet.index(last) ^ 1]
    assert reason(world, f"{head}.{body}.{sig[:-1]}{twin}") is Reason.MALFORMED


def test_ecdsa_r_s_zero(world: World) -> None:
    token = world.consumer.token(world.claims(CONSUMER))
    head, body, _ = token.split(".")
    assert reason(world, f"{head}.{body}.{b64(bytes(64))}") is Reason.BAD_SIGNATURE


def test_ecdsa_der_signature_refused(world: World) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    head, body, _ = world.consumer.token(world.claims(CONSUMER)).split(".")
    der = world.consumer.private.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg]
    assert reason(world, f"{head}.{body}.{b64(der)}") is Reason.BAD_SIGNATURE


def test_ecdsa_s_plus_n_refused() -> None:
    """Deterministic: a key chosen so that a valid signature has s = 1, so s + n still fits in
    32 bytes; (r, 1) verifies and (r, 1 + n) must not (nor r + n, nor zero)."""
    import hashlib

    from cryptography.hazmat.primitives.asymmetric import ec

    from signward.algorithms import CURVE_ORDER, Alg, ecdsa_scalars_in_range, signature_ok

    n = CURVE_ORDER["P-256"]
    data = b"header.payload"
    h = int.from_bytes(hashlib.sha256(data).digest(), "big") % n
    k = 0x1234567890ABCDEF1234567890ABCDEF
    r = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers().x % n
    d = (k * 1 - h) * pow(r, -1, n) % n  # s = k^-1 (h + r d) = 1
    public = ec.derive_private_key(d, ec.SECP256R1()).public_key()

    def raw(r_value: int, s_value: int) -> bytes:
        return r_value.to_bytes(32, "big") + s_value.to_bytes(32, "big")

    assert signature_ok(public, Alg.ES256, data, raw(r, 1))  # the construction is right
    assert (1 + n).bit_length() <= 256
    assert not signature_ok(public, Alg.ES256, data, raw(r, 1 + n))
    assert not signature_ok(public, Alg.ES256, data, raw(r, n - 1 + n - (n - 1)))  # s = n
    assert not signature_ok(public, Alg.ES256, data, raw(0, 1))
    assert not ecdsa_scalars_in_range(r, 1 + n, n) and not ecdsa_scalars_in_range(r, 0, n)
    assert not ecdsa_scalars_in_range(n, 1, n) and ecdsa_scalars_in_range(r, 1, n)


@pytest.mark.parametrize("claim,value", [("exp", "9999999999"), ("exp", True), ("iat", None), ("aud", {"a": 1}),
                                         ("aud", [1]), ("iss", ["x"]), ("sub", 5), ("exp", 1e400)])
def test_claims_of_the_wrong_type(world: World, claim: str, value: object) -> None:
    claims = world.claims()
    if value is None:
        claims.pop(claim)
    else:
        claims[claim] = value
    token = world.enterprise.token(claims) if claim != "exp" or value != 1e400 else (
        f"{enc({'alg': 'RS256', 'kid': world.enterprise.kid, 'typ': 'at+jwt'})}."
        f"{b64(json.dumps(world.claims()).replace(str(world.claims()['exp']), '1e400').encode())}.AAAA")
    assert reason(world, token) is Reason.MALFORMED


def test_bad_signature(world: World) -> None:
    head, body, sig = world.enterprise.token(world.claims()).split(".")
    other = world.enterprise.token(world.claims(sub="mallory")).split(".")[1]
    assert reason(world, f"{head}.{other}.{sig}") is Reason.BAD_SIGNATURE


def test_unknown_kid_and_missing_kid(world: World) -> None:
    assert reason(world, world.enterprise.token(world.claims(), kid="nope")) is Reason.UNKNOWN_KEY
    assert reason(world, world.enterprise.token(world.claims(), kid=None)) is Reason.UNKNOWN_KEY


@pytest.mark.parametrize("over,expected", [
    ({"iss": "https://evil.example"}, Reason.WRONG_ISSUER),
    ({"aud": "files"}, Reason.WRONG_AUDIENCE),
    ({"aud": ["files", "mail"]}, None),
    ({"exp": 1_800_000_000 - 61, "iat": 1_800_000_000 - 600}, Reason.EXPIRED),
    ({"exp": 1_800_000_000 - 59, "iat": 1_800_000_000 - 600}, None),  # within the skew
    ({"nbf": 1_800_000_000 + 120}, Reason.NOT_YET_VALID),
    ({"iat": 1_800_000_000 + 120, "exp": 1_800_000_000 + 600}, Reason.NOT_YET_VALID),
    ({"exp": 1_800_000_000 + 2 * 86400}, Reason.LIFETIME_TOO_LONG),
])
def test_claim_rules(world: World, over: dict[str, object], expected: Reason | None) -> None:
    assert reason(world, world.enterprise.token(world.claims(**over))) is expected


def test_typ_required(world: World) -> None:
    assert reason(world, world.enterprise.token(world.claims(), typ="JWT")) is Reason.WRONG_TYPE
    assert reason(world, world.enterprise.token(world.claims(), typ=None)) is Reason.WRONG_TYPE
    assert reason(world, world.enterprise.token(world.claims(), typ="application/AT+JWT")) is None
    assert reason(world, world.enterprise.token(world.claims(), typ="JWT"), require_at_jwt=False) is None


def test_honey_key_by_kid_and_by_thumbprint(world: World) -> None:
    """Listed by the kid its issuer publishes, or by its thumbprint: under a named kid, only the
    thumbprint check knows the key by its thumbprint (under a thumbprint kid, both do)."""
    token = world.enterprise.token(world.claims())
    for listed in (world.enterprise.kid, world.enterprise.thumbprint):
        assert reason(world, token, honey=[listed]) is Reason.HONEY_KEY
        assert world.alerts[-1]["reason"] == "honey_key" and world.alerts[-1]["kid"] == world.enterprise.kid
    assert reason(world, token, honey=["2024-02", "another-thumbprint"]) is None  # nothing else is honey


def test_a_garbage_signature_naming_a_honey_kid_raises_no_alert(world: World, tmp_path: Path) -> None:
    """Regression (#34): 64 bytes 0x01 as the signature of a token naming a honey kid raised a
    CRITICAL honey_key alert (through on_alert, the CLI and the guard): anyone who read the JWKS
    could claim a key was in someone else's hands. Only a signature that verifies under the honey
    key is an alert; a garbage one is the ordinary bad_signature, on each path to the check."""
    head, body, _ = world.consumer.token(world.claims(CONSUMER)).split(".")
    garbage = f"{head}.{body}.{b64(bytes([1]) * 64)}"
    by_kid = world.validator(honey=[world.consumer.kid])
    assert by_kid.verify(garbage).reason is Reason.BAD_SIGNATURE  # the honey-kid check, first in line
    renamed = tmp_path / "renamed.json"  # published as "c-1": only the thumbprint check knows it
    renamed.write_text(json.dumps({"keys": [world.consumer.jwk(kid="c-1", issuer=CONSUMER)]}))
    by_thumbprint = Validator(trust={CONSUMER: str(renamed)}, audience="mail", clock=world.clock,
                              on_alert=world.alerts.append, honey=[world.consumer.thumbprint])
    renamed_garbage = world.consumer.token(world.claims(CONSUMER), kid="c-1").rsplit(".", 1)[0] + "." + b64(
        bytes([1]) * 64)
    assert by_thumbprint.verify(renamed_garbage).reason is Reason.BAD_SIGNATURE
    jws_level = by_kid.verify_jws(garbage, {world.consumer.kid: _trusted(world.consumer)})
    assert jws_level.reason is Reason.BAD_SIGNATURE
    assert world.alerts == []
    signed = world.consumer.token(world.claims(CONSUMER))  # the same token, really signed: the alert
    assert by_kid.verify(signed).reason is Reason.HONEY_KEY
    assert by_kid.verify_jws(signed, {world.consumer.kid: _trusted(world.consumer)}).reason is Reason.HONEY_KEY
    assert by_thumbprint.verify(world.consumer.token(world.claims(CONSUMER), kid="c-1")).reason is Reason.HONEY_KEY
    assert [a["reason"] for a in world.alerts] == ["honey_key", "honey_key", "honey_key"]


def test_a_honey_kid_without_a_known_key_is_an_ordinary_refusal(world: World) -> None:
    """A decoy kid that no key set publishes and no honey key gives: its signature cannot be
    checked, so no alert (unknown_key), whatever key really signed the token."""
    decoy = world.consumer.token(world.claims(CONSUMER), kid="decoy-kid-1")
    assert reason(world, decoy, honey=["decoy-kid-1"]) is Reason.UNKNOWN_KEY
    assert world.alerts == []


def test_a_honey_key_given_as_a_public_jwk_alerts_only_on_its_signature(world: World) -> None:
    """A canary's key is in no trusted set: given as a public JWK (`honey_keys`), a token it signed
    is honey_key (an alert), a garbage signature under its kid is bad_signature, even with an
    issuer the validator does not trust (the honey check comes before the issuer's)."""
    from tests.verify.forge import new_key

    canary = new_key("ES256")
    validator = world.validator(honey_keys=[canary.jwk()])
    signed = canary.token(world.claims("https://attacker.example"))
    head, body, _ = signed.split(".")
    assert validator.verify(f"{head}.{body}.{b64(bytes([1]) * 64)}").reason is Reason.BAD_SIGNATURE
    assert world.alerts == []
    assert validator.verify(signed).reason is Reason.HONEY_KEY
    assert [a["reason"] for a in world.alerts] == ["honey_key"]
    with pytest.raises(ConfigError):
        world.validator(honey_keys=[{**canary.jwk(), "d": "private"}])


def _trusted(key: forge.TestKey) -> TrustedKey:
    return load_key(key.jwk(), None)


def test_missing_jwks_file_fails_closed(world: World) -> None:
    world.files[ENTERPRISE].unlink()
    assert reason(world, world.enterprise.token(world.claims())) is Reason.JWKS_UNAVAILABLE


def test_configuration_contradictions_raise() -> None:
    with pytest.raises(ConfigError):
        Validator(trust={}, audience="mail")
    with pytest.raises(ConfigError):
        Validator(trust={"https://a": "x.json"}, audience="mail", clock_skew=3600)
    with pytest.raises(ConfigError):
        Validator(trust={"https://a": "x.json"}, audience="")


def test_jws_level_entry_point(world: World) -> None:
    from signward.verify import load_jwks

    keys = load_jwks({"keys": [world.consumer.jwk()]}, CONSUMER)
    v = world.validator()
    token = world.consumer.token({"anything": [1, 2, 3]}, typ=None)
    verdict = v.verify_jws(token, keys)
    assert verdict.valid and verdict.payload_b64 == token.split(".")[1]
    assert v.verify_jws(world.enterprise.token({}), keys).reason is Reason.UNKNOWN_KEY
    assert v.verify_jws(token[:-2] + "AA", keys).reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED)


def test_trailing_newline_in_a_part_found_by_fuzzing(world: World) -> None:
    """atheris found `^...$` letting a part end in a newline (a KeyError in the canonical check)."""
    head, body, sig = world.enterprise.token(world.claims()).split(".")
    for token in (f"{head}\n.{body}.{sig}", f"{head}.{body}\n.{sig}", f"{head}.{body}.{sig}\n"):
        assert reason(world, token) is Reason.MALFORMED
