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
import shutil
import tempfile
import threading
import time
from typing import Any

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from ..algorithms import RSA_BITS_ALLOWED, SPECS, Alg, PublicKey, digest
from ..errors import AlgorithmUnsupported, HsmError, HsmUnavailable
from . import _sign_once
from .base import KeyAttributes
from .errors_map import NOT_FOUND, UNAVAILABLE, map_error

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


def _private_copy(module: str) -> str:
    """A private copy of the module, loaded once and unlinked (the mapping stays).

    p11-kit 0.24's client multiplexes every session of one module instance over one socket;
    when the server dies under concurrent calls, a thread can block for ever in read() on a
    descriptor another thread has closed (rpc-transport.c). One instance per pool slot gives
    each socket a single caller and lets a slot be reset without touching the others.
    """
    fd, path = tempfile.mkstemp(prefix="signward-p11-client-", suffix=".so")
    with os.fdopen(fd, "wb") as out, open(module, "rb") as src:
        shutil.copyfileobj(src, out)
    return path


class _Slot:
    """One pool slot: a session (and, for p11-kit-client, its own module instance and socket)."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.session: Any = None
        self.keys: dict[str, Any] = {}
        self.functions: Any = None  # the session's function list for one-call signing (_sign_once)


class _SlotPool:
    """The free slots, most recently used first (a warm session is reused). Taking and giving
    back a free slot is a list pop/append (atomic under the GIL); only a taker that finds none
    waits on the condition (queue.LifoQueue took its Python condition on every call: about
    5 us a signature, issue 39)."""

    def __init__(self) -> None:
        self._free: list[_Slot] = []
        self._lock = threading.Lock()  # entered directly by put (a C call; Condition.__enter__ is Python)
        self._cond = threading.Condition(self._lock)
        self._waiting = 0

    def put(self, slot: _Slot) -> None:
        with self._lock:
            self._free.append(slot)
            if self._waiting:
                self._cond.notify()

    def get(self, timeout: float) -> _Slot:
        """A free slot; queue.Empty when none is free within `timeout` seconds."""
        try:
            return self._free.pop()
        except IndexError:
            pass
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._free:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise queue.Empty
                self._waiting += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._waiting -= 1
            return self._free.pop()


class Pkcs11Backend:
    """Signs with keys that never leave the token; reconnects after the module restarts."""

    name = "pkcs11"
    holds_keys_in_process = False

    def __init__(self, module: str, token_label: str, pin: str, sessions: int = 4,
                 server_address: str | None = None, connect_retry: float = 1.0) -> None:
        self.module = module
        self.connect_retry = connect_retry
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
        self._private_instances = os.path.basename(module).startswith("p11-kit-client")
        self._lock = threading.Lock()
        self._slots: _SlotPool | None = None
        self._all: list[_Slot] = []
        self._mechanisms: set[Mechanism] | None = None

    # -- connection -----------------------------------------------------------------------

    def _load(self) -> Any:
        try:
            if not self._private_instances:
                return pkcs11.lib(self.module)
            path = _private_copy(self.module)
            try:
                return pkcs11.lib(path)
            finally:
                os.unlink(path)
        except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
            raise map_error(exc, f"loading the PKCS#11 module {self.module}") from exc

    def _pool(self) -> _SlotPool:
        slots = self._slots
        if slots is not None:
            return slots
        with self._lock:
            if self._slots is None:
                shared = None if self._private_instances else self._load()
                slots = _SlotPool()
                for _ in range(self._size):
                    slot = _Slot(shared if shared is not None else self._load())
                    self._all.append(slot)
                    slots.put(slot)
                self._slots = slots
            return self._slots

    def _connect(self, slot: _Slot) -> None:
        """Open the slot's session, retrying with jittered exponential backoff for up to
        `connect_retry` seconds: replicas whose pools open at once see transient failures from
        an HSM that is up (p11-kit's server answers GeneralError to a burst of logins)."""
        deadline = time.monotonic() + self.connect_retry
        delay = 0.01
        while True:
            try:
                self._connect_once(slot)
                return
            except HsmError:
                if time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay * (0.5 + secrets.randbelow(1000) / 1000))
            delay = min(delay * 2, 0.25)

    def _connect_once(self, slot: _Slot) -> None:
        try:
            if not slot.lib.initialized:
                slot.lib.initialize()
            token = slot.lib.get_token(token_label=self.token_label)
            try:
                slot.session = token.open(user_pin=self._pin, rw=True)
            except pkcs11.UserAlreadyLoggedIn:  # the token's login is shared by its sessions
                slot.session = token.open(rw=True)
            if self._mechanisms is None:
                self._mechanisms = set(token.slot.get_mechanisms())
            slot.functions = _sign_once.functions_of(slot.session)
        except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
            self._disconnect(slot)
            raise map_error(exc, f"connecting to token {self.token_label!r} via {self.module}") from exc

    def _disconnect(self, slot: _Slot) -> None:
        """Forget the slot's session; finalize its private module instance so it reconnects."""
        slot.keys, slot.functions = {}, None
        session, slot.session = slot.session, None
        if self._private_instances:
            try:
                slot.lib.finalize()
            except Exception:  # the instance may be half gone; reinitialising is what matters
                pass
        elif session is not None:
            try:
                session.close()
            except Exception:
                pass

    def _ensure(self) -> None:
        self._run("connecting", lambda slot: None)

    def _run(self, doing: str, fn: Any) -> Any:
        """Run fn(slot) holding one pool slot exclusively; after a connection failure the slot
        reconnects once and retries, then the call fails closed with HsmUnavailable."""
        pool = self._pool()
        try:
            slot = pool.get(timeout=30)
        except queue.Empty:
            raise HsmUnavailable(f"HSM unavailable while {doing}: no session free within 30 s") from None
        try:
            for attempt in (1, 2):
                if slot.session is None:
                    self._connect(slot)
                try:
                    return fn(slot)
                except UNAVAILABLE + NOT_FOUND as exc:
                    # a session opened while the HSM restarted can stay unable to see the token's
                    # private objects (every key "not found"): a fresh session answers once more
                    self._disconnect(slot)
                    if attempt == 2:
                        raise map_error(exc, doing) from exc
                except pkcs11.PKCS11Error as exc:
                    raise map_error(exc, doing) from exc
            raise HsmUnavailable(f"HSM unavailable while {doing}")
        finally:
            pool.put(slot)

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

        def make(pooled: _Slot) -> PublicKey:
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

        public: PublicKey = self._run(f"generating a {alg.value} key", make)
        return handle, public

    def _private(self, pooled: _Slot, handle: str) -> Any:
        key = pooled.keys.get(handle)
        if key is None:
            key = pooled.session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=bytes.fromhex(handle))
            pooled.keys[handle] = key
        return key

    def public_key(self, handle: str, alg: Alg) -> PublicKey:
        def read(pooled: _Slot) -> PublicKey:
            obj = pooled.session.get_key(object_class=ObjectClass.PUBLIC_KEY, id=bytes.fromhex(handle))
            return _public_from_object(obj, alg)

        key: PublicKey = self._run(f"reading public key {handle}", read)
        return key

    def raw_sign(self, handle: str, alg: Alg, data: bytes) -> bytes:
        def sign(pooled: _Slot) -> bytes:
            key = self._private(pooled, handle)
            if alg in (Alg.ES256, Alg.ES384):
                return _one_call(pooled, key, Mechanism.ECDSA, digest(alg, data))
            if alg is Alg.RS256:
                return _one_call(pooled, key, Mechanism.SHA256_RSA_PKCS, data)
            if alg is Alg.PS256:
                return bytes(key.sign(digest(alg, data), mechanism=Mechanism.RSA_PKCS_PSS,
                                      mechanism_param=(Mechanism.SHA256, pkcs11.MGF.SHA256, 32)))
            return _one_call(pooled, key, Mechanism.EDDSA, data)

        result: bytes = self._run(f"signing with key {handle}", sign)
        return result

    def destroy(self, handle: str) -> None:
        def remove(pooled: _Slot) -> None:
            for obj in pooled.session.get_objects({Attribute.ID: bytes.fromhex(handle)}):
                obj.destroy()
            for other in list(self._all):
                other.keys.pop(handle, None)

        self._run(f"destroying key {handle}", remove)

    def attributes(self) -> list[KeyAttributes]:
        def read(pooled: _Slot) -> list[KeyAttributes]:
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
        def probe(pooled: _Slot) -> dict[str, object]:
            info = pooled.session.token
            n = sum(1 for _ in pooled.session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
            return {"module": self.module, "token": info.label, "manufacturer": info.manufacturer_id,
                    "private_keys": n, "sessions": self._size,
                    "algorithms": sorted(a.value for a in Alg
                                         if all(m in (self._mechanisms or set()) for m in NEEDS[a]))}

        result: dict[str, object] = self._run("reading token status", probe)
        return result

    def close(self) -> None:
        with self._lock:
            slots, self._slots, self._all = self._all, None, []
        for slot in slots:
            self._disconnect(slot)
        if slots and not self._private_instances:
            try:
                slots[0].lib.finalize()
            except Exception:
                pass


def _one_call(pooled: _Slot, key: Any, mechanism: Mechanism, data: bytes) -> bytes:
    """C_SignInit and one C_Sign (`_sign_once`) where the slot's session allows it, else
    python-pkcs11's sign (which asks the signature's length in a C_Sign of its own first)."""
    if pooled.functions is not None:
        return _sign_once.sign(pooled.functions, pooled.session, key, mechanism, data)
    return bytes(key.sign(data, mechanism=mechanism))


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
