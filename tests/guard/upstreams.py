"""Two real upstreams that read paths as common frameworks do, for the path-confusion tests.

- `StarletteUpstream`: a Starlette app under uvicorn (uvicorn percent-decodes the whole path,
  `%2F` included, and Starlette routes on that).
- `ServletUpstream`: a stdlib HTTP server that routes as servlet containers do (Tomcat, Jetty and
  Spring or Shiro on them): `;params` dropped per segment, the path percent-decoded, `;params`
  dropped again (Jetty-style), backslashes read as `/`, empty segments merged, dot segments
  resolved.

Both answer every request 200 with JSON: the route they serve it under (`none` for none), their
reading of the path and the `x-signward-path` the guard sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from signward.lab.crash import free_port
from tests.guard.conftest import Upstream, _Quiet

ROUTES = ("/api/mail", "/api", "/admin", "/public")  # most specific first


def route_of(path: str, fold_case: bool = False) -> str:
    """The route a reader serves `path` under: the longest prefix, whole segments, or `none`."""
    if fold_case:
        path = path.lower()
    for prefix in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return "none"


def _strip_parameters(path: str) -> str:
    return "/".join(segment.partition(";")[0] for segment in path.split("/"))


def servlet_reading(target: str) -> str:
    """The path a servlet container routes a raw request target on."""
    path = _strip_parameters(target.partition("?")[0])
    path = _strip_parameters(unquote(path, encoding="latin-1")).replace("\\", "/")
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out)


def starlette_reading(target: str) -> str:
    """The path uvicorn hands Starlette for a raw request target."""
    return unquote(target.partition("?")[0])


def _answer(served: str, reading: str, guard: str | None) -> bytes:
    return json.dumps({"served": served, "reading": reading, "guard": guard}).encode()


class ServletUpstream(Upstream):
    """Routes on `servlet_reading` of the raw target."""

    def __init__(self) -> None:  # noqa: D107 - replaces the parent's plain answering server
        self.seen = []

        class Handler(_Quiet):
            def do_GET(self) -> None:
                reading = servlet_reading(self.path)
                body = _answer(route_of(reading), reading, self.headers.get("x-signward-path"))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def starlette_app() -> Starlette:
    def serve(name: str) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            return JSONResponse({"served": name, "reading": request.url.path,
                                 "guard": request.headers.get("x-signward-path")})
        return endpoint

    routes = []
    for prefix in ROUTES:
        routes += [Route(prefix, serve(prefix)), Route(prefix + "/{rest:path}", serve(prefix))]
    routes.append(Route("/{rest:path}", serve("none")))
    return Starlette(routes=routes)


class StarletteUpstream(Upstream):
    """The Starlette app under a real uvicorn server, in a thread of its own."""

    def __init__(self) -> None:  # noqa: D107
        self.seen = []
        self.port = free_port()
        config = uvicorn.Config(starlette_app(), host="127.0.0.1", port=self.port, log_level="error",
                                access_log=False, lifespan="off")
        self.uvicorn = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.uvicorn.serve()), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.uvicorn.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def close(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=10)
