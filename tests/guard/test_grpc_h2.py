"""The guard's gRPC transport on nghttp2, with grpcio as the client and as the reference server:
the same CheckRequests get the same CheckResponse bytes from both, calls are multiplexed on one
connection, and hostile calls and bytes get an error status or a closed connection, never an
allow and never a dead server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signward.guard import GuardService, grpc_h2
from signward.guard.grpc_service import MAX_MESSAGE, GrpcGuard, attempt_of
from signward.guard.messages import CheckRequest, CheckResponse
from tests.guard.conftest import CONSUMER, ENTERPRISE, HONEY_KID, Keys, claims
from tests.guard.h2wire import (
    CHECK_HEADERS,
    DATA,
    END_HEADERS,
    END_STREAM,
    GOAWAY,
    HEADERS,
    OPENING,
    RST_STREAM,
    frame,
    frames,
)
from tests.verify.forge import new_key

CHECK = "/envoy.service.auth.v3.Authorization/Check"
T = TypeVar("T")


class LoopThread:
    """An event loop in a thread, as the guard runs its servers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def servers(service: GuardService) -> Iterator[dict[str, int]]:
    """The nghttp2 server and the grpcio reference, both on the same guard."""
    loop = LoopThread()
    compiled = grpc_h2.H2GrpcGuard(service, "127.0.0.1", 0)
    reference = GrpcGuard(service, "127.0.0.1", 0)
    loop.run(compiled.start())
    loop.run(reference.start())
    yield {"compiled": compiled.port, "reference": reference.port}
    loop.run(compiled.stop())
    loop.run(reference.stop())
    loop.close()


def call(port: int, body: bytes, method: str = CHECK, timeout: float = 10) -> bytes:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return channel.unary_unary(method)(body, timeout=timeout)  # type: ignore[no-any-return]


def request(token: str | None = None, path: str = "/mail/inbox", host: str = "mail.example.com",
            headers: dict[str, str] | None = None, raw: bool = False) -> bytes:
    message = CheckRequest()
    http = message.attributes.request.http
    http.method, http.host, http.path = "GET", host, path
    found = dict(headers or {})
    if token is not None:
        found["authorization"] = f"Bearer {token}"
    for name, value in found.items():
        if raw:  # Envoy's header_map with raw bytes, as sent when encode_raw_headers is on
            http.header_map.headers.add(key=name, raw_value=value.encode())
        else:
            http.headers.add(key=name, value=value)
    return bytes(message.SerializeToString())


def test_the_extension_was_built() -> None:
    # CI installs libnghttp2-dev: a silent fall back to grpcio would leave the compiled path untested
    assert grpc_h2.AVAILABLE and grpc_h2.compiled()


def test_both_servers_give_the_same_answer_to_every_request(servers: dict[str, int], guard_keys: Keys) -> None:
    keys = guard_keys
    requests = {
        "valid": request(keys.enterprise.token(claims(sub="alice")), headers={"x-signward-sub": "mallory",
                                                                             "x-signward-scope": "all"}),
        "valid_raw_headers": request(keys.enterprise.token(claims(sub="bob")), raw=True),
        "key_expired": request(keys.old.token(claims())),
        "consumer_key_for_enterprise": request(keys.consumer.token(claims(ENTERPRISE))),
        "consumer_on_enterprise_route": request(keys.consumer.token(claims(CONSUMER))),
        "honey": request(keys.honey.token(claims(), kid=HONEY_KID)),
        "no_token": request(),
        "wrong_audience": request(keys.enterprise.token(claims(aud="files"))),
        "insufficient_scope": request(keys.enterprise.token(claims(scope="other"))),
        "ambiguous_path": request(keys.enterprise.token(claims()), path="/public/../mail/inbox"),
        "public": request(path="/public/page", headers={"x-signward-sub": "mallory"}),
        "no_attributes": b"",
    }
    for name, body in requests.items():
        compiled, reference = call(servers["compiled"], body), call(servers["reference"], body)
        assert compiled == reference, name
    valid = CheckResponse.FromString(call(servers["compiled"], requests["valid"]))
    assert valid.status.code == 0
    upstream = {h.header.key: h.header.value for h in valid.ok_response.headers}
    assert upstream["x-signward-sub"] == "alice" and upstream["x-signward-kid"] == keys.enterprise.kid
    assert list(valid.ok_response.headers_to_remove) == ["x-signward-scope"]
    for name in ("key_expired", "consumer_key_for_enterprise", "honey", "no_attributes", "ambiguous_path"):
        denied = CheckResponse.FromString(call(servers["compiled"], requests[name]))
        assert denied.status.code == 16 and denied.denied_response.status.code == 401, name
        assert not denied.HasField("ok_response"), name


def test_a_check_that_waits_for_a_key_refresh_is_answered_from_a_thread(servers: dict[str, int],
                                                                        service: GuardService) -> None:
    body = request(new_key("ES256").token(claims()))  # a kid no key set holds
    assert service.may_wait(attempt_of(CheckRequest.FromString(body)))  # the path under test
    answer = CheckResponse.FromString(call(servers["compiled"], body))
    assert answer.status.code == 16 and answer.denied_response.status.code == 401
    assert answer == CheckResponse.FromString(call(servers["reference"], body))


def test_a_check_that_raises_answers_internal_inline_and_from_a_thread(servers: dict[str, int], guard_keys: Keys,
                                                                        service: GuardService,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(attempt: Any) -> Any:
        raise RuntimeError("a defect inside the control")

    monkeypatch.setattr(service, "decide", broken)
    for token in (guard_keys.enterprise.token(claims()), new_key("ES256").token(claims())):  # known kid, unknown
        with pytest.raises(grpc.RpcError) as raised:
            call(servers["compiled"], request(token))
        assert raised.value.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]


def test_many_calls_multiplexed_on_one_connection(servers: dict[str, int], guard_keys: Keys) -> None:
    good = request(guard_keys.enterprise.token(claims()))
    bad = request(guard_keys.old.token(claims()))
    with grpc.insecure_channel(f"127.0.0.1:{servers['compiled']}") as channel:
        check = channel.unary_unary(CHECK)
        futures = [(i, check.future(good if i % 2 else bad, timeout=30)) for i in range(600)]
        codes = [(i, CheckResponse.FromString(f.result()).status.code) for i, f in futures]
    assert all(code == (0 if i % 2 else 16) for i, code in codes)


@pytest.mark.parametrize(("method", "body", "code"), [
    ("/envoy.service.auth.v3.Authorization/Other", b"", grpc.StatusCode.UNIMPLEMENTED),
    ("/grpc.health.v1.Health/Check", b"", grpc.StatusCode.UNIMPLEMENTED),
    (CHECK, b"\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT),  # not a CheckRequest
    (CHECK, b"\x0a\x05\x22\x03\x12", grpc.StatusCode.INVALID_ARGUMENT),  # truncated nested message
])
def test_wrong_calls_get_an_error_status(servers: dict[str, int], method: str, body: bytes,
                                         code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        call(servers["compiled"], body, method)
    assert raised.value.code() == code  # type: ignore[attr-defined]


def test_an_oversized_call_is_refused_and_the_server_keeps_serving(servers: dict[str, int],
                                                                   guard_keys: Keys) -> None:
    huge = request(guard_keys.enterprise.token(claims()), headers={"x-pad": "a" * 4000})
    message = CheckRequest.FromString(huge)
    for _ in range(MAX_MESSAGE // 4000 + 2):
        message.attributes.request.http.headers.add(key="x-pad", value="a" * 4000)
    with grpc.insecure_channel(f"127.0.0.1:{servers['compiled']}",
                               options=[("grpc.max_send_message_length", 4 * MAX_MESSAGE)]) as channel:
        with pytest.raises(grpc.RpcError):
            channel.unary_unary(CHECK)(message.SerializeToString(), timeout=10)
        answer = channel.unary_unary(CHECK)(request(guard_keys.enterprise.token(claims())), timeout=10)
    assert CheckResponse.FromString(answer).status.code == 0


def raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # HTTP/1.1 on the gRPC port
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x08\x07\x00\x00\x00\x00\x01" + b"\x00" * 8,  # GOAWAY on stream 1
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff\xff\xff\x04\x00\x00\x00\x00\x00",  # a SETTINGS frame of 16 MiB
    b"\x00" * 100,
])
def test_hostile_bytes_close_the_connection_and_the_server_keeps_serving(servers: dict[str, int], data: bytes,
                                                                         guard_keys: Keys) -> None:
    raw_exchange(servers["compiled"], data)  # returns once the guard has closed its side
    answer = call(servers["compiled"], request(guard_keys.enterprise.token(claims())))
    assert CheckResponse.FromString(answer).status.code == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(st.binary(max_size=64), max_size=8), split=st.integers(1, 32))
def test_any_bytes_after_the_preface_are_calls_or_a_protocol_error(frames: list[bytes], split: int) -> None:
    assert grpc_h2._built is not None
    session = grpc_h2._built.Session(max_body=1024, max_headers=1024, max_streams=4, max_buffered=2048)
    data = OPENING + b"".join(frames)
    try:
        for at in range(0, len(data), split):
            for stream_id, path, _is_grpc, body in session.feed(data[at:at + split]):
                assert stream_id > 0 and len(path) <= 256 and len(body) <= 1024
                session.respond(stream_id, 13)
            session.output()
    except ValueError as error:
        assert str(error).startswith("HTTP/2: ")


def test_a_connection_holds_a_bounded_number_of_request_bytes() -> None:
    assert grpc_h2._built is not None
    session = grpc_h2._built.Session(max_body=1024, max_headers=4096, max_streams=10, max_buffered=2048)
    opened = b"".join(frame(HEADERS, END_HEADERS, stream, CHECK_HEADERS) + frame(DATA, 0, stream, b"\x00" * 1000)
                      for stream in (1, 3, 5))  # three half-sent calls: the third goes over 2,048 held bytes
    assert session.feed(OPENING + opened) == []
    resets = [stream for kind, _, stream, _ in frames(session.output()) if kind == RST_STREAM]
    assert resets == [5]
    ended = session.feed(frame(DATA, END_STREAM, 1, b""))  # stream 1 ends: its bytes are handed over, then freed
    assert [(stream, len(body)) for stream, _, _, body in ended] == [(1, 1000)]
    again = session.feed(frame(HEADERS, END_HEADERS, 7, CHECK_HEADERS) + frame(DATA, END_STREAM, 7, b"\x00" * 1000))
    assert [(stream, len(body)) for stream, _, _, body in again] == [(7, 1000)]
    assert not [f for f in frames(session.output()) if f[0] == RST_STREAM]


def test_a_silent_connection_is_closed(service: GuardService) -> None:
    loop = LoopThread()
    guard = grpc_h2.H2GrpcGuard(service, "127.0.0.1", 0, slots=grpc_h2.SlotLimits(idle_seconds=0.4))
    loop.run(guard.start())
    try:
        with socket.create_connection(("127.0.0.1", guard.port), timeout=10) as sock:
            sock.sendall(OPENING)  # a valid preface, then nothing
            started = time.monotonic()
            received = b""
            while chunk := sock.recv(65536):  # returns b"" once the guard closes
                received += chunk
            waited = time.monotonic() - started
        assert 0.3 < waited < 5, waited
        assert GOAWAY in [kind for kind, _, _, _ in frames(received)]
    finally:
        loop.run(guard.stop())
        loop.close()


def test_session_arguments_are_checked() -> None:
    assert grpc_h2._built is not None
    Session = grpc_h2._built.Session
    good = dict(max_body=100, max_headers=1024, max_streams=1, max_buffered=100)
    for bad in [dict(max_body=4), dict(max_headers=10), dict(max_streams=0), dict(max_buffered=99)]:
        with pytest.raises(ValueError):
            Session(**{**good, **bad})
    session = Session(**good)
    assert session.respond(1, 0, b"x") is False  # no such stream: nothing queued
    with pytest.raises(ValueError):
        session.respond(1, 17)
    assert session.output().startswith(b"\x00\x00")  # the server's SETTINGS frame


def test_grpc_framing() -> None:
    assert grpc_h2.unframe(b"\x00\x00\x00\x00\x02ab") == b"ab"
    assert grpc_h2.unframe(b"\x00\x00\x00\x00\x00") == b""
    for bad in [b"", b"\x00\x00\x00\x00", b"\x01\x00\x00\x00\x02ab", b"\x00\x00\x00\x00\x03ab",
                b"\x00\x00\x00\x00\x01ab"]:
        assert grpc_h2.unframe(bad) is None, bad


def test_concurrent_clients(servers: dict[str, int], guard_keys: Keys) -> None:
    good = request(guard_keys.enterprise.token(claims()))

    def one(_: int) -> int:
        return int(CheckResponse.FromString(call(servers["compiled"], good)).status.code)

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(one, range(64))) == {0}
