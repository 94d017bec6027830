"""Continuous validation (`signward watch`): every control probed where it is deployed, on a
schedule, with the designed and the current depth, audit records, alerts and metrics."""

from ..probes.base import ProbeContext
from .config import RelyingParty, WatchConfig, parse_duration
from .probes import DEPLOYMENT_PROBES
from .runner import Round, WatchMetrics, probes_for, record_round, run_round

__all__ = ["DEPLOYMENT_PROBES", "ProbeContext", "RelyingParty", "Round", "WatchConfig", "WatchMetrics",
           "parse_duration", "probes_for", "record_round", "run_round"]
