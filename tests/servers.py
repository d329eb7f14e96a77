"""Real servers on free loopback ports, for tests (the in-process one is the benchmarks' own)."""

from __future__ import annotations

import functools
import time

import httpx

from shenggu.bench.local_server import free_port, serving

__all__ = ["free_port", "running_server", "wait_until_up"]

# Tests serve apps whose models are loaded by fixtures, so liveness is enough to start.
running_server = functools.partial(serving, ready_path="/health", timeout_s=60.0)


def wait_until_up(base: str, timeout: float = 60.0) -> None:
    """Poll ``/health`` of a server in another process until it answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server at {base} did not come up")
