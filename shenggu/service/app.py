"""The FastAPI application factory: storage, auth, limits, job workers, routers, JSON errors."""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from shenggu import __version__
from shenggu.config import Settings
from shenggu.llm.chat_queue import provide_chat_queues
from shenggu.logs import get_logger
from shenggu.scale.serve import remote_chat_queue
from shenggu.service.auth import DEV_TENANT
from shenggu.service.engines import Engines
from shenggu.service.errors import document_body_limit, install_error_handlers
from shenggu.service.limits import RateLimiter, StreamSlots
from shenggu.service.listeners import configured_listeners
from shenggu.service.observability import install_observability, track_queue_depth
from shenggu.service.protocols import funasr, realtime
from shenggu.service.routers import (
    assessments,
    assistant,
    audio,
    chat,
    console,
    evaluations,
    glossaries,
    hotwords,
    jobs,
    knowledge,
    medical,
    qa,
    speakers,
    speech,
    stream,
    tenants,
    text,
    transcripts,
    translations,
)
from shenggu.service.schemas.meta import Health, Readiness
from shenggu.service.storage import jobs as job_store
from shenggu.service.storage import tenants as tenant_store
from shenggu.service.storage.db import Database, default_url
from shenggu.service.uploads import BodySizeLimit
from shenggu.service.worker import WorkerPool
from shenggu.solutions.assistant import IndexCache, Workers

log = get_logger("shenggu.service")


def open_database(settings: Settings) -> Database:
    """The configured database, migrated to the latest schema."""
    db = Database(settings.database_url or default_url(settings.data_dir))
    db.migrate()
    return db


def _queue_depth(db: Database) -> float:
    with db.session() as session:
        return float(job_store.queue_depth(session))


def _warm_recognition(engines: Engines) -> None:
    from shenggu.asr.homophones import correct_text

    engines.recognizer()
    if not engines.settings.ray_address:  # on a cluster, correction runs on the ASR replicas
        correct_text("模型预热", [1.0] * 4)


_WARM_UPS = {"asr": _warm_recognition, "tts": Engines.warm_speech}  # keys: config.PRELOADABLE


def _warm_up(app: FastAPI, engines: Engines) -> None:
    """Load the models of the capabilities the settings' ``preload`` names, in the background, so the first request
    is not slow."""
    try:
        for capability in engines.settings.preload:
            _WARM_UPS[capability](engines)
        app.state.models_ready = True
        log.info("models ready", preloaded=",".join(engines.settings.preload) or "none")
    except Exception as exc:  # a broken model must not kill the server; requests will report it
        log.warning("model warm-up failed", error=str(exc))


def first_run_hint(listen: tuple[str, int] | None) -> str:
    """The start-up line that says how to make the first administrator key: in the console, opened on this machine
    (first-run setup takes loopback requests only), when the server listens on ``listen`` (host, port; None:
    ``shenggu serve``'s default, 127.0.0.1:8000). A server that listens on one other address only cannot be set up
    from a browser: the line names the command instead."""
    host, port = listen or ("127.0.0.1", 8000)
    wildcard = host in ("", "0.0.0.0", "::")
    if not (wildcard or host == "localhost" or tenants.is_loopback(host)):
        return (
            f"no administrator key yet, and first-run setup needs a loopback address (this server listens on {host}): "
            "create the key with `shenggu keys create --tenant admin --admin`"
        )
    shown = "127.0.0.1" if wildcard else f"[{host}]" if ":" in host else host
    return f"no administrator key yet: open http://{shown}:{port}/console to create the administrator key"


def create_app(settings: Settings, listen: tuple[str, int] | None = None) -> FastAPI:
    """Build the app on ``settings`` (the engines, workers and routes all use these). Job workers run while the app
    is served (its lifespan). ``listen``: the (host, port) that ``shenggu serve`` listens on, for the first-run
    hint in the start-up log."""
    db = open_database(settings)
    if settings.ray_address:  # chats and LLM translations reach the cluster's model through the local fair queue
        provide_chat_queues(remote_chat_queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        mode = "DEVELOPMENT MODE: no API key needed" if settings.dev_mode else "API keys required"
        log.info(
            "shenggu starting",
            version=__version__,
            auth=mode,
            database=db.engine.url.render_as_string(),
            engine=settings.asr_engine,
        )
        with db.session() as session:
            setup_available = not tenant_store.admin_key_exists(session)
        if setup_available:
            log.info(first_run_hint(listen))
        if settings.preload_models:
            threading.Thread(target=_warm_up, args=(app, Engines(settings)), name="warm-up", daemon=True).start()
        else:
            app.state.models_ready = True
        if settings.job_workers > 0:
            workers.start()
        listeners = configured_listeners(app)
        for listener in listeners:
            await listener.start()
        yield
        for listener in reversed(listeners):
            await listener.stop()
        if settings.job_workers > 0:
            workers.stop()

    app = FastAPI(
        title="shenggu",
        version=__version__,
        lifespan=lifespan,
        description="shenggu (声谷): self-hosted speech platform API",
    )
    app.state.settings, app.state.db, app.state.rate_limiter = settings, db, RateLimiter()
    app.state.models_ready = False
    with db.session() as session:
        dev = tenant_store.get_or_create_tenant(session, DEV_TENANT)
        app.state.dev_principal = tenant_store.principal_of(dev, "dev", admin=False)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_mb << 20)
    workers = WorkerPool(db, settings, install_observability(app))
    track_queue_depth(app, lambda: _queue_depth(db))
    app.state.stream_slots = StreamSlots(settings.max_streams)
    app.state.assistant_indexes, app.state.assistant_workers = IndexCache(), Workers(settings.assistant_workers)
    routers = (
        audio,
        speech,
        assessments,
        translations,
        glossaries,
        text,
        chat,
        jobs,
        hotwords,
        knowledge,
        medical,
        qa,
        transcripts,
        evaluations,
        speakers,
        tenants,
        stream,
        funasr,
        realtime,
        assistant,
        console,
    )
    for router in (module.router for module in routers):
        document_body_limit(router)
        app.include_router(router)

    @app.get("/health", tags=["meta"])
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok", version=__version__)

    @app.get("/ready", tags=["meta"], responses={503: {"model": Readiness, "description": "Not ready yet"}})
    async def ready(response: Response) -> Readiness:
        """Readiness: models loaded and database reachable (503 until both are)."""
        checks = {"models": bool(app.state.models_ready), "database": db.ping()}
        response.status_code = 200 if all(checks.values()) else 503
        return Readiness(ready=all(checks.values()), **checks)

    return app
