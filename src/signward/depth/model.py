"""The defense-in-depth model (YAML) and its validation, with the line of every mistake.

```yaml
name: example
policy: {min_failures: 3}
controls:
  mfa: {description: "...", cost: 1, probe: "module:function" or "cmd: shell command", depends_on: [...]}
nodes:
  attacker: {entry: true}
  signing_key: {asset: true}
steps:
  - {from: attacker, to: engineer_account, blocked_by: [mfa]}
  - {from: [engineer_account, debug_env], to: signing_key, blocked_by: [redaction, hsm]}
input_classes:                  # optional: hostile inputs and the implementations they defeat
  undecoded_encoding: [scanner.parsers]   # or {defeats: [...], description: "..."}
```
A control may name what it is built on (`built_on: [scanner.parsers]`): controls built on one
implementation fail together when it fails, and an input class defeats every implementation
it names (common-mode failures; `common.py` counts them).
A step may be taken when the attacker holds every `from` node and every `blocked_by`
control has failed. A control has failed if chosen to fail or if any control in its
`depends_on` has failed (transitively).

The shape (sections, fields, types, bounds) is a schema of frozen dataclasses (`ModelSpec`)
read by the one typed configuration loader (`config_schema.build`), each refusal at the line
`node_lines` finds in yaml's node tree; `parse_model` keeps the checks across parts (unknown
nodes and controls, no entry or asset, what an input class defeats).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config_schema import Path_, Rule, SchemaError, build, dotted, nearest_line, setting
from ..errors import ConfigError


class ModelError(ConfigError):
    """A malformed model: the message names the line; `rule` says why, `path` which key."""

    def __init__(self, message: str, rule: Rule = Rule.INVALID, path: Path_ = ()) -> None:
        super().__init__(message)
        self.rule, self.path = rule, path


@dataclass(frozen=True)
class Control:
    name: str
    description: str = ""
    cost: float = 1.0
    probe: str | None = None
    depends_on: tuple[str, ...] = ()
    where: str = ""  # where the control lives in the code
    built_on: tuple[str, ...] = ()  # implementations it shares with other controls (common-mode failures)


@dataclass(frozen=True)
class InputClass:
    """A class of hostile input that defeats every implementation it names."""

    name: str
    defeats: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Node:
    name: str
    entry: bool = False
    asset: bool = False
    description: str = ""


@dataclass(frozen=True)
class Step:
    index: int
    sources: tuple[str, ...]
    target: str
    blocked_by: tuple[str, ...]
    description: str = ""

    def label(self) -> str:
        src = " + ".join(self.sources)
        return f"{src} -> {self.target}"


@dataclass(frozen=True)
class Model:
    name: str
    controls: dict[str, Control]
    nodes: dict[str, Node]
    steps: tuple[Step, ...]
    min_failures: float | None = None
    description: str = ""
    closure: dict[str, frozenset[str]] = field(default_factory=dict)  # control -> controls whose failure fails it
    input_classes: dict[str, InputClass] = field(default_factory=dict)

    @property
    def implementations(self) -> list[str]:
        """Every implementation some control is built on, in the order first named."""
        return list(dict.fromkeys(i for c in self.controls.values() for i in c.built_on))

    @property
    def entries(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.entry]

    @property
    def assets(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.asset]


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML has it: 10x faster


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _plain(node: yaml.Node, source: str) -> Any:
    """A scalar, list or mapping node as plain data (safe tags only); every number finite."""
    try:
        value = yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        raise ModelError(f"{source}: line {_line(node)}: {getattr(exc, 'problem', None) or exc}", Rule.WRONG_TYPE) from None
    except (ValueError, OverflowError):  # an integer over Python's 4,300-digit string limit
        raise ModelError(f"{source}: line {_line(node)}: a number too large to read", Rule.OUT_OF_BOUNDS) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelError(f"{source}: line {_line(node)}: numbers must be finite, not {node.value!r}", Rule.OUT_OF_BOUNDS)
    return value


MAX_MODEL_BYTES = 16 << 20  # a model larger than 16 MiB is refused
MAX_MODEL_NODES = 2_000_000  # YAML nodes (scalars, mappings, sequences)
MAX_MODEL_DEPTH = 32  # nesting; a model needs about five levels


def _check_shape(root: yaml.Node, source: str) -> None:
    """No aliases (a model needs none, and they are how a few hundred bytes become gigabytes),
    bounded depth and size; walked without recursion."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise ModelError(f"{source}: line {_line(node)}: YAML aliases are not allowed in a model", Rule.INVALID)
        seen.add(id(node))
        if depth > MAX_MODEL_DEPTH or len(seen) > MAX_MODEL_NODES:
            raise ModelError(f"{source}: line {_line(node)}: the model is nested deeper than {MAX_MODEL_DEPTH} "
                             f"levels or has more than {MAX_MODEL_NODES} nodes", Rule.OUT_OF_BOUNDS)
        if node.tag.startswith("tag:yaml.org,2002:python"):  # on scalars, lists and mappings alike
            raise ModelError(f"{source}: line {_line(node)}: the tag {node.tag} is not allowed", Rule.INVALID)
        if isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def node_lines(root: yaml.Node) -> dict[Path_, int]:
    """The line of every key path in a composed YAML document (mapping keys by their text, list
    items by their index), the map `signward.config_schema.load_data` takes to name a refusal's line.
    Walked without recursion; bounded like `_check_shape` (a node met twice, through an alias, once;
    nothing deeper than MAX_MODEL_DEPTH, at most MAX_MODEL_NODES paths)."""
    found: dict[Path_, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Path_]] = [(root, ())]
    while stack and len(found) < MAX_MODEL_NODES:
        node, path = stack.pop()
        if id(node) in seen or len(path) >= MAX_MODEL_DEPTH:
            continue
        seen.add(id(node))
        children: list[tuple[Path_, int, yaml.Node]] = []
        if isinstance(node, yaml.MappingNode):
            children = [((*path, str(k.value)), _line(k), v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            children = [((*path, i), _line(v), v) for i, v in enumerate(node.value)]
        for child_path, line, _ in children:
            found.setdefault(child_path, line)
        stack.extend((child, child_path) for child_path, _, child in reversed(children))
    return found


class _Lines(Mapping[Path_, int]):
    """`node_lines(root)`, walked only when a refusal needs a line (a good model never does)."""

    def __init__(self, root: yaml.Node) -> None:
        self.root = root
        self._found: dict[Path_, int] | None = None

    def _map(self) -> dict[Path_, int]:
        if self._found is None:
            self._found = node_lines(self.root)
        return self._found

    def __getitem__(self, path: Path_) -> int:
        return self._map()[path]

    def __iter__(self) -> Iterator[Path_]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())


def _data(node: yaml.Node, source: str) -> Any:
    """The node tree as plain data, mapping keys as their text (a control named `1` or `true` is
    that name); a key twice, or a key that is not a name, refused at its line. Recursion is bounded
    by `_check_shape` (MAX_MODEL_DEPTH)."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise ModelError(f"{source}: line {_line(key)}: keys must be names", Rule.WRONG_TYPE)
            if key.value in out:
                raise ModelError(f"{source}: line {_line(key)}: {key.value!r} appears twice in the same mapping",
                                 Rule.INVALID)
            out[str(key.value)] = _data(value, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_data(child, source) for child in node.value]
    return _plain(node, source)


TEXT = 1 << 16  # characters of a name or a description
NAMES = 10_000  # names in one list (depends_on, built_on, from, blocked_by, defeats)
ENTRIES = 1_000_000  # controls, nodes, steps or input classes in one model
CLOSURE = 2_000_000  # members of every control's transitive depends_on set together (chains grow it n^2/2)


@dataclass(frozen=True)
class ControlSpec:
    """One entry of `controls:` as written (its name is its key)."""

    description: str = setting("", "what the control does", max_len=TEXT)
    cost: float = setting(1.0, "what failing it costs an attacker", above=0)
    probe: str = setting("", "the probe that tests it: module:function or cmd: command", max_len=TEXT)
    depends_on: tuple[str, ...] = setting((), "controls whose failure fails this one", max_len=NAMES)
    where: str = setting("", "where the control lives in the code", max_len=TEXT)
    built_on: tuple[str, ...] = setting((), "implementations it shares with other controls", max_len=NAMES)


@dataclass(frozen=True)
class NodeSpec:
    """One entry of `nodes:` as written."""

    entry: bool = setting(False, "where an attacker starts")
    asset: bool = setting(False, "what the model protects")
    description: str = setting("", "what the node is", max_len=TEXT)


@dataclass(frozen=True)
class StepSpec:
    """One item of `steps:`."""

    sources: tuple[str, ...] = setting(doc="the nodes held before the step", key="from", max_len=NAMES)
    to: str = setting(doc="the node the step takes", max_len=TEXT)
    blocked_by: tuple[str, ...] = setting((), "the controls that each stop the step", max_len=NAMES)
    description: str = setting("", "what the step is", max_len=TEXT)


@dataclass(frozen=True)
class InputClassSpec:
    """One entry of `input_classes:` (`name: [implementation, ...]` is its `defeats` alone)."""

    defeats: tuple[str, ...] = setting(doc="the implementations it defeats", max_len=NAMES)
    description: str = setting("", "what the input is", max_len=TEXT)


@dataclass(frozen=True)
class PolicySpec:
    min_failures: float = setting(0.0, "the fewest control failures any asset may need", min=0)


@dataclass(frozen=True)
class ModelSpec:
    """The whole model; `controls`, `nodes` and `input_classes` (name -> entry) are handed to the
    loader as arrays of their entries, in order, and their paths named back by the entry's name."""

    name: str = setting(doc="the model's name", max_len=TEXT)
    controls: tuple[ControlSpec, ...] = setting(doc="the controls, by name", max_len=ENTRIES)
    nodes: tuple[NodeSpec, ...] = setting(doc="what an attacker can hold, by name", max_len=ENTRIES)
    steps: tuple[StepSpec, ...] = setting(doc="the attack steps", max_len=ENTRIES)
    description: str = setting("", "what the model is", max_len=TEXT)
    policy: PolicySpec = setting(PolicySpec(), "what the analysis holds the model to")
    input_classes: tuple[InputClassSpec, ...] = setting((), "hostile input classes, by name", max_len=ENTRIES)


_NAMED = ("controls", "nodes", "input_classes")
_NAME_LISTS = {"controls": ("depends_on", "built_on"), "steps": ("from", "blocked_by"), "input_classes": ("defeats",)}


def _prepare(data: Any, lines: Mapping[Path_, int], source: str) -> dict[str, list[str]]:
    """`data` made loadable in place: each named section (name -> entry, an empty entry as `{}`)
    as the list of its entries (names returned, per section), a bare input class list as its
    `defeats`, a lone name or nothing where a list of names goes as that list."""
    names: dict[str, list[str]] = {}
    for section in _NAMED:
        value = data.get(section)
        if value is None and section in data:
            value = data[section] = {}
        if section in data and not isinstance(value, dict):
            raise ModelError(f"{source}: line {nearest_line(lines, (section,)) or 1}: {section} must be a mapping of "
                             "names", Rule.WRONG_TYPE, (section,))
        if isinstance(value, dict):
            names[section] = list(value)
            entries = [{} if v is None else v for v in value.values()]
            if section == "input_classes":
                entries = [{"defeats": v} if not isinstance(v, dict) else v for v in entries]
            for name, entry in zip(value, entries, strict=True):
                if not isinstance(entry, dict):
                    raise ModelError(f"{source}: line {nearest_line(lines, (section, name)) or 1}: {section}.{name} "
                                     "must be a mapping", Rule.WRONG_TYPE, (section, name))
            data[section] = entries
    steps = data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            raise ModelError(f"{source}: line {nearest_line(lines, ('steps', i)) or 1}: steps[{i}] must be a mapping",
                             Rule.WRONG_TYPE, ("steps", i))
    if "steps" in data and not isinstance(steps, list):
        raise ModelError(f"{source}: line {nearest_line(lines, ('steps',)) or 1}: steps must be a list",
                         Rule.WRONG_TYPE, ("steps",))
    for section, keys in _NAME_LISTS.items():
        entries = data.get(section)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            for key in keys:
                if not isinstance(entry, dict) or key not in entry:
                    continue
                value = entry[key]
                if isinstance(value, str):
                    entry[key] = [value]
                elif value is None:
                    entry[key] = []
                elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    where = _named_path(names, (section, i, key))
                    raise ModelError(f"{source}: line {nearest_line(lines, where) or 1}: {key} must be a name or a "
                                     "list of names", Rule.WRONG_TYPE, where)
    return names


def _named_path(names: dict[str, list[str]], path: Path_) -> Path_:
    """A loader path into a named section's list (controls[0].cost) as written (controls.a.cost)."""
    if len(path) >= 2 and path[0] in names and isinstance(path[1], int) and path[1] < len(names[str(path[0])]):
        return (path[0], names[str(path[0])][path[1]], *path[2:])
    return path


def parse_model(text: str, source: str = "model") -> Model:
    """The model in YAML `text`, or ModelError naming the line: its shape (sections, fields, types,
    bounds) by the schema above through the typed configuration loader, then the references
    between its parts (a step naming an unknown node or control, ...) here."""
    if len(text) > MAX_MODEL_BYTES:
        raise ModelError(f"{source}: larger than {MAX_MODEL_BYTES >> 20} MiB", Rule.OUT_OF_BOUNDS)
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise ModelError(f"{source}: {at}bad YAML ({getattr(exc, 'problem', None) or exc})", Rule.SYNTAX) from None
    except RecursionError:
        raise ModelError(f"{source}: nested too deeply", Rule.SYNTAX) from None
    if root is None:
        raise ModelError(f"{source}: empty model", Rule.MISSING)
    _check_shape(root, source)
    data = _data(root, source)
    if not isinstance(data, dict):
        raise ModelError(f"{source}: line {_line(root)}: the model must be a mapping", Rule.WRONG_TYPE)
    lines = _Lines(root)
    names = _prepare(data, lines, source)
    try:
        spec = build(ModelSpec, data)
    except SchemaError as error:
        path = _named_path(names, error.path)
        where = dotted(path)
        problem = error.problem if not where or error.problem.startswith(where) else f"{where}: {error.problem}"
        line = nearest_line(lines, path) or 1
        raise ModelError(f"{source}: line {line}: {problem}", error.rule, path) from None

    def refuse(path: Path_, problem: str) -> ModelError:
        return ModelError(f"{source}: line {nearest_line(lines, path) or 1}: {problem}", Rule.INVALID, path)

    controls: dict[str, Control] = {}
    for cname, c in zip(names["controls"], spec.controls, strict=True):
        for dep in c.depends_on:
            if dep not in names["controls"]:
                raise refuse(("controls", cname, "depends_on"), f"{cname} depends on unknown control {dep!r}")
        if any(not n.strip() for n in c.built_on):
            raise refuse(("controls", cname, "built_on"), "built_on names must not be empty")
        controls[cname] = Control(cname, c.description, c.cost, c.probe or None, c.depends_on, c.where,
                                  tuple(dict.fromkeys(c.built_on)))
    nodes = {nname: Node(nname, n.entry, n.asset, n.description) for nname, n in zip(names["nodes"], spec.nodes,
                                                                                   strict=True)}
    if not any(n.entry for n in nodes.values()):
        raise refuse(("nodes",), "no entry node")
    if not any(n.asset for n in nodes.values()):
        raise refuse(("nodes",), "no asset node")
    steps: list[Step] = []
    for index, s in enumerate(spec.steps):
        if not s.sources:
            raise refuse(("steps", index, "from"), "from must name nodes and to one node")
        for n in (*s.sources, s.to):
            if n not in nodes:
                raise refuse(("steps", index), f"unknown node {n!r}")
        for c_ in s.blocked_by:
            if c_ not in controls:
                raise refuse(("steps", index, "blocked_by"), f"unknown control {c_!r}")
        steps.append(Step(index, tuple(dict.fromkeys(s.sources)), s.to, tuple(dict.fromkeys(s.blocked_by)),
                          s.description))
    known = {i for c in controls.values() for i in c.built_on}
    inputs: dict[str, InputClass] = {}
    for iname, k in zip(names.get("input_classes", []), spec.input_classes, strict=True):
        if not iname.strip():
            raise refuse(("input_classes", iname), "an input class needs a name")
        if not k.defeats:
            raise refuse(("input_classes", iname), f"input class {iname} defeats no implementation")
        for impl in k.defeats:
            if impl not in known:
                raise refuse(("input_classes", iname), f"input class {iname} defeats {impl!r}, which no control "
                             "is built_on")
        inputs[iname] = InputClass(iname, tuple(dict.fromkeys(k.defeats)), k.description)
    policy = data.get("policy")
    min_failures = spec.policy.min_failures if isinstance(policy, dict) and "min_failures" in policy else None
    return Model(spec.name, controls, nodes, tuple(steps), min_failures, spec.description, _closure(controls, source), inputs)


def _closure(controls: dict[str, Control], source: str = "model") -> dict[str, frozenset[str]]:
    """For each control, every control whose failure fails it (itself and its depends_on, transitively).
    Bounded: a chain of n controls each depending on the one before has n^2/2 members in all (4,000
    controls in 114 KB made 8 million and 425 MB), so more than CLOSURE members is a refusal."""
    out: dict[str, frozenset[str]] = {}
    total = 0
    for name in controls:
        seen = {name}
        stack = [name]
        while stack:
            for dep in controls[stack.pop()].depends_on:
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        total += len(seen)
        if total > CLOSURE:
            raise ModelError(f"{source}: controls: the depends_on chains are too long (more than {CLOSURE} "
                             "transitive dependencies in all)", Rule.OUT_OF_BOUNDS)
        out[name] = frozenset(seen)
    return out


def load_model(path: str | Path) -> Model:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read: {exc}") from None
    return parse_model(text, str(path))
