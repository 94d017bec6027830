"""HTTP/2 frames written by hand for the guard's gRPC session tests and its fuzzer: the client
preface, frames, and a gRPC Check call's headers as HPACK literals (no Huffman, no index)."""

from __future__ import annotations

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
END_STREAM, END_HEADERS = 0x1, 0x4


def frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def literal(name: bytes, value: bytes) -> bytes:
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


CHECK_HEADERS = b"".join(literal(n, v) for n, v in [
    (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/envoy.service.auth.v3.Authorization/Check"),
    (b":authority", b"guard"), (b"content-type", b"application/grpc"), (b"te", b"trailers")])
OPENING = PREFACE + frame(SETTINGS, 0, 0, b"")


def frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, stream, payload) of each whole frame in a server's output."""
    found, at = [], 0
    while at + 9 <= len(data):
        length = int.from_bytes(data[at:at + 3], "big")
        stream = int.from_bytes(data[at + 5:at + 9], "big") & 0x7FFFFFFF
        found.append((data[at + 3], data[at + 4], stream, data[at + 9:at + 9 + length]))
        at += 9 + length
    return found
