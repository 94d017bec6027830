"""Common-mode failures: independent failures (controls, implementations, input classes each
counted once) exact against brute force on small random models that share implementations;
the shipped models' numbers; the model's checks on built_on and input_classes."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signward.depth import analyze, depth_diff, load_model, parse_model, to_html
from signward.depth.common import independent_model, units
from signward.depth.model import Model, ModelError
from signward.depth.semantics import failed_controls, holdings

MODELS = Path(__file__).resolve().parents[2] / "models"
IMPLS = ["p", "q", "r"]


@st.composite
def shared_models(draw: st.DrawFn) -> str:
    n_controls = draw(st.integers(2, 6))
    n_nodes = draw(st.integers(3, 6))
    controls = [f"c{i}" for i in range(n_controls)]
    lines = ["name: shared", "controls:"]
    used: set[str] = set()
    for c in controls:
        cost = draw(st.sampled_from([1, 1, 1, 2, 3]))
        built = draw(st.lists(st.sampled_from(IMPLS), max_size=2, unique=True))
        used.update(built)
        deps = draw(st.lists(st.sampled_from([d for d in controls if d != c]), max_size=1))
        lines.append(f"  {c}: {{cost: {cost}, built_on: [{', '.join(built)}], depends_on: [{', '.join(deps)}]}}")
    nodes = [f"n{i}" for i in range(n_nodes)]
    lines += ["nodes:", "  n0: {entry: true}", *(f"  {v}: {{}}" for v in nodes[1:-1]),
              f"  {nodes[-1]}: {{asset: true}}"]
    lines.append("steps:")
    for _ in range(draw(st.integers(2, 9))):
        srcs = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2, unique=True))
        dst = draw(st.sampled_from(nodes[1:]))
        guards = draw(st.lists(st.sampled_from(controls), max_size=3, unique=True))
        lines.append(f"  - {{from: [{', '.join(srcs)}], to: {dst}, blocked_by: [{', '.join(guards)}]}}")
    if used:
        classes = draw(st.lists(st.lists(st.sampled_from(sorted(used)), min_size=1, max_size=2, unique=True),
                                max_size=2))
        if classes:
            lines.append("input_classes:")
            lines += [f"  k{i}: [{', '.join(d)}]" for i, d in enumerate(classes)]
    return "\n".join(lines) + "\n"


def brute_force_independent(model: Model, asset: str) -> float | None:
    """Every subset of controls, implementations and input classes, with the semantics written
    out again here: a control fails when chosen, when an implementation it is built on is
    chosen or defeated by a chosen input class, or when a control it depends on fails."""
    impls = sorted({i for c in model.controls.values() for i in c.built_on})
    names = [("c", c) for c in sorted(model.controls)] + [("i", i) for i in impls] + [
        ("k", k) for k in sorted(model.input_classes)]
    best: float | None = None
    for r in range(len(names) + 1):
        for subset in itertools.combinations(names, r):
            cost = sum(model.controls[n].cost if kind == "c" else 1.0 for kind, n in subset)
            if best is not None and cost >= best:
                continue
            broken = {n for kind, n in subset if kind == "i"}
            broken |= {i for kind, n in subset if kind == "k" for i in model.input_classes[n].defeats}
            chosen = {n for kind, n in subset if kind == "c"}
            chosen |= {c.name for c in model.controls.values() if broken & set(c.built_on)}
            if asset in holdings(model, failed_controls(model, chosen)):
                best = cost
    return best


@settings(max_examples=150, deadline=None)
@given(shared_models())
def test_independent_failures_exact_against_brute_force(text: str) -> None:
    model = parse_model(text)
    (asset,) = model.assets
    report = analyze(model, max_sets=50)
    (result,) = report.assets
    want = brute_force_independent(model, asset)
    if not any(c.built_on for c in model.controls.values()):
        assert result.independent is None  # a model without the keys: exactly as before
        return
    assert result.independent is not None and result.independent.exact
    assert result.independent.cost == want
    assert want is None or result.min_failures is not None and want <= result.min_failures
    derived = independent_model(model)
    for chosen in result.independent.sets:  # each set really opens the asset, counted as claimed
        assert asset in holdings(derived, failed_controls(derived, chosen))
        assert sum(derived.controls[c].cost for c in chosen) == want
    for unit in result.common_mode:  # a named unit costs depth: with it alone the asset falls sooner
        assert len(unit["controls"]) >= 2 and unit["costs"] > 0
        assert unit["depth"] + unit["costs"] == result.min_failures


def test_two_guards_on_one_implementation_count_once() -> None:
    text = """name: pair
controls:
  a: {built_on: [scanner]}
  b: {built_on: [scanner]}
  c: {}
nodes:
  x: {entry: true}
  y: {asset: true}
steps:
  - {from: x, to: y, blocked_by: [a, b, c]}
"""
    (result,) = analyze(parse_model(text)).assets
    assert result.min_failures == 3
    assert result.independent is not None and result.independent.cost == 2
    assert result.independent.sets == [["c", "impl:scanner"]]
    assert result.common_mode == [{"unit": "impl:scanner", "kind": "implementation", "name": "scanner",
                                   "controls": ["a", "b"], "depth": 2, "costs": 1}]
    # the policy checks the independent failures: three controls, two of them one failure
    policed = analyze(parse_model(text.replace("name: pair", "name: pair\npolicy: {min_failures: 3}")))
    assert not policed.policy_ok and policed.to_dict()["policy_ok"] is False
    # the same controls on two implementations: nothing shared, nothing lost
    (apart,) = analyze(parse_model(text.replace("b: {built_on: [scanner]}", "b: {built_on: [other]}"))).assets
    assert apart.independent is not None and apart.independent.cost == 3 and apart.common_mode == []


def test_an_input_class_defeats_every_implementation_it_names() -> None:
    text = """name: input
controls:
  a: {built_on: [p]}
  b: {built_on: [q]}
nodes:
  x: {entry: true}
  y: {asset: true}
steps:
  - {from: x, to: y, blocked_by: [a, b]}
input_classes:
  hostile: {defeats: [p, q], description: both readers miss it}
"""
    model = parse_model(text)
    assert units(model)["input:hostile"].controls == ("a", "b")
    (result,) = analyze(model).assets
    assert result.independent is not None and result.independent.cost == 1
    assert result.independent.sets == [["input:hostile"]]
    assert [u["unit"] for u in result.common_mode] == ["input:hostile"]
    assert analyze(model).spofs == [{"control": "input:hostile", "asset": "y"}]


def test_a_failed_input_class_fails_the_controls_it_defeats() -> None:
    """What a watch drill reports: an input class that passed both scans is one failure."""
    model = load_model(MODELS / "storm-0558-signward-shared-scanner.yaml")
    report = analyze(model, ["input:undecoded_encoding"])
    (asset,) = report.assets
    assert report.known_failed == ["input:undecoded_encoding"]
    assert (asset.min_failures, asset.to_dict()["independent_failures"]) == (6, 6)  # redaction, store_rescan down
    (shipped,) = analyze(load_model(MODELS / "storm-0558-signward.yaml"), ["input:undecoded_encoding"]).assets
    assert (shipped.min_failures, shipped.to_dict()["independent_failures"]) == (7, 7)  # redaction only
    with pytest.raises(ModelError, match="unknown control.*input:nothing"):
        analyze(model, ["input:nothing"])


def test_a_model_without_the_keys_is_analysed_exactly_as_before() -> None:
    data = analyze(load_model(MODELS / "storm-0558-2021.yaml")).to_dict()
    assert "independent_failures" not in data["assets"][0] and "common_mode" not in data["assets"][0]


def test_shipped_models_independent_failures() -> None:
    signward = analyze(load_model(MODELS / "storm-0558-signward.yaml"), max_sets=10)
    (asset,) = signward.assets
    data = asset.to_dict()
    assert data["min_failures"] == 8 and data["independent_failures"] == 8 and data["common_mode"] == []
    shared = analyze(load_model(MODELS / "storm-0558-signward-shared-scanner.yaml"), max_sets=10)
    (asset,) = shared.assets
    data = asset.to_dict()
    assert data["min_failures"] == 8 and data["independent_failures"] == 7
    assert [(u["unit"], u["controls"], u["costs"]) for u in data["common_mode"]] == [
        ("impl:scanner.parsers", ["redaction", "store_rescan"], 1),
        ("input:undecoded_encoding", ["redaction", "store_rescan"], 1)]
    assert all({"redaction", "store_rescan"}.isdisjoint(s) for s in data["independent_failing_sets"])
    diff = depth_diff(signward, shared)
    assert diff.shallower and diff.assets[0].independent == (8, 7) and diff.assets[0].new == 8


@pytest.mark.parametrize("section,error", [
    ("  a: {built_on: [p]}\ninput_classes:\n  k: [nowhere]\n", "defeats 'nowhere', which no control is built_on"),
    ("  a: {built_on: [p]}\ninput_classes:\n  k: []\n", "input class k defeats no implementation"),
    ("  a: {built_on: [p]}\ninput_classes:\n  k: {description: x}\n", "input_classes.k.defeats: required"),
    ("  a: {built_on: [\"  \"]}\n", "built_on names must not be empty"),
    ("  a: {built_on: {p: 1}}\n", "built_on must be a name or a list of names"),
])
def test_bad_built_on_and_input_classes_name_the_line(section: str, error: str) -> None:
    head, tail = section.split("\n", 1)
    text = f"name: m\ncontrols:\n{head}\nnodes:\n  x: {{entry: true}}\n  y: {{asset: true}}\nsteps:\n" \
           f"  - {{from: x, to: y, blocked_by: [a]}}\n{tail}"
    with pytest.raises(ModelError, match="line [0-9]+: .*" + re.escape(error)):
        parse_model(text)


def test_a_control_named_like_a_unit_is_refused_on_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ncontrols:\n  'impl:p': {}\n  a: {built_on: [p]}\n  b: {built_on: [p]}\nnodes:\n"
                    "  x: {entry: true}\n  y: {asset: true}\nsteps:\n  - {from: x, to: y, blocked_by: [a, b]}\n")
    done = subprocess.run([sys.executable, "-m", "signward", "depth", "analyze", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "a control is named 'impl:p', the name of a failure unit" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_cli_json_and_diff_carry_independent_failures() -> None:
    run = [sys.executable, "-m", "signward", "depth"]
    done = subprocess.run([*run, "analyze", str(MODELS / "storm-0558-signward-shared-scanner.yaml"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (asset,) = json.loads(done.stdout)["assets"]
    assert (asset["min_failures"], asset["independent_failures"], asset["independent_exact"]) == (8, 7, True)
    diff = subprocess.run([*run, "diff", str(MODELS / "storm-0558-signward.yaml"),
                           str(MODELS / "storm-0558-signward-shared-scanner.yaml")], capture_output=True, text=True,
                          timeout=300)
    assert diff.returncode == 1 and "shallower" in diff.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz comes from scripts/setup.sh")
def test_the_html_report_shows_independent_failures_and_what_costs_them() -> None:
    model = load_model(MODELS / "storm-0558-signward-shared-scanner.yaml")
    page = to_html(model, analyze(model))
    assert "Independent failures needed: <b>7</b> beside 8 control failure(s)" in page
    table = page.split("class='common-mode'", 1)[1].split("</table>", 1)[0]
    assert "scanner.parsers" in table and "undecoded_encoding" in table and table.count("-1</td>") == 2
    shipped = load_model(MODELS / "storm-0558-signward.yaml")
    assert "none: no shared implementation costs depth" in to_html(shipped, analyze(shipped))
