"""Request ids, Prometheus metrics and access logs of ``shenggu.service.observability`` on a tiny FastAPI app."""

from __future__ import annotations

import asyncio
import re

import pytest
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from shenggu.logs import get_logger
from shenggu.service.observability import (
    METRICS_PATH,
    REQUEST_ID_HEADER,
    UNMATCHED_ROUTE,
    ObservabilityMiddleware,
    ServiceMetrics,
    add_audio_seconds,
    count_error,
    current_request_id,
    install_observability,
    set_queue_depth,
    set_stream_lag,
    track_queue_depth,
)


class Boom(Exception):
    """Raised by the test route; its handler answers with the service's JSON error shape."""


def make_app() -> FastAPI:
    """A small app with a templated route, a streamed response, a logging route and a counted error."""
    app = FastAPI()

    @app.get("/v1/jobs/{job_id}")
    async def job(job_id: str, request: Request) -> dict:
        return {"id": job_id, "request_id": request.state.request_id}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks():
            for i in range(3):
                yield f"chunk{i}\n"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/logs")
    async def logs() -> dict:
        get_logger("test").info("inside handler")
        return {"request_id": current_request_id()}

    @app.get("/boom")
    async def boom() -> None:
        raise Boom

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("crash")

    @app.exception_handler(Exception)
    async def on_crash(_: Request, exc: Exception) -> JSONResponse:
        get_logger("test").error("unhandled error")  # like shenggu.service.errors' crash handler
        return JSONResponse(status_code=500, content={"error": {"code": "internal_error", "message": "internal"}})

    async def raw_files(scope, receive, send) -> None:  # a mounted plain ASGI app (like StaticFiles)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"file"})

    app.mount("/files", raw_files)

    @app.exception_handler(Boom)
    async def on_boom(request: Request, _: Boom) -> JSONResponse:
        count_error(request, "boom")
        return JSONResponse(status_code=409, content={"error": {"code": "boom", "message": "boom"}})

    install_observability(app)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


def samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    """Scrape ``/metrics`` and parse it: ``{(sample name, frozenset(labels)): value}``."""
    response = client.get(METRICS_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def test_request_id_is_generated_and_exposed(client):
    first = client.get("/v1/jobs/1")
    second = client.get("/v1/jobs/2")
    rid = first.headers[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert first.json()["request_id"] == rid  # request.state.request_id in handlers
    assert second.headers[REQUEST_ID_HEADER] != rid


def test_safe_incoming_request_id_is_echoed(client):
    response = client.get("/v1/jobs/1", headers={REQUEST_ID_HEADER: "abc-123.XYZ_9"})
    assert response.headers[REQUEST_ID_HEADER] == "abc-123.XYZ_9"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 65, "semi;colon", "<script>", ""])
def test_unsafe_incoming_request_id_is_replaced(client, unsafe):
    response = client.get("/v1/jobs/1", headers={REQUEST_ID_HEADER: unsafe})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers[REQUEST_ID_HEADER])


def test_request_id_on_error_and_streamed_responses(client):
    assert REQUEST_ID_HEADER in client.get("/nowhere").headers
    assert REQUEST_ID_HEADER in client.get("/boom").headers
    streamed = client.get("/stream")
    assert streamed.text == "chunk0\nchunk1\nchunk2\n"
    assert REQUEST_ID_HEADER in streamed.headers


def test_metrics_count_requests_by_route_template(client):
    for job_id in ("1", "2", "3"):
        client.get(f"/v1/jobs/{job_id}")
    client.get("/nowhere/at/all")
    client.post("/v1/jobs/1")  # 405: the route matched partially, its template is still known
    scraped = samples(client)
    assert value(scraped, "shenggu_http_requests_total", method="GET", route="/v1/jobs/{job_id}", status="200") == 3
    assert value(scraped, "shenggu_http_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404") == 1
    assert value(scraped, "shenggu_http_requests_total", method="POST", route="/v1/jobs/{job_id}", status="405") == 1
    # Raw paths never become label values.
    assert not any("/v1/jobs/1" in dict(labels).get("route", "") for _, labels in scraped)


def test_plain_routes_and_mounts_are_labelled_by_template(client):
    client.get(METRICS_PATH)
    assert client.get("/files/a/b.txt").text == "file"
    scraped = samples(client)
    assert value(scraped, "shenggu_http_requests_total", method="GET", route=METRICS_PATH, status="200") == 1
    assert value(scraped, "shenggu_http_requests_total", method="GET", route="/files/{path}", status="200") == 1


def test_histogram_counts_durations(client):
    for _ in range(4):
        client.get("/v1/jobs/7")
    scraped = samples(client)
    labels = {"method": "GET", "route": "/v1/jobs/{job_id}"}
    assert value(scraped, "shenggu_http_request_seconds_count", **labels) == 4
    assert value(scraped, "shenggu_http_request_seconds_bucket", le="+Inf", **labels) == 4
    assert 0 < value(scraped, "shenggu_http_request_seconds_sum", **labels) < 10


def test_unknown_methods_share_one_label(client):
    client.request("BREW", "/v1/jobs/1")
    scraped = samples(client)
    assert value(scraped, "shenggu_http_requests_total", method="OTHER", route="/v1/jobs/{job_id}", status="405") == 1


def test_error_counter_from_handler_and_function(client):
    assert client.get("/boom").status_code == 409
    count_error(client.app, "boom")  # the app itself works as the target too
    count_error(client.app.state.metrics, "invalid_option")
    scraped = samples(client)
    assert value(scraped, "shenggu_errors_total", code="boom") == 2
    assert value(scraped, "shenggu_errors_total", code="invalid_option") == 1


def test_audio_seconds_and_queue_depth(client):
    add_audio_seconds(client.app, "asr", 4.5)
    add_audio_seconds(client.app, "asr", 0.5)
    add_audio_seconds(client.app, "tts", 2.0)
    set_queue_depth(client.app, 3)
    scraped = samples(client)
    assert value(scraped, "shenggu_audio_seconds_total", capability="asr") == 5.0
    assert value(scraped, "shenggu_audio_seconds_total", capability="tts") == 2.0
    assert value(scraped, "shenggu_queue_depth") == 3
    pending = [1, 2, 3, 4, 5]
    track_queue_depth(client.app, lambda: len(pending))  # read at every scrape
    assert value(samples(client), "shenggu_queue_depth") == 5
    pending.clear()
    assert value(samples(client), "shenggu_queue_depth") == 0


def test_functions_are_no_ops_without_observability():
    bare = FastAPI()
    count_error(bare, "boom")
    add_audio_seconds(bare, "asr", 1.0)
    set_queue_depth(bare, 1)
    track_queue_depth(bare, lambda: 1)


def test_two_apps_in_one_process_do_not_clash():
    first, second = TestClient(make_app()), TestClient(make_app())
    first.get("/v1/jobs/1")
    first.get("/v1/jobs/2")
    second.get("/v1/jobs/1")
    count_error(first.app, "boom")
    route = {"method": "GET", "route": "/v1/jobs/{job_id}", "status": "200"}
    assert value(samples(first), "shenggu_http_requests_total", **route) == 2
    assert value(samples(second), "shenggu_http_requests_total", **route) == 1
    assert value(samples(second), "shenggu_errors_total", code="boom") == 0


def test_access_log_and_handler_logs_carry_request_id(client):
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = client.get("/logs", headers={REQUEST_ID_HEADER: "req-42"})
    assert response.json() == {"request_id": "req-42"}
    inside = [e for e in logs if e["event"] == "inside handler"]
    access = [e for e in logs if e["event"] == "request"]
    assert inside and inside[0]["request_id"] == "req-42"
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "req-42"
    assert (entry["method"], entry["path"], entry["route"], entry["status"]) == ("GET", "/logs", "/logs", 200)
    assert entry["duration_ms"] >= 0


def test_request_id_is_unbound_after_the_request():
    """Driven as raw ASGI, so the context around the middleware can be inspected afterwards."""

    async def inner(scope, receive, send):
        assert current_request_id() == "outer-1"
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [(b"x-request-id", b"outer-1")]}
    middleware = ObservabilityMiddleware(inner, ServiceMetrics.create())

    async def serve_then_read_context() -> tuple[str | None, str | None]:
        # In the same task as the middleware: asyncio.run's task context would hide a leak from the caller.
        structlog.contextvars.bind_contextvars(request_id="previous")
        await middleware(scope, receive, send)
        after = current_request_id()
        structlog.contextvars.unbind_contextvars("request_id")
        await middleware(scope, receive, send)
        return after, current_request_id()

    assert asyncio.run(serve_then_read_context()) == ("previous", None)
    assert (b"x-request-id", b"outer-1") in sent[0]["headers"]


def test_crash_is_counted_as_500():
    metrics = ServiceMetrics.create()

    async def crashing(scope, receive, send):
        raise RuntimeError("boom")

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with pytest.raises(RuntimeError):
        asyncio.run(ObservabilityMiddleware(crashing, metrics)(scope, None, None))
    assert (
        metrics.registry.get_sample_value(
            "shenggu_http_requests_total", {"method": "GET", "route": UNMATCHED_ROUTE, "status": "500"}
        )
        == 1
    )


def test_crash_response_and_crash_log_carry_request_id():
    client = TestClient(make_app(), raise_server_exceptions=False)
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        response = client.get("/crash", headers={REQUEST_ID_HEADER: "crash-1"})
    assert response.status_code == 500
    assert response.headers[REQUEST_ID_HEADER] == "crash-1"
    assert [e["request_id"] for e in logs if e["event"] == "unhandled error"] == ["crash-1"]
    route = {"method": "GET", "route": "/crash", "status": "500"}
    assert value(samples(client), "shenggu_http_requests_total", **route) == 1


def test_stream_lag_gauge_shows_the_largest_open_backlog():
    metrics = ServiceMetrics.create()

    def gauge() -> float:
        return metrics.registry.get_sample_value("shenggu_stream_lag_seconds")

    assert gauge() == 0.0
    set_stream_lag(metrics, 1, 0.4)
    set_stream_lag(metrics, 2, 2.5)
    assert gauge() == 2.5
    set_stream_lag(metrics, 2, None)  # the stream closed
    assert gauge() == 0.4
    set_stream_lag(metrics, 1, None)
    assert gauge() == 0.0
