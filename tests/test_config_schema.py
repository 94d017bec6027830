"""The one typed configuration loader (`signward.config_schema`): every refusal names its Rule,
the file and the line of the offending key, found in TOML as hostile writers write it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from signward.config_schema import Rule, SchemaError, key_lines, line_of, load, reference, setting
from signward.home import Config, Home


@dataclass(frozen=True)
class Item:
    name: str = setting(doc="its name", max_len=8)
    weight: int = setting(1, "how heavy", min=0, max=10)


@dataclass(frozen=True)
class Part:
    audience: str = setting("", "who")
    ratio: float = setting(0.5, "a share", min=0, max=1)


@dataclass(frozen=True)
class Doc:
    every: float = setting(60.0, "how often", duration=True)
    mode: str = setting("a", "the mode", choices=("a", "b"))
    words: tuple[str, ...] = setting((), "some words", max_len=3)
    first: Part = setting(Part(), "the first part")
    second: Part = setting(Part(), "the second part")
    items: tuple[Item, ...] = setting((), "items", key="item", max_len=4)


def refused(text: str, name: str = "doc.toml") -> SchemaError:
    with pytest.raises(SchemaError) as raised:
        load(Doc, text, name)
    return raised.value


def line(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


HOSTILE = '''# a comment with key = "value" and [table] in it
every = "15m"   # trailing comment
"mode" = 'b'
words = [
  "x",  # a comment inside an array
  "y = 1",
]
first.audience = "one"
first . ratio = 0.25
second = { audience = "two", "ratio" = 0.75 }
note = """
[[item]]
name = "fake"
"""

[[item]]
name = "a"

[[item]]
'name' = "b"
weight = 3
'''


def test_the_locator_on_hostile_toml() -> None:
    lines = key_lines(HOSTILE.replace('note = """', 'notes = """'))
    assert lines[("every",)] == 2 and lines[("mode",)] == 3 and lines[("words", 1)] == 6
    assert lines[("first", "audience")] == 8 and lines[("first", "ratio")] == 9  # dotted, spaced
    assert lines[("second", "ratio")] == 10  # a quoted key inside an inline table
    assert lines[("item", 0, "name")] == 17 and lines[("item", 1, "name")] == 20  # not the string's lines
    assert lines[("item", 1, "weight")] == 21 and lines[("item", 1)] == 19
    assert ("name",) not in lines  # the key inside the multi-line string is text, not a key


def test_keys_twice_in_different_tables_and_arrays_of_inline_tables() -> None:
    text = '[a]\nx = 1\n[b]\nx = 2\n[[c]]\nx = 3\n[[c]]\n\n"x" = 4\n[c.d]\nx = 5\ne = [{x = 6}, {\'x\' = 7}]\n'
    lines = key_lines(text)
    assert [lines[p] for p in [("a", "x"), ("b", "x"), ("c", 0, "x"), ("c", 1, "x"), ("c", 1, "d", "x")]] == \
        [2, 4, 6, 9, 11]
    assert lines[("c", 1, "d", "e", 1, "x")] == 12  # under [c.d]
    assert line_of(text, ("c", 1, "nosuch")) == 7  # an absent key: its table's header
    assert key_lines("not = [toml") == {}


def test_a_good_document_loads() -> None:
    loaded = load(Doc, HOSTILE.replace('note = """\n[[item]]\nname = "fake"\n"""\n', ""), "doc.toml")
    assert loaded.every == 900 and loaded.mode == "b" and loaded.words == ("x", "y = 1")
    assert loaded.first == Part("one", 0.25) and loaded.second == Part("two", 0.75)
    assert loaded.items == (Item("a"), Item("b", 3))


@pytest.mark.parametrize("text, needle, rule, words", [
    ('every = "1h"\nmdoe = "a"\n', "mdoe", Rule.UNKNOWN_KEY, "did you mean 'mode'"),
    ('[first]\naudience = "x"\n[second]\naudiense = "y"\n', "audiense", Rule.UNKNOWN_KEY, "second.audiense"),
    ('second = { audience = "x", ratio = 2 }\n', "second = {", Rule.OUT_OF_BOUNDS, "second.ratio"),
    ('[[item]]\nname = "a"\n[[item]]\nname = "b"\nweight = 11\n', "weight = 11", Rule.OUT_OF_BOUNDS,
     "item[1].weight: must be between 0 and 10"),
    ('[[item]]\nname = "a"\n[[item]]\nweight = 2\n', "[[item]]\nweight", Rule.MISSING, "item[1].name"),
    ('[[item]]\n"name" = "far too long"\n', '"name"', Rule.OUT_OF_BOUNDS, "at most 8"),
    ("first.ratio = true\n", "first.ratio", Rule.WRONG_TYPE, "must be a number, not true"),
    ("[[item]]\nname = \"a\"\nweight = 1.5\n", "weight", Rule.WRONG_TYPE, "must be a whole number, not a number (1.5)"),
    ("first = [1]\n", "first", Rule.WRONG_TYPE, "must be a table (mapping), not a list"),
    ("first.ratio = nan\n", "first.ratio", Rule.OUT_OF_BOUNDS, "finite"),
    ('mode = "c"\n', "mode", Rule.OUT_OF_BOUNDS, "one of 'a', 'b'"),
    ('every = "soon"\n', "every", Rule.WRONG_TYPE, "bad duration"),
    ('words = ["a", "b", "c", "d"]\n', "words", Rule.OUT_OF_BOUNDS, "at most 3"),
    ('words = ["a", 1]\n', "words", Rule.WRONG_TYPE, "words[1]"),
    ("item = 3\n", "item", Rule.WRONG_TYPE, "[[item]]"),
    ("first = 3\n", "first", Rule.WRONG_TYPE, "must be a table"),
])
def test_every_refusal_names_its_rule_file_and_line(text: str, needle: str, rule: Rule, words: str) -> None:
    error = refused(text)
    assert error.rule is rule, error
    assert words in str(error) and str(error).startswith(f"doc.toml:{line(text, needle)}: "), str(error)


def test_not_toml_is_a_syntax_refusal_naming_the_line() -> None:
    error = refused('every = "1h"\n[first\n')
    assert error.rule is Rule.SYNTAX and "line 2" in str(error)


def test_the_reference_lists_every_key() -> None:
    keys = {k.path: k for k in reference(Doc)}
    assert set(keys) == {"every", "mode", "words", "first.audience", "first.ratio", "second.audience",
                         "second.ratio", "item[].name", "item[].weight"}
    assert keys["item[].name"].required and keys["item[].weight"].bounds == "between 0 and 10"
    assert keys["every"].type == "duration" and keys["mode"].bounds == "one of 'a', 'b'"


def test_config_toml_names_the_line_and_the_near_miss(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    home.init(Config())
    text = home.config_path.read_text().replace("sessions = 4", "sesions = 4")
    home.config_path.write_text(text)
    with pytest.raises(SchemaError) as raised:
        home.load_config()
    assert raised.value.rule is Rule.UNKNOWN_KEY and "did you mean 'sessions'" in str(raised.value)
    assert str(raised.value).startswith(f"{home.config_path}:{line(text, 'sesions')}: hsm.sesions")
    home.config_path.write_text(text.replace("sesions = 4", "sessions = 4").replace(
        "checkpoint_every = 1000", "checkpoint_every = 0"))
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "config", "check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and \
        f"config.toml:{line(text, 'checkpoint_every')}: audit.checkpoint_every: must be between" in done.stderr


@pytest.mark.parametrize("section, values, rule", [
    ("dumps", {"release_gate": True}, Rule.RENAMED),
    ("hsm", {"sessions": 65}, Rule.OUT_OF_BOUNDS),
    ("hsm", {"backend": "transit"}, Rule.INVALID),  # a check across keys: no transit_url
    ("issuer", {"rotation_interval": 0}, Rule.OUT_OF_BOUNDS),
    ("store", {"timeout_seconds": "5"}, Rule.WRONG_TYPE),
])
def test_config_refusals_name_their_rule(section: str, values: dict[str, object], rule: Rule) -> None:
    with pytest.raises(SchemaError) as raised:
        Config.from_dict({section: values})
    assert raised.value.rule is rule, raised.value


def test_direct_construction_is_held_to_the_same_bounds() -> None:
    from signward.home import HsmConfig

    with pytest.raises(SchemaError) as raised:
        HsmConfig(sessions=0)
    assert raised.value.rule is Rule.OUT_OF_BOUNDS and "hsm.sessions" in str(raised.value)


PARTY = '[[relying_party]]\nname = "{name}"\nurl = "{url}"\nrealm = "r"\naudience = "a"\n'


@pytest.mark.parametrize("text, needle, rule, words", [
    ('every = "15m"\nprobe_timout = 60\n', "probe_timout", Rule.UNKNOWN_KEY, "did you mean 'probe_timeout'"),
    ('probe_timeout = "2h"\n', "probe_timeout", Rule.OUT_OF_BOUNDS, "at most 3600"),
    (PARTY.format(name="a", url="http://x") + PARTY.format(name="b", url="ftp://x"), 'url = "ftp',
     Rule.INVALID, "relying_party[1].url: must be an http or https URL"),
    (PARTY.format(name="a", url="http://x") + PARTY.format(name="a", url="http://y"), 'name = "a"\nurl = "http://y',
     Rule.INVALID, "unique"),
    (PARTY.format(name="a", url="http://x") + "refused = [200]\n", "refused", Rule.OUT_OF_BOUNDS, "between 400"),
])
def test_watch_toml_refusals(tmp_path: Path, text: str, needle: str, rule: Rule, words: str) -> None:
    from signward.watch import WatchConfig

    path = tmp_path / "watch.toml"
    path.write_text(text)
    with pytest.raises(SchemaError) as raised:
        WatchConfig.load(path)
    assert raised.value.rule is rule and words in str(raised.value), raised.value
    assert str(raised.value).startswith(f"{path}:{line(text, needle)}: "), raised.value


def test_watch_toml_loads_as_before(tmp_path: Path) -> None:
    from signward.watch import RelyingParty, WatchConfig

    path = tmp_path / "watch.toml"
    path.write_text('every = "1h"\n' + PARTY.format(name="a", url="http://x") + 'method = "post"\n')
    assert WatchConfig.load(path) == WatchConfig(every=3600.0, relying_parties=(
        RelyingParty(name="a", url="http://x", realm="r", audience="a", method="POST"),))


GUARD = '''[[issuer]]
issuer = "https://id.example.com"
jwks = "/etc/jwks.json"

[[route]]
prefix = "/a"
audience = "a"

[[route]]
prefix = "/b"
audience = "b"
'''


@pytest.mark.parametrize("change, needle, rule", [
    (('prefix = "/b"', 'prefix = "/A"'), 'prefix = "/A"', Rule.INVALID),  # the same route in another case
    (('audience = "b"', 'audience = "b"\nintrospect = true'), "introspect = true", Rule.INVALID),
    (('audience = "b"', 'audiences = ["b"]'), "audiences", Rule.UNKNOWN_KEY),
    (('audience = "b"', 'audience = "b"\nscopes = "read"'), "scopes", Rule.WRONG_TYPE),
    (('jwks = "/etc/jwks.json"', 'jwks = "/etc/jwks.json"\nintrospect_url = "https://id.example.com/i"'),
     "introspect_url", Rule.MISSING),
    (('jwks = "/etc/jwks.json"', 'jwks = "/etc/jwks.json"\nmax_age = "8d"'), "max_age", Rule.OUT_OF_BOUNDS),
])
def test_guard_toml_refusals_across_keys_name_the_line(tmp_path: Path, change: tuple[str, str], needle: str,
                                                       rule: Rule) -> None:
    from signward.guard import GuardConfig

    text = GUARD.replace(change[0], change[1])
    assert text != GUARD
    path = tmp_path / "guard.toml"
    path.write_text(text)
    with pytest.raises(SchemaError) as raised:
        GuardConfig.load(path)
    assert raised.value.rule is rule, raised.value
    assert str(raised.value).startswith(f"{path}:{line(text, needle)}: "), raised.value


def test_the_unchanged_guard_toml_loads(tmp_path: Path) -> None:
    from signward.guard import GuardConfig

    path = tmp_path / "guard.toml"
    path.write_text(GUARD)
    assert [r.prefix for r in GuardConfig.load(path).routes] == ["/a", "/b"]


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        if isinstance(key, str) or isinstance(item, (dict, list)):
            found.append((*prefix, key))
            found.extend(_paths(item, (*prefix, key)))
    return found


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_the_locator_finds_every_key_of_real_files(newline: str) -> None:
    """pyproject.toml and the docs' TOML examples, with either line ending: every key path tomllib
    reads is located, on a line that names it."""
    import re
    import tomllib

    root = Path(__file__).resolve().parent.parent
    texts = [(root / "pyproject.toml").read_text()]
    for page in sorted((root / "docs").glob("*.md")):
        texts += re.findall(r"```toml\n(.*?)```", page.read_text(), re.S)
    assert len(texts) > 3
    for text in texts:
        text = text.replace("\n", newline)
        lines, source = key_lines(text), text.splitlines()
        for path in _paths(tomllib.loads(text)):
            assert path in lines, path
            if isinstance(path[-1], str):
                assert path[-1] in source[lines[path] - 1] or '"' in source[lines[path] - 1], path


@pytest.mark.parametrize("value, rule", [("1" + "0" * 400, Rule.OUT_OF_BOUNDS), ("1" * 5000, Rule.SYNTAX)])
def test_a_huge_number_is_one_line_and_exit_2_never_an_internal_error(tmp_path: Path, value: str, rule: Rule) -> None:
    """Red team (issue #37): an integer past a float's range (OverflowError in float()) or past Python's
    4,300-digit limit (ValueError inside tomllib) was `internal error`, exit 3, in every TOML loader."""
    home = Home(tmp_path / "h")
    home.init(Config())
    text = home.config_path.read_text()
    assert "checkpoint_every = 1000" in text
    home.config_path.write_text(text.replace("checkpoint_every = 1000", f"checkpoint_every = {value}"))
    with pytest.raises(SchemaError) as raised:
        home.load_config()
    assert raised.value.rule is rule
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "config", "check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_a_huge_duration_is_out_of_bounds() -> None:
    from signward.config_values import parse_duration
    from signward.errors import ConfigError

    with pytest.raises(ConfigError, match="must be a finite duration"):
        parse_duration(10 ** 400, "watch.every")
