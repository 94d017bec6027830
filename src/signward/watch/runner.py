"""One watch round and the watcher loop: probe every control where it lives, record each
result in the audit log, compute the designed and the current depth, alert, export metrics.

A round runs the probes one at a time, each with the configured timeout; a probe that fails,
raises or times out counts its control as failed (fail closed), with the reason. The current
depth is the model analysed with the failed controls as failed. An alert (an audit record at
alert severity, a CRITICAL JSON line on the `signward.alert` logger and the optional webhook)
is raised when a control fails or the current depth falls below `policy.min_failures`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from ..depth import Model, Report, analyze
from ..depth.common import INPUT
from ..depth.probes import run_probe
from ..errors import ConfigError
from ..home import Home
from ..probes.base import ProbeContext, ProbeOutcome
from ..services import open_services
from .config import WatchConfig
from .probes import DEPLOYMENT_PROBES

alert_log = logging.getLogger("signward.alert")


@dataclass
class Round:
    """What one round found."""

    time: float
    results: list[ProbeOutcome]
    unprobed: list[str]
    designed: Report
    current: Report
    alerts: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[str]:
        return sorted(r.control for r in self.results if not r.held)

    @property
    def below_policy(self) -> bool:
        return not self.current.policy_ok

    def depths(self) -> dict[str, dict[str, Any]]:
        designed = {a.asset: _depth(a.to_dict()) for a in self.designed.assets}
        return {a.asset: {"designed": designed.get(a.asset), "current": _depth(a.to_dict())}
                for a in self.current.assets}

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "probes": [r.to_dict() for r in self.results], "failed": self.failed,
                "unprobed": self.unprobed, "depth": self.depths(),
                "policy_min_failures": self.current.to_dict()["policy_min_failures"],
                "policy_ok": self.current.policy_ok, "alerts": self.alerts}


def _depth(asset: dict[str, Any]) -> Any:
    """An asset's depth: its independent failures where the model names implementations, else controls."""
    return asset.get("independent_failures", asset["min_failures"])


def probes_for(model: Model, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """control -> probe: the deployment probe where signward has one, else the model's own."""
    chosen = {**DEPLOYMENT_PROBES, **(overrides or {})}
    out = {}
    for name, control in model.controls.items():
        probe = chosen.get(name) or control.probe
        if probe:
            out[name] = probe
    for name in model.input_classes:  # a drill for an input class: both scans must not pass it
        if chosen.get(INPUT + name):
            out[INPUT + name] = chosen[INPUT + name]
    return out


def run_round(home: Home, model: Model, config: WatchConfig, *, overrides: Mapping[str, str] | None = None,
              only: Sequence[str] | None = None, time_limit: float = 30.0) -> Round:
    """Probe every control once (one at a time; with `only`, just those), then compute both depths."""
    ctx = ProbeContext(home, config)
    probes = probes_for(model, overrides)
    if only is not None:
        unknown = sorted(set(only) - set(model.controls) - {INPUT + n for n in model.input_classes})
        if unknown:
            raise ConfigError(f"--only names controls the model does not have: {', '.join(unknown)}")
        probes = {name: probe for name, probe in probes.items() if name in only}
    started = time.time()
    results = [run_probe(name, probe, ctx, config.probe_timeout, env=ctx.env()) for name, probe in probes.items()]
    failed = sorted(r.control for r in results if not r.held)
    designed = analyze(model, (), time_limit=time_limit)
    current = analyze(model, failed, time_limit=time_limit)
    unprobed = sorted(set(model.controls) - set(probes))
    return Round(started, results, unprobed, designed, current)


def record_round(home: Home, found: Round, webhook: str = "",
                 post: Callable[[str, dict[str, Any]], None] | None = None) -> None:
    """Write each probe result as an audit record, then raise the round's alerts."""
    with open_services(home, actor="signward-watch") as services:
        services.audit.append("signward-watch", "watch.round", "", {
            "depth": found.depths(), "failed": found.failed, "unprobed": found.unprobed, "drill": True,
            "policy_min_failures": found.current.to_dict()["policy_min_failures"],
            "policy_ok": found.current.policy_ok})
        for result in found.results:
            services.audit.append("signward-watch", "probe.pass" if result.held else "probe.fail", result.control,
                                  {**result.to_dict(), "drill": True}, severity="info" if result.held else "warning")
        for control in found.failed:
            found.alerts.append(f"control {control} failed its probe")
        for asset, depth in found.depths().items():
            current, policy = depth["current"], found.current.policy_min
            if policy is not None and current is not None and current < policy:
                found.alerts.append(f"{asset}: current depth {current} below policy {policy} "
                                    f"(designed {depth['designed']})")
        for alert in found.alerts:
            services.audit.append("signward-watch", "watch.alert", "", {"alert": alert, "failed": found.failed,
                                                                        "depth": found.depths()}, severity="alert")
            alert_log.critical(json.dumps({"alert": "watch", "detail": alert, "failed": found.failed,
                                           "depth": found.depths()}, sort_keys=True))
    if found.alerts and webhook:
        (post or _post)(webhook, {"alerts": found.alerts, "round": found.to_dict()})


def _post(url: str, body: dict[str, Any]) -> None:
    try:
        httpx.post(url, json=body, timeout=10.0, follow_redirects=False).raise_for_status()
    except httpx.HTTPError as exc:  # the audit record and the log line stand; the webhook is extra
        alert_log.error(json.dumps({"alert": "webhook", "detail": f"{url}: {exc}"}))


class WatchMetrics:
    """The watcher's Prometheus gauges (one registry per watcher)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.control_up = Gauge("signward_control_up", "1 when the control's last probe passed", ["control"],
                                registry=self.registry)
        self.designed = Gauge("signward_depth_designed", "Minimum failures to reach the asset, as designed",
                              ["asset"], registry=self.registry)
        self.current = Gauge("signward_depth_current", "Minimum failures to reach the asset, as probed",
                             ["asset"], registry=self.registry)
        self.probe_seconds = Gauge("signward_probe_seconds", "Seconds the control's last probe took", ["control"],
                                   registry=self.registry)
        self.rounds = Gauge("signward_watch_rounds", "Rounds completed", registry=self.registry)
        self._lock = threading.Lock()

    def update(self, found: Round) -> None:
        with self._lock:
            for result in found.results:
                self.control_up.labels(result.control).set(1 if result.held else 0)
                self.probe_seconds.labels(result.control).set(result.duration)
            for asset, depth in found.depths().items():
                for gauge, value in ((self.designed, depth["designed"]), (self.current, depth["current"])):
                    gauge.labels(asset).set(float("inf") if value is None else value)
            self.rounds.inc()

    def render(self) -> bytes:
        with self._lock:
            return bytes(generate_latest(self.registry))


__all__ = ["Round", "WatchMetrics", "probes_for", "record_round", "run_round"]
