"""Exact minimum-cost failing sets: which method answers, and the answer as the report needs it.

The general problem is NP-hard once a control guards several steps or steps need several
nodes (AND): it goes to the weighted MaxSAT encoding of `maxsat.py` (RC2, loop formulas added
lazily where cycles could hold themselves). bench/depth.py measured it against the 0-1 integer
program that was here before (HiGHS with a round variable per node so that cycles could not
support themselves): on a 1,000-step model with 50 shared controls the program stopped at
its time limit with bounds apart, where RC2 proves the optimum in seconds (README, "Depth").

When no control guards more than one step, no step has several sources and no control
depends on another, each path's cost is the sum of its steps' controls and paths share
nothing: the answer is a shortest path (Dijkstra, networkx), in polynomial time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import networkx as nx

from . import maxsat
from .budget import Budget
from .model import Model


@dataclass
class Solution:
    cost: float | None  # None: unreachable even with every control failed
    sets: list[list[str]] = field(default_factory=list)
    exact: bool = True
    lower: float | None = None
    upper: float | None = None
    method: str = "maxsat"
    complete: bool = False  # `sets` holds every minimum failing set (not cut by max_sets)


def polynomial_applies(model: Model) -> bool:
    guarded: dict[str, int] = {}
    for step in model.steps:
        if len(step.sources) > 1:
            return False
        for c in step.blocked_by:
            guarded[c] = guarded.get(c, 0) + 1
    return all(n <= 1 for n in guarded.values()) and all(not c.depends_on for c in model.controls.values())


ENTRIES = "__entries__"  # the super-source joined to every entry node


def _path_graph(model: Model, known_failed: frozenset[str]) -> nx.DiGraph:
    """The step graph weighted by the cost of each step's controls, rooted at ENTRIES."""
    graph = nx.DiGraph()
    for step in model.steps:
        weight = sum(model.controls[c].cost for c in step.blocked_by if c not in known_failed)
        u = step.sources[0]
        if not graph.has_edge(u, step.target) or graph[u][step.target]["weight"] > weight:
            graph.add_edge(u, step.target, weight=weight, step=step)
    for entry in model.entries:
        if entry in graph:
            graph.add_edge(ENTRIES, entry, weight=0.0, step=None)
    return graph


def shortest_path(model: Model, asset: str, known_failed: frozenset[str], max_sets: int = 1,
                  budget: Budget | None = None) -> Solution:
    """Dijkstra from the entries; further equal-cost sets from networkx's simple paths in order
    (each path Yen's algorithm yields charged to `budget` as some evaluations of the model)."""
    if asset in model.entries:
        return Solution(0.0, [[]], method="shortest-path")
    graph = _path_graph(model, known_failed)
    source = ENTRIES
    if source not in graph or asset not in graph or not nx.has_path(graph, source, asset):
        return Solution(None, [], method="shortest-path")

    def chosen(path: list[str]) -> list[str]:
        return sorted({c for u, v in zip(path, path[1:], strict=False) if graph[u][v]["step"] is not None
                       for c in graph[u][v]["step"].blocked_by if c not in known_failed})

    best, path = nx.single_source_dijkstra(graph, source, target=asset)
    sets = [chosen(path)]
    if max_sets > 1:
        paths = nx.shortest_simple_paths(graph, source, asset, weight="weight")
        last = 0
        while True:  # each next path costs Yen's algorithm up to one Dijkstra per node of the last
            if budget is not None:
                budget.charge(budget.weight(model) * (1 + last), f"the equal-cost paths to {asset!r}")
            other = next(paths, None)
            if other is None or nx.path_weight(graph, other, "weight") > best + 1e-9 or len(sets) >= max_sets:
                break
            last = len(other)
            candidate = chosen(other)
            if candidate not in sets:
                sets.append(candidate)
    return Solution(float(best), sets, lower=float(best), upper=float(best), method="shortest-path")


def minimum_failing_sets(model: Model, asset: str, known_failed: frozenset[str] = frozenset(), max_sets: int = 5,
                         time_limit: float = 30.0, budget: Budget | None = None) -> Solution:
    """The minimum total cost of controls that must fail for `asset` to be held, and up to
    `max_sets` distinct sets of that cost. Controls in `known_failed` are failed already, free."""
    if polynomial_applies(model):
        return shortest_path(model, asset, known_failed, max_sets, budget)
    if budget is not None:
        time_limit = budget.solve_limit(time_limit, model, f"the minimum failing sets of {asset!r}")
    out = maxsat.solve(model, asset, known_failed, max_sets=max_sets, time_limit=time_limit)
    method = "maxsat" if out.exact else "maxsat (time limit)"
    return Solution(_float(out.cost), out.sets, exact=out.exact, lower=_float(out.lower), upper=_float(out.upper),
                    method=method, complete=out.complete)


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _on_every_shortest_path(model: Model, asset: str, known_failed: frozenset[str]) -> set[str]:
    """The controls of the steps that every shortest path to `asset` takes: the steps that
    dominate the asset in the graph of tight steps (every path there is a shortest one)."""
    dist = nx.single_source_dijkstra_path_length(_path_graph(model, known_failed), ENTRIES)
    tight = nx.DiGraph()
    tight.add_edges_from((ENTRIES, entry) for entry in model.entries if entry in dist)
    for step in model.steps:
        u, v = step.sources[0], step.target
        if u in dist and v in dist:
            weight = sum(model.controls[c].cost for c in step.blocked_by if c not in known_failed)
            if abs(dist[u] + weight - dist[v]) <= 1e-9 * max(1.0, dist[v]):
                tight.add_edge(u, ("step", step.index))
                tight.add_edge(("step", step.index), v)
    if asset not in tight:
        return set()
    dominators = nx.immediate_dominators(tight, ENTRIES)
    out: set[str] = set()
    node: object = asset
    while node != ENTRIES:
        node = dominators[node]
        if isinstance(node, tuple):
            out |= {c for c in model.steps[node[1]].blocked_by if c not in known_failed}
    return out


def in_every_minimum_set(model: Model, asset: str, solution: Solution,
                         known_failed: frozenset[str] = frozenset(), time_limit: float = 30.0,
                         budget: Budget | None = None) -> list[str]:
    """Controls without which the minimum cost rises (or the asset becomes unreachable)."""
    if solution.cost is None or not solution.sets or not solution.exact:
        return []
    if polynomial_applies(model):
        needed = _on_every_shortest_path(model, asset, known_failed)
        return [c for c in solution.sets[0] if c in needed]
    common = set.intersection(*map(set, solution.sets))
    if solution.complete:  # every minimum set is known: the answer is their intersection
        return [c for c in solution.sets[0] if c in common]
    out = []
    for c in (c for c in solution.sets[0] if c in common):  # one solve each, only where still open
        limit = time_limit if budget is None else budget.solve_limit(
            time_limit, model, f"the controls in every minimum failing set of {asset!r} (one solve each)")
        res = maxsat.solve(model, asset, known_failed, max_sets=1, time_limit=limit, forbid=frozenset({c}))
        if not res.exact and budget is not None:  # cut by the deadline: refused; by --time-limit: not proven
            budget.unproven_by(f"whether {c!r} is in every minimum failing set of {asset!r}")
        if res.exact and (res.cost is None or float(res.cost) > solution.cost + 1e-9):
            out.append(c)
    return out
