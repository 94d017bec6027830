"""Exact minimum-cost failing sets as weighted MaxSAT, solved by RC2 (PySAT), loops added lazily.

Variables: x_c (control c chosen to fail), f_c (c has failed), h_v (node v held), j_s (step s
taken). Hard clauses, only in the direction the minimisation needs:

  h_asset;  h_v -> OR j_s over the steps into v (v not an entry);  j_s -> h_u for u in from(s);
  j_s -> f_c for c in blocked_by(s);  f_c -> OR x_d for d whose failure fails c (depends_on).

Soft clauses: NOT x_c with weight cost(c). This is the completion of the least fixpoint
without its well-foundedness: a cycle of steps could hold its own nodes. Every optimum is
therefore checked with the fixpoint itself; where nodes are held only by such a cycle (an
unfounded set U) the loop formula h_v -> OR{j_s : s into U, no source of s in U} is added for
each v in U and RC2 goes on from where it was (answer-set solvers add loop formulas the same
way). A real attack satisfies every loop formula, so each optimum is a lower bound and the
first one that the fixpoint confirms is the answer. On acyclic models one call suffices.

Before encoding, the model is cut to what matters: steps whose sources can be held at all and
whose target leads to the asset, and the controls that guard them. A time limit interrupts RC2;
the cores it has relaxed give the lower bound and a greedy failing set, checked by the fixpoint,
the upper bound (an incumbent that really opens the asset).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import networkx as nx
from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF

from .model import Model, Step
from .semantics import failed_controls, holdings

MAX_SCALE = 10**6  # costs are scaled to integers; finer costs are rounded to a millionth (model.MIN_COST)


@dataclass
class Outcome:
    cost: Fraction | None  # None: unreachable even with every control failed
    sets: list[list[str]]
    exact: bool
    lower: Fraction | None
    upper: Fraction | None
    loops: int = 0  # loop formulas added
    complete: bool = False  # `sets` holds every minimum failing set


class Relevant:
    """The part of a model that can matter for one asset, and a fast fixpoint over it."""

    def __init__(self, model: Model, asset: str, known_failed: frozenset[str]) -> None:
        self.model = model
        self.asset = asset
        self.entries = frozenset(model.entries)
        self.fails: dict[str, set[str]] = {}  # d -> the controls whose failure d causes
        for c, causes in model.closure.items():
            for d in causes:
                self.fails.setdefault(d, set()).add(c)
        self.known = failed_controls(model, known_failed)
        everything = holdings(model, frozenset(model.controls))  # every control failed: the most one holds
        usable = [s for s in model.steps if all(u in everything for u in s.sources)]
        wanted = {asset}
        into: dict[str, list[Step]] = {}
        for step in usable:
            into.setdefault(step.target, []).append(step)
        todo = [asset]
        while todo:
            for step in into.get(todo.pop(), ()):
                for u in step.sources:
                    if u not in wanted:
                        wanted.add(u)
                        todo.append(u)
        self.reachable = asset in everything
        self.steps = [s for s in usable if s.target in wanted and s.target not in self.entries]
        guards = {c for s in self.steps for c in s.blocked_by if c not in self.known}
        self.controls = sorted({d for c in guards for d in model.closure[c]} - known_failed)

        self._feeds: dict[str, list[int]] = {}
        for i, step in enumerate(self.steps):
            for u in step.sources:
                self._feeds.setdefault(u, []).append(i)

    def failed(self, chosen: Iterable[str]) -> frozenset[str]:
        out = set(self.known)
        for d in chosen:
            out |= self.fails.get(d, set())
        return frozenset(out)

    def held(self, chosen: Iterable[str]) -> set[str]:
        """The least fixpoint of the relevant steps when `chosen` fail: a worklist, linear."""
        failed = self.failed(chosen)
        missing = [len(s.sources) if all(c in failed for c in s.blocked_by) else -1 for s in self.steps]
        held = set(self.entries)
        frontier = list(held)
        while frontier:
            nxt = []
            for node in frontier:
                for i in self._feeds.get(node, ()):
                    if missing[i] > 0:
                        missing[i] -= 1
                        target = self.steps[i].target
                        if missing[i] == 0 and target not in held:
                            held.add(target)
                            nxt.append(target)
            frontier = nxt
        return held

    def opens(self, chosen: Iterable[str]) -> bool:
        return self.asset in self.held(chosen)

    def minimal(self, chosen: Iterable[str], cost: dict[str, Fraction], prefer: Iterable[str] = ()) -> list[str]:
        """Drop controls that the asset does not need (those not in `prefer` first, dearest
        first); what is left is a minimal failing set."""
        liked = set(prefer)
        keep = sorted(set(chosen), key=lambda c: (c in liked, -cost.get(c, Fraction(0)), c))
        for c in list(keep):
            trial = [d for d in keep if d != c]
            if self.opens(trial):
                keep = trial
        return sorted(keep)


def scaled_costs(model: Model, controls: Iterable[str]) -> tuple[dict[str, Fraction], dict[str, int], int]:
    """Exact costs and integer weights for RC2 (scaled by the denominators' lcm, capped)."""
    exact = {c: Fraction(str(model.controls[c].cost)) for c in controls}
    scale = 1
    for value in exact.values():
        scale = lcm(scale, value.denominator)
        if scale > MAX_SCALE:
            scale = MAX_SCALE
            break
    # a positive cost never weighs 0 (a free control): the loader refuses costs under model.MIN_COST,
    # and one built in code that rounds to 0 still weighs 1
    return exact, {c: max(1, round(v * scale)) if v > 0 else 0 for c, v in exact.items()}, scale


class _Encoding:
    def __init__(self, part: Relevant, forbid: frozenset[str]) -> None:
        self.part = part
        self.var: dict[tuple[str, object], int] = {}
        self.wcnf = WCNF()
        model = part.model
        self.cost, weights, self.scale = scaled_costs(model, part.controls)
        self.x = {c: self._v("x", c) for c in part.controls}
        into: dict[str, list[int]] = {}
        self.j: dict[int, int] = {}
        for step in part.steps:
            js = self.j[step.index] = self._v("j", step.index)
            into.setdefault(step.target, []).append(js)
            for u in step.sources:
                if u not in part.entries:
                    self.wcnf.append([-js, self._h(u)])
            for c in step.blocked_by:
                if c not in part.known:
                    self.wcnf.append([-js, self._f(c)])
        self.into = into
        for node, h in list(self.var.items()):
            if node[0] == "h":
                self.wcnf.append([-h, *into.get(str(node[1]), [])])
        self.wcnf.append([self._h(part.asset)])
        self.wcnf.append([-self._h(part.asset), *into.get(part.asset, [])])
        for c in forbid:
            if c in self.x:
                self.wcnf.append([-self.x[c]])
        for c in part.controls:
            if weights[c] > 0:
                self.wcnf.append([-self.x[c]], weight=weights[c])

    def _v(self, kind: str, name: object) -> int:
        key = (kind, name)
        if key not in self.var:
            self.var[key] = len(self.var) + 1
        return self.var[key]

    def _h(self, node: str) -> int:
        return self._v("h", node)

    def _f(self, control: str) -> int:
        key = ("f", control)
        if key not in self.var:
            f = self._v("f", control)
            self.wcnf.append([-f, *(self.x[d] for d in self.part.model.closure[control] if d in self.x)])
        return self.var[key]


def loop_clauses(part: Relevant, enc: _Encoding, model_true: set[int], chosen: list[str]) -> list[list[int]]:
    """Loop formulas for the nodes the MaxSAT model holds but the fixpoint does not."""
    claimed = {name for (kind, name), v in enc.var.items() if kind == "h" and v in model_true}
    unfounded = {str(v) for v in claimed} - part.held(chosen)
    if not unfounded:
        return []
    groups = [unfounded, *_cycles(part, unfounded)]
    clauses = []
    for group in groups:
        external = [enc.j[s.index] for s in part.steps if s.target in group and not any(u in group for u in s.sources)]
        clauses += [[-enc.var[("h", v)], *external] for v in sorted(group)]
    return clauses


def _cycles(part: Relevant, within: set[str]) -> list[set[str]]:
    """The strongly connected parts (of more than one node) of the steps inside `within`."""
    graph = nx.DiGraph()
    for step in part.steps:
        if step.target in within:
            for u in step.sources:
                if u in within:
                    graph.add_edge(u, step.target)
    return [set(c) for c in nx.strongly_connected_components(graph) if len(c) > 1 and set(c) != within]


def solve(model: Model, asset: str, known_failed: frozenset[str] = frozenset(), max_sets: int = 5,
          time_limit: float = 30.0, forbid: frozenset[str] = frozenset()) -> Outcome:
    """The minimum cost and up to `max_sets` minimal failing sets of that cost."""
    part = Relevant(model, asset, known_failed)
    if asset in part.entries or part.opens([]):
        return Outcome(Fraction(0), [[]], True, Fraction(0), Fraction(0), complete=True)
    allowed = [c for c in part.controls if c not in forbid]
    if not part.reachable or not part.opens(allowed):
        return Outcome(None, [], True, None, None, complete=True)
    enc = _Encoding(part, forbid)
    deadline = time.monotonic() + time_limit
    solver = RC2Stratified(enc.wcnf, solver="g3", adapt=True, exhaust=True, minz=True, trim=5, nohard=True)
    timer = threading.Timer(time_limit, solver.interrupt)
    timer.daemon = True
    timer.start()
    best: Fraction | None = None
    lower = Fraction(0)
    sets: list[list[str]] = []
    relaxed: list[str] = []  # the last optimum that a cycle held up, repaired for an incumbent
    loops = 0
    complete = False
    try:
        while len(sets) < max_sets and time.monotonic() < deadline:
            found = solver.compute(expect_interrupt=True)
            if found is None:
                if solver.interrupted and best is None:
                    lower = max(lower, Fraction(solver.cost, enc.scale))
                complete = not solver.interrupted
                break  # interrupted, or no further failing set
            true = {v for v in found if v > 0}
            chosen = sorted(c for c, v in enc.x.items() if v in true)
            cost = sum((enc.cost[c] for c in chosen), Fraction(0))
            if best is not None and cost > best:
                complete = True
                break
            lower = max(lower, cost)
            extra = loop_clauses(part, enc, true, chosen)
            if extra:
                loops += len(extra)
                relaxed = chosen
                for clause in extra:
                    solver.add_clause(clause)
                continue
            minimal = part.minimal(chosen, enc.cost)
            best = sum((enc.cost[c] for c in minimal), Fraction(0))
            if minimal not in sets:
                sets.append(minimal)
            solver.add_clause([-enc.x[c] for c in minimal])
    finally:
        timer.cancel()
        solver.delete()
    if best is not None:  # an optimum RC2 proved and the fixpoint confirmed
        return Outcome(best, sets, True, best, best, loops, complete)
    # one greedy pass (a fixpoint per control): keep the relaxation's choice where there is one
    incumbent = part.minimal(allowed, enc.cost, prefer=relaxed)
    upper = sum((enc.cost[c] for c in incumbent), Fraction(0))
    return Outcome(upper, [incumbent], lower >= upper, min(lower, upper), upper, loops)


__all__ = ["Outcome", "Relevant", "scaled_costs", "solve"]
