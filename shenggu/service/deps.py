"""What a route may use of its app, as ``Annotated`` dependencies: the settings, the database (or one session for
the route), the caller, the rate limiter, the stream slots, the engines, and the assistant's indexes and threads.
Routers take these instead of reaching into ``app.state``; WebSocket routes can take the ones that cannot fail
(settings, database, slots, engines, the assistant's).

``DbSessionDep`` commits when the route function returns, before the response is sent; a route that runs models
takes ``DatabaseDep`` instead and opens short sessions, so no connection is held while the models work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from shenggu.config import Settings
from shenggu.service.auth import admin_principal, current_principal
from shenggu.service.engines import Engines
from shenggu.service.limits import RateLimiter, StreamSlots
from shenggu.service.storage.db import Database
from shenggu.service.storage.tenants import Principal
from shenggu.solutions.assistant import IndexCache, Workers


def _settings(connection: HTTPConnection) -> Settings:
    return connection.app.state.settings


def _database(connection: HTTPConnection) -> Database:
    return connection.app.state.db


def _session(connection: HTTPConnection) -> Iterator[Session]:
    with _database(connection).session() as session:
        yield session


def _rate_limiter(connection: HTTPConnection) -> RateLimiter:
    return connection.app.state.rate_limiter


def _stream_slots(connection: HTTPConnection) -> StreamSlots:
    return connection.app.state.stream_slots


def _engines(connection: HTTPConnection) -> Engines:
    return Engines(_settings(connection))


def _assistant_indexes(connection: HTTPConnection) -> IndexCache:
    return connection.app.state.assistant_indexes


def _assistant_workers(connection: HTTPConnection) -> Workers:
    return connection.app.state.assistant_workers


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
DbSessionDep = Annotated[Session, Depends(_session, scope="function")]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(admin_principal)]
RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]
StreamSlotsDep = Annotated[StreamSlots, Depends(_stream_slots)]
EnginesDep = Annotated[Engines, Depends(_engines)]
# The assistant's built retrieval indexes and the threads of its model work (see ``create_app``).
AssistantIndexesDep = Annotated[IndexCache, Depends(_assistant_indexes)]
AssistantWorkersDep = Annotated[Workers, Depends(_assistant_workers)]
