"""Reading an HTTP answer of bounded size: counted while it arrives, never trusted from a header.

Every client of signward that reads a document over HTTP (a JWKS, an introspection answer,
discovery) reads it through `read_limited`, so a server cannot make it hold more than the
limit whatever Content-Length says.
"""

from __future__ import annotations

import httpx


def read_limited(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed response; ValueError past `limit` bytes."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise ValueError(f"larger than {limit // 1024} KiB")
    return bytes(body)
