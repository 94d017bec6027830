"""A re-solve behind `in_every_minimum_set` or `common_mode` stopped by its own `--time-limit`
before the run's deadline (issue #37, round 3's leftover): it was skipped silently, so a control
or a shared unit was left out of the answer as if proven. Now the asset says `exact: false`, its
JSON lists what was not proven, and the text output names it. A time limit of 0 stops every
MaxSAT solve at once (deterministic, no race with the clock); the main solves here are either
polynomial (shortest paths, no time limit) or given a generous limit."""

from __future__ import annotations

import json

from signward.depth.analysis import analyze
from signward.depth.budget import Budget
from signward.depth.model import parse_model
from signward.depth.solver import in_every_minimum_set, minimum_failing_sets

from .test_run_bound import common_mode_model


def test_a_common_mode_solve_stopped_by_its_time_limit_makes_the_asset_not_exact() -> None:
    model = common_mode_model(2)  # c0 and c1 share u0 and u1; the controls' solve is a shortest path
    proven = analyze(model, time_limit=60.0).assets[0]
    assert proven.to_dict()["exact"] is True and "not_proven" not in proven.to_dict()
    assert [u["name"] for u in proven.common_mode] == ["u0", "u1"]  # each shared unit costs depth
    report = analyze(model, time_limit=0.0)
    result = report.assets[0]
    data = json.loads(json.dumps(report.to_dict()))["assets"][0]
    assert result.exact and result.min_failures == 9 and result.common_mode == []  # the depth itself is proven
    assert data["exact"] is False and data["bounds"] == {"lower": 9, "upper": 9}, data
    assert data["not_proven"] == ["what the implementation 'u0' alone costs the depth of 'z' (common mode)",
                                  "what the implementation 'u1' alone costs the depth of 'z' (common mode)"], data
    from signward.cli.depth import unproven_lines  # the text output's lines

    lines = unproven_lines(report, 0.0)
    assert lines == [f"not proven (z: exact false; a solve stopped at --time-limit 0 s): {w}"
                     for w in data["not_proven"]]


def diamonds_then_a_gate(k: int) -> str:
    """2^k minimum sets (l_i or r_i at each diamond), then `g` (cost 1) in every one: the way
    around it (`h`, cost 5) costs more, which only a solve without `g` shows."""
    lines = ["name: diamonds", "controls:", "  g: {}", "  h: {cost: 5}"]
    lines += [f"  l{i}: {{}}\n  r{i}: {{}}" for i in range(k)]
    lines += ["nodes:", "  v0: {entry: true}"] + [f"  v{i}: {{}}" for i in range(1, k + 1)]
    lines += ["  z: {asset: true}", "  w: {}", "steps:"]
    for i in range(k):
        lines += [f"  - {{from: v{i}, to: v{i + 1}, blocked_by: [l{i}]}}",
                  f"  - {{from: v{i}, to: v{i + 1}, blocked_by: [r{i}]}}"]
    lines += [f"  - {{from: v{k}, to: z, blocked_by: [g]}}", f"  - {{from: v{k}, to: z, blocked_by: [h]}}",
              "  - {from: [v0, v1], to: w}"]
    return "\n".join(lines) + "\n"


def test_a_control_solve_stopped_by_its_time_limit_is_named_not_skipped() -> None:
    model = parse_model(diamonds_then_a_gate(7))  # 128 minimum sets: more than the 64 enumerated
    budget = Budget(model)
    solution = minimum_failing_sets(model, "z", max_sets=64, time_limit=60.0, budget=budget)
    assert solution.exact and not solution.complete and solution.cost == 8
    assert in_every_minimum_set(model, "z", solution, time_limit=60.0, budget=Budget(model)) == ["g"]
    assert budget.unproven == []
    assert in_every_minimum_set(model, "z", solution, time_limit=0.0, budget=budget) == []
    assert "whether 'g' is in every minimum failing set of 'z'" in budget.unproven, budget.unproven
