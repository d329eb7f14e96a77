"""Structured logging (structlog) for the CLI and the service: console lines or JSON, one config.

Every line passes ``redact_secrets`` last, whoever wrote it (shenggu, uvicorn's access and WebSocket lines,
libraries): API keys in URLs (``?api_key=``, ``?key=``), ``Bearer`` tokens and ``sg_...`` keys anywhere become
``[redacted]``. Tracebacks are plain text without local variables (which may hold request headers).
"""

from __future__ import annotations

import logging
import re

import structlog
from structlog.typing import EventDict, WrappedLogger

REDACTED = "[redacted]"
_SECRET = re.compile(
    # A key in a URL's query or an Authorization header: the name stays, the value goes ...
    r"(?P<keep>[?&](?:api_)?key=|\bbearer\s+)[^\s&#\"'\\,;]+"
    # ... and an API key (sg_<id>_<secret>) anywhere else: in a message, a field, a traceback.
    r"|\bsg_[A-Za-z0-9_-]+",
    re.IGNORECASE,
)


def redact_secrets(text: str) -> str:
    """``text`` with every API key (query value, ``Bearer`` token, ``sg_...`` key) replaced by ``[redacted]``."""
    return _SECRET.sub(lambda m: (m["keep"] or "") + REDACTED, text)


def _redacted(renderer: structlog.typing.Processor) -> structlog.typing.Processor:
    """``renderer`` whose finished line is redacted: covers the message, every field and the traceback alike."""

    def render(logger: WrappedLogger, name: str, event_dict: EventDict) -> str:
        return redact_secrets(str(renderer(logger, name, event_dict)))

    return render


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Route stdlib and structlog logs through one structlog renderer to stderr."""
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = [
        # Fields bound with structlog.contextvars (the service's request_id) appear on every line, stdlib ones too.
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # A plain traceback string, never the console renderer's rich one with local variables.
                structlog.processors.format_exc_info,
                _redacted(renderer),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger: ``log.info("event", key=value)``."""
    return structlog.get_logger(name)
