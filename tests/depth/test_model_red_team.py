"""The depth model loader on the red team's findings (issue #37): bounds while YAML is composed,
YAML 1.2 plain scalars (YAML 1.1 number forms refused), costs under the solver's resolution,
tags, names, and messages in the files' words. Each case refused by the one rule it names."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from signward.config_schema import Rule
from signward.depth import model as model_module
from signward.depth.maxsat import scaled_costs
from signward.depth.model import MAX_MODEL_BYTES, MAX_MODEL_DEPTH, NAMES, ModelError, name_problem, parse_model
from signward.depth.synthetic import layered

GOOD = """name: m
controls:
  a: {cost: 2}
nodes:
  x: {entry: true}
  k: {asset: true}
steps:
  - {from: x, to: k, blocked_by: [a]}
  - from: x
    to: k
    description: fine
"""


def refused(text: str) -> ModelError:
    with pytest.raises(ModelError) as err:
        parse_model(text, "m.yaml")
    return err.value


def test_good_loads() -> None:
    assert parse_model(GOOD).controls["a"].cost == 2.0


HUGE_LIST = """
import json, resource, sys, tracemalloc
from signward.depth.model import ModelError, parse_model
text = ("name: m\\ncontrols:\\n  a: {}\\nnodes:\\n  x: {entry: true}\\n  k: {asset: true}\\nsteps:\\n"
        "  - from: x\\n    to: k\\n    blocked_by: [" + "a, " * 100_000 + "a]\\n")
tracemalloc.start()
try:
    parse_model(text, "m.yaml")
except ModelError as error:
    print(json.dumps([len(text), tracemalloc.get_traced_memory()[1], error.rule.name, list(error.path), str(error)]))
"""


def test_a_huge_list_is_refused_while_composed_in_little_memory() -> None:
    """Red team: a 600 KB list of 300,000 names cost 300 MB before its 10,000-item bound refused
    it; now the composer refuses at item NAMES + 1, having kept a few MB. 100,000 names here, ten
    times the bound: composed in full (the check broken) they peak at 37 MB and are refused only
    after, by the list rule's later check; the 300,000 cost that mutant 18 s under tracemalloc."""
    done = subprocess.run([sys.executable, "-c", HUGE_LIST], capture_output=True, text=True, timeout=120)
    size, peak, rule, path, message = json.loads(done.stdout)
    assert size > 300_000 and rule == "OUT_OF_BOUNDS" and path == ["steps", 0, "blocked_by"]
    assert message.startswith("m.yaml: line 10: steps[0].blocked_by: more than 10000 items")
    assert peak < 20 << 20, peak  # the text is 0.3 MB; composing all of it took 37 MB


def test_a_top_level_section_may_hold_more_than_a_name_list() -> None:
    many = "".join(f"  n{i}: {{}}\n" for i in range(NAMES + 5))
    assert len(parse_model(GOOD.replace("nodes:\n", "nodes:\n" + many)).nodes) == NAMES + 7


def test_the_node_budget_and_the_depth_bound_refuse_while_composing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "MAX_MODEL_NODES", 200)
    error = refused(GOOD.replace("description: fine", "description: fine\n" + "  - {from: x, to: k}\n" * 60))
    assert error.rule is Rule.OUT_OF_BOUNDS and "more than 200 YAML nodes" in str(error)
    assert str(error).startswith("m.yaml: line 44: steps[34]"), str(error)  # the 201st node: in the 60 steps
    monkeypatch.undo()
    deep = "[" * (MAX_MODEL_DEPTH + 1) + "]" * (MAX_MODEL_DEPTH + 1)
    error = refused(GOOD.replace("description: fine", f"description: {deep}"))
    assert error.rule is Rule.OUT_OF_BOUNDS and f"deeper than {MAX_MODEL_DEPTH}" in str(error)
    assert str(error).startswith("m.yaml: line 11: steps[1].description")


def test_the_largest_benchmark_model_fits_the_size_bound() -> None:
    """bench/depth.py's largest model (100,000 steps, a control each) is 7.7 MB; the bound is 8 MiB."""
    assert 7_000_000 < len(layered(100_000)) < MAX_MODEL_BYTES == 8 << 20
    error = refused("# " + "x" * MAX_MODEL_BYTES + "\n" + GOOD)
    assert error.rule is Rule.OUT_OF_BOUNDS and "larger than 8 MiB" in str(error)
    error = refused("# " + "\u00e9" * (MAX_MODEL_BYTES // 2) + "\n" + GOOD)  # fewer characters, more bytes
    assert error.rule is Rule.OUT_OF_BOUNDS and "larger than 8 MiB" in str(error)


@pytest.mark.parametrize("written", ["1:30", "017", "-017", "0x10", "0o17", "0b11", "1_000", "1_0.5", "190:20:30.15",
                                     "2026-12-06", "2026-12-06 10:00:00", "<<"])
def test_a_yaml_1_1_number_form_is_refused_naming_the_line_and_to_quote_it(written: str) -> None:
    """YAML 1.1 reads 1:30 as 90 and 017 as 15, YAML 1.2 otherwise: never silently either."""
    value = f"{{cost: {written}}}" if ":" not in written else "\n    cost: " + written  # 1:30 in a flow: a key
    error = refused(GOOD.replace("{cost: 2}", value))
    assert (error.rule, error.path) == (Rule.SYNTAX, ("controls", "a", "cost")), str(error)
    assert "line 3" in str(error) or "line 4" in str(error)
    assert f'quote it ("{written}")' in str(error) and "controls.a.cost" in str(error)
    quoted = parse_model(GOOD.replace("description: fine", f'description: "{written}"'))
    assert quoted.steps[1].description == written  # quoted: the text as written


@pytest.mark.parametrize("written,value", [("2", 2.0), ("+2", 2.0), ("2.5", 2.5), ("+.5", 0.5), ("1e3", 1000.0),
                                           ("0.25", 0.25), ("!!int 3", 3.0), ("!!float 3", 3.0)])
def test_yaml_1_2_numbers_load(written: str, value: float) -> None:
    assert parse_model(GOOD.replace("{cost: 2}", f"{{cost: {written}}}")).controls["a"].cost == value


@pytest.mark.parametrize("word", ["yes", "No", "ON", "off", "y", "N"])
def test_a_yaml_1_1_boolean_word_is_refused_where_a_boolean_is_wanted(word: str) -> None:
    error = refused(GOOD.replace("{entry: true}", f"{{entry: {word}}}"))
    assert (error.rule, error.path) == (Rule.WRONG_TYPE, ("nodes", "x", "entry"))
    assert str(error) == (f"m.yaml: line 5: nodes.x.entry: must be true or false, not text ({word} is a boolean only "
                          "in YAML 1.1: write true or false)")


def test_a_yaml_1_1_boolean_word_is_text_where_text_is_wanted() -> None:
    """A node may be named y or n (YAML 1.2 reads them as text; a boolean there would be refused)."""
    model = parse_model(GOOD.replace("x", "y").replace("description: fine", "description: yes"))
    assert model.entries == ["y"] and model.steps[1].description == "yes"


def test_a_cost_under_the_solver_resolution_is_refused_and_never_weighs_zero() -> None:
    error = refused(GOOD.replace("{cost: 2}", "{cost: 0.0000009}"))
    assert (error.rule, error.path) == (Rule.OUT_OF_BOUNDS, ("controls", "a", "cost"))
    assert "must be at least 1e-06, not 9e-07" in str(error) and "line 3" in str(error)
    model = parse_model(GOOD.replace("{cost: 2}", "{cost: 0.000001}"))
    assert scaled_costs(model, ["a"])[1]["a"] >= 1
    # a cost built in code past the loader, finer than the scale the solver uses: still not free
    tiny = dataclasses.replace(model.controls["a"], cost=1e-9)
    big = dataclasses.replace(model.controls["a"], name="b", cost=0.3333333)
    both = dataclasses.replace(model, controls={"a": tiny, "b": big})
    weights = scaled_costs(both, ["a", "b"])[1]
    assert weights["a"] == 1 and weights["b"] > 1


@pytest.mark.parametrize("tagged,path", [
    ("  a: !foo {cost: 2}", ("controls", "a")),
    ("  a: !!omap [{cost: 2}]", ("controls", "a")),
    ("  a: !!set {cost}", ("controls", "a")),
    ("  a: {cost: !!binary aGk=}", ("controls", "a", "cost")),
    ("  a: {cost: !!python/tuple [2]}", ("controls", "a", "cost")),
    ("  a: {cost: !!timestamp 2026-12-06}", ("controls", "a", "cost")),
    ("  a: {cost: !x 2}", ("controls", "a", "cost")),
])
def test_a_tag_other_than_the_core_ones_is_refused(tagged: str, path: tuple[str, ...]) -> None:
    error = refused(GOOD.replace("  a: {cost: 2}", tagged))
    assert (error.rule, error.path) == (Rule.INVALID, path) and "line 3" in str(error) and "not allowed" in str(error)


def test_core_tags_are_held_to_their_yaml_1_2_forms() -> None:
    error = refused(GOOD.replace("{cost: 2}", "{cost: !!int 0x10}"))
    assert (error.rule, error.path) == (Rule.WRONG_TYPE, ("controls", "a", "cost"))
    assert parse_model(GOOD.replace("description: fine", "description: !!str 017")).steps[1].description == "017"


@pytest.mark.parametrize("name,words", [
    ('""', "must not be empty"), ('"   "', "must not be empty"), ('"a\u200b"', "U+200B"),
    ('"\ufeffa"', "U+FEFF"), ('"a\u2060b"', "U+2060"), ('"a\\tb"', "U+0009"), ('" a"', "starts or ends with a space"),
    ('"e\u0301"', "not in Unicode NFC"),
])
def test_a_name_must_be_visible_text(name: str, words: str) -> None:
    error = refused(GOOD.replace("  k: {asset: true}", f"  k: {{asset: true}}\n  {name}: {{}}"))
    assert error.rule is Rule.INVALID and error.path[0] == "nodes" and "line 7" in str(error) and words in str(error)
    assert name_problem("k") is None and name_problem("caf\u00e9 proxy") is None


@pytest.mark.parametrize("key,words", [("1", "not a number (1)"), ("~", "not null"), ("true", "not true"),
                                       ("[a]", "not a list")])
def test_a_name_that_is_not_text_is_refused_at_its_line(key: str, words: str) -> None:
    error = refused(GOOD.replace("  k: {asset: true}", f"  k: {{asset: true}}\n  {key}: {{}}"))
    assert (error.rule, error.path) == (Rule.WRONG_TYPE, ("nodes",)) and "line 7" in str(error)
    assert f"a key must be a name (text), {words}: quote it" in str(error)
    assert "1" in parse_model(GOOD.replace("  k: {asset: true}", '  k: {asset: true}\n  "1": {}')).nodes


def test_a_built_on_name_must_be_visible_text() -> None:
    error = refused(GOOD.replace("{cost: 2}", '{cost: 2, built_on: ["p\u200b"]}'))
    assert (error.rule, error.path) == (Rule.INVALID, ("controls", "a", "built_on", 0)) and "U+200B" in str(error)


@pytest.mark.parametrize("empty", ["controls:\n", "controls: {}\n"])
def test_a_model_without_controls_is_refused(empty: str) -> None:
    error = refused(GOOD.replace("controls:\n  a: {cost: 2}\n", empty).replace("blocked_by: [a]", "blocked_by: []"))
    assert (error.rule, error.path) == (Rule.MISSING, ("controls",)) and "line 2" in str(error)


@pytest.mark.parametrize("old,new,path,words", [
    ("blocked_by: [a]", "blocked_by: [1]", ("steps", 0, "blocked_by", 0),
     "steps[0].blocked_by[0] must be a name, not a number (1)"),
    ("blocked_by: [a]", "blocked_by: {a: 1}", ("steps", 0, "blocked_by"),
     "steps[0].blocked_by must be a name or a list of names, not a mapping"),
    ("to: k,", "to: 1,", ("steps", 0, "to"), "steps[0].to: must be text, not a number (1)"),
    ("description: fine", "description: null", ("steps", 1, "description"),
     "steps[1].description: must be text, not null"),
    ("{entry: true}", "{entry: 1}", ("nodes", "x", "entry"), "nodes.x.entry: must be true or false, not a number (1)"),
    ("{cost: 2}", "{cost: [2]}", ("controls", "a", "cost"), "controls.a.cost: must be a number, not a list"),
    ("  - {from: x, to: k, blocked_by: [a]}", "  - 3", ("steps", 0), "steps[0] must be a mapping, not a number"),
    ("  a: {cost: 2}", "  a: 2", ("controls", "a"), "controls.a must be a mapping, not a number"),
])
def test_a_message_names_the_key_path_in_the_files_words(old: str, new: str, path: tuple[str | int, ...],
                                                         words: str) -> None:
    error = refused(GOOD.replace(old, new))
    assert error.rule is Rule.WRONG_TYPE and error.path == path and words in str(error), str(error)
    assert not any(python in str(error) for python in ("NoneType", "int", "float", "bool", "dict", "str "))


@pytest.mark.parametrize("old,new,message", [
    ("to: k,", "to: q,", "m.yaml: line 8: steps[0].to: unknown node 'q'"),
    ("blocked_by: [a]", "blocked_by: [b]", "m.yaml: line 8: steps[0].blocked_by[0]: unknown control 'b'"),
    ("x: {entry: true}", "x: {}", "m.yaml: line 4: nodes: no entry node"),
    ("  a: {cost: 2}", "  a: {cost: 2}\n  a: {}", "m.yaml: line 4: controls: 'a' appears twice in the same mapping"),
    ("  x: {entry: true}", '  "x\u200b": {entry: true}',
     "m.yaml: line 5: nodes.x\\u200b: the name 'x\\u200b' holds the invisible character U+200B"),
])
def test_a_check_across_parts_names_the_key_path(old: str, new: str, message: str) -> None:
    error = refused(GOOD.replace(old, new))
    assert error.rule is Rule.INVALID and str(error) == message
