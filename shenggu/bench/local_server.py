"""A shenggu app served by uvicorn in a thread on a free loopback port, for benchmarks that need a server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from shenggu.errors import ShengguError


class LocalServerError(ShengguError):
    """The local server did not start, or did not become ready in time."""

    code = "server_error"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app, ready_path: str = "/ready", timeout_s: float = 600.0) -> Iterator[str]:
    """Serve ``app`` (lifespan included) and yield its base URL ``http://127.0.0.1:PORT`` once ``ready_path``
    answers 200; the server stops when the block ends."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="local-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base + ready_path, thread, timeout_s)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _wait_ready(url: str, thread: threading.Thread, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200 (models load for a while at start-up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise LocalServerError(f"the local server stopped before {url} was ready")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    raise LocalServerError(f"the local server was not ready after {timeout_s:g} s ({url})")
