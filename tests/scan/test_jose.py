"""The engine's JOSE helpers (signward.scan.jose) give the product's answers: the same kid for a
key (keys.jwk.thumbprint), the same verdict on every signature (algorithms.signature_ok, also on
the forged ones a hostile HAR holds), the same time (clock.iso)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signward.algorithms import CURVE_ORDER, Alg, ecdsa_scalars_in_range, signature_ok
from signward.clock import iso
from signward.keys.jwk import thumbprint
from signward.scan import jose

DATA = b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0"
P256, P384 = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1())
RSA, ED = rsa.generate_private_key(65537, 2048), ed25519.Ed25519PrivateKey.generate()


def _raw(signature: bytes, size: int) -> tuple[int, int, bytes]:
    r, s = decode_dss_signature(signature)
    return r, s, r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _cases() -> list[tuple[str, object, str, bytes]]:
    """(what, public key, alg, signature): good signatures and what a forger writes instead."""
    cases: list[tuple[str, object, str, bytes]] = []
    for key, alg, size, order, hash_type in ((P256, "ES256", 32, CURVE_ORDER["P-256"], hashes.SHA256()),
                                             (P384, "ES384", 48, CURVE_ORDER["P-384"], hashes.SHA384())):
        r, s, good = _raw(key.sign(DATA, ec.ECDSA(hash_type)), size)
        cases += [(f"{alg} good", key.public_key(), alg, good),
                  (f"{alg} s=n", key.public_key(), alg, r.to_bytes(size, "big") + order.to_bytes(size, "big")),
                  (f"{alg} s=n+1", key.public_key(), alg, r.to_bytes(size, "big") + (order + 1).to_bytes(size, "big")),
                  (f"{alg} r=0", key.public_key(), alg, bytes(size) + s.to_bytes(size, "big")),
                  (f"{alg} s=0", key.public_key(), alg, r.to_bytes(size, "big") + bytes(size)),
                  (f"{alg} r=n", key.public_key(), alg, order.to_bytes(size, "big") + s.to_bytes(size, "big")),
                  (f"{alg} short", key.public_key(), alg, good[:-1]),
                  (f"{alg} DER", key.public_key(), alg, key.sign(DATA, ec.ECDSA(hash_type))),
                  (f"{alg} other data", key.public_key(), alg,
                   _raw(key.sign(DATA + b"x", ec.ECDSA(hash_type)), size)[2])]
    es256 = _raw(P256.sign(DATA, ec.ECDSA(hashes.SHA256())), 32)[2]
    cases += [("ES384 named, P-256 key", P256.public_key(), "ES384", es256),
              ("ES256 on an RSA key", RSA.public_key(), "ES256", es256)]
    pkcs1 = RSA.sign(DATA, padding.PKCS1v15(), hashes.SHA256())
    pss = RSA.sign(DATA, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    pss_long_salt = RSA.sign(DATA, padding.PSS(padding.MGF1(hashes.SHA256()), 64), hashes.SHA256())
    eddsa = ED.sign(DATA)
    cases += [("RS256 good", RSA.public_key(), "RS256", pkcs1), ("RS256 with PSS", RSA.public_key(), "RS256", pss),
              ("PS256 good", RSA.public_key(), "PS256", pss), ("PS256 with PKCS1", RSA.public_key(), "PS256", pkcs1),
              ("PS256 salt 64", RSA.public_key(), "PS256", pss_long_salt),
              ("RS256 on an EC key", P256.public_key(), "RS256", pkcs1),
              ("EdDSA good", ED.public_key(), "EdDSA", eddsa), ("EdDSA flipped", ED.public_key(), "EdDSA",
                                                                bytes([eddsa[0] ^ 1]) + eddsa[1:]),
              ("EdDSA on an RSA key", RSA.public_key(), "EdDSA", eddsa), ("EdDSA empty", ED.public_key(), "EdDSA", b"")]
    return cases


def test_signature_verdicts_are_the_products_on_good_and_forged_signatures() -> None:
    verdicts = {}
    for what, public_key, alg, signature in _cases():
        ours = jose.signature_ok(public_key, alg, DATA, signature)
        assert ours == signature_ok(public_key, Alg(alg), DATA, signature), what  # type: ignore[arg-type]
        verdicts[what] = ours
    assert {what for what, ok in verdicts.items() if ok} == {"ES256 good", "ES384 good", "RS256 good", "PS256 good",
                                                          "EdDSA good"}


def test_an_algorithm_the_product_does_not_sign_with_never_verifies() -> None:
    """`none`, HMAC and names that differ only in case are not algorithms: no key verifies them."""
    eddsa = ED.sign(DATA)
    for alg in ("none", "HS256", "eddsa", "es256", "", "RS512"):
        assert alg not in jose.ALGORITHMS
        assert not jose.signature_ok(ED.public_key(), alg, DATA, eddsa)
    assert set(jose.ALGORITHMS) == {a.value for a in Alg}


def test_thumbprints_and_times_are_the_products() -> None:
    for key in (P256, P384, RSA, ED):
        assert jose.thumbprint(key.public_key()) == thumbprint(key.public_key())
    for ts in (None, 0.0, 1_790_000_000.0, 1_790_000_000.25):
        assert jose.iso(ts) == iso(ts)


def test_ecdsa_scalars_out_of_range_are_refused_before_the_backend() -> None:
    """0 < r, s < n is the engine's own check, whatever the library does with (r, s + n)."""
    for order in CURVE_ORDER.values():
        for r, s in ((1, 1), (order - 1, order - 1), (0, 1), (1, 0), (order, 1), (1, order), (1, order + 1),
                     (order + 5, 3), (-1, 1)):
            assert jose.scalars_in_range(r, s, order) == ecdsa_scalars_in_range(r, s, order), (r, s)
        assert not jose.scalars_in_range(1, order + 1, order) and jose.scalars_in_range(1, order - 1, order)
