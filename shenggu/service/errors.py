"""Every error leaves the service as JSON ``{"error": {"code", "message"}}`` with a 4xx/5xx status, never a trace."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shenggu.errors import ShengguError
from shenggu.logs import get_logger
from shenggu.service.observability import count_error

log = get_logger("shenggu.service")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code and one readable line."""

    code: str
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error response of the API."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Invalid option (unknown language, format, model, task...)",
    401: "Missing, wrong or revoked API key",
    403: "Admin key required",
    404: "No such resource for this tenant",
    413: "Upload or audio longer than the limit",
    415: "Not an audio or video file",
    422: "Malformed request, or empty, damaged or speechless audio",
    429: "Rate limit or daily quota reached (see Retry-After)",
    502: "The language model failed or broke the requested output format",
    503: "The language model's queue is full (see Retry-After)",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` entries for these error statuses, so /docs shows the real error shape."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}


def document_body_limit(router: APIRouter) -> None:
    """Every route of ``router`` that takes a request body (POST, PUT, PATCH) can answer 413 (the server-wide
    body size limit): say so in its OpenAPI responses."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.methods & {"POST", "PUT", "PATCH"}:
            route.responses.setdefault(413, error_responses(413)[413])


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path."""
    path = request.url.path
    methods = {
        m
        for route in request.app.routes
        if getattr(route, "path_regex", None) and route.path_regex.match(path)
        for m in getattr(route, "methods", None) or ()
    }
    return sorted(methods)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one JSON error shape of the API (OpenAI clients read ``error.message``)."""
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message, "type": code}}, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map shenggu errors, validation errors, HTTP errors and crashes to JSON responses."""

    @app.exception_handler(ShengguError)
    async def _shenggu(request: Request, exc: ShengguError) -> JSONResponse:
        count_error(request, exc.code)
        return error_response(exc.http_status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        count_error(request, "invalid_request")
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}" for e in exc.errors()
        )
        return error_response(422, "invalid_request", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        count_error(request, code)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # Starlette lists one route's methods; a path may have several routes
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        count_error(request, "internal_error")
        log.exception("unhandled error", path=request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has details")
