"""The web console: ``GET /console`` (one page) and ``GET /console/assets/{path}`` (its scripts and style sheet),
all served by shenggu itself, nothing from a CDN. The page talks to the public API with the user's key."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from shenggu.service.storage.tenants import NotFoundError

router = APIRouter(include_in_schema=False)

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "static" / "console"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
# Scripts and styles only from this server; audio, images and reports the page made itself (blob:); sockets back
# to this server.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; frame-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/console")
def console_page() -> FileResponse:
    """The console's single page (it routes by the URL's #fragment)."""
    return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/console/assets/{path:path}")
def console_asset(path: str) -> FileResponse:
    """One of the console's files (scripts, style sheet); nothing outside its folder."""
    file = (CONSOLE_DIR / path).resolve()
    media_type = MEDIA_TYPES.get(file.suffix)
    if media_type is None or not file.is_relative_to(CONSOLE_DIR) or not file.is_file():
        raise NotFoundError(f"no console file {path!r}")
    return FileResponse(file, media_type=f"{media_type}; charset=utf-8", headers=SECURITY_HEADERS)
