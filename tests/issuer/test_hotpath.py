"""The token route's shortcuts (issue 39): the plain form parse gives parse_qsl's pairs and errors;
the body deadline is skipped only where uvicorn already holds the whole body."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
import uvicorn
from hypothesis import given, settings
from hypothesis import strategies as st

from signward.issuer import app as issuer_app
from signward.issuer.hotpath import body_whole, form_pairs, token_answer
from signward.lab.crash import free_port


def _qsl(text: str) -> Any:
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        return type(exc)


def _mine(text: str) -> Any:
    try:
        return form_pairs(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return type(exc)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab=&;%+ 2F\u00e9\x00\n", max_size=40))
def test_form_pairs_are_parse_qsl_on_hostile_forms(text: str) -> None:
    assert _mine(text) == _qsl(text)


def test_form_pairs_refuse_a_field_without_equals() -> None:
    for text in ("grant_type", "grant_type=client_credentials&", "&a=1", "a=1&&b=2"):
        with pytest.raises(ValueError, match="bad query field"):
            form_pairs(text)
    assert form_pairs("a==b&c=") == [("a", "=b"), ("c", "")] == parse_qsl("a==b&c=", keep_blank_values=True)


def test_the_body_deadline_stays_for_any_other_receive(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {}

    assert body_whole(never) is False
    monkeypatch.setattr(issuer_app, "BODY_TIMEOUT", 0.05)
    answer = asyncio.run(issuer_app._asgi_body(never, "/realms/r/token"))
    assert not isinstance(answer, bytes) and answer.status_code == 408


def _response(conn: socket.socket) -> bytes:
    """One whole response of the app below (its head, then its 2-byte body): a loaded server may
    send them in two segments, and the second request's read must not get the first's body."""
    data = b""
    while not (b"\r\n\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) >= 2):
        piece = conn.recv(4096)
        assert piece, data
        data += piece
    return data


def test_uvicorn_holds_a_whole_body_and_not_a_partial_one() -> None:
    seen: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(body_whole(receive))
        body = await issuer_app._asgi_body(receive, scope["path"])
        assert isinstance(body, bytes)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, http="httptools", loop="asyncio",
                                           lifespan="off", log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        head = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(head + b"a=1&b=22")  # whole
            assert _response(conn).startswith(b"HTTP/1.1 200")
            conn.sendall(head + b"a=1")  # the rest comes later: the deadline must be armed
            deadline = time.monotonic() + 10
            while len(seen) < 2 and time.monotonic() < deadline:  # the app has seen the partial body
                time.sleep(0.01)  # (a fixed sleep let a loaded server read both parts at once)
            conn.sendall(b"&b=22")
            assert _response(conn).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(10)
    assert seen == [True, False]


def _reference_answer(token: str, expires_in: Any, scope: str) -> bytes:
    return json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": scope},
                      separators=(",", ":")).encode()


_BASE64URL = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.builds(lambda a, b, c: f"{a}.{b}.{c}", _BASE64URL, _BASE64URL, _BASE64URL), st.text()),
       st.one_of(st.integers(), st.booleans()), st.text())
def test_token_answer_is_the_encoders_json_for_every_token(token: str, expires_in: int, scope: str) -> None:
    assert token_answer(token, expires_in, scope) == _reference_answer(token, expires_in, scope)


@pytest.mark.parametrize("token", ['a."b', "a.\\b", "a.\x01b", "a.\x7fb", "a.\u00e9b"])
def test_a_token_that_needs_an_escape_is_escaped(token: str) -> None:
    """The shortcut writes a token as it is only when no character of it needs an escape: one
    that does (a quote would end the string and let the rest be read as fields) is escaped."""
    answer = token_answer(token, 300, "api")
    assert answer == _reference_answer(token, 300, "api")
    assert json.loads(answer) == {"access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": "api"}
