"""One bound for a whole analysis: a deadline and a work counter that every costly loop charges.

`analyze` makes one Budget; the solves, the per-control and per-unit re-solves, the enumeration
of equal-cost paths and the single-point search each charge it before they run. Past the
deadline or the work bound the analysis is refused (ModelError, Rule.OUT_OF_BOUNDS): never a
silent partial answer. A re-solve stopped by its own `--time-limit` before the deadline is recorded
(`unproven`) and its asset reported `exact: false`, naming what was not proven.
"""

from __future__ import annotations

import time

from ..config_schema import Rule
from .model import Model, ModelError

RUN_SECONDS = 300.0  # the whole analysis, every asset, solve and search together
RUN_WORK = 1_000_000_000  # entries evaluated (controls, nodes, step ends, closure entries) in all: ~20 s
SOLVE_WORK = 200  # a MaxSAT solve charged as this many evaluations of the model it solves (measured)


def weight(model: Model) -> int:
    """What one evaluation of the model reads: controls, nodes, every step's sources and blockers,
    and every control's closure (a failed control fails its dependents)."""
    return (len(model.controls) + len(model.nodes)
            + sum(1 + len(s.sources) + len(s.blocked_by) for s in model.steps)
            + sum(len(c) for c in model.closure.values()))


class Budget:
    """The deadline and the work counter of one analysis."""

    def __init__(self, model: Model, seconds: float = RUN_SECONDS, work: int = RUN_WORK) -> None:
        self.name = f"{model.source}: {model.name}"
        self.seconds, self.limit = seconds, work
        self.deadline = time.monotonic() + seconds
        self.used = 0
        self.unproven: list[str] = []  # what a solve stopped by its own time limit left open, in order
        self._weights: dict[int, int] = {}

    def weight(self, model: Model) -> int:
        key = id(model)
        if key not in self._weights:
            self._weights[key] = weight(model)
        return self._weights[key]

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def charge(self, units: int, what: str) -> None:
        """Count `units` of work for `what`; refuse past the work bound or the deadline."""
        self.used += units
        if self.used > self.limit:
            raise ModelError(f"{self.name}: {what} is more to analyze than {self.limit} units of work "
                             "(the whole run's bound): split the model", Rule.OUT_OF_BOUNDS, ("nodes",))
        if time.monotonic() > self.deadline:
            raise ModelError(f"{self.name}: {what} goes past the whole run's time limit of {self.seconds:g} s: "
                             "split the model", Rule.OUT_OF_BOUNDS, ("nodes",))

    def unproven_by(self, what: str) -> None:
        """A solve for `what` stopped before its answer: refused if the run's deadline stopped it
        (as any charge past it), else (its own `--time-limit`) recorded, for the report to say
        `exact: false` and name it: never skipped silently."""
        self.charge(0, what)
        self.unproven.append(what)

    def solve_limit(self, time_limit: float, model: Model, what: str) -> float:
        """Charge one solve of `model`; the time it may take: its own limit, within the deadline."""
        self.charge(SOLVE_WORK * self.weight(model), what)
        return max(0.0, min(time_limit, self.remaining()))


__all__ = ["RUN_SECONDS", "RUN_WORK", "SOLVE_WORK", "Budget", "weight"]
