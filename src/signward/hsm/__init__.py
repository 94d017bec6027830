"""Signing backends: keys in an HSM through PKCS#11 (the default) or in OpenBao/Vault Transit, and,
under a hazmat name, the in-process software signer that exists only as the lab's weak baseline.

Backends load when asked, as cryptography's do: importing `signward.hsm` costs neither
python-pkcs11 nor any other backend's library (`Pkcs11Backend` is imported on first access
to the name, `open_backend` imports only the backend the configuration names), so the
public-key parts of signward (validation, audit proofs, dump scans) run without them.
A backend is one entry in BACKENDS: a configuration name and the function opening it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..algorithms import Alg, PublicKey, digest, signature_ok
from ..errors import HsmUnavailable, InsecureConfiguration
from .base import CheckedSigner, KeyAttributes, SigningBackend

if TYPE_CHECKING:
    from ..home import Config, Home
    from .pkcs11_backend import Pkcs11Backend


Handles = Callable[[], Iterable[str]] | None  # the registry's key handles (Transit checks them without listing)


def _open_software(home: Home, config: Config, known_handles: Handles = None) -> SigningBackend:
    if not config.hsm.allow_insecure_software_keys:
        raise InsecureConfiguration(
            "refusing the software signer: it keeps private keys in process memory, where a crash "
            "dump captures them (the Storm-0558 failure); set hsm.allow_insecure_software_keys = true "
            "only for the lab")
    from .hazmat_software import InsecureSoftwareBackend

    return InsecureSoftwareBackend(home.software_keys_dir)


def _open_transit(home: Home, config: Config, known_handles: Handles = None) -> SigningBackend:
    from .transit import TransitBackend

    cfg = config.hsm
    return TransitBackend(cfg.transit_url, cfg.transit_mount,
                          lambda: home.secret(cfg.transit_token_file, cfg.transit_token_env),
                          cfg.transit_timeout_seconds, known_handles)


def _open_pkcs11(home: Home, config: Config, known_handles: Handles = None) -> SigningBackend:
    from .pkcs11_backend import Pkcs11Backend

    cfg = config.hsm
    if cfg.module:
        return Pkcs11Backend(cfg.module, cfg.token_label, home.secret(cfg.pin_file, cfg.pin_env), cfg.sessions,
                             connect_retry=cfg.connect_retry_seconds)
    from .server import p11kit_client_module, server_address

    pin_made = bool(cfg.pin_env) or (home.root / cfg.pin_file).exists()
    pin = home.secret(cfg.pin_file, cfg.pin_env) if pin_made else ""  # a bad PIN file is refused first
    if not home.socket_path.exists():  # a home whose HSM never started has no PIN yet: unavailable
        raise HsmUnavailable(f"the embedded HSM is not running (no socket at {home.socket_path}); "
                             f"run 'signward --home {home.root} hsm start'")
    pin = pin or home.secret(cfg.pin_file, cfg.pin_env)
    return Pkcs11Backend(p11kit_client_module(), cfg.token_label, pin, cfg.sessions,
                         server_address=server_address(home), connect_retry=cfg.connect_retry_seconds)


# hsm.backend (the configuration's name) -> the function opening it; each imports its own
# library only when called. Any name not listed here opens PKCS#11 (the default).
BACKENDS: dict[str, Callable[[Home, Config, Handles], SigningBackend]] = {
    "software": _open_software,
    "pkcs11": _open_pkcs11,
    "transit": _open_transit,
}


def open_backend(home: Home, config: Config, known_handles: Handles = None) -> SigningBackend:
    """The backend the configuration names, refusing insecure ones without their opt-in.
    `known_handles` lists the registry's keys (Transit checks their attributes without listing)."""
    return BACKENDS.get(config.hsm.backend, _open_pkcs11)(home, config, known_handles)


# names of this package whose module is imported on first access (PEP 562)
_LAZY = {"Pkcs11Backend": ".pkcs11_backend"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "Alg",
    "CheckedSigner",
    "KeyAttributes",
    "Pkcs11Backend",
    "PublicKey",
    "SigningBackend",
    "digest",
    "open_backend",
    "signature_ok",
]
