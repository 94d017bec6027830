"""Defense in depth: how many controls must fail before an asset falls, computed exactly,
and checked against the live system with probes. Generic: it imports nothing else of signward but
the probes' shared vocabulary (`signward.probes.base`, itself free of the rest)."""

from .analysis import AssetResult, Report, analyze, width
from .diff import AssetChange, DepthDiff, depth_diff
from .model import Control, Model, ModelError, Node, Step, load_model, parse_model
from .probes import ProbeOutcome, run_probe
from .render import to_dot, to_html
from .solver import Solution, minimum_failing_sets

__all__ = [
    "AssetChange",
    "AssetResult",
    "Control",
    "DepthDiff",
    "Model",
    "ModelError",
    "Node",
    "ProbeOutcome",
    "Report",
    "Solution",
    "Step",
    "analyze",
    "depth_diff",
    "load_model",
    "minimum_failing_sets",
    "parse_model",
    "run_probe",
    "to_dot",
    "to_html",
    "width",
]
