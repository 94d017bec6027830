"""Wiring: open the store, the configured signing backend and the registries of one home."""

from __future__ import annotations

import getpass

from ..audit import AuditLog
from ..clock import Clock, SystemClock
from ..home import Home
from ..hsm import CheckedSigner, open_backend
from ..keys.registry import Registry
from ..store import store_for
from .app import IssuerContext
from .clients import ClientRegistry
from .metrics import IssuerMetrics
from .tokens import TokenService


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_context(home: Home, clock: Clock | None = None) -> IssuerContext:
    """Everything the issuer needs, from the home's configuration (refusing insecure backends)."""
    config = home.load_config()
    clock = clock or SystemClock()
    store = store_for(config.store.url, home.db_path)
    backend = open_backend(home, config)
    audit = AuditLog(store, backend, clock, checkpoint_every=config.audit.checkpoint_every)
    registry = Registry(store, backend, clock, audit=audit, actor=_operator())
    tokens = TokenService(registry, CheckedSigner(backend), clock, config.issuer.key_cache_seconds, audit=audit)
    return IssuerContext(registry=registry, clients=ClientRegistry(store, clock), tokens=tokens,
                         metrics=IssuerMetrics(), rotation_interval=config.issuer.rotation_interval, audit=audit)
