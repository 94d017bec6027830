"""The whole run of `depth analyze` under one bound (issue #37, red team round 3): the solves per
shared unit, per control in every minimum set, Yen's equal-cost paths and the single-point search
each charge one work counter with a deadline; past it the analysis is refused (OUT_OF_BOUNDS),
never answered in part. The attack path is linear in the model."""

from __future__ import annotations

import time

import pytest

from signward.config_schema import Rule
from signward.depth.analysis import analyze
from signward.depth.budget import SOLVE_WORK, Budget, weight
from signward.depth.common import independent_model
from signward.depth.model import Control, Model, ModelError, Node, Step, parse_model
from signward.depth.semantics import attack_path


def chain(length: int) -> Model:
    """n0 (entry) -> n1 -> ... -> n{length} (asset), no controls: one path, Yen's worst case."""
    nodes = {f"n{i}": Node(f"n{i}", entry=i == 0, asset=i == length) for i in range(length + 1)}
    steps = tuple(Step(i, (f"n{i}",), f"n{i + 1}", ()) for i in range(length))
    return Model("chain", {"c": Control("c")}, nodes, steps, closure={"c": frozenset({"c"})})


def refusal(model: Model, budget: Budget | None = None, max_sets: int = 5) -> ModelError:
    with pytest.raises(ModelError) as err:
        analyze(model, max_sets=max_sets, budget=budget)
    return err.value


def test_yens_equal_cost_paths_on_a_long_chain_are_refused_by_the_run_bound() -> None:
    # 30,000 steps: the second path alone would cost Yen's algorithm one Dijkstra per node (hours)
    err = refusal(chain(30_000))
    assert err.rule is Rule.OUT_OF_BOUNDS
    assert "the equal-cost paths to 'n30000'" in str(err) and "whole run's bound" in str(err)


def test_one_set_asked_takes_no_equal_cost_paths() -> None:
    report = analyze(chain(30_000), max_sets=1)
    assert report.assets[0].min_failures == 0 and len(report.assets[0].path) == 30_000


def test_the_attack_path_is_linear_in_the_model() -> None:
    model = chain(30_000)  # a rescan of every step per node: 4.5e8 checks, minutes
    started = time.monotonic()
    steps = attack_path(model, [], "n30000")
    assert [s.index for s in steps] == list(range(30_000))
    assert time.monotonic() - started < 30  # linear: well under a second


def common_mode_model(units: int) -> Model:
    impls = ",".join(f"u{k}" for k in range(units))
    return parse_model(f"""name: cm
controls:
  c0: {{cost: 2, built_on: [{impls}]}}
  c1: {{cost: 2, built_on: [{impls}]}}
  d: {{cost: 5}}
nodes:
  a: {{entry: true}}
  m: {{}}
  z: {{asset: true}}
steps:
  - {{from: a, to: m, blocked_by: [c0, c1]}}
  - {{from: m, to: z, blocked_by: [d]}}
""")


def test_the_solves_per_shared_unit_charge_the_run() -> None:
    model = common_mode_model(200)  # 200 solves of the derived model where 60 are allowed (1,000: 15 s on the mutant)
    derived = independent_model(model)
    budget = Budget(model, work=60 * SOLVE_WORK * weight(derived))  # the main solves and a few dozen more
    err = refusal(model, budget)
    assert err.rule is Rule.OUT_OF_BOUNDS
    assert "the common-mode failures of 'z' (one solve per shared unit)" in str(err)


def test_the_solves_per_control_in_every_minimum_set_charge_the_run() -> None:
    k = 40  # 2^40 minimum sets: one solve per control in the first, each on the whole model
    lines = ["name: diamonds", "controls:"] + [f"  l{i}: {{}}\n  r{i}: {{}}" for i in range(k)]
    lines += ["nodes:", "  v0: {entry: true}"] + [f"  v{i}: {{}}" for i in range(1, k)]
    lines += [f"  v{k}: {{asset: true}}", "  w: {}", "steps:"]
    for i in range(k):
        lines += [f"  - {{from: v{i}, to: v{i + 1}, blocked_by: [l{i}]}}",
                  f"  - {{from: v{i}, to: v{i + 1}, blocked_by: [r{i}]}}"]
    lines.append("  - {from: [v0, v1], to: w}")
    model = parse_model("\n".join(lines) + "\n")
    budget = Budget(model, work=5 * SOLVE_WORK * weight(model))  # the main solve and four more
    err = refusal(model, budget, max_sets=1)
    assert err.rule is Rule.OUT_OF_BOUNDS
    assert f"the controls in every minimum failing set of 'v{k}'" in str(err)


def test_the_single_point_search_charges_closures_and_blockers() -> None:
    # each control depends on all the others: every evaluation reads 400 closures of 400
    n = 400
    names = [f"c{i}" for i in range(n)]
    controls = "\n".join(f"  {c}: {{depends_on: [{names[(i + 1) % n]}]}}" for i, c in enumerate(names))
    model = parse_model(f"""name: ring
controls:
{controls}
nodes:
  a: {{entry: true}}
  z: {{asset: true}}
steps:
  - {{from: a, to: z, blocked_by: [{", ".join(names)}]}}
""")
    assert weight(model) > n * n  # the closures counted, not only the entries
    budget = Budget(model, work=(SOLVE_WORK + 100) * weight(model))  # the solve, not 400 probes
    err = refusal(model, budget)
    assert err.rule is Rule.OUT_OF_BOUNDS
    assert "the single points of failure of 'z'" in str(err)


def test_past_the_deadline_the_run_is_refused_not_answered_in_part() -> None:
    model = common_mode_model(50)
    budget = Budget(model, seconds=0.0)  # the deadline already passed: the first charge refuses
    err = refusal(model, budget)
    assert err.rule is Rule.OUT_OF_BOUNDS and "time limit" in str(err)


def test_each_equal_cost_path_is_charged_for_the_searches_it_costs() -> None:
    model = chain(3000)  # the second path: 3,000 Dijkstras of 3,000 steps (seconds; hours at 180,000)
    err = refusal(model, Budget(model, work=100 * weight(model)))
    assert err.rule is Rule.OUT_OF_BOUNDS and "the equal-cost paths to 'n3000'" in str(err)
