"""The issuer's HTTP protocol (httptools, issue 39) keeps the limits the h11 one had: a request
head is capped in size (llhttp has no cap of its own) and must arrive within its deadline; a
request within the limits is served. A real uvicorn server on loopback, with a small app."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from signward.issuer.server import MAX_HEAD, MAX_READ_SLACK, HttpToolsHeadDeadlineProtocol, protocol_with_head_timeout
from signward.lab.crash import free_port


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    chosen = free_port()
    protocol = protocol_with_head_timeout(1.0)
    assert issubclass(protocol, HttpToolsHeadDeadlineProtocol)
    config = uvicorn.Config(Starlette(routes=[Route("/", ok)]), host="127.0.0.1", port=chosen, log_level="error",
                            lifespan="off", http=protocol)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    yield chosen
    server.should_exit = True
    thread.join(10)


def _exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        try:
            conn.sendall(data)
        except OSError:  # closed while we were still sending: what was answered counts
            pass
        answer = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
            if b"\r\n\r\n" in answer and (b"ok" in answer or b"Invalid" in answer):
                break
        return answer


def test_a_request_within_the_limits_is_served(port: int) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (MAX_HEAD // 2) + b"\r\n\r\n"
    assert _exchange(port, head).startswith(b"HTTP/1.1 200")


def test_an_oversized_request_head_is_refused_and_closed(port: int) -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (MAX_HEAD + MAX_READ_SLACK + 1024) + b"\r\n\r\n"
    answer = _exchange(port, head)
    assert answer.startswith(b"HTTP/1.1 400") and b"Invalid HTTP request received." in answer


def test_a_head_that_never_completes_is_closed_at_its_deadline(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHo")
        started = time.monotonic()
        assert conn.recv(100) == b""  # closed by the server, nothing served
        assert time.monotonic() - started < 5
