"""The gRPC server's connection slots: a connection without the HTTP/2 handshake in time is
closed, idleness counts from the last complete call (not the last byte), connections per peer
and in all are bounded, and a newcomer displaces the connection that yields least instead of
being refused. Hand-written frames on raw sockets (the hostile writers), grpcio and a real Envoy
(the client that must keep its answers)."""

from __future__ import annotations

import logging
import os
import re
import resource
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from signward.errors import ConfigError
from signward.guard import GuardService, grpc_h2
from signward.lab.crash import free_port
from tests.guard.conftest import (
    GuardProcess,
    JwksServer,
    Keys,
    Process,
    Upstream,
    claims,
    documents,
    guard_toml,
    start_envoy,
    wait_http,
)
from tests.guard.h2wire import (
    CHECK_HEADERS,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    OPENING,
    PING,
    PREFACE,
    frame,
    frames,
)
from tests.guard.test_grpc_h2 import LoopThread, request


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


def closed_by(guard: grpc_h2.H2GrpcGuard) -> dict[str, float]:
    """What the slot rules closed, from the guard's metrics (the reason of each closing)."""
    counter = guard.service.metrics.grpc_closed
    return {sample.labels["why"]: sample.value for metric in counter.collect() for sample in metric.samples
            if sample.name.endswith("_total") and sample.value}


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
    assert closed_by(guard) == {"handshake": 3}


def test_idleness_counts_from_the_last_complete_call_not_the_last_byte(started: Any,
                                                                       guard_keys: Keys) -> None:
    """A connection that sends a PING every 0.1 s but no call is closed (GOAWAY) after the idle
    time; one that completes a Check every 0.2 s stays, over three times as long."""
    guard = started(idle_seconds=1.0, handshake_seconds=30)
    pinging, calling = connect(guard.port), connect(guard.port)
    pinging.sendall(OPENING)
    calling.sendall(OPENING)
    body = request(guard_keys.enterprise.token(claims()))
    started_at, closed_at, stream, answers = time.monotonic(), None, 1, b""
    while time.monotonic() - started_at < 3.5:
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
    assert closed_at is not None and 0.9 < closed_at < 3.0, closed_at
    assert closed_by(guard) == {"idle": 1}
    answered = [s for kind, flags, s, _ in frames(answers) if kind == HEADERS and flags & END_STREAM]
    assert len(answered) >= 12  # the calls were answered (trailers), so they counted


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
    assert closed_by(guard) == {"displaced": 3}
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
    assert closed_by(guard) == {"displaced": 1}


def test_slot_limits_are_checked() -> None:
    for bad in [dict(connections=0), dict(per_peer=0), dict(connections=10, per_peer=11),
                dict(handshake_seconds=0), dict(idle_seconds=0)]:
        with pytest.raises(ConfigError):
            grpc_h2.SlotLimits(**bad)


class Attacker:
    """Holds `per_peer` connections from each of `peers` loopback addresses, reopening every one
    the guard closes each round: a quarter silent, a quarter trickling the preface a byte per
    round, a quarter silent after the handshake, a quarter sending a PING per round after it."""

    def __init__(self, port: int, peers: list[str], per_peer: int, every: float = 1.0) -> None:
        self.port, self.every = port, every
        self.slots: list[tuple[str, int, socket.socket | None, int]] = [
            (peer, n % 4, None, 0) for peer in peers for n in range(per_peer)]
        self.stopped = threading.Event()
        self.opened = self.reopened = self.failed = 0
        self.rounds = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, peer: str, kind: int) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2, source_address=(peer, 0))
        except OSError:
            self.failed += 1
            return None
        sock.setblocking(False)
        if kind >= 2:
            sock.send(OPENING)
        self.opened += 1
        return sock

    def round(self) -> None:
        for i, (peer, kind, sock, sent) in enumerate(self.slots):
            if self.stopped.is_set():
                return
            if sock is not None and state(sock)[0]:
                sock.close()
                sock, sent = None, 0
                self.reopened += 1
            if sock is None:
                sock = self.open(peer, kind)
            elif kind == 1 and sent < len(PREFACE) - 1:  # never the whole preface
                sock.send(PREFACE[sent:sent + 1])
                sent += 1
            elif kind == 3:
                try:
                    sock.send(frame(PING, 0, 0, b"\x00" * 8))
                except OSError:
                    pass
            self.slots[i] = (peer, kind, sock, sent)
        self.rounds += 1

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            self.round()
            self.stopped.wait(max(0.0, self.every - (time.monotonic() - started)))

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)
        for _, _, sock, _ in self.slots:
            if sock is not None:
                sock.close()


@pytest.mark.slow
def test_envoy_is_answered_while_2000_silent_and_trickling_connections_are_held(
        guard_keys: Keys, tmp_path: Path) -> None:
    """#33: 1,030 idle connections used to lock Envoy's checks out (1,024 slots), and a byte every
    few minutes kept a slot forever. A guard process with the default slots (1,024 in all, 128 per
    peer; a 1 s handshake time to keep the test short) and a real Envoy (gRPC ext_authz, 2 s
    timeout, failure_mode_allow false: an unanswered check would be 403): while 2,000 connections
    from 41 peer addresses are held and reopened as the guard closes them, every check through
    Envoy is answered in time, a valid token 200 and a forged one 401."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 6000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (6000 if hard == resource.RLIM_INFINITY else min(6000, hard), hard))
    jwks, upstream = JwksServer(documents(guard_keys, time.time())), Upstream()
    config = tmp_path / "guard.toml"
    config.write_text(guard_toml(jwks))
    guard = GuardProcess(config, free_port(), free_port(), tmp_path / "no-home", tmp_path)
    guard.process = Process([sys.executable, "-m", "signward", "guard", "--config", str(config), "--port",
                             str(guard.port), "--grpc-port", str(guard.grpc_port), "--grpc-handshake-seconds", "1"],
                            tmp_path / "guard.log", {**os.environ, "SIGNWARD_HOME": str(guard.home)})
    attacker = None
    envoy: Process | None = None
    try:
        wait_http(f"http://127.0.0.1:{guard.port}/metrics")
        attacker = Attacker(guard.grpc_port, [f"127.0.0.{n}" for n in range(2, 42)], 45)
        attacker.slots += [("127.0.0.42", 2, None, 0)] * 200  # one peer over its bound of 128
        assert len(attacker.slots) == 2000
        attacker.round()  # all 2,000 opened before Envoy opens its first connection to the guard
        attacker.thread.start()
        (tmp_path / "envoy").mkdir()
        envoy, port = start_envoy("envoy-grpc.yaml", tmp_path / "envoy", guard, upstream)  # its ready check: 200
        valid = {"authorization": f"Bearer {guard_keys.enterprise.token(claims())}"}
        forged = {"authorization": f"Bearer {guard_keys.old.token(claims())}"}  # the Storm-0558 key
        results, slowest = [], 0.0
        ends = time.monotonic() + 5
        while time.monotonic() < ends:
            for headers, expected in ((valid, 200), (forged, 401)):
                started = time.monotonic()
                status = httpx.get(f"http://127.0.0.1:{port}/mail/inbox", headers=headers, timeout=10).status_code
                slowest = max(slowest, time.monotonic() - started)
                results.append((expected, status))
            time.sleep(0.1)
        rounds, opened, reopened = attacker.rounds, attacker.opened, attacker.reopened
        metrics = httpx.get(f"http://127.0.0.1:{guard.port}/metrics", timeout=10).text
        closed = {why: float(value) for why, value in re.findall(
            r'signward_guard_grpc_connections_closed_total\{why="(\w+)"\} (\S+)', metrics)}
    finally:
        if attacker is not None:
            attacker.close()
        if envoy is not None:
            envoy.stop()
        guard.stop()
        upstream.close()
        jwks.close()
    print(f"{len(results)} checks through Envoy, slowest {slowest:.3f} s; attacker: {rounds} rounds, "
          f"{opened} opened, {reopened} reopened after the guard closed them; closed by the guard: {closed}")
    assert results and all(expected == status for expected, status in results), results
    # inside Envoy's 2 s timeout: a late answer would be 403 above (this side's clock also counts
    # the test process's own stalls, so it is not asserted here)
    assert rounds >= 3 and opened >= 3000 and reopened >= 1000, (rounds, opened, reopened)  # held and churned
    assert "gRPC slots:" in guard.process.output() and "displaced" in guard.process.output()
    assert closed["displaced"] >= 1000 and closed["handshake"] >= 100, closed  # the slot rules closed them
