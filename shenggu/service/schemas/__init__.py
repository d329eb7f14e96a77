"""Response bodies of the HTTP API, one module per area. They document every JSON route in OpenAPI (``/docs``,
``/openapi.json``), and FastAPI checks each response against its model on the way out."""

from __future__ import annotations

import copy

from pydantic import BaseModel, ConfigDict


class ResponseBody(BaseModel):
    """A JSON response. Every key a route sends is declared: an undeclared one is a server error (which the
    tests catch), so the documented shape is always the real one."""

    model_config = ConfigDict(extra="forbid")


def inline_schema(schema: dict) -> dict:
    """A JSON schema with its ``$defs`` written in place, for a request body documented by hand in
    ``openapi_extra`` (OpenAPI's components do not see those ``$defs``)."""
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def form_or_json_body(form_schema: dict, json_model: type[BaseModel]) -> dict:
    """``openapi_extra`` of a route whose required body is either a multipart form (``form_schema``) or JSON
    (``json_model``'s schema)."""
    content = {
        "multipart/form-data": {"schema": form_schema},
        "application/json": {"schema": inline_schema(json_model.model_json_schema())},
    }
    return {"requestBody": {"required": True, "content": content}}
