"""Response bodies of the HTTP API, one module per area. They document every JSON route in OpenAPI (``/docs``,
``/openapi.json``), and FastAPI checks each response against its model on the way out."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResponseBody(BaseModel):
    """A JSON response. Every key a route sends is declared: an undeclared one is a server error (which the
    tests catch), so the documented shape is always the real one."""

    model_config = ConfigDict(extra="forbid")
