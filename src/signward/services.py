"""The composition root: opening a home gives every service of it, wired once.

`open_services(home)` reads the configuration and returns one `Services` object: the store
(SQLite in the home or PostgreSQL), the audit log, a signing backend opened on first use,
the key registry, the client registry, the token service, the issuer's ASGI app and the
dump pipeline. Each capability outside the core (clients, issuance records, token service,
issuer app, dump pipeline, canary) is built on first use and imports its code then, so a
dump or depth command, installed with its own extra only, never loads the issuer. The CLI,
the issuer, the lab, the probes and the tests all take it; nothing else assembles these by
hand, so policy set here holds wherever signward runs:

- the audit retention floor is enforced by the registry (realm creation) and the audit log
  (pruning) from the configured retention;
- the issuer app holds the home's canaries from its startup, whoever starts it;
- every setting that weakens a control is logged as a warning each time a home is opened
  (and audited by the component when it takes effect).
"""

from __future__ import annotations

import getpass
import logging
import os
import time
from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from .audit import Anchors, AuditLog
from .clock import Clock, SystemClock
from .errors import SignwardError
from .home import Config, Home, Weakened
from .hsm import CheckedSigner, SigningBackend, open_backend
from .hsm.lazy import LazyBackend
from .keys.registry import Registry
from .keys.tripwire import Tripwires
from .store import Store, store_for

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .dumps.canary import Canary
    from .dumps.pipeline import DumpPipeline
    from .issuer.app import IssuerContext
    from .issuer.clients import ClientRegistry
    from .issuer.issuance import IssuanceRecords
    from .issuer.tokens import TokenService

log = logging.getLogger("signward.insecure")


def operator() -> str:
    """Who runs this process (the actor of registry changes)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def warn_weakened(config: Config) -> list[Weakened]:
    """Log a warning for every control the configuration switches off or weakens."""
    weakened = config.weakened()
    for item in weakened:
        log.warning("INSECURE: %s weakens %s: %s", item.setting, item.control, item.effect)
    return weakened


def init_home(home: Home, config: Config | None = None) -> Config:
    """Create a home (idempotent): directories, configuration and the canary material every
    service of the home plants in its memory."""
    loaded = home.init(config)
    canary = home.canary_path(loaded)
    if canary is not None and not canary.exists():
        from .dumps.canary import make_canary

        canary.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        make_canary(canary, time.time(), loaded.dumps.canary_kinds)
    return loaded


class Services:
    """Every service of one home. Open with `open_services`; close with `close()` or `with`."""

    def __init__(self, home: Home, config: Config, store: Store, clock: Clock, actor: str,
                 backend: SigningBackend | None = None) -> None:
        self.home = home
        self._shared_backend = backend
        self.config = config
        self.store = store
        self.clock = clock
        self.actor = actor
        self.weakened = warn_weakened(config)
        self.backend = LazyBackend(self._open_backend, _backend_name(config),
                                   holds_keys_in_process=config.hsm.backend == "software")
        self.audit = AuditLog(store, self.backend, clock, checkpoint_every=config.audit.checkpoint_every,
                              anchors=Anchors(home.root / "audit"), origin=config.audit.origin,
                              batch_max=config.audit.batch_max, batch_wait=config.audit.batch_wait_ms / 1000)
        self.registry = Registry(store, self.backend, clock, audit=self.audit, actor=actor,
                                 retention_seconds=config.audit.retention_days * 86400)
        self.tripwires = Tripwires(store, self.backend, clock, audit=self.audit, actor=actor)
        self._closed = False

    def _open_backend(self) -> SigningBackend:
        # a software backend logs its warning when opened; the registry audits each key it makes
        return self._shared_backend or open_backend(
            self.home, self.config, lambda: [k.handle for k in self.registry.keys() if k.backend == "transit"])

    # each capability below is built on first use, and imports its code then: a dump command
    # never loads the issuer (starlette, prometheus_client), a depth command neither

    @cached_property
    def clients(self) -> ClientRegistry:
        """The issuer's client registry."""
        from .issuer.clients import ClientRegistry

        return ClientRegistry(self.store, self.clock)

    @cached_property
    def issuance(self) -> IssuanceRecords:
        """The records of issued tokens (what `token revoke` and introspection read)."""
        from .issuer.issuance import IssuanceRecords

        return IssuanceRecords(self.store, self.clock)

    @cached_property
    def tokens(self) -> TokenService:
        """The token service: signs with the realm's active key through the checked signer."""
        from .issuer.tokens import TokenService

        return TokenService(self.registry, CheckedSigner(self.backend), self.clock,
                            self.config.issuer.key_cache_seconds, audit=self.audit, issuance=self.issuance)

    @cached_property
    def pipeline(self) -> DumpPipeline:
        """The dump pipeline of this home (quarantine, sanitizer, gate, debugging stores)."""
        from .dumps.pipeline import DumpPipeline

        return DumpPipeline(self.home, self.config, self.store, self.audit, self.clock)

    def canary(self) -> Canary | None:
        """The home's canary material (public parts and kids), None when it has none; reads
        only the canary file, without the dump pipeline (numpy, the scanner's formats)."""
        from .dumps.canary import Canary

        path = self.home.canary_path(self.config)
        return Canary.load(path) if path is not None and path.exists() else None

    def honey_kids(self) -> list[str]:
        """Every kid whose use outside a probe is an alert: the tripwire keys and the home's canary
        keys (the AES canary has no kid), for validators and `signward guard`."""
        kids = list(self.tripwires.honey_kids())
        canary = self.canary()
        if canary is not None:
            kids += sorted(kid for kind, kid in canary.kids.items() if kind != "aes")
        return list(dict.fromkeys(kids))

    def weakened_here(self) -> list[Weakened]:
        """Every control this home weakens: the register's rows for the configuration, its canary
        file and its realms' key windows (what `config check` lists and every start audits)."""
        from .controls_config import HomeFacts, weakened

        try:
            window: float | None = self.registry.max_verify_window()
        except (SignwardError, ValueError, TypeError) as exc:  # a realm row this version cannot read
            log.error("the retention floor is not checked: the realms' key windows are unreadable (%s)", exc)
            window = None
        return weakened(self.config, HomeFacts.of(self.home, self.config, window))

    def audit_start(self) -> list[Weakened]:
        """At a start: log and audit (at warning) every control this home weakens."""
        from .controls_config import audit_weakened

        found = self.weakened_here()
        for item in found:
            log.warning("INSECURE: %s weakens %s: %s", item.setting, item.control, item.effect)
        audit_weakened(self.audit, self.actor, found)
        return found

    def issuer_context(self) -> IssuerContext:
        """What the issuer app needs; its startup audits every weakened control and holds the
        home's canaries."""
        startup: list[Callable[[], object]] = [self.audit_start]
        canary = self.home.canary_path(self.config)
        if canary is not None and canary.exists():
            from .dumps.canary import hold_canaries

            startup.append(lambda: hold_canaries(canary))
        from .issuer.app import IssuerContext
        from .issuer.metrics import IssuerMetrics

        metrics = IssuerMetrics()
        self.audit.batcher.observe = metrics.observe_batch
        self.tokens.observe_hsm = metrics.observe_hsm
        return IssuerContext(registry=self.registry, clients=self.clients, tokens=self.tokens,
                             metrics=metrics, rotation_interval=self.config.issuer.rotation_interval,
                             audit=self.audit, startup=startup, issuance=self.issuance,
                             # one signing thread per PKCS#11 session; Transit signs over HTTP, one
                             # call in flight per thread: as many threads as the grant pool had
                             signers=self.config.hsm.sessions if self.config.hsm.backend == "pkcs11" else 16)

    def issuer_app(self) -> Starlette:
        """The issuer's ASGI app for this home."""
        from .issuer.app import create_app

        return create_app(self.issuer_context())

    def prune_audit(self) -> dict[str, object]:
        """Remove audit segments older than the retention, never below the floor for this home's keys."""
        return self.audit.prune(self.config.audit.retention_days * 86400, self.registry.max_verify_window(),
                                actor=self.actor)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.audit.checkpoint_if_due()  # appends made inside transactions leave the head unsigned
        except SignwardError as exc:  # the records stand; `audit verify` says when signing fell behind
            logging.getLogger("signward.audit").error("audit checkpoint failed: %s", exc.diagnostics())
        try:
            if self._shared_backend is None:  # a backend given by the caller stays the caller's
                self.backend.close()
        finally:
            self.store.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _backend_name(config: Config) -> str:
    return {"software": "insecure-software", "transit": "transit"}.get(config.hsm.backend, "pkcs11")


def open_services(home: Home, *, config: Config | None = None, clock: Clock | None = None,
                  actor: str | None = None, store: Store | None = None,
                  backend: SigningBackend | None = None) -> Services:
    """Open one home's services from its configuration (or `config`). The store opens now
    (a failure raises StoreError, exit 3); the signing backend opens on first use.

    `store` and `backend` let a caller share what it already holds (tests share one HSM
    session pool); a given store is closed with the services, a given backend is not."""
    config = config or home.load_config()
    store = store if store is not None else store_for(config.store.url, home.db_path, config.store.timeout_seconds)
    try:
        return Services(home, config, store, clock or SystemClock(), actor or operator(), backend)
    except BaseException:
        store.close()
        raise


def asgi_app() -> Starlette:
    """`uvicorn --factory signward.services:asgi_app`: the issuer of `$SIGNWARD_HOME`."""
    home = Home(os.environ.get("SIGNWARD_HOME") or None, os.environ.get("SIGNWARD_CONFIG") or None)
    return open_services(home).issuer_app()


__all__ = ["Services", "asgi_app", "init_home", "open_services", "operator", "warn_weakened"]
