"""Observability of the service: request ids, Prometheus metrics and one structured access-log line per request.

``install_observability(app)`` adds ``ObservabilityMiddleware`` and ``GET /metrics`` and stores the app's
``ServiceMetrics`` on ``app.state.metrics``. Each app gets its own ``CollectorRegistry`` (never the global one),
so several apps in one process (tests, workers) never register the same metric twice.

Other code reports through the module functions, which accept the app, a request or the ``ServiceMetrics``
itself, and do nothing when observability is not installed (so error handlers and pipelines also run in bare
apps): ``count_error``, ``add_audio_seconds``, ``set_queue_depth`` / ``track_queue_depth``.

The middleware is pure ASGI (not ``BaseHTTPMiddleware``), so streamed responses pass through unbuffered, and
its request id is bound into structlog's contextvars: every log line written while the request runs carries
``request_id`` (``shenggu.logs.configure_logging`` merges contextvars into each event).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shenggu.logs import get_logger

REQUEST_ID_HEADER = "X-Request-ID"
METRICS_PATH = "/metrics"
UNMATCHED_ROUTE = "<unmatched>"
"""The ``route`` label of requests that match no route (404s), so probing random paths adds no label values."""

# An incoming id is reused only if it is a short token: it goes into logs and response headers verbatim.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Any other method string (clients may send anything) is folded into one label value to bound cardinality.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From health checks (ms) to long-file transcription (minutes); Prometheus' defaults stop at 10 s.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

log = get_logger("shenggu.access")


class StreamLags:
    """Every open stream's backlog (seconds its latest audio waited before it was processed), for the gauge."""

    def __init__(self) -> None:
        self._lags: dict[int, float] = {}
        self._lock = threading.Lock()

    def set(self, stream: int, seconds: float) -> None:
        """Record ``stream``'s current backlog."""
        with self._lock:
            self._lags[stream] = seconds

    def remove(self, stream: int) -> None:
        """Forget a closed stream."""
        with self._lock:
            self._lags.pop(stream, None)

    def largest(self) -> float:
        """The largest backlog of the open streams (0 without any)."""
        with self._lock:
            return max(self._lags.values(), default=0.0)


@dataclass(frozen=True)
class ServiceMetrics:
    """The service's Prometheus metrics, all registered in ``registry`` (one per app)."""

    registry: CollectorRegistry
    http_requests: Counter
    http_request_seconds: Histogram
    errors: Counter
    audio_seconds: Counter
    queue_depth: Gauge
    stream_lags: StreamLags

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> ServiceMetrics:
        """Register every metric in ``registry`` (a new, private one by default)."""
        registry = registry if registry is not None else CollectorRegistry()
        stream_lags = StreamLags()
        Gauge(
            "shenggu_stream_lag_seconds",
            "The largest backlog of the open ASR streams: how long their latest audio waited to be processed.",
            registry=registry,
        ).set_function(stream_lags.largest)
        return cls(
            registry=registry,
            http_requests=Counter(
                "shenggu_http_requests_total",
                "HTTP requests by method, route template and status.",
                ("method", "route", "status"),
                registry=registry,
            ),
            http_request_seconds=Histogram(
                "shenggu_http_request_seconds",
                "HTTP request duration until the response is fully sent, by method and route template.",
                ("method", "route"),
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            errors=Counter("shenggu_errors_total", "Error responses by JSON error code.", ("code",), registry=registry),
            audio_seconds=Counter(
                "shenggu_audio_seconds_total",
                "Seconds of audio processed, by capability.",
                ("capability",),
                registry=registry,
            ),
            queue_depth=Gauge("shenggu_queue_depth", "Jobs waiting in the queue.", registry=registry),
            stream_lags=stream_lags,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished HTTP request and its duration."""
        method = method if method in _KNOWN_METHODS else "OTHER"
        self.http_requests.labels(method=method, route=route, status=str(status)).inc()
        self.http_request_seconds.labels(method=method, route=route).observe(seconds)

    def render(self) -> bytes:
        """The metrics in the Prometheus text exposition format."""
        return generate_latest(self.registry)


MetricsTarget = ServiceMetrics | Starlette | HTTPConnection
"""Where metrics are looked up: the metrics themselves, an app, or a request (its app)."""


def metrics_of(target: MetricsTarget) -> ServiceMetrics | None:
    """The ``ServiceMetrics`` of an app or request, or ``None`` when observability is not installed."""
    if isinstance(target, ServiceMetrics):
        return target
    app = target.app if isinstance(target, HTTPConnection) else target
    return getattr(app.state, "metrics", None)


def count_error(target: MetricsTarget, code: str) -> None:
    """Count one error response with JSON error ``code`` (call it from the error handlers)."""
    if metrics := metrics_of(target):
        metrics.errors.labels(code=code).inc()


def add_audio_seconds(target: MetricsTarget, capability: str, seconds: float) -> None:
    """Add ``seconds`` of processed audio for ``capability`` (``"asr"``, ``"tts"``...)."""
    if (metrics := metrics_of(target)) and seconds > 0:
        metrics.audio_seconds.labels(capability=capability).inc(seconds)


def set_stream_lag(target: MetricsTarget, stream: int, seconds: float | None) -> None:
    """Record an open stream's backlog for the ``shenggu_stream_lag_seconds`` gauge; None: the stream closed."""
    if metrics := metrics_of(target):
        if seconds is None:
            metrics.stream_lags.remove(stream)
        else:
            metrics.stream_lags.set(stream, seconds)


def set_queue_depth(target: MetricsTarget, depth: int) -> None:
    """Set the queue-depth gauge (for queues that report their size on change)."""
    if metrics := metrics_of(target):
        metrics.queue_depth.set(depth)


def track_queue_depth(target: MetricsTarget, depth: Callable[[], float]) -> None:
    """Read the queue depth from ``depth()`` at every scrape instead (e.g. ``queue.qsize``)."""
    if metrics := metrics_of(target):
        metrics.queue_depth.set_function(depth)


def current_request_id() -> str | None:
    """The id of the request being handled in this context (also in worker threads it started), if any."""
    return structlog.contextvars.get_contextvars().get("request_id")


class ObservabilityMiddleware:
    """Pure ASGI middleware: request id, metrics and an access-log line for every HTTP request.

    The request id is also put in ``request.state.request_id`` for handlers (e.g. to store with a job).
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets pass through untouched
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client gets when the app raises before it starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        start = time.perf_counter()
        # bound_contextvars restores the previous bindings on exit, so nothing leaks into the next request.
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._record(scope, status, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = _route_template(scope)
        self.metrics.observe_request(scope["method"], route, status, seconds)
        level = log.warning if status >= 500 else log.info
        level(
            "request",
            method=scope["method"],
            path=scope["path"],
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 1),
        )


def _request_id(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is a safe short token, else a new uuid4 hex."""
    wanted = REQUEST_ID_HEADER.lower().encode("latin-1")
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            candidate = value.decode("latin-1").strip()
            if _SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/jobs/{id}``, ``/files/{path}`` for a mount), from the routed scope."""
    route: Any = scope.get("route") or _plain_route(scope)
    return getattr(route, "path_format", None) or UNMATCHED_ROUTE


def _plain_route(scope: Scope) -> Any:
    """The plain Starlette route or mount that served the request, found by the endpoint the router recorded.

    FastAPI puts ``scope["route"]`` only for its own API routes; others (``/metrics``, mounts) leave just
    ``scope["endpoint"]`` (a mount's endpoint is its app).
    """
    endpoint = scope.get("endpoint")
    if endpoint is None:  # nothing matched: a 404
        return None
    routes = getattr(scope.get("router"), "routes", ())
    return next((r for r in routes if getattr(r, "endpoint", getattr(r, "app", None)) is endpoint), None)


def install_observability(app: Starlette, metrics: ServiceMetrics | None = None) -> ServiceMetrics:
    """Add the middleware (outermost) and ``GET /metrics`` to ``app``; store the metrics on ``app.state.metrics``.

    Call it once, while building the app: the middleware stack is built at the app's first request.
    """
    metrics = metrics or ServiceMetrics.create()
    app.state.metrics = metrics
    # Wrapped around the whole built stack rather than added with add_middleware, which would put it inside
    # Starlette's ServerErrorMiddleware: this way crash responses (500) and the crash handler's log line also
    # carry the request id (OpenTelemetry's FastAPI instrumentation wraps the stack the same way).
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: ObservabilityMiddleware(build_stack(), metrics)  # type: ignore[method-assign]

    async def prometheus_metrics(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, prometheus_metrics, methods=["GET"], include_in_schema=False)
    return metrics
