"""Exact minimum-cost failing sets.

The general problem is NP-hard once a control guards several steps or steps need several
nodes (AND). It is solved as a 0-1 integer program with HiGHS (through scipy.optimize.milp):

  x_c  chosen to fail (binary; cost c)        f_c <= sum(x_d for d whose failure fails c)
  h_v  node held (binary; entries fixed at 1) j_s <= h_u for every u in from(s); j_s <= f_c for c in blocked_by(s)
  j_s  step s justifies its target (binary)   h_v <= sum(j_s for steps s into v)
  t_v  the round v is first held (0..N)       t_v >= t_u + 1 - (N+1)(1 - j_s)   (no self-supporting cycles)
  h_asset = 1, minimise sum(cost_c x_c)

The round variables make every held node well founded, so cycles of holdings cannot
support themselves: a feasible point is exactly a least-fixpoint derivation. HiGHS was
chosen because scipy ships it (no extra native dependency) and it reports a dual bound,
which gives honest lower and upper bounds when the time limit stops it.

When no control guards more than one step, no step has several sources and no control
depends on another, each path's cost is the sum of its steps' controls and paths share
nothing: the answer is a shortest path (Dijkstra, networkx), in polynomial time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from .model import Model


@dataclass
class Solution:
    cost: float | None  # None: unreachable even with every control failed
    sets: list[list[str]] = field(default_factory=list)
    exact: bool = True
    lower: float | None = None
    upper: float | None = None
    method: str = "milp"


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


def shortest_path(model: Model, asset: str, known_failed: frozenset[str], max_sets: int = 1) -> Solution:
    """Dijkstra from the entries; further equal-cost sets from networkx's simple paths in order."""
    if asset in model.entries:
        return Solution(0.0, [[]], method="shortest-path")
    graph = _path_graph(model, known_failed)
    source = ENTRIES
    if source not in graph or asset not in graph or not nx.has_path(graph, source, asset):
        return Solution(None, [], method="shortest-path")

    def chosen(path: list[str]) -> list[str]:
        return sorted({c for u, v in zip(path, path[1:]) if graph[u][v]["step"] is not None
                       for c in graph[u][v]["step"].blocked_by if c not in known_failed})

    best, path = nx.single_source_dijkstra(graph, source, target=asset)
    sets = [chosen(path)]
    if max_sets > 1:
        for other in nx.shortest_simple_paths(graph, source, asset, weight="weight"):
            if nx.path_weight(graph, other, "weight") > best + 1e-9 or len(sets) >= max_sets:
                break
            candidate = chosen(other)
            if candidate not in sets:
                sets.append(candidate)
    return Solution(float(best), sets, lower=float(best), upper=float(best), method="shortest-path")


class _Program:
    """The integer program for one asset; re-solved with extra cuts for more sets."""

    def __init__(self, model: Model, asset: str, known_failed: frozenset[str]) -> None:
        self.model = model
        self.controls = sorted(model.controls)
        self.nodes = sorted(model.nodes)
        self.steps = list(model.steps)
        nc, nn, ns = len(self.controls), len(self.nodes), len(self.steps)
        self.ix = {c: i for i, c in enumerate(self.controls)}
        self.fx = {c: nc + i for i, c in enumerate(self.controls)}
        self.hx = {v: 2 * nc + i for i, v in enumerate(self.nodes)}
        self.jx = {s.index: 2 * nc + nn + i for i, s in enumerate(self.steps)}
        self.tx = {v: 2 * nc + nn + ns + i for i, v in enumerate(self.nodes)}
        self.n = 2 * nc + 2 * nn + ns
        big = nn + 1
        rows: list[tuple[dict[int, float], float, float]] = []
        for c in self.controls:  # f_c <= sum x_d ; f_c >= x_d
            causes = model.closure[c]
            rows.append(({self.fx[c]: 1.0, **{self.ix[d]: -1.0 for d in causes}}, -np.inf, 0.0))
            for d in causes:
                rows.append(({self.fx[c]: 1.0, self.ix[d]: -1.0}, 0.0, np.inf))
        into: dict[str, list[int]] = {v: [] for v in self.nodes}
        for s in self.steps:
            into[s.target].append(s.index)
            for u in s.sources:
                rows.append(({self.jx[s.index]: 1.0, self.hx[u]: -1.0}, -np.inf, 0.0))
                # t_v - t_u - big * j_s >= 1 - big
                rows.append(({self.tx[s.target]: 1.0, self.tx[u]: -1.0, self.jx[s.index]: -float(big)},
                             1.0 - big, np.inf))
            for c in s.blocked_by:
                rows.append(({self.jx[s.index]: 1.0, self.fx[c]: -1.0}, -np.inf, 0.0))
        entries = set(model.entries)
        for v in self.nodes:
            if v not in entries:
                rows.append(({self.hx[v]: 1.0, **{self.jx[i]: -1.0 for i in into[v]}}, -np.inf, 0.0))
        self.rows = rows
        lb = np.zeros(self.n)
        ub = np.ones(self.n)
        for v in self.nodes:
            ub[self.tx[v]] = float(big)
            if v in entries:
                lb[self.hx[v]] = 1.0
                ub[self.tx[v]] = 0.0
        lb[self.hx[asset]] = 1.0
        for c in known_failed:
            lb[self.ix[c]] = 1.0
        self.lb, self.ub = lb, ub
        self.cost = np.zeros(self.n)
        for c in self.controls:
            if c not in known_failed:
                self.cost[self.ix[c]] = model.controls[c].cost
        self.integrality = np.zeros(self.n)
        for c in self.controls:
            self.integrality[self.ix[c]] = 1
        for v in self.nodes:
            self.integrality[self.hx[v]] = 1
        for s in self.steps:
            self.integrality[self.jx[s.index]] = 1
        self.known_failed = known_failed

    def solve(self, cuts: list[list[str]], forbid: frozenset[str] = frozenset(), time_limit: float = 30.0):  # type: ignore[no-untyped-def]
        rows = list(self.rows)
        for chosen in cuts:
            rows.append(({self.ix[c]: 1.0 for c in chosen}, -np.inf, float(len(chosen) - 1)))
        data: list[float] = []
        row_ix: list[int] = []
        col_ix: list[int] = []
        lo = np.empty(len(rows))
        hi = np.empty(len(rows))
        for r, (coeffs, low, high) in enumerate(rows):
            for col, val in coeffs.items():
                row_ix.append(r)
                col_ix.append(col)
                data.append(val)
            lo[r], hi[r] = low, high
        matrix = coo_matrix((data, (row_ix, col_ix)), shape=(len(rows), self.n))
        ub = self.ub.copy()
        for c in forbid:
            ub[self.ix[c]] = 0.0
        if np.any(self.lb > ub):
            return None
        return milp(self.cost, integrality=self.integrality, bounds=Bounds(self.lb, ub),
                    constraints=[LinearConstraint(matrix.tocsr(), lo, hi)],
                    options={"time_limit": time_limit, "disp": False})

    def chosen(self, x: np.ndarray) -> list[str]:
        return sorted(c for c in self.controls if x[self.ix[c]] > 0.5 and c not in self.known_failed)


def minimum_failing_sets(model: Model, asset: str, known_failed: frozenset[str] = frozenset(), max_sets: int = 5,
                         time_limit: float = 30.0) -> Solution:
    """The minimum total cost of controls that must fail for `asset` to be held, and up to
    `max_sets` distinct sets of that cost. Controls in `known_failed` are failed already, free."""
    if polynomial_applies(model):
        return shortest_path(model, asset, known_failed, max_sets)
    program = _Program(model, asset, known_failed)
    first = program.solve([], time_limit=time_limit)
    if first is None or first.status == 2:  # infeasible: unreachable
        return Solution(None, [], method="milp")
    if first.status != 0:
        upper = float(first.fun) if first.x is not None else None
        lower = getattr(first, "mip_dual_bound", None)
        lower = math.ceil(lower - 1e-6) if lower is not None and math.isfinite(lower) else 0.0
        sets = [program.chosen(first.x)] if first.x is not None else []
        return Solution(upper, sets, exact=False, lower=float(lower), upper=upper, method="milp (time limit)")
    best = float(first.fun)
    sets = [program.chosen(first.x)]
    while len(sets) < max_sets:
        more = program.solve(sets, time_limit=time_limit)
        if more is None or more.status != 0 or float(more.fun) > best + 1e-6:
            break
        chosen = program.chosen(more.x)
        if chosen in sets:
            break
        sets.append(chosen)
    return Solution(best, sets, lower=best, upper=best)


def in_every_minimum_set(model: Model, asset: str, solution: Solution,
                         known_failed: frozenset[str] = frozenset(), time_limit: float = 30.0) -> list[str]:
    """Controls without which the minimum cost rises (or the asset becomes unreachable)."""
    if solution.cost is None or not solution.sets or not solution.exact:
        return []
    if polynomial_applies(model):
        graph = _path_graph(model, known_failed)
        out = []
        for c in solution.sets[0]:
            def weight(u: str, v: str, d: dict[str, object], c: str = c) -> float | None:
                step = d["step"]
                if step is not None and c in step.blocked_by:  # type: ignore[attr-defined]
                    return None  # hidden: this control holds
                return float(d["weight"])  # type: ignore[arg-type]

            try:
                alt = nx.dijkstra_path_length(graph, ENTRIES, asset, weight=weight)
            except nx.NetworkXNoPath:
                alt = None
            if alt is None or alt > solution.cost + 1e-9:
                out.append(c)
        return out
    program = _Program(model, asset, known_failed)
    out = []
    for c in solution.sets[0]:
        res = program.solve([], forbid=frozenset({c}), time_limit=time_limit)
        if res is None or res.status == 2 or (res.status == 0 and float(res.fun) > solution.cost + 1e-6):
            out.append(c)
    return out
