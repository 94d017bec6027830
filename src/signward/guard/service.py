"""One guard: its key sets, validator, decision rules, metrics and the record of every refusal.

`GuardService.decide(attempt)` is what every protocol calls. It times the check, counts it by
result and reason, logs each refusal with its precise reason and hands it to the recorder. The
recorder writes `token.reject` audit records (alert severity for honey keys, expired keys and
keys of another issuer) from a thread through a bounded queue, so a flood of garbage tokens
costs the guard a counter, not a database write per request: what does not fit is counted
(`signward_guard_audit_dropped_total`) and summed up in one record when the queue drains.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..clock import Clock, SystemClock
from ..errors import ConfigError, Rejected
from ..verify.introspection import Introspector
from ..verify.jws import MAX_TOKEN, b64url_decode, json_object, peek_kid
from ..verify.reasons import ALERT_REASONS
from ..verify.sources import JwksUnavailable
from ..verify.validator import Validator
from .config import GuardConfig
from .decision import Attempt, Decision, Guard, GuardReason, bearer_token, host_of
from .keysets import KeySetState, RefreshingSource, WatchedFile
from .paths import PathReason, canonical_path

log = logging.getLogger("signward.guard")
QUEUE = 10_000
UNRECORDED = frozenset({GuardReason.NO_TOKEN})  # an anonymous request to a protected route is no event
ALERTS = frozenset(r.value for r in ALERT_REASONS)


class Auditor(Protocol):
    def append(self, actor: str, action: str, obj: str = "", details: dict[str, Any] | None = None,
               severity: str = "info", tx: Any = None) -> Any: ...


class Recorder:
    """Refusals to the audit log, off the request path, bounded."""

    def __init__(self, audit: Auditor, on_drop: Callable[[], None]) -> None:
        self.audit = audit
        self.on_drop = on_drop
        self.dropped = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE)
        self._thread = threading.Thread(target=self._run, daemon=True, name="signward-guard-audit")
        self._thread.start()

    def record(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self.on_drop()

    def _run(self) -> None:
        unsummed = 0
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                severity = "alert" if event["reason"] in ALERTS else "warning"
                self.audit.append("guard", "token.reject", str(event.get("kid") or ""), event, severity=severity)
                if self.dropped > unsummed and self._queue.empty():
                    self.audit.append("guard", "token.reject.dropped", "", {"count": self.dropped - unsummed},
                                      severity="warning")
                    unsummed = self.dropped
            except Exception:  # the refusal stands; the record is lost and said so
                log.exception("audit record of a refusal failed")

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.error("audit queue still full at shutdown: %s refusals unrecorded", self._queue.qsize())
            return
        self._thread.join(timeout=timeout)


class _KeySetCollector(Collector):
    def __init__(self, sources: Callable[[], Iterable[KeySetState]]) -> None:
        self.sources = sources

    def collect(self) -> Iterable[GaugeMetricFamily]:
        age = GaugeMetricFamily("signward_guard_keyset_age_seconds",
                                "Seconds since the issuer's key set was last fetched", labels=["issuer"])
        usable = GaugeMetricFamily("signward_guard_keyset_usable",
                                   "1 while the issuer's key set is within its max age", labels=["issuer"])
        for state in self.sources():
            age.add_metric([state.issuer], float("inf") if state.age is None else state.age)
            usable.add_metric([state.issuer], 1.0 if state.usable else 0.0)
        yield age
        yield usable


class GuardMetrics:
    def __init__(self, states: Callable[[], Iterable[KeySetState]]) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter("signward_guard_checks", "Checks by result and reason", ["result", "reason"],
                              registry=self.registry)
        self.seconds = Histogram("signward_guard_check_seconds", "Time to decide one check",
                                 buckets=(.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, 1.0),
                                 registry=self.registry)
        self.dropped = Counter("signward_guard_audit_dropped", "Refusals not written to the audit log",
                               registry=self.registry)
        self.grpc_closed = Counter("signward_guard_grpc_connections_closed",
                                   "gRPC connections the slot rules closed: handshake (no preface and SETTINGS "
                                   "in time), idle (no complete call), displaced (by a newcomer over a bound), "
                                   "refused (a newcomer, every slot busy with a call)", ["why"],
                                   registry=self.registry)
        self.registry.register(_KeySetCollector(states))

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


Source = RefreshingSource | WatchedFile


def _introspectors(config: GuardConfig, clock: Clock) -> dict[str, Introspector]:
    """An introspection client per issuer that has one; its secret from the environment."""
    made = {}
    for issuer in config.issuers:
        if issuer.introspection is None:
            continue
        secret = os.environ.get(issuer.introspection.secret_env, "")
        if not secret:
            raise ConfigError(f"{issuer.issuer}: the environment variable {issuer.introspection.secret_env} "
                              "(the introspection client's secret) is not set")
        made[issuer.issuer] = Introspector(issuer.introspection.url, issuer.introspection.client_id, secret,
                                           clock=clock)
    return made


class GuardService:
    """The guard a server runs: `decide` for every protocol, `close` at shutdown."""

    def __init__(self, config: GuardConfig, *, audit: Auditor | None = None,
                 honey: Callable[[], Iterable[str]] | None = None, clock: Clock | None = None,
                 honey_keys: Iterable[Mapping[str, Any]] = ()) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.sources: dict[str, Source] = {
            i.issuer: (RefreshingSource(i.issuer, i.jwks, max_age=i.max_age, clock=self.clock) if i.remote
                       else WatchedFile(i.issuer, i.jwks)) for i in config.issuers}
        self._honey_source = honey
        self.validator = Validator(trust=dict(self.sources), audience="signward-guard", clock=self.clock,
                                   clock_skew=config.clock_skew, max_lifetime=config.max_token_lifetime,
                                   require_at_jwt=config.require_at_jwt, honey=self._honey(), honey_keys=honey_keys,
                                   introspect=_introspectors(config, self.clock), introspect_audiences=())
        self.guard = Guard(config, self.validator)
        self.metrics = GuardMetrics(self.states)
        self.recorder = Recorder(audit, self.metrics.dropped.inc) if audit is not None else None
        self._stop = threading.Event()
        self._honey_thread: threading.Thread | None = None

    def _honey(self) -> frozenset[str]:
        extra: Iterable[str] = ()
        if self._honey_source is not None:
            try:
                extra = list(self._honey_source())
            except Exception:  # keep the list we had; the next reload tries again
                log.exception("reloading the honey kids failed")
                return self.validator.honey if hasattr(self, "validator") else frozenset(self.config.honey_kids)
        keyed = frozenset(self.validator.honey_keys) if hasattr(self, "validator") else frozenset()
        return frozenset(self.config.honey_kids) | frozenset(extra) | keyed

    def start(self, honey_every: float = 60.0) -> GuardService:
        """Fetch every key set (a failure closes only that issuer) and start the refreshers."""
        for source in self.sources.values():
            source.start()
        if self._honey_source is not None:
            def reload() -> None:
                while not self._stop.wait(honey_every):
                    self.validator.honey = self._honey()
            self._honey_thread = threading.Thread(target=reload, daemon=True, name="signward-guard-honey")
            self._honey_thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self.validator.close()  # the key-set refreshers and the introspection clients
        if self.recorder is not None:
            self.recorder.close()

    def states(self) -> list[KeySetState]:
        return [source.state() for source in self.sources.values()]

    def may_wait(self, attempt: Attempt) -> bool:
        """Whether deciding could wait on the network. Inline (False) only when it cannot: no
        token, no kid, or a kid that the CLAIMED issuer's cached set holds. Any other kid may make
        the validator ask the claimed issuer's source for it (`refresh_for_kid`, up to its bounded
        wait), even when another issuer holds it (issue #34: iss A with B's kid stalled the event
        loop for every check), so it goes to a thread; so does anything whose issuer cannot be read."""
        values = attempt.headers.get("authorization", ())
        if len(values) != 1:
            return False
        path = canonical_path(attempt.path)
        route = None if isinstance(path, PathReason) else self.config.route_for(host_of(attempt.host), path)
        if route is not None and route.introspect:
            return True  # the issuer may be asked (its answers are cached by the introspector)
        token = bearer_token(values[0])
        kid = peek_kid(token) if token is not None else None
        if kid is None:
            return False  # refused before any key lookup
        source = self.sources.get(_peek_issuer(token) or "") if token is not None else None
        if source is None:
            return True
        try:
            return kid not in source.keys()  # never refreshes: the cached set only
        except JwksUnavailable:
            return True

    def decide(self, attempt: Attempt) -> Decision:
        started = time.perf_counter()
        decision = self.guard.check(attempt)
        self.metrics.seconds.observe(time.perf_counter() - started)
        self.metrics.checks.labels("allow" if decision.allowed else "deny", decision.reason).inc()
        if not decision.allowed:
            log.warning("denied %s %s%s via %s: %s%s (kid %s, issuer %s)", attempt.method, attempt.host,
                        attempt.path[:200], attempt.via, decision.reason,
                        f" ({decision.detail})" if decision.detail else "", decision.kid, decision.issuer)
            if self.recorder is not None and decision.reason not in UNRECORDED:
                self.recorder.record({"reason": decision.reason, "kid": decision.kid, "issuer": decision.issuer,
                                      "route": decision.route, "detail": decision.detail, "via": attempt.via,
                                      "method": attempt.method[:16], "path": attempt.path[:512],
                                      "time": self.clock.now()})
        return decision


def _peek_issuer(token: str) -> str | None:
    """The `iss` a token's payload names, or None when it does not parse. No rule is applied: for
    scheduling a check only."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN or len(parts) != 3:
        return None
    try:
        issuer = json_object(b64url_decode(parts[1]), "payload").get("iss")
    except Rejected:
        return None
    return issuer if isinstance(issuer, str) else None
