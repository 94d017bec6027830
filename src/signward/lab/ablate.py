"""The ablation: switch off sets of controls by increasing size until the mail API falls, and
set the smallest such size (empirical) beside the depth analyzer's answer on the model of
signward (analytic).

Beside the controls it switches input classes (`controls.INPUTS`): one hostile input class is one
failure that switches off every control whose code it defeats. So the ablation measures two
numbers, as `depth analyze` computes two: the controls that must fail (sets of controls only) and
the independent failures (sets of controls and input classes). A run is cached by the controls
it switches off, so a set holding an input class costs no pipeline run that a set of controls
has not already paid for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from itertools import combinations
from pathlib import Path
from typing import Any

from ..depth import analyze, load_model
from ..depth.common import independent_model
from ..depth.solver import minimum_failing_sets
from ..errors import ConfigError
from .controls import CONTROLS, INPUTS, defeated_by, effective, store_reads_independently
from .scenario import Lab

ASSET = "enterprise_mail"


def packaged_model(name: str) -> Path:
    """A model shipped inside the package (found the same way from a checkout or a wheel)."""
    return Path(str(resources.files("signward").joinpath("models", name)))


MODEL = packaged_model("storm-0558-signward.yaml")
SHARED_MODEL = packaged_model("storm-0558-signward-shared-scanner.yaml")


def deployed_model() -> Path:
    """The model of the code the lab runs: the store's re-scan on its own reader, or on the
    sanitizer's scanner (where `signward.scan.recheck` is not in the store's intake)."""
    return MODEL if store_reads_independently() else SHARED_MODEL


def _num(value: float | None) -> float | int | None:
    return int(value) if value is not None and value.is_integer() else value


@dataclass
class Ablation:
    min_failures_empirical: int | None
    failing_sets: list[list[str]]
    min_failures_analytic: float | None
    analytic_sets: list[list[str]]
    runs: int
    stage_runs: dict[str, int] = field(default_factory=dict)
    # with input classes: independent failures, measured and modelled
    independent_empirical: int | None = None
    independent_sets: list[list[str]] = field(default_factory=list)
    independent_analytic: float | None = None
    analytic_independent_sets: list[list[str]] = field(default_factory=list)
    inputs: dict[str, list[str]] = field(default_factory=dict)  # input class -> the controls it switched off
    model: str = ""
    configurations: int = 0  # sets tried (controls and input classes); `runs` of them ran the lab
    given_off: list[str] = field(default_factory=list)  # off in every run; the numbers count failures beyond them

    @property
    def agree(self) -> bool:
        return (self.min_failures_empirical == self.min_failures_analytic
                and self.independent_empirical == self.independent_analytic)

    @property
    def sets_agree(self) -> bool:
        return (sorted(map(sorted, self.failing_sets)) == sorted(map(sorted, self.analytic_sets))
                and sorted(map(sorted, self.independent_sets)) == sorted(map(sorted, self.analytic_independent_sets)))

    def to_dict(self) -> dict[str, Any]:
        return {"min_failures_empirical": self.min_failures_empirical, "failing_sets": self.failing_sets,
                "min_failures_analytic": _num(self.min_failures_analytic),
                "analytic_failing_sets": self.analytic_sets,
                "independent_failures_empirical": self.independent_empirical,
                "independent_failing_sets": self.independent_sets,
                "independent_failures_analytic": _num(self.independent_analytic),
                "analytic_independent_failing_sets": self.analytic_independent_sets,
                "input_classes": self.inputs, "model": self.model,
                "agree": self.agree, "sets_agree": self.sets_agree,
                "runs": self.runs, "configurations": self.configurations, "stage_runs": self.stage_runs,
                "given_off": self.given_off}


def analytic(model_path: Path = MODEL, given_off: frozenset[str] = frozenset()) -> tuple[float | None, list[list[str]]]:
    """The depth analyzer's minimum and all minimum failing sets for the enterprise mailbox (with
    `given_off` failed already: how many more must fail)."""
    if not model_path.is_file():
        raise ConfigError(f"the model {model_path} is missing (run the lab from a signward checkout)")
    report = analyze(load_model(model_path), failed=given_off, max_sets=100)
    (asset,) = [a for a in report.assets if a.asset == ASSET]
    return asset.min_failures, [sorted(s) for s in asset.failing_sets]


def analytic_independent(model_path: Path = MODEL,
                         given_off: frozenset[str] = frozenset()) -> tuple[float | None, list[list[str]]]:
    """Independent failures with the units the lab can switch (controls and input classes), and
    every minimum set of them; the analyzer's number with implementations as units too is the same
    for the shipped models (each shared implementation is defeated by an input class)."""
    model = load_model(model_path)
    derived = independent_model(model, implementations=False, dominated=True)
    solution = minimum_failing_sets(derived, ASSET, given_off, max_sets=100)
    full = analyze(model, failed=given_off, max_sets=1).assets
    (asset,) = [a for a in full if a.asset == ASSET]
    ind = asset.independent.cost if asset.independent is not None else asset.min_failures
    if ind != solution.cost:
        raise ConfigError(f"{model_path}: a shared implementation no input class defeats changes the depth "
                          f"({ind} vs {solution.cost}); the lab cannot switch it")
    return solution.cost, [sorted(s) for s in solution.sets]


def ablate(lab: Lab, progress: Callable[[str], None] | None = None, model_path: Path | None = None,
           given_off: frozenset[str] = frozenset()) -> Ablation:
    """Every set of switched-off controls and input classes of size 0, 1, 2, ... until a set of
    controls alone and a set with input classes have both breached. With `given_off` (controls
    known to be failed, as `--disable` names them) every run has those off too, the sets are drawn
    from the other controls, and both numbers count the failures needed beyond them; the analyzer
    is asked the same question with them failed (`depth analyze --failed`)."""
    unknown = sorted(given_off - set(CONTROLS))
    if unknown:
        raise ConfigError(f"unknown control(s) to start the ablation with off: {', '.join(unknown)}")
    model_path = deployed_model() if model_path is None else model_path
    names = [*(c for c in CONTROLS if c not in given_off), *INPUTS]
    runs = 0
    configurations = 0
    breached: dict[frozenset[str], bool] = {}
    found: int | None = None
    found_independent: int | None = None
    failing: list[list[str]] = []
    independent: list[list[str]] = []
    for size in range(len(names) + 1):
        sets = [frozenset(c) for c in combinations(names, size)]
        if found_independent is not None:  # only the controls' number is still open: sets of controls
            sets = [s for s in sets if not s & set(INPUTS)]
        if progress:
            progress(f"ablation: {len(sets)} sets of {size} control(s) or input class(es) off")
        lab.prepare({effective(s) | given_off for s in sets} - set(breached))
        for chosen in sets:
            configurations += 1
            off = effective(chosen) | given_off
            if off not in breached:
                runs += 1
                breached[off] = lab.run(off).breached
            if breached[off]:
                ordered = [c for c in names if c in chosen]
                if found_independent is None or found_independent == size:
                    independent.append(ordered)
                if found is None and not chosen & set(INPUTS):
                    failing.append(ordered)
        if independent and found_independent is None:
            found_independent = size
        if failing:
            found = size
            break
    minimum, analytic_sets = analytic(model_path, given_off)
    ind_minimum, ind_sets = analytic_independent(model_path, given_off)
    return Ablation(found, failing, minimum, analytic_sets, runs, dict(lab.stage_runs),
                    found_independent, independent, ind_minimum, ind_sets,
                    {name: sorted(defeated_by(name)) for name in INPUTS}, load_model(model_path).name,
                    configurations, sorted(given_off))


__all__ = ["MODEL", "SHARED_MODEL", "Ablation", "ablate", "analytic", "analytic_independent", "deployed_model",
           "packaged_model"]
