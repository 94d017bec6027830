"""The PKCS#11 backend against a real SoftHSM2 token behind a real p11-kit server."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pkcs11
import pkcs11.exceptions
import pytest

from signward.errors import AlgorithmUnsupported, HsmUnavailable, InsecureConfiguration
from signward.home import Config, Home, HsmConfig
from signward.hsm import Alg, CheckedSigner, Pkcs11Backend, open_backend, signature_ok
from signward.hsm import server as hsm_server
from signward.hsm.errors_map import mapped_classes


@pytest.mark.parametrize("alg", [Alg.ES256, Alg.ES384, Alg.RS256, Alg.PS256])
def test_generated_keys_sign_and_verify(backend: Pkcs11Backend, alg: Alg) -> None:
    handle, public = backend.generate(alg, label="test")
    signer = CheckedSigner(backend)
    sig = signer.sign(handle, alg, b"header.payload")
    assert signature_ok(public, alg, b"header.payload", sig)
    assert not signature_ok(public, alg, b"header.payload2", sig)
    backend.destroy(handle)


def test_rsa_3072(backend: Pkcs11Backend) -> None:
    handle, public = backend.generate(Alg.PS256, label="test", rsa_bits=3072)
    assert public.key_size == 3072  # type: ignore[union-attr]
    assert signature_ok(public, Alg.PS256, b"x", CheckedSigner(backend).sign(handle, Alg.PS256, b"x"))
    backend.destroy(handle)


def test_rsa_size_outside_policy_refused(backend: Pkcs11Backend) -> None:
    with pytest.raises(AlgorithmUnsupported):
        backend.generate(Alg.RS256, label="test", rsa_bits=1024)


def test_every_private_key_is_sensitive_non_extractable_and_unreadable(backend: Pkcs11Backend) -> None:
    for alg in (Alg.ES256, Alg.RS256):
        backend.generate(alg, label="attr-test")
    attrs = backend.attributes()
    assert attrs, "the token holds keys"
    for a in attrs:
        assert a.sensitive is True and a.extractable is False and a.value_readable is False and a.in_token


def test_reading_private_value_fails_directly(hsm_home: Home, backend: Pkcs11Backend) -> None:
    """Read CKA_VALUE / CKA_PRIVATE_EXPONENT through a fresh client session: the token refuses."""
    handle, _ = backend.generate(Alg.RS256, label="read-test")
    pin = hsm_home.secret("hsm/pin")
    lib = pkcs11.lib(hsm_server.p11kit_client_module())
    token = lib.get_token(token_label="signward")
    with token.open(user_pin=pin) as session:  # logged in as the user who signs: still no value
        key = session.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, id=bytes.fromhex(handle))
        for attribute in (pkcs11.Attribute.PRIVATE_EXPONENT, pkcs11.Attribute.PRIME_1):
            with pytest.raises(pkcs11.exceptions.AttributeSensitive):
                key[attribute]


def test_eddsa_not_offered_through_p11kit_024_says_so(backend: Pkcs11Backend) -> None:
    offered = backend.status()["algorithms"]
    if "EdDSA" in offered:
        pytest.skip("this p11-kit forwards EdDSA")
    with pytest.raises(AlgorithmUnsupported, match="EdDSA"):
        backend.generate(Alg.EdDSA, label="ed")


def test_eddsa_through_a_module_that_offers_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured vendor module (here SoftHSM loaded directly) signs Ed25519 with CKM_EDDSA."""
    home = Home(tmp_path / "direct")
    cfg = HsmConfig(module=hsm_server.softhsm_module(), token_label="direct")
    home.init(Config(hsm=cfg))
    hsm_server.init_token(home, cfg)
    monkeypatch.setenv("SOFTHSM2_CONF", str(home.hsm_dir / "softhsm2.conf"))
    b = open_backend(home, home.load_config())
    try:
        handle, public = b.generate(Alg.EdDSA, label="ed")
        assert signature_ok(public, Alg.EdDSA, b"m", CheckedSigner(b).sign(handle, Alg.EdDSA, b"m"))
        assert all(not a.extractable and a.sensitive for a in b.attributes())
    finally:
        b.close()


def test_every_pkcs11_error_is_mapped() -> None:
    defined = {c for _, c in inspect.getmembers(pkcs11.exceptions, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == pkcs11.exceptions.__name__}
    assert defined - mapped_classes() == set()


def test_software_signer_refused_without_its_opt_in(tmp_path: Path) -> None:
    home = Home(tmp_path / "soft")
    home.init(Config(hsm=HsmConfig(backend="software")))
    with pytest.raises(InsecureConfiguration, match="allow_insecure_software_keys"):
        open_backend(home, home.load_config())
    allowed = Home(tmp_path / "soft2")
    allowed.init(Config(hsm=HsmConfig(backend="software", allow_insecure_software_keys=True)))
    b = open_backend(allowed, allowed.load_config())
    assert b.holds_keys_in_process


def test_no_hsm_process_is_unavailable(tmp_path: Path) -> None:
    home = Home(tmp_path / "none")
    home.init()
    (home.hsm_dir / "pin").write_text("0000")
    os.chmod(home.hsm_dir / "pin", 0o600)
    with pytest.raises(HsmUnavailable):
        open_backend(home, home.load_config())
