"""The issuer's HTTP protocol (httptools, issue 39) keeps the limits the h11 one had: a request
head is capped in size (llhttp has no cap of its own) and must arrive within its deadline; a
request within the limits is served. A real uvicorn server on loopback, with a small app.
Its responses leave in one write per turn of the event loop (`OneWrite`), seen on a real
packet-mode pipe (O_DIRECT), where each write is one packet."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import cast

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from signward.issuer.server import (
    MAX_HEAD,
    MAX_READ_SLACK,
    HttpToolsHeadDeadlineProtocol,
    OneWrite,
    protocol_with_head_timeout,
)
from signward.lab.crash import free_port


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(b"got " + await request.body())


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    chosen = free_port()
    protocol = protocol_with_head_timeout(1.0)
    assert issubclass(protocol, HttpToolsHeadDeadlineProtocol)
    app = Starlette(routes=[Route("/", ok), Route("/echo", echo, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=chosen, log_level="error", lifespan="off", http=protocol)
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


def _messages(fd: int) -> list[bytes]:
    out: list[bytes] = []
    while True:
        try:
            message = os.read(fd, 65536)
        except BlockingIOError:
            return out
        out.append(message)
        if not message:
            return out


def test_the_writes_of_one_turn_leave_as_one_write() -> None:
    """A response's head and body written in one turn are one message; a write alone in its
    turn (a 100 Continue) leaves at the end of that turn; closing sends what is held first."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        peer, ours = os.pipe2(os.O_DIRECT)  # a packet per write(2), a read(2) takes one packet
        os.set_blocking(peer, False)
        try:
            transport, _ = await loop.connect_write_pipe(asyncio.BaseProtocol, os.fdopen(ours, "wb", buffering=0))
            one = OneWrite(cast(asyncio.Transport, transport), loop)
            one.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
            one.write(memoryview(b"body"))
            assert _messages(peer) == []  # held until the turn ends
            await asyncio.sleep(0)
            assert _messages(peer) == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody"]
            one.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await asyncio.sleep(0)
            assert _messages(peer) == [b"HTTP/1.1 100 Continue\r\n\r\n"]
            one.write(b"last")
            one.close()
            await asyncio.sleep(0.05)
            assert _messages(peer) == [b"last", b""]
            assert one.is_closing()
        finally:
            os.close(peer)

    asyncio.run(run())


def test_a_client_that_waits_for_100_continue_is_answered(port: int) -> None:
    """The 100 Continue is not held back behind a response that has not been written yet: a
    client that sends its body only after it gets the 100 is served."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert conn.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.sendall(b"hello")
        answer = b""
        while b"got hello" not in answer:
            chunk = conn.recv(65536)
            assert chunk, answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
