"""One C_Sign per signature (hsm/_sign_once.py) against a real SoftHSM2 token behind p11-kit."""

from __future__ import annotations

import pkcs11
import pkcs11.exceptions
import pytest

from signward.errors import KeyNotFound
from signward.hsm import Alg, Pkcs11Backend, _sign_once, digest, signature_ok


def test_the_backend_signs_through_one_call(backend: Pkcs11Backend) -> None:
    """Every pool slot of the embedded HSM found its session's function list: the fast path is
    the path, and what it signs verifies (ECDSA on the digest, RSA PKCS#1 v1.5 on the data)."""
    for alg in (Alg.ES256, Alg.RS256):
        handle, public = backend.generate(alg, label="one-call")
        assert signature_ok(public, alg, b"h.p", backend.raw_sign(handle, alg, b"h.p"))
    assert backend._all and all(slot.functions is not None for slot in backend._all if slot.session is not None)


def test_one_call_error_is_python_pkcs11s_own(backend: Pkcs11Backend) -> None:
    """A key destroyed under a cached handle: the CK_RV becomes the exception python-pkcs11 raises
    for it, so the backend maps it as before (KeyNotFound, not a bare PKCS11Error)."""
    handle, _ = backend.generate(Alg.ES256, label="gone")
    backend.raw_sign(handle, Alg.ES256, b"x")  # its key object is cached in a slot now

    def sign_destroyed(slot: object) -> None:
        key = slot.keys[handle]  # type: ignore[attr-defined]
        key.destroy()
        with pytest.raises((pkcs11.exceptions.KeyHandleInvalid, pkcs11.exceptions.ObjectHandleInvalid)):
            _sign_once.sign(slot.functions, slot.session, key, pkcs11.Mechanism.ECDSA,  # type: ignore[attr-defined]
                            digest(Alg.ES256, b"x"))

    backend._run("test", sign_destroyed)
    with pytest.raises(KeyNotFound):
        backend.raw_sign(handle, Alg.ES256, b"x")


def test_unknown_ck_rv_is_a_pkcs11_error() -> None:
    assert type(_sign_once._error(0x80000001)) is pkcs11.exceptions.PKCS11Error
    assert type(_sign_once._error(0xB3)) is pkcs11.exceptions.SessionHandleInvalid


def test_layout_check_refuses_what_is_not_a_python_pkcs11_session() -> None:
    class Session:  # the name alone is not enough
        handle = 1

    assert _sign_once.functions_of(Session()) is None


def test_mechanisms_with_a_parameter_stay_on_python_pkcs11(backend: Pkcs11Backend) -> None:
    handle, public = backend.generate(Alg.PS256, label="pss")
    assert signature_ok(public, Alg.PS256, b"x", backend.raw_sign(handle, Alg.PS256, b"x"))

    def pss(slot: object) -> None:
        with pytest.raises(ValueError, match="parameter"):
            _sign_once.sign(slot.functions, slot.session, None, pkcs11.Mechanism.RSA_PKCS_PSS,  # type: ignore[attr-defined]
                            b"x" * 32)

    backend._run("test", pss)
