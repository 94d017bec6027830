"""The ablation: switch off sets of controls by increasing size until the mail API falls, and
set the smallest such size (empirical) beside the depth analyzer's answer on the model of
signward (analytic)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

from ..depth import analyze, load_model
from ..errors import ConfigError
from .controls import CONTROLS
from .scenario import Lab

def packaged_model(name: str) -> Path:
    """A model shipped inside the package (found the same way from a checkout or a wheel)."""
    return Path(str(resources.files("signward").joinpath("models", name)))


MODEL = packaged_model("storm-0558-signward.yaml")


@dataclass
class Ablation:
    min_failures_empirical: int | None
    failing_sets: list[list[str]]
    min_failures_analytic: float | None
    analytic_sets: list[list[str]]
    runs: int
    stage_runs: dict[str, int] = field(default_factory=dict)

    @property
    def agree(self) -> bool:
        return self.min_failures_empirical == self.min_failures_analytic

    @property
    def sets_agree(self) -> bool:
        return sorted(map(sorted, self.failing_sets)) == sorted(map(sorted, self.analytic_sets))

    def to_dict(self) -> dict[str, Any]:
        analytic = self.min_failures_analytic
        return {"min_failures_empirical": self.min_failures_empirical, "failing_sets": self.failing_sets,
                "min_failures_analytic": int(analytic) if analytic is not None and analytic.is_integer() else analytic,
                "analytic_failing_sets": self.analytic_sets, "agree": self.agree, "sets_agree": self.sets_agree,
                "runs": self.runs, "stage_runs": self.stage_runs}


def analytic(model_path: Path = MODEL) -> tuple[float | None, list[list[str]]]:
    """The depth analyzer's minimum and all minimum failing sets for the enterprise mailbox."""
    if not model_path.is_file():
        raise ConfigError(f"the model {model_path} is missing (run the lab from a signward checkout)")
    report = analyze(load_model(model_path), max_sets=100)
    (asset,) = [a for a in report.assets if a.asset == "enterprise_mail"]
    return asset.min_failures, [sorted(s) for s in asset.failing_sets]


def ablate(lab: Lab, progress: Callable[[str], None] | None = None, model_path: Path = MODEL) -> Ablation:
    """Every set of switched-off controls of size 0, 1, 2, ... until some size breaches."""
    names = list(CONTROLS)
    runs = 0
    found: int | None = None
    failing: list[list[str]] = []
    for size in range(len(names) + 1):
        sets = [frozenset(c) for c in combinations(names, size)]
        if progress:
            progress(f"ablation: {len(sets)} sets of {size} control(s) off")
        lab.prepare(sets)
        for disabled in sets:
            runs += 1
            if lab.run(disabled).breached:
                failing.append([c for c in names if c in disabled])
        if failing:
            found = size
            break
    minimum, analytic_sets = analytic(model_path)
    return Ablation(found, failing, minimum, analytic_sets, runs, dict(lab.stage_runs))


__all__ = ["MODEL", "Ablation", "ablate", "analytic", "packaged_model"]
