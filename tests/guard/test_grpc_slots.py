"""The gRPC server's connection slots: a connection without the HTTP/2 handshake in time is
closed, idleness counts from the last complete call (not the last byte), connections per peer
and in all are bounded, and a newcomer displaces the connection that yields least instead of
being refused. Hand-written frames on raw sockets (the hostile writers), grpcio and a real Envoy
(the client that must keep its answers)."""

from __future__ import annotations

import logging
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from signward.errors import ConfigError
from signward.guard import GuardService, grpc_h2
from signward.guard.messages import CheckResponse
from signward.lab.crash import free_port
from tests.guard.conftest import (ENTERPRISE, JwksServer, Keys, Process, Upstream, claims, documents, guard_toml,
                                  start_envoy, wait_http)
from tests.guard.h2wire import (CHECK_HEADERS, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, OPENING, PING,
                                PREFACE, frame, frames)
from tests.guard.test_grpc_h2 import LoopThread, call, request


@pytest.fixture
def started(service: GuardService) -> Iterator[Any]:
    """Start an nghttp2 gRPC server with the given slot limits (on a loop thread); stopped at the end."""
    loop = LoopThread()
    guards: list[grpc_h2.H2GrpcGuard] = []

    def start(**limits: Any) -> grpc_h2.H2GrpcGuard:
        guard = grpc_h2.H2GrpcGuard(service, "127.0.0.1", 0, slots=grpc_h2.SlotLimits(**limits))
        loop.run(guard.start())
        guards.append(guard)
        return guard

    yield start
    for guard in guards:
        loop.run(guard.stop())
    loop.close()


OPENED: list[socket.socket] = []


@pytest.fixture(autouse=True)
def close_sockets() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def connect(port: int, peer: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(peer, 0))
    sock.setblocking(False)
    OPENED.append(sock)
    return sock


def state(sock: socket.socket) -> tuple[bool, bytes]:
    """(closed by the guard, bytes it sent meanwhile), without blocking."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return False, received
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk


def closed_within(sock: socket.socket, seconds: float) -> tuple[float | None, bytes]:
    """When the guard closed `sock` (seconds from now, None if not within `seconds`) and what it sent."""
    started, received = time.monotonic(), b""
    while time.monotonic() - started < seconds:
        closed, chunk = state(sock)
        received += chunk
        if closed:
            return time.monotonic() - started, received
        time.sleep(0.02)
    return None, received


def check_call(stream: int, body: bytes) -> bytes:
    message = b"\x00" + len(body).to_bytes(4, "big") + body
    return frame(HEADERS, END_HEADERS, stream, CHECK_HEADERS) + frame(DATA, END_STREAM, stream, message)


def test_a_connection_without_the_handshake_in_time_is_closed(started: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Silent, a preface trickled a byte at a time, a preface without SETTINGS: each is closed at
    the handshake deadline (idle time and slots far away, every byte valid: no other rule can
    close them); a connection with the preface and SETTINGS stays."""
    caplog.set_level(logging.INFO, "signward.guard")
    guard = started(handshake_seconds=0.5, idle_seconds=60)
    silent, trickle, no_settings, good = (connect(guard.port) for _ in range(4))
    no_settings.sendall(PREFACE)
    good.sendall(OPENING)
    started_at, waited = time.monotonic(), {}
    for at in range(20):  # 24 preface bytes: never done before the deadline
        if at < len(PREFACE):
            try:
                trickle.sendall(PREFACE[at:at + 1])
            except OSError:
                pass
        for name, sock in (("silent", silent), ("trickle", trickle), ("no_settings", no_settings)):
            if name not in waited and state(sock)[0]:
                waited[name] = time.monotonic() - started_at
        time.sleep(0.05)
    for name, sock in (("silent", silent), ("trickle", trickle), ("no_settings", no_settings)):
        if name not in waited:
            when, _ = closed_within(sock, 3)
            assert when is not None, name
            waited[name] = time.monotonic() - started_at
    assert all(0.4 < waited[name] < 3 for name in waited), waited
    assert not state(good)[0]
    assert sum("no preface and SETTINGS within" in r.getMessage() for r in caplog.records) == 3


def test_idleness_counts_from_the_last_complete_call_not_the_last_byte(started: Any,
                                                                       guard_keys: Keys) -> None:
    """A connection that sends a PING every 0.1 s but no call is closed (GOAWAY) after the idle
    time; one that completes a Check every 0.2 s stays, over three times as long."""
    guard = started(idle_seconds=0.6, handshake_seconds=30)
    pinging, calling = connect(guard.port), connect(guard.port)
    pinging.sendall(OPENING)
    calling.sendall(OPENING)
    body = request(guard_keys.enterprise.token(claims()))
    started_at, closed_at, stream, answers = time.monotonic(), None, 1, b""
    while time.monotonic() - started_at < 2.0:
        if closed_at is None:
            closed, sent = state(pinging)
            if closed:
                closed_at = time.monotonic() - started_at
                assert GOAWAY in [kind for kind, _, _, _ in frames(sent)]
            else:
                pinging.sendall(frame(PING, 0, 0, b"\x00" * 8))
        if int((time.monotonic() - started_at) / 0.2) >= (stream + 1) // 2 - 1:
            calling.sendall(check_call(stream, body))
            stream += 2
        closed, sent = state(calling)
        assert not closed
        answers += sent
        time.sleep(0.1)
    assert closed_at is not None and 0.5 < closed_at < 1.5, closed_at
    answered = [s for kind, flags, s, _ in frames(answers) if kind == HEADERS and flags & END_STREAM]
    assert len(answered) >= 8  # the calls were answered (trailers), so they counted


def test_full_slots_displace_the_oldest_connection_without_a_call(started: Any, guard_keys: Keys,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Four slots: a connection that completed a call, then silent ones that did the handshake.
    Each newcomer over the bound displaces the oldest silent one at once (not at a deadline:
    those are far away), never the one that completed a call, and is never refused itself."""
    guard = started(connections=4, per_peer=4, handshake_seconds=60, idle_seconds=60)
    caller = connect(guard.port)
    caller.sendall(OPENING + check_call(1, request(guard_keys.enterprise.token(claims()))))
    deadline = time.monotonic() + 5
    while not [s for kind, flags, s, _ in frames(state(caller)[1]) if kind == HEADERS] and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)
    silent = []
    for _ in range(6):
        sock = connect(guard.port)
        sock.sendall(OPENING)
        silent.append(sock)
        time.sleep(0.05)
    time.sleep(0.2)
    closed = [state(sock)[0] for sock in silent]
    assert closed == [True, True, True, False, False, False]
    assert not state(caller)[0] and len(guard.connections) == 4
    assert any("displaced" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    caller.sendall(check_call(3, request(guard_keys.enterprise.token(claims()))))
    when, _ = closed_within(caller, 0.3)
    assert when is None


def test_connections_per_peer_are_bounded(started: Any) -> None:
    """Two per peer: a third from 127.0.0.2 displaces that peer's oldest; 127.0.0.3's are untouched
    (slots in all are far from full)."""
    guard = started(connections=100, per_peer=2, handshake_seconds=60, idle_seconds=60)
    other = connect(guard.port, "127.0.0.3")
    mine = []
    for _ in range(3):
        mine.append(connect(guard.port, "127.0.0.2"))
        time.sleep(0.05)
    time.sleep(0.2)
    assert [state(sock)[0] for sock in mine] == [True, False, False]
    assert not state(other)[0]
    assert {peer: len(pool) for peer, pool in guard.peers.items()} == {"127.0.0.2": 2, "127.0.0.3": 1}


def test_slot_limits_are_checked() -> None:
    for bad in [dict(connections=0), dict(per_peer=0), dict(connections=10, per_peer=11),
                dict(handshake_seconds=0), dict(idle_seconds=0)]:
        with pytest.raises(ConfigError):
            grpc_h2.SlotLimits(**bad)  # type: ignore[arg-type]
