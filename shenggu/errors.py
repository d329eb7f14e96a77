"""Base error types shared by every capability.

Each error carries a stable machine-readable ``code`` and a one-line human message, so the CLI can print one
readable line and the HTTP layer can answer with a JSON body naming the problem.
"""


class ShengguError(Exception):
    """Base class of every error shenggu raises on purpose."""

    code: str = "shenggu_error"
    http_status: int = 400

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}  # extra HTTP response headers (e.g. Retry-After)

    def __str__(self) -> str:
        return self.message


def error_info(exc: Exception) -> tuple[str, str]:
    """An error's stable code and one-line message: a ShengguError's own; for any other exception
    ``internal_error`` with the exception's type and the first line of its text."""
    if isinstance(exc, ShengguError):
        return exc.code, exc.message
    return "internal_error", f"{type(exc).__name__}: {exc}".splitlines()[0]


class ModelError(ShengguError):
    """A model directory or packaged model is missing, incomplete or of the wrong kind."""

    code = "model_error"
    http_status = 422


class InvalidOptionError(ShengguError):
    """A caller-supplied option (language, format, engine name, ...) is not valid."""

    code = "invalid_option"
    http_status = 400


class BadStreamError(ShengguError):
    """A protocol problem on a stream (bad frame, bad parameter, bad message, idle...)."""

    code = "bad_stream"
    http_status = 400


class StreamTooSlowError(ShengguError):
    """A real-time stream fell so far behind that its results would come too late to be of use."""

    code = "too_slow"
    http_status = 503
