"""Per-asset depth, single points of failure, width, and the policy check, as one report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from ..config_schema import Rule
from .budget import RUN_SECONDS, Budget
from .common import common_mode, has_units, independent_model, units
from .model import Model, ModelError
from .semantics import attack_path, reaches
from .solver import Solution, in_every_minimum_set, minimum_failing_sets, polynomial_applies

ENUMERATE = 64  # minimum sets enumerated (in one incremental solver) to find the controls in all of them
# Each asset is solved on the whole model: assets x (controls + nodes + steps) at most this (800 assets
# of a control and a step each, 1.9 million, took 7 s), so the work of a model is bounded, not its size
ANALYSIS_WORK = 1_000_000
# The single-point search evaluates the whole model once per candidate control (a control that can
# fail a step's blocker): candidates x (controls + nodes + steps) over all assets at most this (4 s)
SPOF_WORK = 20_000_000


def _size(model: Model) -> int:
    return len(model.controls) + len(model.nodes) + len(model.steps)


def _too_much(model: Model, what: str, budget: int) -> ModelError:
    return ModelError(f"{model.source}: {model.name}: {what} is more to analyze than {budget} units of work: "
                      "split the model", Rule.OUT_OF_BOUNDS, ("nodes",))


def check_work(model: Model) -> None:
    """Refuse (ModelError, OUT_OF_BOUNDS) a model whose analysis would cost more than ANALYSIS_WORK:
    never a partial answer."""
    if len(model.assets) * _size(model) > ANALYSIS_WORK:
        raise _too_much(model, f"{len(model.assets)} assets in a model of {_size(model)} controls, nodes and steps "
                        "(assets x entries)", ANALYSIS_WORK)


@dataclass
class AssetResult:
    asset: str
    min_failures: float | None
    failing_sets: list[list[str]]
    path: list[str]
    width: int
    in_every_set: list[str]
    exact: bool
    lower: float | None
    upper: float | None
    method: str
    path_steps: list[int] = field(default_factory=list)  # indexes of the steps in `path`
    independent: Solution | None = None  # where the model names implementations: units counted once
    common_mode: list[dict[str, Any]] = field(default_factory=list)  # shared units that cost depth
    unproven: list[str] = field(default_factory=list)  # re-solves stopped by --time-limit: what they left open

    @property
    def depth(self) -> float | None:
        """The depth the policy checks: independent failures where the model names implementations
        (the lower bound where a solve stopped at its time limit)."""
        if self.independent is not None:
            return self.independent.cost if self.independent.exact else self.independent.lower
        return self.min_failures if self.exact else self.lower

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"asset": self.asset, "min_failures": _num(self.min_failures),
                               "failing_sets": self.failing_sets, "path": self.path, "width": self.width,
                               "in_every_minimum_set": self.in_every_set,
                               "exact": self.exact and not self.unproven, "method": self.method}
        if not self.exact:
            out["bounds"] = {"lower": _num(self.lower), "upper": _num(self.upper)}
        elif self.unproven:  # the depth itself is proven: its bounds meet
            out["bounds"] = {"lower": _num(self.min_failures), "upper": _num(self.min_failures)}
        if self.unproven:
            out["not_proven"] = self.unproven
        if self.independent is not None:
            ind = self.independent
            out["independent_failures"] = _num(ind.cost)
            out["independent_failing_sets"] = ind.sets
            out["independent_exact"] = ind.exact
            if not ind.exact:
                out["independent_bounds"] = {"lower": _num(ind.lower), "upper": _num(ind.upper)}
            out["common_mode"] = self.common_mode
        return out


@dataclass
class Report:
    model: str
    assets: list[AssetResult]
    spofs: list[dict[str, str]]
    policy_min: float | None
    known_failed: list[str] = field(default_factory=list)

    @property
    def policy_ok(self) -> bool:
        if self.policy_min is None:
            return True
        for a in self.assets:
            depth = a.depth
            if depth is not None and _as_printed(depth) < self.policy_min:
                return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "assets": [a.to_dict() for a in self.assets], "spofs": self.spofs,
                "policy_ok": self.policy_ok, "policy_min_failures": _num(self.policy_min),
                "failed": self.known_failed}


NOISE = 1e-9  # the solver's float noise: far under the costs' resolution (model.MIN_COST, 1e-6)


def _num(value: float | None) -> float | int | None:
    """A depth as printed: integral values (within the solver's float noise) as integers, every other
    value with all its digits (1.9999991 is not 2), so the policy, which checks the printed value,
    agrees with what is printed."""
    if value is None:
        return None
    printed = _as_printed(value)
    return int(printed) if printed.is_integer() else value


def _as_printed(value: float) -> float:
    """`value` as `_num` prints it: the integer nearest, within the solver's NOISE, else itself."""
    nearest = round(value)
    return float(nearest) if abs(value - nearest) <= NOISE else value


def width(model: Model, asset: str) -> int:
    """Step-disjoint attack paths to the asset: max flow with each step of capacity one (an AND
    step counts as an edge from each of its sources), by scipy's Dinic on a sparse graph."""
    if asset in model.entries:
        return 0
    index: dict[object, int] = {"__entry__": 0}

    def at(key: object) -> int:
        return index.setdefault(key, len(index))

    edges: list[tuple[int, int, int]] = []
    unbounded = len(model.steps) + 1
    for entry in model.entries:
        edges.append((0, at(("node", entry)), unbounded))
    for step in model.steps:
        s = at(("step", step.index))
        edges += [(at(("node", u)), s, unbounded) for u in step.sources]
        edges.append((s, at(("node", step.target)), 1))
    sink = index.get(("node", asset))
    if sink is None:
        return 0
    n = len(index)
    rows, cols, caps = zip(*edges, strict=True)
    graph = csr_matrix((np.asarray(caps, dtype=np.int32), (rows, cols)), shape=(n, n))
    return int(maximum_flow(graph, 0, sink, method="dinic").flow_value)


def analyze(model: Model, failed: Iterable[str] = (), max_sets: int = 5, time_limit: float = 30.0,
            budget: Budget | None = None) -> Report:
    """The report, every part exact or marked `exact: false` with its bounds (a main solve that hit
    `time_limit`) or with what was not proven (a re-solve behind `in_every_minimum_set` or
    `common_mode` that hit it: `not_proven`); refused (OUT_OF_BOUNDS) where the whole run passes
    `budget` (RUN_SECONDS and RUN_WORK unless given): its deadline or its work bound."""
    check_work(model)
    budget = budget if budget is not None else Budget(model, max(RUN_SECONDS, time_limit))
    named = frozenset(failed)
    failing_units = units(model, dominated=True) if has_units(model) else {}
    unknown = sorted(named - set(model.controls) - set(failing_units))
    if unknown:
        from .model import ModelError

        raise ModelError(f"--failed names unknown control(s): {', '.join(unknown)}")
    # a failed implementation or input class (a watch drill found it) fails the controls it takes down
    known = frozenset(c for n in named for c in (failing_units[n].controls if n in failing_units else (n,)))
    results = []
    derived = independent_model(model) if has_units(model) else None
    for asset in model.assets:
        cut = len(budget.unproven)
        # more sets than asked for where MaxSAT answers: once every minimum set is known, the
        # controls in all of them are their intersection, with no further solve
        wanted = max_sets if polynomial_applies(model) else max(max_sets, ENUMERATE)
        solution: Solution = minimum_failing_sets(model, asset, known, max_sets=wanted, time_limit=time_limit,
                                                  budget=budget)
        in_every = in_every_minimum_set(model, asset, solution, known, time_limit, budget)
        solution.sets = solution.sets[:max_sets]
        chosen = (solution.sets[0] if solution.sets else [])
        budget.charge(2 * budget.weight(model), f"the attack path and width of {asset!r}")
        steps = attack_path(model, [*chosen, *known], asset) if solution.cost is not None else []
        results.append(AssetResult(
            asset=asset, min_failures=solution.cost, failing_sets=solution.sets, path=[s.label() for s in steps],
            path_steps=[s.index for s in steps],
            width=width(model, asset), in_every_set=in_every,
            exact=solution.exact, lower=solution.lower, upper=solution.upper, method=solution.method))
        if derived is not None:
            independent = minimum_failing_sets(derived, asset, known, max_sets=max_sets, time_limit=time_limit,
                                               budget=budget)
            results[-1].independent = independent
            results[-1].common_mode = common_mode(model, derived, asset, solution.cost if solution.exact else None,
                                                  known, time_limit, budget)
        results[-1].unproven = budget.unproven[cut:]
    spofs = []
    dearest = max((c.cost for c in model.controls.values()), default=0.0)
    # only a control whose failure fails some step's blocker can open anything: the candidates
    candidates = sorted({d for s in model.steps for b in s.blocked_by for d in model.closure.get(b, (b,))})
    work = 0
    for asset, result in zip(model.assets, results, strict=True):
        budget.charge(budget.weight(model), f"the single points of failure of {asset!r}")
        if reaches(model, list(known), asset):
            continue  # already open: no control is the single point
        if result.exact and (result.min_failures is None or result.min_failures > dearest):
            pass  # no single control costs enough to be a minimum-or-cheaper failing set
        else:
            work += len(candidates) * _size(model)
            if work > SPOF_WORK:
                raise _too_much(model, "the single points of failure of its assets (candidate controls x entries)",
                                SPOF_WORK)
            for control in candidates:
                budget.charge(budget.weight(model), f"the single points of failure of {asset!r} (one per candidate)")
                if control not in known and reaches(model, [control, *known], asset):
                    spofs.append({"control": control, "asset": asset})
        ind = result.independent
        if derived is not None and ind is not None and not (ind.exact and (ind.cost is None or ind.cost > 1)):
            units_ = sorted(set(derived.controls) - set(model.controls))  # each an implementation or input
            work += len(units_) * _size(derived)
            if work > SPOF_WORK:
                raise _too_much(model, "the single points of failure of its assets (units x entries)", SPOF_WORK)
            for unit in units_:
                budget.charge(budget.weight(derived), f"the single points of failure of {asset!r} (one per unit)")
                if reaches(derived, [unit, *known], asset):
                    spofs.append({"control": unit, "asset": asset})
    return Report(model.name, results, spofs, model.min_failures, sorted(named))
