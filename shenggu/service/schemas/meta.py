"""``/health`` and ``/ready``."""

from __future__ import annotations

from typing import Literal

from shenggu.service.schemas import ResponseBody


class Health(ResponseBody):
    """The process answers."""

    status: Literal["ok"]
    version: str


class Readiness(ResponseBody):
    """Whether the server is ready (200) or not yet (503), and why."""

    ready: bool
    models: bool
    database: bool
