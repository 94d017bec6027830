"""PKCS#11 signing backend: keys made and used inside the token, reached through a session pool.

The embedded default is SoftHSM2 served by `p11-kit server` in its own non-dumpable
process, reached here through p11-kit-client.so, so this process never holds private key
material. Any vendor module can be configured instead.

Notes on mechanisms: SoftHSM has CKM_ECDSA but not CKM_ECDSA_SHA256, and p11-kit 0.24's
RPC forwards CKM_RSA_PKCS_PSS but not the hash-and-sign PSS mechanisms or CKM_EDDSA, so
ECDSA and PSS hash on the host and sign the digest; EdDSA needs a module that offers it.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from ..errors import AlgorithmUnsupported, HsmError, HsmUnavailable
from .algorithms import RSA_BITS_ALLOWED, SPECS, Alg, PublicKey, digest
from .base import KeyAttributes
from .errors_map import UNAVAILABLE, map_error

CURVE_OIDS = {"P-256": "1.2.840.10045.3.1.7", "P-384": "1.3.132.0.34", "Ed25519": "1.3.101.112"}
ED25519_CURVE_NAME = encode_named_curve_parameters(CURVE_OIDS["Ed25519"])

# Mechanisms each algorithm needs from the module: (key generation, signing).
NEEDS: dict[Alg, tuple[Mechanism, Mechanism]] = {
    Alg.ES256: (Mechanism.EC_KEY_PAIR_GEN, Mechanism.ECDSA),
    Alg.ES384: (Mechanism.EC_KEY_PAIR_GEN, Mechanism.ECDSA),
    Alg.RS256: (Mechanism.RSA_PKCS_KEY_PAIR_GEN, Mechanism.SHA256_RSA_PKCS),
    Alg.PS256: (Mechanism.RSA_PKCS_KEY_PAIR_GEN, Mechanism.RSA_PKCS_PSS),
    Alg.EdDSA: (Mechanism.EC_EDWARDS_KEY_PAIR_GEN, Mechanism.EDDSA),
}

PRIVATE_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,  # python-pkcs11's default template leaves this unset
    Attribute.SIGN: True,
}
PUBLIC_TEMPLATE = {Attribute.TOKEN: True, Attribute.VERIFY: True}


_CLIENT_USED: dict[str, bool] = {}


class _PooledSession:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.keys: dict[str, Any] = {}


class Pkcs11Backend:
    """Signs with keys that never leave the token; reconnects after the module restarts."""

    name = "pkcs11"
    holds_keys_in_process = False

    def __init__(self, module: str, token_label: str, pin: str, sessions: int = 4,
                 server_address: str | None = None) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self._size = sessions
        if server_address:
            # p11-kit-client reads its server from the environment once per process: one
            # process talks to one embedded HSM. Refuse a second one instead of silently
            # signing with the first.
            current = os.environ.get("P11_KIT_SERVER_ADDRESS")
            if current and current != server_address and _CLIENT_USED.get(module):
                raise HsmError(f"this process already uses the HSM at {current}; "
                               f"one process can reach one embedded HSM (asked for {server_address})")
            os.environ["P11_KIT_SERVER_ADDRESS"] = server_address
            _CLIENT_USED[module] = True
        self._cond = threading.Condition()
        self._inflight = 0
        self._resetting = False
        self._lib: Any = None
        self._token: Any = None
        self._pool: queue.LifoQueue[_PooledSession | None] = queue.LifoQueue()
        self._all: list[_PooledSession] = []
        self._generation = 0
        self._mechanisms: set[Mechanism] | None = None

    # -- connection -----------------------------------------------------------------------

    def _connect_locked(self) -> None:
        try:
            if self._lib is None:
                self._lib = pkcs11.lib(self.module)
            elif not self._lib.initialized:
                self._lib.initialize()
            self._token = self._lib.get_token(token_label=self.token_label)
            try:
                first = self._token.open(user_pin=self._pin, rw=True)
            except pkcs11.UserAlreadyLoggedIn:  # another part of this process logged in to the token
                first = self._token.open(rw=True)
            self._all = [_PooledSession(first)]
            for _ in range(self._size - 1):
                self._all.append(_PooledSession(self._token.open(rw=True)))
            self._mechanisms = set(self._token.slot.get_mechanisms())
        except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
            self._reset_locked()
            raise map_error(exc, f"connecting to token {self.token_label!r} via {self.module}") from exc
        self._pool = queue.LifoQueue()
        for s in self._all:
            self._pool.put(s)

    def _reset_locked(self) -> None:
        """Drop every session and finalize, so the next call reconnects from scratch.

        Only called with no PKCS#11 call in flight: p11-kit-client aborts the whole process
        (an assertion in rpc-transport.c) when it is finalized under a running call.
        """
        self._all = []
        self._pool = queue.LifoQueue()
        self._token = None
        self._mechanisms = None
        self._generation += 1
        if self._lib is not None:
            try:
                self._lib.finalize()
            except Exception:  # the module may be half gone; reinitialising is what matters
                pass

    def _ensure(self) -> None:
        with self._cond:
            while self._resetting:
                self._cond.wait()
            if not self._all:
                self._connect_locked()

    def _reset(self, generation: int) -> None:
        """Reset after a connection failure seen in `generation`, once all calls have drained."""
        with self._cond:
            if generation != self._generation or self._resetting:
                while self._resetting:
                    self._cond.wait()
                return
            self._resetting = True
            for _ in range(self._size + 256):
                self._pool.put(None)  # wake callers waiting for a session: they retry
            while self._inflight > 0:
                self._cond.wait()
            self._reset_locked()
            self._resetting = False
            self._cond.notify_all()

    def _run(self, doing: str, fn: Any) -> Any:
        """Run fn(session) in a pooled session, retrying once after a reconnect."""
        failure: BaseException | None = None
        for _ in (1, 2):
            with self._cond:
                while self._resetting:
                    self._cond.wait()
                if not self._all:
                    self._connect_locked()
                generation, pool = self._generation, self._pool
                self._inflight += 1
            failure = None
            result: Any = None
            try:
                try:
                    pooled = pool.get(timeout=30)
                except queue.Empty:
                    raise HsmUnavailable(f"HSM unavailable while {doing}: no session free within 30 s") from None
                if pooled is None:
                    failure = HsmUnavailable(f"HSM connection reset while {doing}")
                else:
                    try:
                        result = fn(pooled)
                    except UNAVAILABLE as exc:
                        failure = exc
                    except pkcs11.PKCS11Error as exc:
                        pool.put(pooled)
                        raise map_error(exc, doing) from exc
                    except BaseException:
                        pool.put(pooled)
                        raise
                    else:
                        pool.put(pooled)
            finally:
                with self._cond:
                    self._inflight -= 1
                    self._cond.notify_all()
            if failure is None:
                return result
            self._reset(generation)
        if isinstance(failure, HsmUnavailable):
            raise failure
        raise map_error(failure or RuntimeError("unknown"), doing) from failure

    def _require(self, alg: Alg) -> None:
        self._ensure()
        mechanisms = self._mechanisms or set()
        missing = [m.name for m in NEEDS[alg] if m not in mechanisms]
        if missing:
            raise AlgorithmUnsupported(
                f"{alg.value} needs {', '.join(missing)}, which the PKCS#11 module {self.module} does not offer"
                + (" (p11-kit 0.24's RPC does not forward EdDSA; configure a module that signs EdDSA)"
                   if alg is Alg.EdDSA else "")
            )

    # -- keys -----------------------------------------------------------------------------

    def generate(self, alg: Alg, label: str, rsa_bits: int = 2048) -> tuple[str, PublicKey]:
        self._require(alg)
        if SPECS[alg].kty == "RSA" and rsa_bits not in RSA_BITS_ALLOWED:
            raise AlgorithmUnsupported(f"RSA keys must have {RSA_BITS_ALLOWED} bits, not {rsa_bits}")
        handle = secrets.token_hex(16)
        ident = bytes.fromhex(handle)
        spec = SPECS[alg]

        def make(pooled: _PooledSession) -> PublicKey:
            s = pooled.session
            private = {**PRIVATE_TEMPLATE, Attribute.ID: ident, Attribute.LABEL: label}
            public = {**PUBLIC_TEMPLATE, Attribute.ID: ident, Attribute.LABEL: label}
            if spec.kty == "RSA":
                pub, _ = s.generate_keypair(KeyType.RSA, rsa_bits, store=True,
                                            public_template=public, private_template=private)
            else:
                key_type = KeyType.EC_EDWARDS if spec.kty == "OKP" else KeyType.EC
                params = s.create_domain_parameters(
                    key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(CURVE_OIDS[spec.curve or ""])},
                    local=True)
                pub, _ = params.generate_keypair(store=True, public_template=public, private_template=private)
            return _public_from_object(pub, alg)

        return handle, self._run(f"generating a {alg.value} key", make)

    def _private(self, pooled: _PooledSession, handle: str) -> Any:
        key = pooled.keys.get(handle)
        if key is None:
            key = pooled.session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=bytes.fromhex(handle))
            pooled.keys[handle] = key
        return key

    def public_key(self, handle: str, alg: Alg) -> PublicKey:
        def read(pooled: _PooledSession) -> PublicKey:
            obj = pooled.session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=bytes.fromhex(handle))
            return _public_from_object(obj, alg)

        return self._run(f"reading public key {handle}", read)

    def raw_sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        def sign(pooled: _PooledSession) -> bytes:
            key = self._private(pooled, handle)
            if alg in (Alg.ES256, Alg.ES384):
                return bytes(key.sign(digest(alg, data), mechanism=Mechanism.ECDSA))
            if alg is Alg.RS256:
                return bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            if alg is Alg.PS256:
                return bytes(key.sign(digest(alg, data), mechanism=Mechanism.RSA_PKCS_PSS,
                                      mechanism_param=(Mechanism.SHA256, pkcs11.MGF.SHA256, 32)))
            return bytes(key.sign(data, mechanism=Mechanism.EDDSA))

        result: bytes = self._run(f"signing with key {handle}", sign)
        return result

    def destroy(self, handle: str) -> None:
        def remove(pooled: _PooledSession) -> None:
            for obj in pooled.session.get_objects({Attribute.ID: bytes.fromhex(handle)}):
                obj.destroy()
            for other in self._all:
                other.keys.pop(handle, None)

        self._run(f"destroying key {handle}", remove)

    def attributes(self) -> list[KeyAttributes]:
        def read(pooled: _PooledSession) -> list[KeyAttributes]:
            out = []
            for obj in pooled.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}):
                try:
                    obj[Attribute.VALUE if obj.key_type not in (KeyType.RSA,) else Attribute.PRIVATE_EXPONENT]
                    readable = True
                except (pkcs11.AttributeSensitive, pkcs11.AttributeTypeInvalid):
                    readable = False
                out.append(KeyAttributes(
                    handle=bytes(obj[Attribute.ID]).hex(), sensitive=bool(obj[Attribute.SENSITIVE]),
                    extractable=bool(obj[Attribute.EXTRACTABLE]), value_readable=readable,
                    in_token=bool(obj[Attribute.TOKEN])))
            return out

        result: list[KeyAttributes] = self._run("listing private key attributes", read)
        return result

    def status(self) -> dict[str, object]:
        def probe(pooled: _PooledSession) -> dict[str, object]:
            info = pooled.session.token
            n = sum(1 for _ in pooled.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
            return {"module": self.module, "token": info.label, "manufacturer": info.manufacturer_id,
                    "private_keys": n, "sessions": self._size,
                    "algorithms": sorted(a.value for a in Alg
                                         if all(m in (self._mechanisms or set()) for m in NEEDS[a]))}

        result: dict[str, object] = self._run("reading token status", probe)
        return result

    def close(self) -> None:
        with self._cond:
            while self._resetting:
                self._cond.wait()
            self._resetting = True
            while self._inflight > 0:
                self._cond.wait()
            self._reset_locked()
            self._resetting = False
            self._cond.notify_all()


def _public_from_object(obj: Any, alg: Alg) -> PublicKey:
    spec = SPECS[alg]
    if spec.kty == "RSA":
        n = int.from_bytes(obj[Attribute.MODULUS], "big")
        e = int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if spec.kty == "OKP":
        point = bytes(obj[Attribute.EC_POINT])
        raw = point[2:] if len(point) == 34 and point[0] == 0x04 else point
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    key = load_der_public_key(encode_ec_public_key(obj))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise HsmError(f"token returned a non-EC public key for {alg.value}")
    return key
