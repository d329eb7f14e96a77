"""Every error leaves the service as JSON ``{"error": {"code", "message"}}`` with a 4xx/5xx status, never a trace."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shenggu.errors import ShengguError
from shenggu.logs import get_logger
from shenggu.service.observability import count_error

log = get_logger("shenggu.service")


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
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        count_error(request, "internal_error")
        log.exception("unhandled error", path=request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has details")
