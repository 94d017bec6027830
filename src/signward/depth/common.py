"""Common-mode failures: controls built on one implementation fail together.

A model may say what each control is built on (`built_on`) and which hostile input classes
defeat which implementations (`input_classes`). Then there are three kinds of independent
failure: a control on its own (its cost), an implementation (cost 1: every control built on it
fails) and an input class (cost 1: every control built on an implementation it defeats fails).
The minimum number of independent failures is the same exact problem as the minimum number of
control failures, on a derived model in which each implementation and each input class is one
more control, coupled by `depends_on` (a control has failed when any unit it rests on has):
the MaxSAT encoding gains one variable per unit and the OR-coupling f_c -> x_c OR x_unit...
(maxsat.py), nothing else. Every control is still a unit, so the answer is never larger than
the control count; it is smaller exactly when a shared implementation opens two guards at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from . import maxsat
from .budget import Budget
from .model import Control, Model, ModelError

IMPL = "impl:"  # a unit standing for an implementation's failure
INPUT = "input:"  # a unit standing for a hostile input class
UNIT_COST = 1.0


@dataclass(frozen=True)
class Unit:
    name: str  # "impl:scanner.parsers" or "input:undecoded_encoding"
    kind: str  # "implementation" or "input_class"
    label: str  # the name in the model
    controls: tuple[str, ...]  # the controls its failure takes down

    def to_dict(self) -> dict[str, object]:
        return {"unit": self.name, "kind": self.kind, "name": self.label, "controls": list(self.controls)}


def has_units(model: Model) -> bool:
    return any(c.built_on for c in model.controls.values())


def units(model: Model, implementations: bool = True, dominated: bool = False) -> dict[str, Unit]:
    """Every implementation and input class as the failure unit it is, with the controls it fails.

    A unit that fails one control that costs no more than the unit is that control's failure
    under another name: it is left out (unless `dominated`), so the failing sets name it once.
    Without `implementations` only the input classes are units (what the lab can switch)."""
    out: dict[str, Unit] = {}
    on: dict[str, list[str]] = {}
    for control in model.controls.values():
        for impl in control.built_on:
            on.setdefault(impl, []).append(control.name)
    for impl, controls in on.items():
        if implementations:
            out[IMPL + impl] = Unit(IMPL + impl, "implementation", impl, tuple(sorted(controls)))
    for cls in model.input_classes.values():
        defeated = sorted({c for impl in cls.defeats for c in on.get(impl, [])})
        out[INPUT + cls.name] = Unit(INPUT + cls.name, "input_class", cls.name, tuple(defeated))
    if not dominated:
        out = {n: u for n, u in out.items()
               if not (len(u.controls) == 1 and model.controls[u.controls[0]].cost <= UNIT_COST)}
    clash = sorted(set(out) & set(model.controls))
    if clash:
        raise ModelError(f"{model.source}: {model.name}: a control is named {clash[0]!r}, the name of a failure unit",
                         path=("controls", clash[0]))
    return out


def independent_model(model: Model, implementations: bool = True, dominated: bool = False) -> Model:
    """The model with each unit as a control of cost 1 that the controls resting on it depend on."""
    found = units(model, implementations, dominated)
    rests_on: dict[str, list[str]] = {}
    for unit in found.values():
        for c in unit.controls:
            rests_on.setdefault(c, []).append(unit.name)
    controls: dict[str, Control] = {
        name: replace(c, depends_on=tuple(dict.fromkeys((*c.depends_on, *rests_on.get(name, ())))))
        for name, c in model.controls.items()}
    for unit in found.values():
        controls[unit.name] = Control(unit.name, f"{unit.kind} {unit.label}: fails {', '.join(unit.controls)}",
                                      UNIT_COST)
    closure = {name: frozenset(model.closure.get(name, frozenset({name}))) for name in controls}
    for name in model.controls:  # the model's own closure, plus every unit under a control in it
        closure[name] = closure[name] | {u for d in closure[name] for u in rests_on.get(d, ())}
    return replace(model, controls=controls, closure=closure)


def common_mode(model: Model, derived: Model, asset: str, controls_depth: float | None,
                known: frozenset[str], time_limit: float, budget: Budget | None = None) -> list[dict[str, object]]:
    """The shared units (two or more controls) that cost depth: for each, the minimum number of
    independent failures when it is the only unit that may fail, and what it costs against
    the control count. Dearest first."""
    if controls_depth is None:
        return []
    found = units(model)
    out: list[dict[str, object]] = []
    for unit in found.values():
        if len(unit.controls) < 2:
            continue
        others = frozenset(found) - {unit.name}
        what = f"the common-mode failures of {asset!r} (one solve per shared unit)"
        limit = time_limit if budget is None else budget.solve_limit(time_limit, derived, what)
        res = maxsat.solve(derived, asset, known, max_sets=1, time_limit=limit, forbid=others)
        if not res.exact and budget is not None:  # cut by the deadline: refused; by --time-limit: not proven
            budget.unproven_by(f"what the {unit.kind.replace('_', ' ')} {unit.label!r} alone costs the depth of "
                               f"{asset!r} (common mode)")
        if res.cost is None or not res.exact:
            continue
        lost = Fraction(str(controls_depth)) - res.cost
        if lost > 0:
            out.append({**unit.to_dict(), "depth": _num(res.cost), "costs": _num(lost)})
    return sorted(out, key=lambda u: (-float(str(u["costs"])), str(u["unit"])))


def _num(value: Fraction) -> float | int:
    return int(value) if value.denominator == 1 else float(value)


__all__ = ["IMPL", "INPUT", "Unit", "common_mode", "has_units", "independent_model", "units"]
