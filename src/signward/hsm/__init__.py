"""Signing backends: keys in an HSM through PKCS#11 (the default) or in OpenBao/Vault Transit, and, under a hazmat
name, the in-process software signer that exists only as the lab's weak baseline."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import HsmUnavailable, InsecureConfiguration
from ..home import Config, Home
from ..algorithms import Alg, PublicKey, digest, signature_ok
from .base import CheckedSigner, KeyAttributes, SigningBackend
from .pkcs11_backend import Pkcs11Backend


def open_backend(home: Home, config: Config,
                 known_handles: Callable[[], Iterable[str]] | None = None) -> SigningBackend:
    """The backend the configuration names, refusing insecure ones without their opt-in.
    `known_handles` lists the registry's keys (Transit checks their attributes without listing)."""
    cfg = config.hsm
    if cfg.backend == "transit":
        from .transit import TransitBackend

        return TransitBackend(cfg.transit_url, cfg.transit_mount,
                              lambda: home.secret(cfg.transit_token_file, cfg.transit_token_env),
                              cfg.transit_timeout_seconds, known_handles)
    if cfg.backend == "software":
        if not cfg.allow_insecure_software_keys:
            raise InsecureConfiguration(
                "refusing the software signer: it keeps private keys in process memory, where a crash "
                "dump captures them (the Storm-0558 failure); set hsm.allow_insecure_software_keys = true "
                "only for the lab")
        from .hazmat_software import InsecureSoftwareBackend

        return InsecureSoftwareBackend(home.software_keys_dir)
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
