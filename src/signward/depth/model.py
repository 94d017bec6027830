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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError


class ModelError(ConfigError):
    """A malformed model: the message names the line."""


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


def _mapping(node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, int]]:
    if not isinstance(node, yaml.MappingNode):
        raise ModelError(f"line {_line(node)}: {what} must be a mapping")
    out = []
    seen: set[str] = set()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise ModelError(f"line {_line(key)}: {what} keys must be names")
        if key.value in seen:
            raise ModelError(f"line {_line(key)}: {key.value!r} appears twice in {what}")
        seen.add(key.value)
        out.append((str(key.value), value, _line(key)))
    return out


def _plain(node: yaml.Node) -> Any:
    """A scalar, list or mapping node as plain data (safe tags only); every number finite."""
    try:
        value = yaml.constructor.SafeConstructor().construct_document(node)
    except yaml.YAMLError as exc:
        raise ModelError(f"line {_line(node)}: {getattr(exc, 'problem', None) or exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ModelError(f"line {_line(node)}: numbers must be finite, not {node.value!r}")
    return value


def _names(node: yaml.Node | None, what: str) -> tuple[str, ...]:
    if node is None:
        return ()
    value = _plain(node)
    if isinstance(value, str):
        return (value,)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ModelError(f"line {_line(node)}: {what} must be a name or a list of names")
    return tuple(value)


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
            raise ModelError(f"{source}: line {_line(node)}: YAML aliases are not allowed in a model")
        seen.add(id(node))
        if depth > MAX_MODEL_DEPTH or len(seen) > MAX_MODEL_NODES:
            raise ModelError(f"{source}: line {_line(node)}: the model is nested deeper than {MAX_MODEL_DEPTH} "
                             f"levels or has more than {MAX_MODEL_NODES} nodes")
        if node.tag.startswith("tag:yaml.org,2002:python"):  # on scalars, lists and mappings alike
            raise ModelError(f"{source}: line {_line(node)}: the tag {node.tag} is not allowed")
        if isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def node_lines(root: yaml.Node) -> dict[tuple[str | int, ...], int]:
    """The line of every key path in a composed YAML document (mapping keys by their text, list
    items by their index), the map `signward.config_schema.load_data` takes to name a refusal's line.
    Walked without recursion; bounded like `_check_shape` (a node met twice, through an alias, once;
    nothing deeper than MAX_MODEL_DEPTH, at most MAX_MODEL_NODES paths)."""
    found: dict[tuple[str | int, ...], int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[str | int, ...]]] = [(root, ())]
    while stack and len(found) < MAX_MODEL_NODES:
        node, path = stack.pop()
        if id(node) in seen or len(path) >= MAX_MODEL_DEPTH:
            continue
        seen.add(id(node))
        children: list[tuple[tuple[str | int, ...], int, yaml.Node]] = []
        if isinstance(node, yaml.MappingNode):
            children = [((*path, str(k.value)), _line(k), v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]
        elif isinstance(node, yaml.SequenceNode):
            children = [((*path, i), _line(v), v) for i, v in enumerate(node.value)]
        for child_path, line, _ in children:
            found.setdefault(child_path, line)
        stack.extend((child, child_path) for child_path, _, child in reversed(children))
    return found


def parse_model(text: str, source: str = "model") -> Model:
    """The model in YAML `text`, or ModelError naming the line. Long: one pass over the YAML node
    tree keeps each refusal next to the line it names (until the typed configuration loader, #37)."""
    if len(text) > MAX_MODEL_BYTES:
        raise ModelError(f"{source}: larger than {MAX_MODEL_BYTES >> 20} MiB")
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise ModelError(f"{source}: {at}bad YAML ({getattr(exc, 'problem', None) or exc})") from None
    except RecursionError:
        raise ModelError(f"{source}: nested too deeply") from None
    if root is None:
        raise ModelError(f"{source}: empty model")
    _check_shape(root, source)
    top = {k: (v, line) for k, v, line in _mapping(root, "the model")}
    unknown = set(top) - {"name", "description", "policy", "controls", "nodes", "steps", "input_classes"}
    if unknown:
        k = sorted(unknown)[0]
        raise ModelError(f"{source}: line {top[k][1]}: unknown section {k!r}")
    for required in ("name", "controls", "nodes", "steps"):
        if required not in top:
            raise ModelError(f"{source}: line 1: missing section {required!r}")
    name = _plain(top["name"][0])
    if not isinstance(name, str):
        raise ModelError(f"{source}: line {top['name'][1]}: name must be a string")

    controls: dict[str, Control] = {}
    control_entries = _mapping(top["controls"][0], "controls")
    control_names = {c for c, _, _ in control_entries}
    for cname, cnode, line in control_entries:
        fields = {k: (v, ln) for k, v, ln in _mapping(cnode, f"control {cname}")} if not (
            isinstance(cnode, yaml.ScalarNode) and cnode.value in ("", "~", "null")) else {}
        bad = set(fields) - {"description", "cost", "probe", "depends_on", "where", "built_on"}
        if bad:
            k = sorted(bad)[0]
            raise ModelError(f"{source}: line {fields[k][1]}: unknown field {k!r} in control {cname}")
        cost = _plain(fields["cost"][0]) if "cost" in fields else 1
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not cost > 0:
            raise ModelError(f"{source}: line {line}: cost of {cname} must be a positive number")
        probe = _plain(fields["probe"][0]) if "probe" in fields else None
        if probe is not None and not isinstance(probe, str):
            raise ModelError(f"{source}: line {fields['probe'][1]}: probe must be a string")
        controls[cname] = Control(cname, str(_plain(fields["description"][0]) or "") if "description" in fields else "",
                                  float(cost), probe,
                                  _names(fields["depends_on"][0], "depends_on") if "depends_on" in fields else (),
                                  str(_plain(fields["where"][0]) or "") if "where" in fields else "",
                                  _implementations(fields["built_on"], source) if "built_on" in fields else ())
        for dep in controls[cname].depends_on:
            if dep not in control_names:
                raise ModelError(f"{source}: line {fields['depends_on'][1]}: {cname} depends on unknown control {dep!r}")

    nodes: dict[str, Node] = {}
    for nname, nnode, _ in _mapping(top["nodes"][0], "nodes"):
        fields = {k: (v, ln) for k, v, ln in _mapping(nnode, f"node {nname}")} if not (
            isinstance(nnode, yaml.ScalarNode) and nnode.value in ("", "~", "null")) else {}
        bad = set(fields) - {"entry", "asset", "description"}
        if bad:
            k = sorted(bad)[0]
            raise ModelError(f"{source}: line {fields[k][1]}: unknown field {k!r} in node {nname}")
        flags = {}
        for flag in ("entry", "asset"):
            value = _plain(fields[flag][0]) if flag in fields else False
            if not isinstance(value, bool):
                raise ModelError(f"{source}: line {fields[flag][1]}: {flag} must be true or false")
            flags[flag] = value
        nodes[nname] = Node(nname, flags["entry"], flags["asset"],
                            str(_plain(fields["description"][0]) or "") if "description" in fields else "")
    if not any(n.entry for n in nodes.values()):
        raise ModelError(f"{source}: line {top['nodes'][1]}: no entry node")
    if not any(n.asset for n in nodes.values()):
        raise ModelError(f"{source}: line {top['nodes'][1]}: no asset node")

    steps_node = top["steps"][0]
    if not isinstance(steps_node, yaml.SequenceNode):
        raise ModelError(f"{source}: line {_line(steps_node)}: steps must be a list")
    steps: list[Step] = []
    for index, snode in enumerate(steps_node.value):
        fields = {k: (v, ln) for k, v, ln in _mapping(snode, f"step {index + 1}")}
        line = _line(snode)
        bad = set(fields) - {"from", "to", "blocked_by", "description"}
        if bad:
            k = sorted(bad)[0]
            raise ModelError(f"{source}: line {fields[k][1]}: unknown field {k!r} in a step")
        if "from" not in fields or "to" not in fields:
            raise ModelError(f"{source}: line {line}: a step needs from and to")
        sources = _names(fields["from"][0], "from")
        target = _plain(fields["to"][0])
        if not sources or not isinstance(target, str):
            raise ModelError(f"{source}: line {line}: from must name nodes and to one node")
        for n in (*sources, target):
            if n not in nodes:
                raise ModelError(f"{source}: line {line}: unknown node {n!r}")
        blocked = _names(fields["blocked_by"][0], "blocked_by") if "blocked_by" in fields else ()
        for c in blocked:
            if c not in controls:
                raise ModelError(f"{source}: line {fields['blocked_by'][1]}: unknown control {c!r}")
        desc = str(_plain(fields["description"][0]) or "") if "description" in fields else ""
        steps.append(Step(index, tuple(dict.fromkeys(sources)), target, tuple(dict.fromkeys(blocked)), desc))

    min_failures = None
    if "policy" in top:
        policy = {k: (v, ln) for k, v, ln in _mapping(top["policy"][0], "policy")}
        if set(policy) - {"min_failures"}:
            raise ModelError(f"{source}: line {top['policy'][1]}: policy knows only min_failures")
        if "min_failures" in policy:
            value = _plain(policy["min_failures"][0])
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ModelError(f"{source}: line {policy['min_failures'][1]}: min_failures must be a number >= 0")
            min_failures = float(value)
    description = str(_plain(top["description"][0]) or "") if "description" in top else ""
    inputs = _input_classes(top["input_classes"][0], controls, source) if "input_classes" in top else {}
    return Model(name, controls, nodes, tuple(steps), min_failures, description, _closure(controls), inputs)


def _implementations(field_: tuple[yaml.Node, int], source: str) -> tuple[str, ...]:
    names = _names(field_[0], "built_on")
    if any(not n.strip() for n in names):
        raise ModelError(f"{source}: line {field_[1]}: built_on names must not be empty")
    return tuple(dict.fromkeys(names))


def _input_classes(node: yaml.Node, controls: dict[str, Control], source: str) -> dict[str, InputClass]:
    """`name: [implementation, ...]` or `name: {defeats: [...], description: ...}`; each
    implementation named must be one that some control is built on."""
    known = {i for c in controls.values() for i in c.built_on}
    out: dict[str, InputClass] = {}
    for iname, inode, line in _mapping(node, "input_classes"):
        if not iname.strip():
            raise ModelError(f"{source}: line {line}: an input class needs a name")
        description = ""
        if isinstance(inode, yaml.MappingNode):
            fields = {k: (v, ln) for k, v, ln in _mapping(inode, f"input class {iname}")}
            bad = set(fields) - {"defeats", "description"}
            if bad or "defeats" not in fields:
                raise ModelError(f"{source}: line {line}: input class {iname} needs defeats (and at most a "
                                 "description)")
            defeats = _names(fields["defeats"][0], "defeats")
            if "description" in fields:
                description = str(_plain(fields["description"][0]) or "")
        else:
            defeats = _names(inode, f"input class {iname}")
        if not defeats:
            raise ModelError(f"{source}: line {line}: input class {iname} defeats no implementation")
        for impl in defeats:
            if impl not in known:
                raise ModelError(f"{source}: line {line}: input class {iname} defeats {impl!r}, which no control "
                                 "is built_on")
        out[iname] = InputClass(iname, tuple(dict.fromkeys(defeats)), description)
    return out


def _closure(controls: dict[str, Control]) -> dict[str, frozenset[str]]:
    """For each control, every control whose failure fails it (itself and its depends_on, transitively)."""
    out: dict[str, frozenset[str]] = {}
    for name in controls:
        seen = {name}
        stack = [name]
        while stack:
            for dep in controls[stack.pop()].depends_on:
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        out[name] = frozenset(seen)
    return out


def load_model(path: str | Path) -> Model:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read: {exc}") from None
    return parse_model(text, str(path))
