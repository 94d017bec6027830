"""The canonical path (guard/paths.py) on what hostile writers produce: every refusal through the
guard's real decision with its reason, under the anonymous /public route that admits every
plain path below it (so only the path rule can refuse), every legal escape decided as the plain
path, and for any target the guard admits, a servlet container and Starlette read the same path."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signward.errors import ConfigError
from signward.guard import Attempt, GuardConfig
from signward.guard.paths import EDGE_PLUS, MAX_PATH, PLAIN, WINDOWS, PathReason, _read, _remembered, canonical_path
from tests.guard.conftest import CONSUMER, Keys, claims
from tests.guard.upstreams import servlet_reading, starlette_reading

R = PathReason
REFUSED = [  # (path, reason): with the rule gone, each would be admitted as /public or refused for another reason
    ("/public/" + "a" * MAX_PATH, R.TOO_LONG),
    ("x/public/page", R.NOT_ABSOLUTE),
    ("/public/page#/../../mail", R.FRAGMENT),
    ("/public/..;/mail/inbox", R.DOT_SEGMENT_PARAMETER),
    ("/public/x/..;jsessionid=1/page", R.DOT_SEGMENT_PARAMETER),
    ("/public/%2e%2e;/mail/inbox", R.DOT_SEGMENT_PARAMETER),
    ("/public/..%3b/mail/inbox", R.DOT_SEGMENT_PARAMETER),
    ("/public/.%3B/page", R.DOT_SEGMENT_PARAMETER),
    ("/public/x/../page", R.DOT_SEGMENT),
    ("/public/./page", R.DOT_SEGMENT),
    ("/public/x/%2E%2e/page", R.DOT_SEGMENT),
    ("/public/x/.%2E", R.DOT_SEGMENT),
    ("/public//page", R.EMPTY_SEGMENT),
    ("/public/x\\..\\page", R.BACKSLASH),
    ("/public/a\tb", R.CONTROL_CHARACTER),
    ("/public/a\x00b", R.CONTROL_CHARACTER),
    ("/public/a\x7f", R.CONTROL_CHARACTER),
    ("/public/page;jsessionid=1", R.PATH_PARAMETER),
    ("/public;x/page", R.PATH_PARAMETER),
    ("/public/%u002e%u002e", R.BAD_ESCAPE),
    ("/public/a%4", R.BAD_ESCAPE),
    ("/public/a%zz", R.BAD_ESCAPE),
    ("/public/a%", R.BAD_ESCAPE),
    ("/public/a%2fb", R.ESCAPED_SLASH),
    ("/public/a%2Fb", R.ESCAPED_SLASH),
    ("/public/a%5cb", R.ESCAPED_BACKSLASH),
    ("/public/a%5Cb", R.ESCAPED_BACKSLASH),
    ("/public/a%2eb", R.ESCAPED_DOT),
    ("/public/a%2Eb", R.ESCAPED_DOT),
    ("/public/a%3bb", R.ESCAPED_SEMICOLON),
    ("/public/a%3Bb", R.ESCAPED_SEMICOLON),
    ("/public/a%2541", R.ESCAPED_PERCENT),
    ("/public/a%3fb", R.ESCAPED_DELIMITER),
    ("/public/a%23b", R.ESCAPED_DELIMITER),
    ("/public/a%00b", R.ESCAPED_CONTROL),
    ("/public/a%0Ab", R.ESCAPED_CONTROL),
    ("/public/a%7fb", R.ESCAPED_CONTROL),
    ("/public/a%e2%80%8bb", R.ESCAPED_CONTROL),  # zero-width space (Cf)
    ("/public/a%c2%a0b", R.ESCAPED_CONTROL),  # no-break space (Zs)
    ("/public/a%c0%afb", R.INVALID_UTF8),  # overlong `/`
    ("/public/a%c0%ae%c0%ae", R.INVALID_UTF8),  # overlong `.`
    ("/public/a%e0%80%afb", R.INVALID_UTF8),  # overlong `/`, three bytes
    ("/public/a%80b", R.INVALID_UTF8),
    ("/public/a%ed%a0%80b", R.INVALID_UTF8),  # a surrogate
    ("/public/a%ef%bc%8fb", R.COMPATIBILITY_CHARACTER),  # fullwidth `/`
    ("/public/%ef%bc%8e%ef%bc%8e", R.COMPATIBILITY_CHARACTER),  # fullwidth `..`
    ("/public/%ef%bd%8dail", R.COMPATIBILITY_CHARACTER),  # fullwidth `m`
    ("/public/%E2%84%AA", R.COMPATIBILITY_CHARACTER),  # the Kelvin sign, `K` to NFKC
    ("/public/adm%C4%B1n", R.COMPATIBILITY_CHARACTER),  # dotless i: `ADMIN` in upper case
    ("/public/gro%C3%9F", R.COMPATIBILITY_CHARACTER),  # `ss` case-folded
    ("/public/a%e2%88%95b", R.COMPATIBILITY_CHARACTER),  # division slash, `/` to best-fit code pages
    ("/public/a%c2%a5b", R.COMPATIBILITY_CHARACTER),  # yen sign, `\` in Shift-JIS
    ("/public/page.", R.SEGMENT_EDGE),
    ("/public/x/...", R.SEGMENT_EDGE),
    ("/public/page%20", R.SEGMENT_EDGE),
    ("/public/%20page", R.SEGMENT_EDGE),
    ("/public/PAGE~1", R.WINDOWS_NAME),
    ("/public/page%7E1", R.WINDOWS_NAME),
    ("/public/page::$DATA", R.WINDOWS_NAME),
    ("/public/page:%24DATA", R.WINDOWS_NAME),
    ("/public/caf\xe9", R.ILLEGAL_CHARACTER),
    ("/public/a b", R.ILLEGAL_CHARACTER),
    ('/public/a"b', R.ILLEGAL_CHARACTER),
    ("/public/a|b", R.ILLEGAL_CHARACTER),
]


def attempt(path: str, token: str | None = None, host: str = "mail.example.com") -> Attempt:
    headers = {"authorization": [f"Bearer {token}"]} if token else {}
    return Attempt(method="GET", host=host, path=path, headers=headers, via="test")


@pytest.mark.parametrize(("path", "reason"), REFUSED, ids=[f"{r.value}-{i}" for i, (_, r) in enumerate(REFUSED)])
def test_each_form_is_refused_for_its_reason(service: Any, path: str, reason: PathReason) -> None:
    assert service.decide(attempt("/public/page")).allowed  # the route admits what the path rule lets through
    decision = service.decide(attempt(path))
    assert (decision.allowed, decision.status, decision.reason) == (False, 401, reason.value)
    assert canonical_path(path) is reason


def test_decodable_escapes_are_decided_as_the_plain_path(service: Any, guard_keys: Keys) -> None:
    # issue 33: an escaped letter of a stricter route's prefix gets that route, in either hex case
    assert service.decide(attempt("/%6dail/inbox")).reason == "no_token"
    assert service.decide(attempt("/%6Dail/inbox")).reason == "no_token"
    assert service.decide(attempt("/m%61il")).reason == "no_token"
    assert service.decide(attempt("/MAIL/inbox")).reason == "no_token"  # routes ignore case
    assert service.decide(attempt("/Mail")).reason == "no_token"
    token = guard_keys.enterprise.token(claims())
    allowed = service.decide(attempt("/%6d%61%69%6C/%69nbox%7e%21%3a%40?q=%2e%2e", token))
    assert allowed.allowed and allowed.upstream["x-signward-path"] == "/mail/inbox~!:@"
    anonymous = service.decide(attempt("/%70ublic/caf%c3%a9%20au%20lait", None))
    assert anonymous.allowed and anonymous.upstream == {"x-signward-path": "/public/caf%C3%A9%20au%20lait"}


def test_a_spoofed_path_header_is_replaced(service: Any) -> None:
    spoofed = Attempt("GET", "h", "/public/x", {"x-signward-path": ["/admin"], "x-signward-sub": ["m"]}, "test")
    decision = service.decide(spoofed)
    assert decision.allowed and decision.upstream == {"x-signward-path": "/public/x"}
    assert decision.remove == ("x-signward-sub",)


def test_a_route_prefix_must_be_canonical_and_unique_without_case(tmp_path: Path) -> None:
    def load(*prefixes: str) -> GuardConfig:
        routes = "".join(f'[[route]]\nprefix = "{p}"\naudience = "a{i}"\n' for i, p in enumerate(prefixes))
        (tmp_path / "guard.toml").write_text(f'[[issuer]]\nissuer = "https://i.example"\njwks = "/none.json"\n{routes}')
        return GuardConfig.load(tmp_path / "guard.toml")

    assert load("/api/").routes[0].prefix == "/api/"
    for prefix in ("/api;v=1", "/api.", "/a%41", "/api//x", "/api/..", "/api/./x", "/api\\\\x"):
        with pytest.raises(ConfigError, match="prefix"):
            load(prefix)
    with pytest.raises(ConfigError, match="case is ignored"):
        load("/Api", "/api")


def test_a_path_naming_a_route_with_an_extension_is_refused(service: Any, guard_keys: Keys) -> None:
    # /mail.json is no /mail path to the guard, Starlette or a servlet container, but Spring's suffix
    # pattern serves it as /mail: denied for that reason, where the files host's "/" route would admit it
    files = guard_keys.consumer.token(claims(CONSUMER, aud="files"))
    assert service.decide(attempt("/mailbox.json", files, host="files.example.com")).allowed
    decision = service.decide(attempt("/mail.json", files, host="files.example.com"))
    assert (decision.allowed, decision.reason) == (False, "path_route_extension")
    assert service.decide(attempt("/MAIL.json", files, host="files.example.com")).reason == "path_route_extension"
    assert service.decide(attempt("/public.css")).reason == "path_route_extension"
    assert service.decide(attempt("/public/x.css")).allowed
    assert service.decide(attempt("/mail/x.json")).reason == "no_token"


def test_long_paths_are_not_remembered() -> None:
    before = _remembered.cache_info().currsize
    for n in range(50):
        assert canonical_path("/public/" + "x" * 300 + str(n)) == "/public/" + "x" * 300 + str(n)
    assert _remembered.cache_info().currsize == before and _remembered.cache_info().maxsize == 8192


DECODABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~!$&'()*+,=:@"
segment = st.text(DECODABLE, min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(segment, min_size=1, max_size=5), st.booleans(), st.data())
def test_every_legal_escape_is_the_plain_path(segments: list[str], trailing: bool, data: st.DataObject) -> None:
    plain = "/" + "/".join(segments) + ("/" if trailing else "")
    written = ""
    for char in plain:
        if char != "/" and data.draw(st.booleans()):
            code = f"{ord(char):02x}"
            written += "%" + (code.upper() if data.draw(st.booleans()) else code)
        else:
            written += char
    expected = (PathReason.WINDOWS_NAME if WINDOWS.search(plain)
                else PathReason.SEGMENT_EDGE if EDGE_PLUS.search(plain) else plain)  # `/admin+` (#34)
    assert canonical_path(written) == expected


PIECES = ["a", "M", "0", "-", "~", ".", "..", ";", ";x=1", "\\", "%", "%2e", "%2E", "%2f", "%2F", "%5c", "%3b",
          "%3B", "%25", "%00", "%u002e", "%c0%af", "%c0%ae", "%ef%bc%8f", "%e2%80%8b", "%c3%a9", "%20", "%61", "%6D",
          "%3a", "%40", "#", "?", "/", "//", ":", "@", "!", "%7e", "%7E", "\xe9", " ", "%4", "mail", "admin"]
piece = st.one_of(st.sampled_from(PIECES),
                  st.tuples(st.integers(0, 255), st.booleans()).map(
                      lambda b: "%" + (f"{b[0]:02X}" if b[1] else f"{b[0]:02x}")))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(piece, max_size=14))
def test_whatever_is_admitted_every_reader_reads_alike(pieces: list[str]) -> None:
    target = "/" + "".join(pieces)
    path = canonical_path(target)
    if PLAIN.fullmatch(target.partition("?")[0]):  # the fast path agrees with the rules
        assert _read(target.partition("?")[0]) == target.partition("?")[0]
    if isinstance(path, PathReason):
        return
    assert canonical_path(path) == path  # a fixpoint
    assert servlet_reading(target) == servlet_reading(path)
    assert starlette_reading(target) == starlette_reading(path)
    plain = unquote(path, encoding="latin-1")
    assert servlet_reading(path) == ("/" + plain.strip("/") if plain != "/" else "/")
    assert "\\" not in plain and ";" not in plain and "//" not in plain
    assert not any(s in (".", "..") or s.endswith(".") for s in plain.split("/"))
