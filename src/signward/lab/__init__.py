"""The Storm-0558 lab: the breach replayed end to end against the real components, with any set
of controls switched off, and an ablation that measures how many must fail."""

from .ablate import Ablation, ablate
from .attacker import StolenKey, forge_token, steal_keys
from .controls import CONTROLS, PRESETS, parse_disabled
from .scenario import Lab, LabResult, LabStep

__all__ = [
    "CONTROLS",
    "PRESETS",
    "Ablation",
    "Lab",
    "LabResult",
    "LabStep",
    "StolenKey",
    "ablate",
    "forge_token",
    "parse_disabled",
    "steal_keys",
]
