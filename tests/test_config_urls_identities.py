"""Issue #37's loose ends on the TOML loaders: every URL setting (config.toml `hsm.transit_url`,
GUARD.toml `jwks` and `introspect_url`, WATCH.toml `webhook` and `relying_party.url`) held to one
http(s) URL rule at load, and GUARD.toml's identity-like texts (issuers, audiences, client ids)
refused with surrounding whitespace or a control character (accepted, they matched no token)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signward.config_schema import Rule, SchemaError
from signward.home import Config, Home

from .test_config_redteam2 import _guard

# each refused by exactly one of the URL rule's parts (the words name which)
BAD_URLS = [
    ("https://signward:s3cret@bao.internal:8200", "user information"),
    ("https://@bao.internal:8200", "user information"),
    ("https://bao.internal:8200/?x=1", "must not have a query"),
    ("https://bao.internal:8200#top", "must not have a fragment"),
    ("https://bao.internal:0", "port must be between 1 and 65535"),
    ("https://bao.internal:65536", "port must be a number between 1 and 65535"),
    ("https://bao.internal:82a0", "port must be a number between 1 and 65535"),
    ("https://bao.internal:8200\t", "without whitespace or control characters (holds U+0009)"),
    ("https://bao.internal:8200/v\u200b", "without whitespace or control characters (holds U+200B)"),
    ("https://bao.internal:8200/\u2028", "without whitespace or control characters (holds U+2028)"),
    ("https://ba\u00f6.internal:8200", "ASCII host name"),
    ("https:///v1", "with a host"),
    ("ftp://bao.internal", "with a host"),
]


def _toml(value: str) -> str:
    """A TOML basic string of `value` (escapes for every control character)."""
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in value) + '"'


@pytest.mark.parametrize("url, words", BAD_URLS)
def test_hsm_transit_url_is_checked_at_load_naming_the_key_and_line(tmp_path: Path, url: str, words: str) -> None:
    """Checked whenever set, also with another backend (the loopback rule cannot refuse these:
    they are https)."""
    home = Home(tmp_path / "h")
    home.init(Config())
    text = home.config_path.read_text().replace('transit_url = ""', f"transit_url = {_toml(url)}")
    home.config_path.write_text(text)
    with pytest.raises(SchemaError) as raised:
        home.load_config()
    error = raised.value
    assert error.rule is Rule.INVALID and error.path == ("hsm", "transit_url"), error
    line = text.splitlines().index(f"transit_url = {_toml(url)}") + 1
    assert str(error).startswith(f"{home.config_path}:{line}: hsm.transit_url: ") and words in str(error), error
    assert "\n" not in str(error)


def test_a_bad_transit_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    home.init(Config())
    text = home.config_path.read_text().replace('transit_url = ""', 'transit_url = "https://u@bao.internal"')
    home.config_path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), "config", "check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "hsm.transit_url: must not carry user information" in done.stderr


@pytest.mark.parametrize("url", ["https://bao.internal:8200", "https://bao.internal:8200/", "http://127.0.0.1:8200",
                                 "http://[::1]:8200", "http://localhost:8200", "https://10.0.0.5"])
def test_good_transit_urls_still_load(url: str) -> None:
    assert Config.from_dict({"hsm": {"backend": "transit", "transit_url": url}}).hsm.transit_url == url


GUARD = '''[[issuer]]
issuer = "https://id.example.com"
jwks = {jwks}
introspect_url = {introspect}
introspect_client_id = "mail-guard"
introspect_secret_env = "GUARD_SECRET"

[[route]]
prefix = "/a"
audience = "a"
'''


@pytest.mark.parametrize("key", ["jwks", "introspect"])
@pytest.mark.parametrize("url, words", BAD_URLS[:7])
def test_guard_urls_are_held_to_the_same_rule(tmp_path: Path, key: str, url: str, words: str) -> None:
    good = {"jwks": '"https://id.example.com/jwks"', "introspect": '"https://id.example.com/introspect"'}
    text = GUARD.format(**{**good, key: _toml(url.replace("bao.internal", "id.example.com"))})
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    field = {"jwks": "jwks", "introspect": "introspect_url"}[key]
    assert raised.value.rule is Rule.INVALID and raised.value.path == ("issuer", 0, field), raised.value
    assert words in str(raised.value) and f":{3 if key == 'jwks' else 4}: " in str(raised.value), raised.value
    assert _guard(tmp_path, GUARD.format(**good))


@pytest.mark.parametrize("url, words", [case for case in BAD_URLS[:7] if "query" not in case[1]])
def test_watch_urls_are_held_to_the_same_rule(tmp_path: Path, url: str, words: str) -> None:
    from signward.watch import WatchConfig

    path = tmp_path / "watch.toml"
    bad = _toml(url.replace("bao.internal", "alerts.example.com"))
    party = '[[relying_party]]\nname = "mail"\nurl = {url}\nrealm = "r"\naudience = "mail"\n'
    path.write_text(f"webhook = {bad}\n")
    with pytest.raises(SchemaError) as raised:
        WatchConfig.load(path)
    assert raised.value.rule is Rule.INVALID and raised.value.path == ("webhook",) and raised.value.line == 1
    assert words in str(raised.value)
    path.write_text(party.format(url=bad))
    with pytest.raises(SchemaError) as raised:
        WatchConfig.load(path)
    assert raised.value.rule is Rule.INVALID and raised.value.path == ("relying_party", 0, "url"), raised.value
    assert words in str(raised.value) and raised.value.line == 3, raised.value
    path.write_text(party.format(url='"https://mail.example.com/api/inbox"'))
    assert WatchConfig.load(path).relying_parties[0].url == "https://mail.example.com/api/inbox"


def test_a_webhook_and_a_relying_party_may_carry_a_query_the_other_urls_may_not(tmp_path: Path) -> None:
    """A webhook's token is often its query (`?key=...&token=...`): allowed there and in a relying
    party's URL; the HSM's and the guard's URLs keep refusing one."""
    from signward.watch import WatchConfig

    path = tmp_path / "watch.toml"
    url = "https://chat.example.com/v1/spaces/A/messages?key=k1&token=t1"
    path.write_text(f'webhook = "{url}"\n[[relying_party]]\nname = "mail"\nurl = "{url}"\nrealm = "r"\n'
                    'audience = "mail"\n')
    loaded = WatchConfig.load(path)
    assert loaded.webhook == url and loaded.relying_parties[0].url == url
    with pytest.raises(SchemaError) as raised:
        Config.from_dict({"hsm": {"backend": "transit", "transit_url": url}})
    assert raised.value.path == ("hsm", "transit_url") and "must not have a query" in str(raised.value)


IDENTITIES = '''[[issuer]]
issuer = {issuer}
jwks = "https://id.example.com/jwks"
introspect_url = "https://id.example.com/introspect"
introspect_client_id = {client}
introspect_secret_env = "GUARD_SECRET"

[[issuer]]
issuer = "https://other.example.com"
jwks = "/etc/other-jwks.json"

[[route]]
prefix = "/a"
audience = {audience}
issuers = ["https://other.example.com", {route_issuer}]
'''
GOOD = {"issuer": '"https://id.example.com"', "client": '"mail-guard"', "audience": '"mail"',
        "route_issuer": '"https://id.example.com"'}
LINES = {"issuer": 2, "client": 5, "audience": 14, "route_issuer": 15}
PATHS = {"issuer": ("issuer", 0, "issuer"), "client": ("issuer", 0, "introspect_client_id"),
         "audience": ("route", 0, "audience"), "route_issuer": ("route", 0, "issuers", 1)}


@pytest.mark.parametrize("key", list(GOOD))
@pytest.mark.parametrize("edit, words", [
    (lambda v: " " + v, "whitespace at its start or end"),
    (lambda v: v + "\n", "whitespace at its start or end"),
    (lambda v: v + "\u00a0", "whitespace at its start or end"),
    (lambda v: v[:3] + "\t" + v[3:], "character U+0009"),
    (lambda v: v[:3] + "\u200b" + v[3:], "character U+200B"),
    (lambda v: v[:3] + "\u2028" + v[3:], "character U+2028"),
    (lambda v: v[:3] + "\u202e" + v[3:], "character U+202E"),
])
def test_guard_identity_texts_with_invisible_edges_are_refused_naming_key_and_index(
        tmp_path: Path, key: str, edit: object, words: str) -> None:
    """Accepted before, each matched no token's claim (fail closed, silently dead). The issuer's
    own refusal comes before any other check could see it; every other value stays valid."""
    assert callable(edit)
    value = _toml(edit(GOOD[key][1:-1]))
    text = IDENTITIES.format(**{**GOOD, key: value})
    if key == "issuer":  # the route names the same issuer, so no reference check refuses first
        text = text.replace('{route_issuer}', '').replace('"https://id.example.com"]', f"{value}]")
    with pytest.raises(SchemaError) as raised:
        _guard(tmp_path, text)
    error = raised.value
    assert error.rule is Rule.INVALID and error.path == PATHS[key], error
    assert words in str(error) and "it would match no token" in str(error), error
    assert error.line == LINES[key] and "\n" not in str(error), error
    assert _guard(tmp_path, IDENTITIES.format(**GOOD))


def test_inner_spaces_in_an_audience_are_still_allowed(tmp_path: Path) -> None:
    """Only the edges and invisible characters: an audience may be any visible text."""
    config = _guard(tmp_path, IDENTITIES.format(**{**GOOD, "audience": '"mail api"'}))
    assert config.routes[0].audience == "mail api"  # type: ignore[attr-defined]


def test_every_url_setting_of_every_file_is_known_to_be_checked() -> None:
    """The URL settings the three files declare, found in their schemas: each http(s) one is held
    to the rule above (tested per file); a new URL setting fails here until it is too.
    `store.url` is a PostgreSQL URL or conninfo (user and password may be part of it)."""
    from signward.config_schema import reference
    from signward.guard.config import GuardFile
    from signward.watch.config import WatchConfig

    found = {f"{file}:{key.path}" for file, schema in (("config", Config), ("guard", GuardFile),
                                                       ("watch", WatchConfig))
             for key in reference(schema)
             if key.path.rpartition(".")[2].endswith(("url", "webhook", "jwks", "uri", "endpoint", "address"))}
    assert found == {"config:hsm.transit_url", "config:store.url", "guard:issuer[].jwks",
                     "guard:issuer[].introspect_url", "watch:webhook", "watch:relying_party[].url"}, found
