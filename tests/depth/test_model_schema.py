"""The typed configuration loader on YAML: `config_schema.load_data` with the key path -> line
map that `depth.model.node_lines` walks from yaml's node tree (#37 item 5)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import yaml

from signward.config_schema import Rule, SchemaError, load, load_data, setting
from signward.depth.model import MAX_MODEL_DEPTH, NAMES, ModelError, node_lines, parse_model


@dataclass(frozen=True)
class Limits:
    cost: float = setting(1.0, "a cost", above=0, max=1000)
    kind: str = setting("gate", "a kind", choices=("gate", "probe"))


@dataclass(frozen=True)
class Item:
    name: str = setting(doc="a name", max_len=20)
    weight: int = setting(1, "a weight", min=0, max=9)


@dataclass(frozen=True)
class Doc:
    name: str = setting(doc="the name")
    limits: Limits = setting(Limits(), "limits")
    items: tuple[Item, ...] = setting((), "items", max_len=3)


GOOD = """name: m
limits:
  cost: 2
  kind: probe
items:
  - {name: a, weight: 3}
  - name: b
    weight: 4
"""


def _yaml(text: str) -> Doc:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    return load_data(Doc, yaml.safe_load(text), node_lines(root), "m.yaml")


def test_yaml_and_toml_load_alike() -> None:
    toml = 'name = "m"\n[limits]\ncost = 2\nkind = "probe"\n[[items]]\nname = "a"\nweight = 3\n' \
           '[[items]]\nname = "b"\nweight = 4\n'
    assert _yaml(GOOD) == load(Doc, toml, "m.toml") == Doc("m", Limits(2.0, "probe"), (Item("a", 3), Item("b", 4)))


@pytest.mark.parametrize("old,new,line,rule,path", [
    ("  kind: probe", "  knid: probe", 4, Rule.UNKNOWN_KEY, ("limits", "knid")),  # near miss, nested table
    ("  cost: 2", "  cost: 0", 3, Rule.OUT_OF_BOUNDS, ("limits", "cost")),  # `above` bound
    ("  kind: probe", "  kind: proof", 4, Rule.OUT_OF_BOUNDS, ("limits", "kind")),  # choices
    ("    weight: 4", "    weight: 10", 8, Rule.OUT_OF_BOUNDS, ("items", 1, "weight")),  # block item of a list
    ("{name: a, weight: 3}", "{name: a, weight: x}", 6, Rule.WRONG_TYPE, ("items", 0, "weight")),  # flow item
    ("  - name: b\n", "  - nome: b\n", 7, Rule.UNKNOWN_KEY, ("items", 1, "nome")),
])
def test_a_refusal_names_the_file_the_line_and_the_rule(old: str, new: str, line: int, rule: Rule,
                                                        path: tuple[str | int, ...]) -> None:
    assert old in GOOD
    with pytest.raises(SchemaError) as err:
        _yaml(GOOD.replace(old, new))
    assert (err.value.rule, err.value.path, err.value.line, err.value.source) == (rule, path, line, "m.yaml")
    assert str(err.value).startswith(f"m.yaml:{line}: ")


def test_a_missing_key_names_its_enclosing_key_and_a_top_level_one_the_file() -> None:
    with pytest.raises(SchemaError) as err:
        _yaml(GOOD.replace("  - name: b\n    weight: 4\n", "  - weight: 4\n"))  # the item, without its name
    assert (err.value.rule, err.value.path, err.value.line) == (Rule.MISSING, ("items", 1, "name"), 7)
    with pytest.raises(SchemaError) as err:
        _yaml(GOOD.replace("name: m\n", ""))
    assert (err.value.rule, err.value.path, err.value.line, str(err.value)) == (
        Rule.MISSING, ("name",), None, "m.yaml: name: required")


def test_too_many_items_is_refused_at_the_list() -> None:
    with pytest.raises(SchemaError) as err:
        _yaml(GOOD + "  - {name: c}\n  - {name: d}\n")
    assert (err.value.rule, err.value.path, err.value.line) == (Rule.OUT_OF_BOUNDS, ("items",), 5)


def test_the_line_map_on_hostile_yaml() -> None:
    """Aliases walked once (a billion laughs stays a few paths), a key twice keeps its first line,
    nesting past the model's bound is not walked, keys that are not scalars are skipped."""
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
             "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    found = node_lines(yaml.compose(laughs, Loader=yaml.SafeLoader))
    assert len(found) < 40 and found[("a", 8)] == 1 and found[("c", 0)] == 2  # an alias: its anchor's line
    assert node_lines(yaml.compose("k: 1\nk: 2\n", Loader=yaml.SafeLoader)) == {("k",): 1}
    deep = node_lines(yaml.compose("[" * 100 + "]" * 100, Loader=yaml.SafeLoader))
    assert max(len(p) for p in deep) == MAX_MODEL_DEPTH
    assert node_lines(yaml.compose("? [a, b]\n: 1\nc: 2\n", Loader=yaml.SafeLoader)) == {("c",): 3}


MODEL = """name: m
policy: {min_failures: 1}
controls:
  a: {cost: 2, built_on: [p]}
  b:
nodes:
  x: {entry: true}
  k: {asset: true}
steps:
  - {from: x, to: k, blocked_by: [a, b]}
input_classes:
  i: p
"""


def test_the_model_schema_loads_the_short_forms() -> None:
    """An empty entry, a lone name where a list of names goes, an input class as its list."""
    model = parse_model(MODEL.replace("blocked_by: [a, b]", "blocked_by: a"))
    assert (model.controls["b"].cost, model.controls["a"].built_on, model.steps[0].blocked_by) == (1.0, ("p",), ("a",))
    assert (model.input_classes["i"].defeats, model.min_failures, model.controls["b"].probe) == (("p",), 1.0, None)
    assert parse_model(MODEL.replace("policy: {min_failures: 1}\n", "")).min_failures is None


@pytest.mark.parametrize("old,new,line,rule,path", [
    ("a: {cost: 2,", "a: {cots: 2,", 4, Rule.UNKNOWN_KEY, ("controls", "a", "cots")),
    ("{min_failures: 1}", "{min_failures: -1}", 2, Rule.OUT_OF_BOUNDS, ("policy", "min_failures")),
    ("{min_failures: 1}", "{min_failure: 1}", 2, Rule.UNKNOWN_KEY, ("policy", "min_failure")),
    ("{min_failures: 1}", "{min_failures: .nan}", 2, Rule.OUT_OF_BOUNDS, ("policy", "min_failures")),
    ("{cost: 2,", "{cost: true,", 4, Rule.WRONG_TYPE, ("controls", "a", "cost")),
    ("  x: {entry: true}", "  x: {entry: true, description: [1]}", 7, Rule.WRONG_TYPE, ("nodes", "x", "description")),
    ("{from: x, to: k,", "{from: x,", 10, Rule.MISSING, ("steps", 0, "to")),
    ("{from: x,", "{from: [],", 10, Rule.INVALID, ("steps", 0, "from")),
    ("{from: x,", "{from: {x: 1},", 10, Rule.WRONG_TYPE, ("steps", 0, "from")),
    ("nodes:\n  x: {entry: true}\n  k: {asset: true}\n", "nodes: [x, k]\n", 6, Rule.WRONG_TYPE, ("nodes",)),
    ("steps:\n", "stepz:\n", 9, Rule.UNKNOWN_KEY, ("stepz",)),
    ("  b:\n", "  ? [b]\n  : 1\n", 5, Rule.WRONG_TYPE, ("controls",)),
    ("  i: p\n", "  i: {defeats: [p], by: x}\n", 12, Rule.UNKNOWN_KEY, ("input_classes", "i", "by")),
    ("  b:\n", "  b: 5\n", 5, Rule.WRONG_TYPE, ("controls", "b")),
    ("  - {from: x, to: k, blocked_by: [a, b]}", "  - x", 10, Rule.WRONG_TYPE, ("steps", 0)),
    ("steps:\n  - {from: x, to: k, blocked_by: [a, b]}", "steps: {x: k}", 9, Rule.WRONG_TYPE, ("steps",)),
])
def test_a_model_refusal_names_its_rule_key_and_line(old: str, new: str, line: int, rule: Rule,
                                                     path: tuple[str | int, ...]) -> None:
    assert old in MODEL
    with pytest.raises(ModelError) as err:
        parse_model(MODEL.replace(old, new), "m.yaml")
    assert (err.value.rule, err.value.path) == (rule, path) and str(err.value).startswith(f"m.yaml: line {line}: ")


def test_a_missing_section_names_the_first_line_and_long_lists_are_bounded() -> None:
    with pytest.raises(ModelError) as err:
        parse_model(MODEL.replace("steps:\n  - {from: x, to: k, blocked_by: [a, b]}\n", ""), "m.yaml")
    assert (err.value.rule, err.value.path, str(err.value)) == (Rule.MISSING, ("steps",),
                                                                  "m.yaml: line 1: steps: required")
    many = "[" + ", ".join(["b"] * (NAMES + 1)) + "]"
    with pytest.raises(ModelError) as err:
        parse_model(MODEL.replace("blocked_by: [a, b]", f"blocked_by: {many}"), "m.yaml")
    assert (err.value.rule, err.value.path) == (Rule.OUT_OF_BOUNDS, ("steps", 0, "blocked_by"))
    assert str(err.value).startswith("m.yaml: line 10: ")


@pytest.mark.parametrize("number", ["1" + "0" * 400, "1" * 5000])
def test_a_huge_number_in_a_model_is_a_refusal_at_its_line(number: str) -> None:
    """Red team (issue #37): `cost: 1e400 as an integer` (float() OverflowError) and a 5,000-digit
    integer (PyYAML's int() over Python's digit limit) were `internal error`, exit 3."""
    text = (f"name: m\ncontrols:\n  a:\n    cost: {number}\n"
            "nodes:\n  x: {entry: true}\n  k: {asset: true}\nsteps:\n  - {from: x, to: k, blocked_by: [a]}\n")
    with pytest.raises(ModelError) as raised:
        parse_model(text, "m.yaml")
    assert "line 4" in str(raised.value) and raised.value.rule is Rule.OUT_OF_BOUNDS


def test_depends_on_chains_past_the_closure_bound_are_refused_before_they_fill_memory() -> None:
    """Red team (issue #37): 4,000 controls each depending on the one before (114 KB) built 8 million
    closure members and 425 MB; the closure is bounded (CLOSURE members in all) and refused past it."""
    import time

    from signward.depth.model import CLOSURE

    n = 2100  # n(n+1)/2 = 2,206,050 members: just past the bound
    assert n * (n + 1) // 2 > CLOSURE > 1000 * 1001 // 2
    lines = ["name: m", "controls:", "  c0: {}"] + [f"  c{i}: {{depends_on: [c{i - 1}]}}" for i in range(1, n)]
    lines += ["nodes:", "  x: {entry: true}", "  k: {asset: true}", "steps:",
              f"  - {{from: x, to: k, blocked_by: [c{n - 1}]}}"]
    started = time.process_time()
    with pytest.raises(ModelError, match="depends_on chains are too long") as raised:
        parse_model("\n".join(lines) + "\n", "m.yaml")
    assert raised.value.rule is Rule.OUT_OF_BOUNDS and time.process_time() - started < 30
    shorter = lines[:3 + 1000] + lines[3 + n - 1:]  # a chain of 1,000: 500,500 members, loads
    shorter[-1] = "  - {from: x, to: k, blocked_by: [c999]}"
    assert len(parse_model("\n".join(shorter) + "\n", "m.yaml").closure["c999"]) == 1000
