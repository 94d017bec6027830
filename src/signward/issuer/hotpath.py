"""The token route's per-request shortcuts (issue 39): a body the server already holds whole, a plain
form, the answer's JSON written around a token that needs no escape."""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any
from urllib.parse import parse_qsl

from ..compact_json import CompactEncoder

_HTTPTOOLS_CYCLE = ("uvicorn.protocols.http.httptools_impl", "RequestResponseCycle")


def body_whole(receive: Any) -> bool:
    """Whether `receive()` hands back the request's whole body without waiting: uvicorn's
    httptools cycle after its parser saw the message's end (no more body, its message event
    set, no `100 Continue` owed). Then the body needs no deadline. False whenever unsure (any
    other server or receive wrapper): the caller keeps its deadline."""
    cycle = getattr(receive, "__self__", None)
    if cycle is None or (type(cycle).__module__, type(cycle).__name__) != _HTTPTOOLS_CYCLE:
        return False
    event = getattr(cycle, "message_event", None)
    return (getattr(cycle, "more_body", True) is False and event is not None and event.is_set()
            and getattr(cycle, "waiting_for_100_continue", True) is False)


def form_pairs(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")`,
    without its per-pair unquoting where nothing is escaped (no '%' and no '+': a client
    credentials body as clients send it); the same pairs and the same ValueError."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    pairs: list[tuple[str, str]] = []
    if not text:
        return pairs
    for field in text.split("&"):
        name, equals, value = field.partition("=")
        if not equals:
            raise ValueError(f"bad query field: {field!r}")
        pairs.append((name, value))
    return pairs


_ANSWER = CompactEncoder()


def token_answer(token: str, expires_in: int, scope: str) -> bytes:
    """The token response's JSON (RFC 6749 5.1): the bytes `json.dumps({"access_token": token,
    "token_type": "Bearer", "expires_in": expires_in, "scope": scope}, separators=(",", ":"))`
    gives, without running the encoder over the token's few hundred characters when none of
    them needs an escape (a JWS compact token is base64url and dots: printable ASCII without
    '"' or backslash); any other token, and any `expires_in` that is not an int, through the
    encoder."""
    if type(expires_in) is int and token.isascii() and token.isprintable() and '"' not in token \
            and "\\" not in token:
        return (f'{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in},'
                f'"scope":{encode_basestring_ascii(scope)}}}').encode()
    return _ANSWER.encode({"access_token": token, "token_type": "Bearer", "expires_in": expires_in,
                           "scope": scope}).encode()


__all__ = ["body_whole", "form_pairs", "token_answer"]
