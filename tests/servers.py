"""Real servers on free loopback ports, for tests (the in-process one is the benchmarks' own)."""

from __future__ import annotations

import functools
import time

import httpx

from shenggu.bench.local_server import free_port, serving

__all__ = ["call_as", "free_port", "running_server", "tenant_keys", "wait_until_up"]

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


def tenant_keys(app, *names: str) -> dict[str, str]:
    """A new API key for each named tenant of ``app`` (tenants created as needed)."""
    from shenggu.service.storage import tenants

    with app.state.db.session() as session:
        return {name: tenants.create_key(session, tenants.get_or_create_tenant(session, name))[1] for name in names}


def call_as(base: str, key: str, method: str, path: str, **kwargs) -> httpx.Response:
    """One request to a running server with ``key`` as the bearer token."""
    return httpx.request(method, f"{base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=300, **kwargs)
