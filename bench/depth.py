"""Depth solver benchmark: generated layered models of 1k, 10k and 100k steps, with and
without shared controls, against networkx's minimum_node_cut on the same graphs.

Without shared controls (each control guards one step, single-source steps, unit costs) the
minimum failing set is a shortest path and networkx's node cut answers a different but
related question on the same graph: both times are printed with their ratio. With shared
controls the exact MILP runs under a time limit and may report bounds.

Run: .venv/bin/python bench/depth.py [--sizes 1000,10000,100000] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import json
import random
import time

import networkx as nx

from signward.depth import analyze, parse_model


def layered(steps: int, shared: bool, seed: int = 1) -> str:
    rng = random.Random(seed)
    width = max(4, int(steps ** 0.5) // 2)
    layers = max(2, steps // (width * 2))
    nodes = [f"n{i}_{j}" for i in range(layers) for j in range(width)]
    n_controls = max(8, steps // 20) if shared else steps
    lines = ["name: bench", "controls:"] + [f"  c{i}: {{}}" for i in range(n_controls)]
    lines += ["nodes:", "  attacker: {entry: true}", "  asset: {asset: true}"] + [f"  {n}: {{}}" for n in nodes]
    lines.append("steps:")
    made = 0
    for j in range(width):
        control = rng.randrange(n_controls) if shared else made
        lines.append(f"  - {{from: attacker, to: n0_{j}, blocked_by: [c{control}]}}")
        made += 1
    while made < steps - width:
        i = rng.randrange(layers - 1)
        control = rng.randrange(n_controls) if shared else made
        lines.append(f"  - {{from: n{i}_{rng.randrange(width)}, to: n{i + 1}_{rng.randrange(width)}, "
                     f"blocked_by: [c{control}]}}")
        made += 1
    for j in range(width):
        control = rng.randrange(n_controls) if shared else made
        lines.append(f"  - {{from: n{layers - 1}_{j}, to: asset, blocked_by: [c{control}]}}")
        made += 1
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for shared in (False, True):
            model = parse_model(layered(size, shared))
            started = time.perf_counter()
            report = analyze(model, max_sets=1, time_limit=args.time_limit)
            solve = time.perf_counter() - started
            graph = nx.DiGraph()
            for step in model.steps:
                graph.add_edge(step.sources[0], step.target)
            started = time.perf_counter()
            cut = nx.minimum_node_cut(graph, "attacker", "asset")
            nx_time = time.perf_counter() - started
            a = report.assets[0]
            rows.append({"steps": len(model.steps), "shared_controls": shared, "method": a.method,
                         "min_failures": a.min_failures, "exact": a.exact,
                         "bounds": None if a.exact else [a.lower, a.upper], "solve_s": round(solve, 3),
                         "networkx_min_node_cut_s": round(nx_time, 3), "node_cut_size": len(cut),
                         "ratio_solve_vs_networkx": round(solve / nx_time, 2) if nx_time else None})
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
