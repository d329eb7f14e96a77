"""The FastAPI application factory."""

from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shenggu import __version__
from shenggu.config import Settings, get_settings
from shenggu.logs import get_logger
from shenggu.service.errors import install_error_handlers
from shenggu.service.routers import audio

log = get_logger("shenggu.service")


def _warm_up() -> None:
    """Load the default engine and text tools in the background so the first request is not slow."""
    from shenggu.asr.registry import get_recognizer
    from shenggu.nlp.lm import get_word_lm

    try:
        get_recognizer()
        get_word_lm()
        log.info("models ready")
    except Exception as exc:  # a broken model must not kill the server; requests will report it
        log.warning("model warm-up failed", error=str(exc))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: routers, JSON error handlers, and (optionally) background model warm-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        log.info("shenggu starting", version=__version__, engine=settings.asr_engine, home=str(settings.home))
        if settings.preload_models:
            threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
        yield

    app = FastAPI(
        title="shenggu",
        version=__version__,
        lifespan=lifespan,
        description="shenggu (声谷): self-hosted speech platform API",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(audio.router)

    @app.get("/health", tags=["meta"])
    async def health() -> dict:
        return {"status": "ok", "version": __version__}

    return app
