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

`compose` reads the YAML (libyaml's events) into a slim node tree with its bounds checked while
it is read (size, nodes, depth, items per list or mapping), plain scalars as YAML 1.2 (a YAML 1.1
number form refused), no aliases, only core tags, mapping keys text. The shape (sections, fields,
types, bounds) is a schema of frozen dataclasses (`ModelSpec`) read by the one typed configuration
loader (`config_schema.build`), each refusal at the line `node_lines` finds in the node tree;
`parse_model` keeps the checks across parts (names, unknown nodes and controls, no entry or asset,
what an input class defeats).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from ..config_schema import Path_, Rule, SchemaError, build, dotted, nearest_line, setting, value_words
from ..errors import ConfigError
from ..safefile import read_text_file


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
    source: str = "model"  # the file it was read from, for the analysis's refusals

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


class _Node:
    """One composed YAML node, slim (a model may have a million): `kind` is "scalar", "seq" or
    "map"; a scalar's `value` is already its Python value (`text` keeps what was written), a
    list's its nodes, a mapping's its (key, value) node pairs."""

    __slots__ = ("kind", "line", "text", "value")

    def __init__(self, kind: str, line: int, value: Any, text: str = "") -> None:
        self.kind, self.line, self.value, self.text = kind, line, value, text


def _line(node: Any) -> int:
    """The line (1-based) of a composed node, ours or yaml's."""
    return node.line if isinstance(node, _Node) else int(node.start_mark.line) + 1


def _kind(node: Any) -> str:
    if isinstance(node, _Node):
        return node.kind
    return "map" if isinstance(node, yaml.MappingNode) else "seq" if isinstance(node, yaml.SequenceNode) else "scalar"


MAX_MODEL_BYTES = 8 << 20  # the largest benchmark model (100,000 steps, a control each) is 7.7 MB
MAX_MODEL_NODES = 1_500_000  # YAML nodes (scalars, lists, mappings); that model has 1.2 million
MAX_MODEL_DEPTH = 32  # nesting; a model needs about five levels
SECTIONS = frozenset({"controls", "nodes", "steps", "input_classes"})  # may hold up to ENTRIES items

# Plain scalars are read as the YAML 1.2 core schema, decimal only; a number form YAML 1.1 reads
# otherwise (1:30 is 90, 017 is 15, 0x10, 1_000, 2026-12-06 a date, << a merge) is refused: it
# would be a different value to another reader. Quoted, each is text. yes/no/on/off/y/n are text
# (a node may be named y) and refused where a boolean is wanted (`_why_not_bool`).
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_YAML11_BOOL = re.compile(r"y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF")  # text; refused as a boolean
_YAML11 = re.compile(r"""<<|=
    |[-+]?0[bB][0-9_]*|[-+]?0[oO][0-9_]*|[-+]?0[xX][0-9a-fA-F_]*
    |[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?
    |[-+]?0[0-9_]+
    |[-+]?(?=[0-9.]*_)[0-9._]++(?:[eE][-+]?[0-9_]+)?  # [0-9._] holding a _: linear (was [0-9._]*_[0-9._]*)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+).*)?""", re.VERBOSE)
_CORE_TAGS = {"tag:yaml.org,2002:" + t: t for t in ("str", "int", "float", "bool", "null", "seq", "map")}


def _cut(value: str) -> str:
    """A value quoted in a message: at most 80 characters of it."""
    return value if len(value) <= 80 else value[:80] + f"... ({len(value)} characters)"


def _scalar(value: str, tag: str, path: Path_, line: int, source: str) -> Any:
    """A scalar's value: `tag` "str" (quoted, or tagged !!str), "" (plain: resolved) or another
    core scalar tag the text must match; refused when a YAML 1.1 reader would read it otherwise."""
    if len(value) > TEXT:  # before any regex: no pattern runs on more than TEXT characters
        raise ModelError(f"{_at(source, line, path)}must be text of at most {TEXT} characters",
                         Rule.OUT_OF_BOUNDS, path)
    if tag == "str":
        return value
    if not tag and _YAML11.fullmatch(value):
        raise ModelError(f"{_at(source, line, path)}{_cut(value)} is read differently by YAML 1.1 and 1.2 "
                         f"readers: quote it (\"{_cut(value)}\") for text, or write a decimal number, true, false "
                         "or null", Rule.SYNTAX, path)
    if _NOT_FINITE.fullmatch(value):
        raise ModelError(f"{_at(source, line, path)}numbers must be finite, not {_cut(value)!r}", Rule.OUT_OF_BOUNDS, path)
    for kind, pattern, make in (("null", _NULL, lambda _: None), ("bool", _TRUE, lambda _: True),
                                ("bool", _FALSE, lambda _: False), ("int", _INT, int), ("float", _FLOAT, float)):
        if pattern.fullmatch(value) and tag in ("", kind):
            try:
                number = make(value)
            except ValueError:  # an integer over Python's 4,300-digit string limit
                raise ModelError(f"{_at(source, line, path)}a number too large to read",
                                 Rule.OUT_OF_BOUNDS, path) from None
            if isinstance(number, float) and not math.isfinite(number):
                raise ModelError(f"{_at(source, line, path)}numbers must be finite, not {_cut(value)!r}",
                                 Rule.OUT_OF_BOUNDS, path)
            return number
    if tag:
        raise ModelError(f"{_at(source, line, path)}{_cut(value)!r} is not a YAML 1.2 {tag} (decimal numbers, "
                         "true/false, null)", Rule.WRONG_TYPE, path)
    return value


def _at(source: str, line: int, path: Path_) -> str:
    """The start of a message: the file, the line, the key path (made only for a refusal)."""
    return f"{source}: line {line}: {_shown(path)}: " if path else f"{source}: line {line}: "


def _node_of(event: Any, path: Path_, line: int, source: str) -> _Node:
    """One YAML event as a `_Node`: only the core tags, each on its kind; plain scalars by YAML 1.2."""
    tag = event.tag if event.tag not in (None, "!") else ""
    if tag and tag not in _CORE_TAGS:
        raise ModelError(f"{_at(source, line, path)}the tag {tag} is not allowed (only !!str, !!int, "
                         "!!float, !!bool, !!null, !!seq, !!map)", Rule.INVALID, path)
    if isinstance(event, yaml.ScalarEvent):
        want = _CORE_TAGS.get(tag, "str" if event.tag == "!" or event.style else "")
        if want in ("seq", "map"):
            raise ModelError(f"{_at(source, line, path)}the tag {tag} on a scalar", Rule.INVALID, path)
        node = _Node("scalar", line, _scalar(event.value, want, path, line, source), event.value)
    elif isinstance(event, yaml.SequenceStartEvent):
        if tag not in ("", "tag:yaml.org,2002:seq"):
            raise ModelError(f"{_at(source, line, path)}the tag {tag} on a list", Rule.INVALID, path)
        node = _Node("seq", line, [])
    else:
        if tag not in ("", "tag:yaml.org,2002:map"):
            raise ModelError(f"{_at(source, line, path)}the tag {tag} on a mapping", Rule.INVALID,
                             path)
        node = _Node("map", line, [])
    return node


_DIRECTIVE = re.compile(r"(?:\A\ufeff?|[\n\r\x85\u2028\u2029])%")  # a line starting with %: %YAML, %TAG
_ODD_BREAK = re.compile(r"[\x85\u2028\u2029]|\r(?!\n)")  # a line break to libyaml, none to most editors


def _before_yaml(text: str, source: str) -> None:
    """Refused before libyaml reads a byte: YAML directives (%TAG cost libyaml quadratic time before
    its first event; %YAML 1.1 would be read as 1.2 here and as 1.1 elsewhere), and line breaks
    other than LF and CR LF (libyaml counts U+0085, U+2028, U+2029 and a lone CR as line breaks,
    also inside quoted text, so every later line it named was not the editor's). Both searches are
    linear; the line named counts LFs."""
    for pattern, problem in (
            (_DIRECTIVE, "YAML directives (%YAML, %TAG) are not allowed in a model"),
            (_ODD_BREAK, "only LF or CR LF may break a line (not U+0085, U+2028, U+2029 or a lone CR)")):
        found = pattern.search(text)
        if found is not None:
            at = found.end() - 1 if pattern is _DIRECTIVE else found.start()
            raise ModelError(f"{source}: line {text.count(chr(10), 0, at) + 1}: {problem}", Rule.SYNTAX)


def compose(text: str, source: str = "model") -> _Node | None:
    """The YAML document in `text` as a tree of `_Node`s (None: empty), bounded WHILE it is read:
    at most MAX_MODEL_NODES nodes, MAX_MODEL_DEPTH levels, ENTRIES items in a top-level section
    and NAMES in any other list or mapping, so a hostile file is refused before it costs memory;
    no aliases (how a few hundred bytes become gigabytes), no tags but the core ones, mapping keys
    text, plain scalars as YAML 1.2 (`_scalar`). Every refusal a ModelError naming the line and
    the key path."""
    # each open collection: [node, path, key node awaiting its value (mappings), items so far]
    stack: list[list[Any]] = []
    root: _Node | None = None
    count = 0
    _before_yaml(text, source)
    events = yaml.parse(text, Loader=_LOADER)
    try:
        for event in events:
            if isinstance(event, (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)):
                continue
            line = int(event.start_mark.line) + 1
            if isinstance(event, yaml.DocumentStartEvent):
                if root is not None:
                    raise ModelError(f"{source}: line {line}: a model is one YAML document", Rule.SYNTAX)
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                done = stack.pop()[0]
                if not stack:
                    root = done
                continue
            top = stack[-1] if stack else None
            path: Path_ = ()
            if top is not None:
                path = (*top[1], len(top[0].value)) if top[0].kind == "seq" else \
                    (*top[1], top[2].value) if top[2] is not None else top[1]
            if isinstance(event, yaml.AliasEvent):
                raise ModelError(f"{_at(source, line, path)}YAML aliases are not allowed in a model",
                                 Rule.INVALID, path)
            count += 1
            if count > MAX_MODEL_NODES:
                raise ModelError(f"{_at(source, line, path)}the model has more than {MAX_MODEL_NODES} YAML nodes",
                                 Rule.OUT_OF_BOUNDS, path)
            if len(stack) >= MAX_MODEL_DEPTH:
                raise ModelError(f"{_at(source, line, path)}the model is nested deeper than {MAX_MODEL_DEPTH} "
                                 "levels", Rule.OUT_OF_BOUNDS, path)
            node = _node_of(event, path, line, source)
            if top is None:
                root = node
            elif top[0].kind == "seq":
                top[0].value.append(node)
            elif top[2] is None:  # a key
                if node.kind != "scalar" or not isinstance(node.value, str):
                    what = "a list" if node.kind == "seq" else "a mapping" if node.kind == "map" else \
                        _word(node.value)
                    raise ModelError(f"{_at(source, line, path)}a key must be a name (text), not {what}: quote "
                                     f"it", Rule.WRONG_TYPE, path)
                top[2] = node
            else:
                top[0].value.append((top[2], node))
                top[2] = None
            if top is not None and not (top[2] is not None and top[0].kind == "map"):
                top[3] += 1
                limit = ENTRIES if len(top[1]) == 1 and top[1][0] in SECTIONS else NAMES
                if top[3] > limit:
                    raise ModelError(f"{source}: line {line}: {_shown(top[1]) or 'the model'}: more than {limit} "
                                     "items", Rule.OUT_OF_BOUNDS, top[1])
            if node.kind != "scalar":
                stack.append([node, path, None, 0])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise ModelError(f"{source}: {at}bad YAML ({getattr(exc, 'problem', None) or exc})", Rule.SYNTAX) from None
    finally:
        events.close()
    return root


def _word(value: Any) -> str:
    """A value's YAML type words: null, true, false, a number (1), text, a list, a mapping."""
    return value_words(value).replace("a mapping (table)", "a mapping")


def node_lines(root: Any) -> dict[Path_, int]:
    """The line of every key path in a composed YAML document (`compose`'s or yaml's nodes; mapping
    keys by their text, list items by their index), the map `signward.config_schema.load_data` takes
    to name a refusal's line. Walked without recursion; bounded (a node met twice, through an alias,
    once; nothing deeper than MAX_MODEL_DEPTH, at most MAX_MODEL_NODES paths)."""
    found: dict[Path_, int] = {}
    seen: set[int] = set()
    stack: list[tuple[Any, Path_]] = [(root, ())]
    while stack and len(found) < MAX_MODEL_NODES:
        node, path = stack.pop()
        if id(node) in seen or len(path) >= MAX_MODEL_DEPTH:
            continue
        seen.add(id(node))
        children: list[tuple[Path_, int, Any]] = []
        if _kind(node) == "map":
            children = [((*path, str(k.value)), _line(k), v) for k, v in node.value if _kind(k) == "scalar"]
        elif _kind(node) == "seq":
            children = [((*path, i), _line(v), v) for i, v in enumerate(node.value)]
        for child_path, line, _ in children:
            found.setdefault(child_path, line)
        stack.extend((child, child_path) for child_path, _, child in reversed(children))
    return found


class _Lines(Mapping[Path_, int]):
    """`node_lines(root)`, walked only when a refusal needs a line (a good model never does)."""

    def __init__(self, root: _Node) -> None:
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


def _data(node: _Node, source: str, path: Path_ = ()) -> Any:
    """The node tree as plain data, mapping keys as their text (`compose` refused every key that is
    not); a key twice refused at its line. Recursion is bounded by MAX_MODEL_DEPTH."""
    if node.kind == "map":
        out: dict[str, Any] = {}
        for key, value in node.value:
            if key.value in out:
                where = f"{_shown(path)}: " if path else ""
                raise ModelError(f"{source}: line {_line(key)}: {where}{_cut(str(key.value))!r} appears twice in the same "
                                 "mapping", Rule.INVALID, (*path, key.value))
            out[str(key.value)] = _data(value, source, (*path, key.value))
        return out
    if node.kind == "seq":
        return [_data(child, source, (*path, i)) for i, child in enumerate(node.value)]
    return node.value


_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format (zero-width), unassigned


def name_problem(name: object) -> str | None:
    """Why `name` cannot name a control, node, step end or implementation (None: it can): a name is
    text in NFC of at most TEXT characters, none of them control, format (U+200B, U+FEFF, U+2060),
    private-use, unassigned or line/paragraph separators, none default-ignorable or a blank filler
    (U+034F, U+FE0F, U+3164, U+FFA0, U+115F, U+2800: a twin of another name, or a name of nothing),
    with a letter, digit, mark, symbol or punctuation, starting with one that is not a mark, no space
    at either end and no space but U+0020 (U+00A0 would make a twin of a name with U+0020)."""
    if not isinstance(name, str):
        return f"a name must be text, not {_word(name)}"
    if not name or not name.strip():
        return "a name must not be empty or only spaces"
    if len(name) > TEXT:
        return f"a name must be at most {TEXT} characters"
    if name != name.strip():
        return f"the name {_cut(name)!r} starts or ends with a space"
    bad = next((c for c in name if unicodedata.category(c) in _INVISIBLE), None)
    if bad is not None:
        return f"the name {_cut(name)!r} holds the invisible character U+{ord(bad):04X}"
    bad = next((c for c in name if _ignorable(c)), None)
    if bad is not None:
        return f"the name '{_shown((name,))}' holds U+{ord(bad):04X}, a filler or default-ignorable character"
    if not any(unicodedata.category(c)[0] in "LMNPS" for c in name):
        return f"the name '{_shown((name,))}' holds no letter, digit, mark, symbol or punctuation"
    bad = next((c for c in name if unicodedata.category(c) == "Zs" and c != " "), None)
    if bad is not None:  # "a b" and "a<U+00A0>b" would be two names shown alike
        return f"the name '{_shown((name,))}' holds the space U+{ord(bad):04X}: only U+0020 may space a name"
    if unicodedata.category(name[0])[0] not in "LNPS":  # a lone combining mark shows on what precedes it
        return (f"the name '{_shown((name,))}' starts with the mark U+{ord(name[0]):04X}: a name starts with a "
                "letter, digit, symbol or punctuation")
    if not unicodedata.is_normalized("NFC", name):
        return f"the name {_cut(name)!r} is not in Unicode NFC (write it composed)"
    return None


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt; shown as nothing, or as the
# character before them), and the fillers that render blank: U+2800 BRAILLE PATTERN BLANK
_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
              (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
              (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
              (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))


def _ignorable(char: str) -> bool:
    """A default-ignorable code point or a blank filler (U+3164, U+FFA0, U+115F, U+2800, U+034F)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE)


TEXT = 1 << 16  # characters of a name or a description
NAMES = 10_000  # names in one list (depends_on, built_on, from, blocked_by, defeats)
ENTRIES = 1_000_000  # controls, nodes, steps or input classes in one model
MIN_COST_TEXT = "0.000001"  # MIN_COST exactly: every cost a whole multiple of it
MIN_COST = 1e-6  # the solver's resolution (maxsat.MAX_SCALE): a finer positive cost would weigh 0, a free control
CLOSURE = 2_000_000  # members of every control's transitive depends_on set together (chains grow it n^2/2)
MAX_ASSETS = 1_000  # asset nodes in one model
CLOSURE_EDGES = 10_000_000  # depends_on edges `_closure` follows in all (hubs depending on each other)


@dataclass(frozen=True)
class ControlSpec:
    """One entry of `controls:` as written (its name is its key)."""

    description: str = setting("", "what the control does", max_len=TEXT)
    cost: float = setting(1.0, "what failing it costs an attacker", min=MIN_COST)
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
    bare: set[int] = set()
    for section in _NAMED:
        value = data.get(section)
        if value is None and section in data:
            value = data[section] = {}
        if section in data and not isinstance(value, dict):
            raise ModelError(f"{source}: line {nearest_line(lines, (section,)) or 1}: {section} must be a mapping of "
                             f"names, not {_word(value)}", Rule.WRONG_TYPE, (section,))
        if isinstance(value, dict):
            names[section] = list(value)
            entries = [{} if v is None else v for v in value.values()]
            if section == "input_classes":
                bare = {i for i, v in enumerate(entries) if not isinstance(v, dict)}  # name: [defeats, ...]
                entries = [{"defeats": v} if not isinstance(v, dict) else v for v in entries]
            for name, entry in zip(value, entries, strict=True):
                if not isinstance(entry, dict):
                    raise ModelError(f"{source}: line {nearest_line(lines, (section, name)) or 1}: {_shown((section, name))} "
                                     f"must be a mapping, not {_word(entry)}", Rule.WRONG_TYPE, (section, name))
            data[section] = entries
    steps = data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            raise ModelError(f"{source}: line {nearest_line(lines, ('steps', i)) or 1}: steps[{i}] must be a mapping, "
                             f"not {_word(step)}",
                             Rule.WRONG_TYPE, ("steps", i))
    if "steps" in data and not isinstance(steps, list):
        raise ModelError(f"{source}: line {nearest_line(lines, ('steps',)) or 1}: steps must be a list, "
                         f"not {_word(steps)}",
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
                    bad, wanted, at = value, "a name or a list of names", where
                    if isinstance(value, list):  # the item itself, at its own line
                        j = next(j for j, v in enumerate(value) if not isinstance(v, str))
                        where, bad, wanted = (*where, j), value[j], "a name"
                        at = (*where[:-2], j) if section == "input_classes" and i in bare else where
                    raise ModelError(f"{source}: line {nearest_line(lines, at) or 1}: {_shown(where)} must be "
                                     f"{wanted}, not {_word(bad)}", Rule.WRONG_TYPE, where)
    return names


def _shown(path: Path_) -> str:
    """A key path for a message, a name with invisible characters escaped (U+200B as \\u200b)."""
    return dotted(tuple(p if not isinstance(p, str) or (p.isprintable() and not any(map(_ignorable, p)))
                        else p.encode("unicode_escape").decode() for p in path))


def _why_not_bool(data: Any, error: SchemaError) -> str:
    """What to add when a YAML 1.1 boolean word (yes, off, ...) was given where true/false is wanted."""
    value = data
    for part in error.path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return ""
    if error.rule is Rule.WRONG_TYPE and isinstance(value, str) and _YAML11_BOOL.fullmatch(value):
        return f" ({value} is a boolean only in YAML 1.1: write true or false)"
    return ""


def _named_path(names: dict[str, list[str]], path: Path_) -> Path_:
    """A loader path into a named section's list (controls[0].cost) as written (controls.a.cost)."""
    if len(path) >= 2 and path[0] in names and isinstance(path[1], int) and path[1] < len(names[str(path[0])]):
        return (path[0], names[str(path[0])][path[1]], *path[2:])
    return path


# C0 and C1 controls but tab and LF, the line and paragraph separators (U+2028, U+2029: a line break
# to a browser or an editor, none to the report's text), and the bidi embeddings, overrides and
# isolates (U+202A-202E, U+2066-2069: text shown in another order than it is read)
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\u2028\u2029\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SEPARATORS = {"\u2028": "the line separator", "\u2029": "the paragraph separator"}


def _checked_texts(names: dict[str, list[str]], spec: ModelSpec, refuse: Callable[[Path_, str], ModelError]) -> None:
    """The model has a name, and no text of it (name, descriptions, probes, where) holds a control
    character other than tab and LF (NUL, ESC: an ANSI sequence rewriting the terminal it is shown on),
    a bidi control or U+2028/U+2029 (escaped in double quotes: the raw ones are refused before YAML)."""
    problem_ = name_problem(spec.name)
    if problem_ is not None:  # the model's name is shown as the others are: the same rules (not empty)
        raise refuse(("name",), problem_)
    texts: list[tuple[Path_, str]] = [(("name",), spec.name), (("description",), spec.description)]
    for cname, c in zip(names.get("controls", []), spec.controls, strict=True):
        texts += [(("controls", cname, key), getattr(c, key)) for key in ("description", "probe", "where")]
    texts += [(("nodes", n, "description"), node.description) for n, node in zip(names.get("nodes", []),
                                                                                    spec.nodes, strict=True)]
    texts += [(("steps", i, "description"), s.description) for i, s in enumerate(spec.steps)]
    texts += [(("input_classes", n, "description"), k.description)
              for n, k in zip(names.get("input_classes", []), spec.input_classes, strict=True)]
    for path, text in texts:
        found = _CONTROL_CHARS.search(text)
        if found is not None:
            what = _SEPARATORS.get(found.group(), "the control character")
            raise refuse(path, f"holds {what} U+{ord(found.group()):04X} (one line of text; a new line is LF)")


def _repeated(names: tuple[str, ...]) -> int | None:
    """The index of the first name that repeats an earlier one in the same list (None: none does)."""
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            return i
        seen.add(name)
    return None


def _checked_controls(names: dict[str, list[str]], spec: ModelSpec, refuse: Callable[[Path_, str], ModelError],
                     line: int, source: str) -> dict[str, Control]:
    """The declared names checked (`name_problem`), at least one control, and the controls with
    their `depends_on` and `built_on` names checked."""
    for section in _NAMED:
        for declared in names.get(section, []):
            problem_ = name_problem(declared)
            if problem_ is not None:
                raise refuse((section, declared), problem_)
    if not names.get("controls"):
        raise ModelError(f"{source}: line {line}: controls: a model needs at least "
                         "one control", Rule.MISSING, ("controls",))

    controls: dict[str, Control] = {}
    for cname, c in zip(names["controls"], spec.controls, strict=True):
        for key, listed in (("depends_on", c.depends_on), ("built_on", c.built_on)):
            twice = _repeated(listed)
            if twice is not None:
                raise refuse(("controls", cname, key, twice), f"{listed[twice]!r} is named twice")
        for dep in c.depends_on:
            if dep not in names["controls"]:
                raise refuse(("controls", cname, "depends_on"), f"{cname} depends on unknown control {dep!r}")
        for i, impl in enumerate(c.built_on):
            problem_ = "built_on names must not be empty" if not impl.strip() else name_problem(impl)
            if problem_ is not None:
                raise refuse(("controls", cname, "built_on", i), problem_)
        if (Fraction(repr(float(c.cost))) / Fraction(MIN_COST_TEXT)).denominator != 1:  # rounded, sets would be wrong
            where = ("controls", cname, "cost")
            raise ModelError(str(refuse(where, f"cost {c.cost!r} is finer than the solver's resolution of "
                                               f"{MIN_COST_TEXT}")), Rule.OUT_OF_BOUNDS, where)
        controls[cname] = Control(cname, c.description, c.cost, c.probe or None, c.depends_on, c.where,
                                  tuple(dict.fromkeys(c.built_on)))
    return controls


def parse_model(text: str, source: str = "model") -> Model:
    """The model in YAML `text`, or ModelError naming the line: its shape (sections, fields, types,
    bounds) by the schema above through the typed configuration loader, then the references
    between its parts (a step naming an unknown node or control, ...) here."""
    if len(text) > MAX_MODEL_BYTES or (len(text) * 4 > MAX_MODEL_BYTES
                                       and len(text.encode("utf-8", "surrogatepass")) > MAX_MODEL_BYTES):
        raise ModelError(f"{source}: larger than {MAX_MODEL_BYTES >> 20} MiB", Rule.OUT_OF_BOUNDS)
    root = compose(text, source)
    if root is None:
        raise ModelError(f"{source}: empty model", Rule.MISSING)
    data = _data(root, source)
    if not isinstance(data, dict):
        raise ModelError(f"{source}: line {_line(root)}: the model must be a mapping", Rule.WRONG_TYPE)
    lines = _Lines(root)
    names = _prepare(data, lines, source)
    try:
        spec = build(ModelSpec, data)
    except SchemaError as error:
        path = _named_path(names, error.path)
        where = _shown(path)
        problem = error.problem if not where or error.problem.startswith(where) else f"{where}: {error.problem}"
        problem += _why_not_bool(data, error)
        line = nearest_line(lines, path) or 1
        raise ModelError(f"{source}: line {line}: {problem}", error.rule, path) from None

    def refuse(path: Path_, problem: str) -> ModelError:
        where = _shown(path)
        text = problem if problem.startswith(where) else f"{where}: {problem}"
        return ModelError(f"{source}: line {nearest_line(lines, path) or 1}: {text}", Rule.INVALID, path)

    _checked_texts(names, spec, refuse)
    controls = _checked_controls(names, spec, refuse, nearest_line(lines, ("controls",)) or 1, source)
    nodes = {nname: Node(nname, n.entry, n.asset, n.description) for nname, n in zip(names["nodes"], spec.nodes,
                                                                                   strict=True)}
    if not any(n.entry for n in nodes.values()):
        raise refuse(("nodes",), "no entry node")
    if not any(n.asset for n in nodes.values()):
        raise refuse(("nodes",), "no asset node")
    if sum(n.asset for n in nodes.values()) > MAX_ASSETS:
        raise ModelError(f"{source}: line {nearest_line(lines, ('nodes',)) or 1}: nodes: more than {MAX_ASSETS} "
                         "assets (each is analyzed on the whole model)", Rule.OUT_OF_BOUNDS, ("nodes",))
    steps: list[Step] = []
    for index, s in enumerate(spec.steps):
        if not s.sources:
            raise refuse(("steps", index, "from"), "from must name nodes and to one node")
        for key, listed in (("from", s.sources), ("blocked_by", s.blocked_by)):
            twice = _repeated(listed)
            if twice is not None:
                raise refuse(("steps", index, key, twice), f"{listed[twice]!r} is named twice")
        ends: list[tuple[Path_, str]] = [(("steps", index, "from", i), n) for i, n in enumerate(s.sources)]
        for end, n in [*ends, (("steps", index, "to"), s.to)]:  # each at its item's line, with its index
            if n not in nodes:
                raise refuse(end, f"unknown node {n!r}")
        for i, c_ in enumerate(s.blocked_by):
            if c_ not in controls:
                raise refuse(("steps", index, "blocked_by", i), f"unknown control {c_!r}")
        steps.append(Step(index, tuple(dict.fromkeys(s.sources)), s.to, tuple(dict.fromkeys(s.blocked_by)),
                          s.description))
    known = {i for c in controls.values() for i in c.built_on}
    inputs: dict[str, InputClass] = {}
    for iname, k in zip(names.get("input_classes", []), spec.input_classes, strict=True):
        if not k.defeats:
            raise refuse(("input_classes", iname), f"input class {iname} defeats no implementation")
        twice = _repeated(k.defeats)
        if twice is not None:
            raise refuse(("input_classes", iname, "defeats", twice), f"{k.defeats[twice]!r} is named twice")
        for impl in k.defeats:
            if impl not in known:
                raise refuse(("input_classes", iname), f"input class {iname} defeats {impl!r}, which no control "
                             "is built_on")
        inputs[iname] = InputClass(iname, tuple(dict.fromkeys(k.defeats)), k.description)
    units_ = {f"impl:{i}" for i in known} | {f"input:{i}" for i in inputs}  # common.IMPL, common.INPUT
    clash = next((c for c in controls if c in units_), None)
    if clash is not None:  # the unit and the control would be one name in the failing sets
        raise refuse(("controls", clash), f"a control is named {clash!r}, the name of a failure unit")
    policy = data.get("policy")
    min_failures = spec.policy.min_failures if isinstance(policy, dict) and "min_failures" in policy else None
    return Model(spec.name, controls, nodes, tuple(steps), min_failures, spec.description, _closure(controls, source), inputs,
                 source)


def _closure(controls: dict[str, Control], source: str = "model") -> dict[str, frozenset[str]]:
    """For each control, every control whose failure fails it (itself and its depends_on, transitively).
    Bounded: a chain of n controls each depending on the one before has n^2/2 members in all (4,000
    controls in 114 KB made 8 million and 425 MB), so more than CLOSURE members is a refusal."""
    out: dict[str, frozenset[str]] = {}
    total = edges = 0
    for name in controls:
        seen = {name}
        stack = [name]
        while stack:
            depends_on = controls[stack.pop()].depends_on
            edges += len(depends_on)
            if edges > CLOSURE_EDGES:
                raise ModelError(f"{source}: controls: the depends_on graph is too dense (more than "
                                 f"{CLOSURE_EDGES} dependencies followed in all)", Rule.OUT_OF_BOUNDS)
            for dep in depends_on:
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
    """The model in the file at `path`: a regular file of at most MAX_MODEL_BYTES, counted while it
    is read (a FIFO, a device, /dev/zero refused without reading), UTF-8, line breaks as written."""
    try:
        text = read_text_file(path, MAX_MODEL_BYTES)
    except ValueError as exc:
        too_large = str(exc).startswith("larger than")
        raise ModelError(f"{path}: cannot read: {exc}", Rule.OUT_OF_BOUNDS if too_large else Rule.INVALID) from None
    return parse_model(text, str(path))
