"""Red team round 2 of issue #37 on the TOML loaders: validating regexes anchored with `$` (which
takes a final newline), the quadratic duration regex, and durations and day counts without an
upper bound."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from signward.config_schema import Rule, SchemaError
from signward.config_values import MAX_DAYS, MAX_DURATION, OutOfRange, parse_duration
from signward.errors import ConfigError
from signward.home import Config

ROUTES = '''[[issuer]]
issuer = "https://i.example"
jwks = "https://i.example/jwks"

[[route]]
host = {host}
prefix = "/"
audience = "admin"
scopes = ["admin"]

[[route]]
prefix = "/"
audience = "web"
'''


def _guard(tmp_path: Path, text: str) -> object:
    from signward.guard import GuardConfig

    path = tmp_path / "guard.toml"
    path.write_text(text)
    return GuardConfig.load(path)


def test_a_route_host_with_a_final_newline_is_refused_at_its_line(tmp_path: Path) -> None:
    """F7: `host = "admin.example.com\\n"` passed `^...$` with .match and the admin route never
    matched a request (the catch-all route took admin.example.com with audience "web")."""
    text = ROUTES.format(host='"admin.example.com\\n"')
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    assert raised.value.rule is Rule.INVALID and raised.value.path == ("route", 0, "host")
    assert str(raised.value).startswith(f"{tmp_path / 'guard.toml'}:6: "), raised.value
    assert _guard(tmp_path, ROUTES.format(host='"admin.example.com"'))  # the same file without the newline


@pytest.mark.parametrize("prefix", ['"/api\\n"', '"/\\n"'])
def test_a_route_prefix_with_a_final_newline_is_refused(tmp_path: Path, prefix: str) -> None:
    text = ROUTES.format(host='"*"').replace('prefix = "/"\naudience = "admin"', f"prefix = {prefix}\naudience = \"x\"")
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    assert raised.value.rule is Rule.INVALID and raised.value.path == ("route", 0, "prefix"), raised.value


def test_other_validating_names_refuse_a_final_newline() -> None:
    """Every validating regex of src/signward is matched whole: a trailing newline is refused."""
    from signward.guard.config import HOST, PREFIX, WORD
    from signward.guard.decision import HEADER_SAFE
    from signward.issuer.clients import TENANT
    from signward.keys import registry

    for pattern, good in [(registry.HOST, "id.example.com"), (registry.REALM_NAME, "consumer"),
                          (registry.PATH_SEGMENT, "realms"), (TENANT, "tenant-1"), (HEADER_SAFE, "alice"),
                          (HOST, "admin.example.com"), (PREFIX, "/api"), (WORD, "read")]:
        assert pattern.fullmatch(good) and pattern.match(good), pattern.pattern
        assert not pattern.fullmatch(good + "\n"), pattern.pattern
    for pattern, good in [(registry.HOST, "id.example.com"), (registry.REALM_NAME, "consumer"),
                          (registry.PATH_SEGMENT, "realms"), (TENANT, "tenant-1"), (HEADER_SAFE, "alice")]:
        assert not pattern.match(good + "\n"), pattern.pattern  # used with .match: anchored with \Z


def test_a_claim_with_a_final_newline_is_not_header_safe() -> None:
    from signward.guard.decision import HEADER_SAFE

    assert HEADER_SAFE.match("alice") and not HEADER_SAFE.match("alice\n")


def test_a_realm_name_with_a_final_newline_is_refused(tmp_path: Path) -> None:
    from signward.keys import registry

    assert registry.REALM_NAME.match("consumer") and not registry.REALM_NAME.match("consumer\n")


@pytest.mark.parametrize("text", ["1" + " " * 30_000 + "x", "1" * 30_000 + "x", " " * 30_000 + "1s"])
def test_a_long_duration_is_refused_before_any_regex(text: str) -> None:
    """F6: `"1" + 30,000 spaces + "x"` took 8 s in `^\\s*(\\d+...)\\s*([smhd]?)\\s*$` (quadratic)."""
    started = time.monotonic()
    with pytest.raises(ConfigError, match="bad duration") as raised:
        parse_duration(text, "every")
    assert not isinstance(raised.value, OutOfRange)
    assert len(str(raised.value)) < 200  # the value is quoted cut
    assert time.monotonic() - started < 5  # took 8 s before; the rule is the length bound


@pytest.mark.parametrize("text", ["٥٠s", "５m", "1\u0660s", "1.５h"])
def test_duration_digits_are_ascii(text: str) -> None:
    with pytest.raises(ConfigError, match="bad duration"):
        parse_duration(text, "every")


@pytest.mark.parametrize("text, seconds", [("15m", 900.0), (" 1h ", 3600.0), ("1.5 h", 5400.0), ("90", 90.0),
                                           (f"{MAX_DAYS}d", MAX_DURATION)])
def test_durations_still_read(text: str, seconds: float) -> None:
    assert parse_duration(text, "every") == seconds


@pytest.mark.parametrize("value", ["99999999999999999999d", f"{MAX_DAYS + 1}d", 1e308, 10 ** 300])
def test_a_duration_past_100_years_is_out_of_range(value: str | float) -> None:
    with pytest.raises(ConfigError, match="at most 36500 days|finite"):
        parse_duration(value, "every")


def test_watch_every_past_100_years_is_out_of_bounds_exit_2(tmp_path: Path) -> None:
    """F12: `every = "99999999999999999999d"` loaded, then time.sleep raised OverflowError (exit 3)."""
    from signward.watch import WatchConfig

    path = tmp_path / "watch.toml"
    path.write_text('every = "99999999999999999999d"\n')
    with pytest.raises(SchemaError) as raised:
        WatchConfig.load(path)
    assert raised.value.rule is Rule.OUT_OF_BOUNDS and raised.value.path == ("every",) and raised.value.line == 1
    path.write_text(f'every = "{MAX_DAYS}d"\n')
    assert WatchConfig.load(path).every == MAX_DURATION


@pytest.mark.parametrize("key", ["max_token_lifetime", "clock_skew"])
def test_guard_durations_have_an_upper_bound(tmp_path: Path, key: str) -> None:
    text = f'{key} = "{MAX_DAYS + 1}d"\n' + ROUTES.format(host='"*"')
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    assert raised.value.rule is Rule.OUT_OF_BOUNDS and raised.value.path == (key,) and raised.value.line == 1


@pytest.mark.parametrize("section, key, value", [("issuer", "rotation_interval", 1e308),
                                                 ("issuer", "rotation_interval", MAX_DURATION * 2),
                                                 ("audit", "retention_days", 1e308),
                                                 ("audit", "retention_days", MAX_DAYS + 1),
                                                 ("dumps", "retention_days", MAX_DAYS + 1)])
def test_home_durations_and_day_counts_have_an_upper_bound(section: str, key: str, value: float) -> None:
    """F12: issuer.rotation_interval 1e308 and audit.retention_days 1e308 (infinity in seconds, which
    passed the retention check) loaded."""
    with pytest.raises(SchemaError) as raised:
        Config.from_dict({section: {key: value}})
    assert raised.value.rule is Rule.OUT_OF_BOUNDS and raised.value.path == (section, key), raised.value


def test_every_duration_and_day_count_of_every_schema_is_bounded_above() -> None:
    from signward.config_schema import reference
    from signward.guard.config import GuardFile
    from signward.watch import WatchConfig

    for schema in (Config, WatchConfig, GuardFile):
        for key in reference(schema):
            if key.type in ("duration", "float") and not key.path.endswith("ratio"):
                assert "at most" in key.bounds or "between" in key.bounds, (schema.__name__, key.path, key.bounds)



def test_a_duration_is_at_most_64_characters_even_when_well_formed() -> None:
    assert parse_duration(" " * 30 + "15m" + " " * 31, "every") == 900.0  # 64 characters
    with pytest.raises(ConfigError, match="bad duration") as raised:
        parse_duration(" " * 31 + "15m" + " " * 31, "every")
    assert not isinstance(raised.value, OutOfRange)


@pytest.mark.parametrize("section, key, value", [("hsm", "module", "/usr/lib/softhsm/libsofthsm2.so\x00x"),
                                                 ("hsm", "pin_file", "hsm/pin\x00"), ("hsm", "pin_file", "pin\x1b[2J"),
                                                 ("audit", "origin", "log\x85")])
def test_a_control_character_in_a_text_setting_is_refused(section: str, key: str, value: str) -> None:
    """F14: NUL in hsm.module or hsm.pin_file reached open() (ValueError: embedded null byte)."""
    with pytest.raises(SchemaError) as raised:
        Config.from_dict({section: {key: value}})
    assert raised.value.rule is Rule.INVALID and raised.value.path == (section, key), raised.value
    assert "control character" in str(raised.value)


def test_a_guard_jwks_file_with_a_nul_is_refused_at_its_line(tmp_path: Path) -> None:
    text = ROUTES.format(host='"*"').replace('jwks = "https://i.example/jwks"', 'jwks = "/etc/jwks\\u0000.json"')
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    assert raised.value.rule is Rule.INVALID and raised.value.path == ("issuer", 0, "jwks") and raised.value.line == 3


def test_negative_zero_is_refused() -> None:
    with pytest.raises(SchemaError) as raised:
        Config.from_dict({"issuer": {"key_cache_seconds": -0.0}})
    assert raised.value.rule is Rule.OUT_OF_BOUNDS and "-0.0" in str(raised.value)
    assert Config.from_dict({"issuer": {"key_cache_seconds": 0.0}}).issuer.key_cache_seconds == 0.0


def test_a_refused_text_is_quoted_at_most_80_characters(tmp_path: Path) -> None:
    text = ROUTES.format(host='"*"').replace('prefix = "/"\naudience = "web"', 'prefix = "/"\naudience = "web"\n'
                                             f'scopes = ["{"s" * 1000}\\\\"]')
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    assert raised.value.rule is Rule.INVALID and len(str(raised.value)) < 300, raised.value
