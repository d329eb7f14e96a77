"""Listeners beside the HTTP API, for clients that speak other protocols (FunASR's WebSocket protocol on its own
port, Wyoming over TCP): each runs in the server's event loop, starts with the app (its lifespan) when its port is
configured, and stops with it. Protocol modules add themselves to :func:`configured_listeners`."""

from __future__ import annotations

from typing import Protocol

from fastapi import FastAPI

from shenggu.service.protocols.funasr import FunasrListener
from shenggu.service.protocols.wyoming import WyomingListener


class Listener(Protocol):
    """A server on a port of its own, sharing the app's state (settings, database, engines, limits)."""

    name: str

    async def start(self) -> None:
        """Listen (returns once the port is bound)."""

    async def stop(self) -> None:
        """Stop listening and end open connections."""


def configured_listeners(app: FastAPI) -> list[Listener]:
    """The listeners the app's settings ask for (none by default)."""
    listeners: list[Listener] = []
    if app.state.settings.funasr_port:
        listeners.append(FunasrListener(app))
    if app.state.settings.wyoming_port:
        listeners.append(WyomingListener(app))
    return listeners
