"""The one typed configuration loader: a TOML document into frozen dataclasses by their schema.

A schema is a frozen dataclass whose fields are declared with `setting(default, doc, ...)`
(type from the annotation; bounds, choices, a duration form, a TOML key name other than the
field's, a doc line). Fields of a dataclass type are `[tables]`; `tuple[Dataclass, ...]` fields
are arrays of tables (`[[name]]`). `load(cls, text, source)` refuses, as one `SchemaError` (a
`ConfigError`) naming the file, the LINE of the offending key and the `Rule` that refused:
unknown keys (with the near-miss name as a hint), renamed keys (with the new name), wrong
types, values out of bounds, missing required keys. tomllib gives no line numbers, so
`key_lines(text)` walks the TOML source itself (headers, arrays of tables, dotted and quoted
keys, inline tables, arrays of inline tables) and maps every key path to its line.
`load_data(cls, data, lines, source)` is the same loader for data another reader has parsed
(the depth models' YAML), given that reader's key path -> line map.

`reference(cls)` lists every key of a schema (path, type, default, bounds, doc line) for the
generated configuration reference; `insecure_settings(cls)` the `insecure_` opt-ins.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import math
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .config_values import MAX_DURATION, OutOfRange, parse_duration
from .errors import ConfigError

T = TypeVar("T")
Path_ = tuple[str | int, ...]
MAX_TEXT = 4096  # a text setting without a declared bound
MAX_ITEMS = 64  # a list or an array of tables without a declared bound
MAX_DEPTH = 16  # nested tables a schema may declare
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1 controls but tab, LF, CR


class Rule(enum.Enum):
    """Why a configuration was refused."""

    SYNTAX = "syntax"  # not TOML (tomllib's message, which names the line)
    UNKNOWN_KEY = "unknown_key"
    RENAMED = "renamed"
    WRONG_TYPE = "wrong_type"
    OUT_OF_BOUNDS = "out_of_bounds"
    MISSING = "missing"
    INVALID = "invalid"  # a check across keys, or a value of the right type and range that is still bad


class SchemaError(ConfigError):
    """A refused configuration: `rule`, the key `path`, the `line` (None: not located) and the file."""

    def __init__(self, rule: Rule, path: Path_, problem: str, source: str = "", line: int | None = None) -> None:
        self.rule, self.path, self.problem, self.source, self.line = rule, path, problem, source, line
        where = dotted(path)
        text = f"{where}: {problem}" if where and not problem.startswith(where) else problem
        place = f"{source}:{line}: " if source and line else f"{source}: " if source else ""
        super().__init__(place + text)

    def located(self, source: str, text: str) -> SchemaError:
        """The same refusal with the file name and the line of its key in `text`."""
        return SchemaError(self.rule, self.path, self.problem, source, line_of(text, self.path))


def dotted(path: Path_) -> str:
    """('route', 1, 'audience') -> 'route[1].audience'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def setting(default: Any = dataclasses.MISSING, doc: str = "", *, min: float | None = None,  # noqa: A002
            max: float | None = None, above: float | None = None, choices: tuple[str, ...] = (), duration: bool = False,  # noqa: A002
            key: str = "", max_len: int | None = None, pattern: str = "", allow_zero: bool = True) -> Any:
    """A declared setting: its default (none: required), doc line, bounds (numbers: min/max, or
    `above` for a strict lower bound; text and lists: max_len), allowed `choices`, `duration`
    (also '15m', '1h'), a `pattern` for text, its TOML `key`."""
    if duration and max is None:  # every duration has an upper bound (100 years unless declared)
        max = MAX_DURATION  # noqa: A001
    meta = {"doc": doc, "min": min, "max": max, "above": above, "choices": choices, "duration": duration, "key": key,
            "max_len": max_len, "pattern": pattern, "allow_zero": allow_zero}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class Key:
    """One key of a schema, for the reference."""

    path: str  # e.g. "hsm.sessions", "route[].audience"
    type: str
    default: str  # "" when required
    bounds: str
    doc: str
    required: bool


@functools.lru_cache(maxsize=256)
def _hints(cls: type) -> dict[str, Any]:
    """A schema's field types (cached: a model builds one schema per entry, thousands of times)."""
    return typing.get_type_hints(cls)


def _fields(cls: type) -> Iterator[tuple[dataclasses.Field[Any], str, Any]]:
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.init:
            yield f, f.metadata.get("key") or f.name, hints[f.name]


def _item_type(kind: Any) -> Any | None:
    """`X` for `tuple[X, ...]`, else None."""
    if typing.get_origin(kind) is tuple:
        args = typing.get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
    return None


def _is_schema(kind: Any) -> bool:
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def _type_name(kind: Any, meta: Any) -> str:
    item = _item_type(kind)
    if item is not None:
        return f"list of {_type_name(item, meta)}" if not _is_schema(item) else "array of tables"
    if _is_schema(kind):
        return "table"
    if meta.get("duration"):
        return "duration"
    return {bool: "bool", int: "int", float: "float", str: "text"}.get(kind, str(kind))


def value_words(value: Any) -> str:
    """What a value is, in the words of the files (TOML and YAML alike), never a Python type name:
    null, true, false, a number (1.5), text, a list, a mapping (table)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"a number ({_num(value)})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    return "a mapping (table)" if isinstance(value, dict) else "another value"


def _wanted(kind: Any) -> str:
    """What a setting of `kind` must be, in the same words as `_toml_name`."""
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    return words.get(kind, _type_name(kind, {}))


def check_value(value: Any, kind: Any, meta: Any, path: Path_) -> Any:
    """`value` (from TOML) as a `kind`, checked against the field's bounds; SchemaError if not."""
    item = _item_type(kind)
    if item is not None:
        limit = meta.get("max_len") or MAX_ITEMS
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise SchemaError(Rule.WRONG_TYPE, path, f"must be a list, not {value_words(value)}")
        if len(value) > limit:
            raise SchemaError(Rule.OUT_OF_BOUNDS, path, f"must list at most {limit} items, not {len(value)}")
        return tuple(check_value(v, item, {k: v for k, v in meta.items() if k != "max_len"}, (*path, i))
                     for i, v in enumerate(value))
    if meta.get("duration"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise SchemaError(Rule.WRONG_TYPE, path,
                              f"must be a duration (e.g. 90s, 15m, 1h), not {value_words(value)}")
        try:
            value = parse_duration(value, dotted(path), allow_zero=bool(meta.get("allow_zero", True)))
        except ConfigError as exc:
            raise SchemaError(Rule.OUT_OF_BOUNDS if isinstance(exc, OutOfRange) or isinstance(value, (int, float))
                              else Rule.WRONG_TYPE, path, str(exc)) from None
        kind = float
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:  # an integer past a float's range is past every bound
            raise SchemaError(Rule.OUT_OF_BOUNDS, path, f"must be {_bounds(meta) or 'a finite number'}, "
                              f"not an integer of {value.bit_length()} bits") from None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SchemaError(Rule.WRONG_TYPE, path, f"must be {_wanted(kind)}, not {value_words(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaError(Rule.OUT_OF_BOUNDS, path, f"must be a finite number, not {value}")
    if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
        raise SchemaError(Rule.OUT_OF_BOUNDS, path, "must not be -0.0 (write 0)")
    low, high = meta.get("min"), meta.get("max")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        above = meta.get("above")
        if ((low is not None and value < low) or (high is not None and value > high)
                or (above is not None and value <= above)):
            raise SchemaError(Rule.OUT_OF_BOUNDS, path, f"must be {_bounds(meta)}, not {_num(value)}")
    if isinstance(value, str):
        limit = meta.get("max_len") or MAX_TEXT
        if len(value) > limit:
            raise SchemaError(Rule.OUT_OF_BOUNDS, path, f"must be text of at most {limit} characters")
        control = _CONTROL_CHARS.search(value)
        if control is not None:  # NUL in a path is a ValueError in open(); ESC rewrites the terminal
            raise SchemaError(Rule.INVALID, path, f"holds the control character U+{ord(control.group()):04X}")
        if meta.get("choices") and value not in meta["choices"]:
            raise SchemaError(Rule.OUT_OF_BOUNDS, path, f"must be {_bounds(meta)}, not {quoted(value)}")
        if meta.get("pattern") and not re.fullmatch(meta["pattern"], value):
            raise SchemaError(Rule.INVALID, path, f"{quoted(value)} is not {meta.get('doc') or 'allowed'}")
    return value


def quoted(value: str) -> str:
    """A text value quoted in a message: at most 80 characters of it."""
    return repr(value) if len(value) <= 80 else f"{value[:80]!r}... ({len(value)} characters)"


def _num(value: float, duration: bool = False) -> str:
    """A bound or a value as people write it: 1000000, 0.1, 600s."""
    if isinstance(value, int) and not isinstance(value, bool):  # never float() an integer: it may overflow
        text = str(value) if value.bit_length() <= 128 else f"an integer of {value.bit_length()} bits"
    else:
        text = str(int(value)) if float(value).is_integer() else repr(value)
    return text + "s" if duration else text


def _bounds(meta: Any) -> str:
    """The value bounds of a setting (for one item, when it is a list)."""
    low, high, above = meta.get("min"), meta.get("max"), meta.get("above")
    unit = bool(meta.get("duration"))
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    if above is not None:
        more = f"more than {_num(above, unit)}"
        return f"{more} and at most {_num(high, unit)}" if high is not None else more
    if low is not None and high is not None:
        return f"between {_num(low, unit)} and {_num(high, unit)}"
    if low is not None:
        return f"at least {_num(low, unit)}"
    if high is not None:
        return f"at most {_num(high, unit)}"
    return ""


def _reference_bounds(meta: Any, listed: bool) -> str:
    """What the reference says of a setting's bounds: its values, its length."""
    values = _bounds(meta)
    if not listed:
        return values or (f"at most {meta['max_len']} characters" if meta.get("max_len") else "")
    items = f"at most {meta.get('max_len') or MAX_ITEMS} items"
    return f"{items}, each {values}" if values else items


def check_fields(instance: Any, prefix: Path_ = ()) -> None:
    """Every declared field of a dataclass instance within its bounds (for direct construction,
    e.g. from `__post_init__`): the loader's own checks, so code and files are held alike."""
    for f, name, kind in _fields(type(instance)):
        if not _is_schema(kind) and not (_is_schema(_item_type(kind)) if _item_type(kind) else False):
            check_value(getattr(instance, f.name), kind, f.metadata, (*prefix, name))


def build(cls: type[T], data: Any, path: Path_ = (), depth: int = 0) -> T:
    """An instance of the schema `cls` from a parsed TOML table (SchemaError without a line)."""
    if depth > MAX_DEPTH:
        raise SchemaError(Rule.OUT_OF_BOUNDS, path, "nested too deeply")
    if not isinstance(data, dict):
        raise SchemaError(Rule.WRONG_TYPE, path, f"must be a table (mapping), not {value_words(data)}")
    declared = list(_fields(cls))
    known = [name for _, name, _ in declared]
    renamed: dict[str, str] = getattr(cls, "RENAMED_KEYS", {})
    for key in data:
        if key in known:
            continue
        if key in renamed:
            raise SchemaError(Rule.RENAMED, (*path, key),
                              f"{dotted((*path, key))} is now {dotted((*path, renamed[key]))} (a renamed setting)")
        near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(known)})"
        raise SchemaError(Rule.UNKNOWN_KEY, (*path, key), "unknown key" + hint)
    values: dict[str, Any] = {}
    for f, name, kind in declared:
        where = (*path, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                if not _is_schema(kind):
                    raise SchemaError(Rule.MISSING, where, "required")
                values[f.name] = build(kind, {}, where, depth + 1)
            continue
        raw = data[name]
        item = _item_type(kind)
        if _is_schema(kind):
            values[f.name] = build(kind, raw, where, depth + 1)
        elif item is not None and _is_schema(item):
            limit = f.metadata.get("max_len") or MAX_ITEMS
            if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
                raise SchemaError(Rule.WRONG_TYPE, where, f"must be [[{name}]] tables (a list of mappings)")
            if len(raw) > limit:
                raise SchemaError(Rule.OUT_OF_BOUNDS, where, f"at most {limit} [[{name}]] tables, not {len(raw)}")
            values[f.name] = tuple(build(item, t, (*where, i), depth + 1) for i, t in enumerate(raw))
        else:
            values[f.name] = check_value(raw, kind, f.metadata, where)
    try:
        return cls(**values)
    except SchemaError as error:  # from __post_init__: its path is the table's own, or already whole
        if not path or error.path[:len(path)] == path:
            raise
        raise SchemaError(error.rule, (*path, *error.path), error.problem) from None
    except ConfigError as exc:  # a check across keys in __post_init__: point at the key it names
        message = str(exc)
        names = [name for _, name, _ in declared]
        named = ([name for name in names if re.match(rf"{re.escape(dotted((*path, name)))}\b", message)]
                 or [name for name in names if re.search(rf"(^|[\s.]){re.escape(name)}\b", message)])
        raise SchemaError(Rule.INVALID, (*path, named[0]) if named else path, message) from None


def load(cls: type[T], text: str, source: str) -> T:
    """The schema `cls` from TOML `text`; every refusal a SchemaError naming `source` and the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(Rule.SYNTAX, (), str(exc), source) from None
    except RecursionError:
        raise SchemaError(Rule.SYNTAX, (), "nested too deeply", source) from None
    except ValueError as exc:  # tomllib's int(): an integer over Python's 4,300-digit string limit
        raise SchemaError(Rule.SYNTAX, (), f"a value tomllib cannot read ({exc})"[:200], source) from None
    return load_data(cls, data, key_lines(text), source)


def load_data(cls: type[T], data: Any, lines: Mapping[Path_, int], source: str) -> T:
    """The schema `cls` from already-parsed `data` (TOML, YAML: dicts, lists and scalars) and the map
    `lines` of each key path to its line (from the reader: `key_lines` for TOML, the node tree for
    YAML); every refusal a SchemaError naming `source` and the line of the key, or else of its nearest
    enclosing key (none: the file alone)."""
    try:
        return build(cls, data)
    except SchemaError as error:
        raise SchemaError(error.rule, error.path, error.problem, source, nearest_line(lines, error.path)) from None


# --- where each key is: a small scanner over TOML source that tomllib has already accepted ---

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WS = " \t"


class _Scanner:
    """Walks valid TOML and records the line of every key path (first occurrence)."""

    def __init__(self, text: str) -> None:
        self.text, self.i, self.line = text, 0, 1
        self.found: dict[Path_, int] = {}
        self.tables: dict[Path_, int] = {}  # array-of-tables path -> its last index

    def _move(self, n: int) -> None:
        self.line += self.text.count("\n", self.i, self.i + n)
        self.i += n

    def _skip(self, newlines: bool) -> None:
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c in _WS or (newlines and c in "\r\n"):
                self._move(1)
            elif c == "#":
                end = text.find("\n", self.i)
                self._move((end if end >= 0 else len(text)) - self.i)
            else:
                return

    def _string(self) -> str:
        text, start = self.text, self.i
        quote = text[start]
        if text.startswith(quote * 3, start):
            end = text.find(quote * 3, start + 3)
            while end >= 0 and quote == '"' and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
            end += 3
            while end < len(text) and text[end] == quote:  # up to two quotes may end the content
                end += 1
        else:
            end = start + 1
            while text[end] != quote:
                end += 2 if quote == '"' and text[end] == "\\" else 1
            end += 1
        raw = text[start:end]
        self._move(end - start)
        return str(tomllib.loads(f"v = {raw}")["v"])

    def _key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self._skip(False)
            if self.text[self.i] in "\"'":
                parts.append(self._string())
            else:
                match = _BARE.match(self.text, self.i)
                assert match is not None
                parts.append(match.group(0))
                self._move(len(match.group(0)))
            self._skip(False)
            if self.i < len(self.text) and self.text[self.i] == ".":
                self._move(1)
                continue
            return parts

    def _record(self, path: Path_, line: int) -> None:
        for n in range(1, len(path) + 1):
            self.found.setdefault(path[:n], line)

    def _value(self, path: Path_) -> None:
        text = self.text
        c = text[self.i]
        if c == "{":
            self._move(1)
            while True:
                self._skip(True)
                if text[self.i] == "}":
                    self._move(1)
                    return
                if text[self.i] == ",":
                    self._move(1)
                    continue
                line = self.line
                key = (*path, *self._key())
                self._record(key, line)
                self._skip(False)
                self._move(1)  # '='
                self._skip(False)
                self._value(key)
        elif c == "[":
            self._move(1)
            index = 0
            while True:
                self._skip(True)
                if text[self.i] == "]":
                    self._move(1)
                    return
                if text[self.i] == ",":
                    self._move(1)
                    continue
                self._record((*path, index), self.line)
                self._value((*path, index))
                index += 1
        elif c in "\"'":
            self._string()
        else:
            match = re.compile(r"[^,\]}#\r\n]*").match(text, self.i)
            self._move(len(match.group(0)) if match else 1)

    def _resolve(self, parts: list[str], array: bool) -> Path_:
        path: Path_ = ()
        for n, part in enumerate(parts):
            path = (*path, part)
            last = n == len(parts) - 1
            if last and array:
                index = self.tables.get(path, -1) + 1
                self.tables[path] = index
                path = (*path, index)
            elif path in self.tables:
                path = (*path, self.tables[path])
        return path

    def scan(self) -> dict[Path_, int]:
        text, current = self.text, ()  # type: str, Path_
        while True:
            self._skip(True)
            if self.i >= len(text):
                return self.found
            line = self.line
            if text[self.i] == "[":
                array = text.startswith("[[", self.i)
                self._move(2 if array else 1)
                current = self._resolve(self._key(), array)
                self._move(2 if array else 1)
                self._record(current, line)
            else:
                key = (*current, *self._key())
                self._record(key, line)
                self._skip(False)
                self._move(1)  # '='
                self._skip(False)
                self._value(key)


def _escaped(text: str, at: int) -> bool:
    slashes = 0
    while at - slashes - 1 >= 0 and text[at - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def key_lines(text: str) -> dict[Path_, int]:
    """The line of every key path of a TOML document (tables, [[arrays]] with their index,
    dotted, quoted and inline keys); {} when the text is not TOML."""
    try:
        tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return {}
    try:
        return _Scanner(text).scan()
    except (IndexError, AssertionError, tomllib.TOMLDecodeError, RecursionError):  # never a reason to fail a load
        return {}


def line_of(text: str, path: Path_) -> int | None:
    """The line of `path` in `text`, else of its nearest enclosing key or table (None: top level)."""
    return nearest_line(key_lines(text), path)


def nearest_line(found: Mapping[Path_, int], path: Path_) -> int | None:
    """The line of `path` in a key path -> line map, else of its nearest enclosing key (None: top level)."""
    for n in range(len(path), 0, -1):
        if path[:n] in found:
            return found[path[:n]]
    return None


# --- the reference ---

def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]"
    if f.metadata.get("duration"):
        return f'"{_duration_text(value)}"'
    return repr(value)


def _duration_text(seconds: float) -> str:
    """900.0 -> '15m': the largest unit that divides it."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return _num(seconds, True)


def reference(cls: type, prefix: str = "") -> list[Key]:
    """Every key of the schema `cls`, tables and arrays of tables walked ('route[].audience')."""
    keys: list[Key] = []
    for f, name, kind in _fields(cls):
        path = f"{prefix}.{name}" if prefix else name
        item = _item_type(kind)
        if _is_schema(kind):
            keys.extend(reference(kind, path))
        elif item is not None and _is_schema(item):
            keys.extend(reference(item, f"{path}[]"))
        else:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            bounds = _reference_bounds(f.metadata, item is not None)
            if kind is str and not bounds:
                bounds = f"at most {MAX_TEXT} characters"
            keys.append(Key(path, _type_name(kind, f.metadata), _default(f), bounds, f.metadata.get("doc", ""),
                            required))
    return keys


def insecure_settings(cls: type) -> list[str]:
    """Every `insecure_` setting a schema declares (each must be a row of the weakening register)."""
    return [k.path for k in reference(cls) if k.path.rpartition(".")[2].startswith(("insecure_", "allow_insecure_"))]


def reference_table(cls: type) -> str:
    """A markdown table of every key of a schema."""
    lines = ["| key | type | default | bounds | what it does |", "|---|---|---|---|---|"]
    for key in reference(cls):
        default = "(required)" if key.required else f"`{key.default}`"
        doc = key.doc
        if key.path.rpartition(".")[2].startswith(("insecure_", "allow_insecure_")):
            doc += " (weakens a control: see the register)"
        cells = [f"`{key.path}`", key.type, default, key.bounds, doc]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["Key", "Rule", "SchemaError", "build", "check_fields", "check_value", "dotted", "insecure_settings",
           "key_lines", "line_of", "load", "load_data", "nearest_line", "quoted", "reference", "reference_table",
           "setting", "value_words"]
