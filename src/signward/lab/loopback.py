"""An ASGI app served by uvicorn in a thread on a free loopback port (the lab's mail API, and
the small peers of the tests)."""

from __future__ import annotations

import threading
import time
from typing import Any, Self

import uvicorn

from .crash import free_port


class ThreadedServer:
    """`start()`/`stop()`, or a context manager; `base` is its http://127.0.0.1:PORT."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name=f"asgi-{self.port}")

    def start(self, timeout: float = 15.0) -> Self:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["ThreadedServer"]
