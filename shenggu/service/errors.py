"""Every error leaves the service as JSON ``{"error": {"code", "message"}}`` with a 4xx/5xx status, never a trace."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shenggu.errors import ShengguError
from shenggu.logs import get_logger

log = get_logger("shenggu.service")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one JSON error shape of the API (OpenAI clients read ``error.message``)."""
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message, "type": code}}, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map shenggu errors, validation errors, HTTP errors and crashes to JSON responses."""

    @app.exception_handler(ShengguError)
    async def _shenggu(_: Request, exc: ShengguError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}" for e in exc.errors()
        )
        return error_response(422, "invalid_request", problems or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has details")
