"""Enterprise-size generated models: the MaxSAT solver's answer against an independent 0-1
program (HiGHS, written here), the failing set it reports really opens the asset (residual
depth 0 with `--failed`), and a time limit gives honest bounds and a working incumbent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pysat.examples.rc2 import RC2
from pysat.formula import WCNF
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from signward.depth import analyze, maxsat, parse_model
from signward.depth.model import Model
from signward.depth.semantics import reaches
from signward.depth.solver import minimum_failing_sets
from signward.depth.synthetic import layered

from .test_cli import run


def program_minimum(model: Model, asset: str, rounds: bool) -> float:
    """The minimum by a 0-1 program: x_c failed by choice, y_s step taken, h_v held; with
    `rounds`, a round number per node so that a cycle cannot hold itself (needed off DAGs)."""
    controls, nodes, steps = sorted(model.controls), sorted(model.nodes), list(model.steps)
    col: dict[tuple[str, object], int] = {}
    for key in [("x", c) for c in controls] + [("h", v) for v in nodes] + [("y", s.index) for s in steps] + (
            [("t", v) for v in nodes] if rounds else []):
        col[key] = len(col)
    big = len(nodes) + 1
    rows: list[tuple[dict[int, float], float]] = []  # sum(coeff * var) <= bound
    into: dict[str, list[int]] = {v: [] for v in nodes}
    for s in steps:
        y = col[("y", s.index)]
        into[s.target].append(y)
        for u in s.sources:
            rows.append(({y: 1.0, col[("h", u)]: -1.0}, 0.0))
            if rounds:  # y_s = 1  =>  t_target >= t_u + 1
                rows.append(({col[("t", u)]: 1.0, col[("t", s.target)]: -1.0, y: float(big)}, big - 1.0))
        for c in s.blocked_by:
            rows.append(({y: 1.0, **{col[("x", d)]: -1.0 for d in model.closure[c]}}, 0.0))
    for v in nodes:
        if v not in model.entries:
            rows.append(({col[("h", v)]: 1.0, **{y: -1.0 for y in into[v]}}, 0.0))
    n = len(col)
    lb, ub = np.zeros(n), np.ones(n)
    for v in nodes:
        if rounds:
            ub[col[("t", v)]] = 0.0 if v in model.entries else float(big)
        if v in model.entries or v == asset:
            lb[col[("h", v)]] = 1.0
    data, r_ix, c_ix = [], [], []
    for r, (coeffs, _) in enumerate(rows):
        for c, value in coeffs.items():
            r_ix.append(r), c_ix.append(c), data.append(value)
    matrix = coo_matrix((data, (r_ix, c_ix)), shape=(len(rows), n)).tocsr()
    cost = np.zeros(n)
    for c in controls:
        cost[col[("x", c)]] = model.controls[c].cost
    integrality = np.array([0 if key[0] == "t" else 1 for key in col])
    result = milp(cost, integrality=integrality, bounds=Bounds(lb, ub),
                  constraints=[LinearConstraint(matrix, -np.inf, np.array([b for _, b in rows]))],
                  options={"time_limit": 300})
    assert result.status == 0, result.message
    return float(round(result.fun, 6))  # HiGHS adds float noise; the costs here are integers


def maxsat_minimum(model: Model, asset: str) -> float:
    """The minimum by a second MaxSAT encoding, for DAGs only: every relation an equivalence
    (held iff some step into it is taken, taken iff its sources are held and its guards have
    failed, failed iff a cause was chosen), over every step and control of the model, solved
    by RC2 on CaDiCaL (the library's solver uses Glucose and one-way implications)."""
    var: dict[tuple[str, object], int] = {}

    def v(kind: str, name: object) -> int:
        return var.setdefault((kind, name), len(var) + 1)

    wcnf = WCNF()
    into: dict[str, list[int]] = {n: [] for n in model.nodes}
    for c, causes in model.closure.items():  # f_c <-> OR x_d
        wcnf.append([-v("f", c), *(v("x", d) for d in causes)])
        wcnf.extend([[v("f", c), -v("x", d)] for d in causes])
    for s in model.steps:  # y_s <-> AND h_u AND f_c
        needs = [v("h", u) for u in s.sources] + [v("f", c) for c in s.blocked_by]
        wcnf.extend([[-v("y", s.index), n] for n in needs])
        wcnf.append([v("y", s.index), *(-n for n in needs)])
        into[s.target].append(v("y", s.index))
    for n in model.nodes:  # h_n <-> OR y_s (entries held)
        if n in model.entries:
            wcnf.append([v("h", n)])
        else:
            wcnf.append([-v("h", n), *into[n]])
            wcnf.extend([[v("h", n), -y] for y in into[n]])
    wcnf.append([v("h", asset)])
    for c, control in model.controls.items():
        wcnf.append([-v("x", c)], weight=int(control.cost))
    with RC2(wcnf, solver="cd15") as solver:
        assert solver.compute() is not None
        return float(solver.cost)


DAGS = [dict(steps=1000, controls=50, layers=8, seed=1), dict(steps=1000, controls=50, layers=12, seed=2),
        dict(steps=3000, controls=120, layers=10, seed=3)]


def test_the_two_encodings_agree_with_the_program_on_a_small_dag() -> None:
    """The second encoding itself checked against the 0-1 program where HiGHS is quick."""
    model = parse_model(layered(400, 20, and_steps=0.2, costs=True, depends=0.1, layers=6, seed=9))
    assert maxsat_minimum(model, "asset") == program_minimum(model, "asset", rounds=False)
    assert minimum_failing_sets(model, "asset", max_sets=1).cost == program_minimum(model, "asset", rounds=False)


@pytest.mark.parametrize("shape", DAGS, ids=lambda s: f"{s['steps']}-steps-{s['controls']}-controls-seed{s['seed']}")
def test_shared_controls_on_dags_agree_with_an_independent_program(shape: dict[str, int]) -> None:
    model = parse_model(layered(shape["steps"], shape["controls"], and_steps=0.2, costs=True, depends=0.1,
                                layers=shape["layers"], seed=shape["seed"]))
    got = minimum_failing_sets(model, "asset", max_sets=2, time_limit=120)
    assert got.exact and got.method == "maxsat"
    assert got.cost == maxsat_minimum(model, "asset")
    for chosen in got.sets:
        assert sum(model.controls[c].cost for c in chosen) == got.cost
        assert reaches(model, chosen, "asset")
        assert not any(reaches(model, [c for c in chosen if c != drop], "asset") for drop in chosen)  # minimal


@pytest.mark.parametrize("seed", [5, 8])  # seeds where the relaxation's first optimum leans on a cycle
def test_cycles_agree_with_the_program_with_rounds(seed: int) -> None:
    """Back edges make cycles that could hold themselves; the loop formulas must refuse them."""
    model = parse_model(layered(300, 20, and_steps=0.2, costs=True, depends=0.1, back_edges=0.15, layers=6,
                                seed=seed))
    got = maxsat.solve(model, "asset", max_sets=1, time_limit=120)
    assert got.exact and got.loops > 0 and got.cost is not None
    assert float(got.cost) == program_minimum(model, "asset", rounds=True)
    assert reaches(model, got.sets[0], "asset")


def test_ten_thousand_steps_exact_and_the_reported_set_opens_the_asset(tmp_path: Path) -> None:
    text = layered(10000, 300, and_steps=0.2, costs=True, depends=0.1, back_edges=0.05, layers=8, seed=7)
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    done = run("depth", "analyze", str(path), "--json", "--time-limit", "120", "--max-sets", "1")
    assert done.returncode in (0, 1), done.stderr
    (asset,) = json.loads(done.stdout)["assets"]
    assert asset["exact"] is True and isinstance(asset["min_failures"], int)  # integral costs print as integers
    chosen = asset["failing_sets"][0]
    done = run("depth", "analyze", str(path), "--json", "--max-sets", "1", "--failed", ",".join(chosen))
    assert json.loads(done.stdout)["assets"][0]["min_failures"] == 0, done.stderr


def test_a_time_limit_gives_bounds_and_an_incumbent_that_opens_the_asset() -> None:
    model = parse_model(layered(10000, 300, and_steps=0.2, costs=True, depends=0.1, back_edges=0.05, layers=20,
                                seed=8))
    got = minimum_failing_sets(model, "asset", max_sets=1, time_limit=1.0)
    assert not got.exact and got.method == "maxsat (time limit)"
    assert got.lower is not None and got.upper is not None and 0 < got.lower < got.upper == got.cost
    (incumbent,) = got.sets
    assert reaches(model, incumbent, "asset")
    assert sum(model.controls[c].cost for c in incumbent) == got.upper
    report = analyze(model, failed=incumbent, max_sets=1, time_limit=5)
    assert report.assets[0].min_failures == 0
