"""Depth solver benchmark: generated layered models of 1k, 10k and 100k steps, in one run.

- OR-only (one control per step, single-source steps, unit costs): the analyzer's shortest
  path (with width and the controls in every minimum set, as `depth analyze` reports them)
  against networkx's minimum_node_cut on the same graph.
- Shared controls (steps/20, capped at 300, as in the issue: 1k steps with 50, 10k with 300),
  AND steps, costs 1-3, depends_on; `dag` rows have no back edges, `cycles` rows have 5 %.
  The analyzer (MaxSAT, RC2, loop formulas) against a reference: the plain weighted MaxSAT
  formulation of the whole model (every relation an equivalence, nothing pruned) solved by
  RC2's stratified variant, on the DAG rows only (it has no guard against cycles). Time to
  an exact answer, or the bounds where the time limit stops it.

Run: .venv/bin/python bench/depth.py [--sizes 1000,10000,100000] [--time-limit 60] [--layers 12]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import networkx as nx
from pysat.examples.rc2 import RC2Stratified
from pysat.formula import WCNF

from signward.depth import analyze, parse_model
from signward.depth.model import Model
from signward.depth.solver import minimum_failing_sets
from signward.depth.synthetic import layered


def reference_maxsat(model: Model, asset: str, time_limit: float) -> tuple[float | None, float]:
    """The plain formulation: held <-> some step in; step <-> sources held and guards failed;
    failed <-> a cause chosen; soft: not chosen, weight the cost. (Cost or None, seconds.)"""
    started = time.perf_counter()
    ids: dict[tuple[str, object], int] = {}

    def v(kind: str, name: object) -> int:
        return ids.setdefault((kind, name), len(ids) + 1)

    wcnf = WCNF()
    into: dict[str, list[int]] = {n: [] for n in model.nodes}
    for c, causes in model.closure.items():
        wcnf.append([-v("f", c), *(v("x", d) for d in causes)])
        wcnf.extend([[v("f", c), -v("x", d)] for d in causes])
    for step in model.steps:
        needs = [v("h", u) for u in step.sources] + [v("f", c) for c in step.blocked_by]
        wcnf.extend([[-v("s", step.index), n] for n in needs])
        wcnf.append([v("s", step.index), *(-n for n in needs)])
        into[step.target].append(v("s", step.index))
    for n in model.nodes:
        if n in model.entries:
            wcnf.append([v("h", n)])
        else:
            wcnf.append([-v("h", n), *into[n]])
            wcnf.extend([[v("h", n), -s] for s in into[n]])
    wcnf.append([v("h", asset)])
    for c, control in model.controls.items():
        wcnf.append([-v("x", c)], weight=int(control.cost))
    solver = RC2Stratified(wcnf, solver="g3", adapt=True, exhaust=True, minz=True, trim=5)
    timer = threading.Timer(time_limit, solver.interrupt)
    timer.start()
    try:
        found = solver.compute(expect_interrupt=True)
        return (float(solver.cost) if found is not None else None), time.perf_counter() - started
    finally:
        timer.cancel()
        solver.delete()


def row(model: Model, label: dict[str, Any], time_limit: float, reference: bool) -> dict[str, Any]:
    """`solve_s`: the minimum and one failing set; `analyze_s`: the whole report (also width,
    the controls in every minimum set, one more solve each, and single points of failure)."""
    started = time.perf_counter()
    a = minimum_failing_sets(model, "asset", max_sets=1, time_limit=time_limit)
    solve = time.perf_counter() - started
    started = time.perf_counter()
    analyze(model, max_sets=1, time_limit=time_limit)
    out: dict[str, Any] = {**label, "method": a.method, "depth": a.cost, "exact": a.exact,
                           "solve_s": round(solve, 2), "analyze_s": round(time.perf_counter() - started, 2)}
    if not a.exact:
        out["bounds"] = [a.lower, a.upper]
        out["gap"] = (a.upper or 0) - (a.lower or 0)
    if reference:
        cost, seconds = reference_maxsat(model, "asset", time_limit)
        out.update(reference_maxsat=cost, reference_s=round(seconds, 2),
                   ratio_vs_reference=round(solve / seconds, 2) if seconds else None)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--layers", type=int, default=12, help="attack-path depth of the shared-control models")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        model = parse_model(layered(size))
        out = row(model, {"steps": size, "kind": "or-only"}, args.time_limit, reference=False)
        graph = nx.DiGraph()
        graph.add_edges_from((step.sources[0], step.target) for step in model.steps)
        started = time.perf_counter()
        cut = nx.minimum_node_cut(graph, "attacker", "asset")
        nx_time = time.perf_counter() - started
        out.update(networkx_min_node_cut_s=round(nx_time, 2), node_cut_size=len(cut),
                   ratio_vs_networkx=round(out["solve_s"] / nx_time, 3) if nx_time else None)
        print(json.dumps(out), flush=True)
        controls = min(300, max(8, size // 20))
        for kind, back in (("dag", 0.0), ("cycles", 0.05)):
            model = parse_model(layered(size, controls, and_steps=0.2, costs=True, depends=0.1, back_edges=back,
                                        layers=args.layers))
            label = {"steps": size, "kind": f"shared {kind}", "controls": controls, "layers": args.layers}
            print(json.dumps(row(model, label, args.time_limit, reference=kind == "dag")), flush=True)


if __name__ == "__main__":
    main()
