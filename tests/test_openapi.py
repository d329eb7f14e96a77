"""The API documents its responses: in ``/openapi.json`` (what ``/docs`` shows, and what the fuzzing in
``test_fuzz_api`` checks every response against) each JSON route has a success schema with its properties, and
each route that answers with audio, files or text names its media types."""

from __future__ import annotations

from shenggu.config import Settings
from shenggu.service.app import create_app

SUCCESS = ("200", "201", "202")


def _schema(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].removeprefix("#/components/schemas/")]
    return schema


def _has_properties(spec: dict, schema: dict) -> bool:
    """An object schema that names its properties, or alternatives that all do (``json`` | ``verbose_json``)."""
    schema = _schema(spec, schema)
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        return all(_has_properties(spec, alternative) for alternative in alternatives)
    return bool(schema.get("properties"))


def _problems(spec: dict, operation: dict) -> list[str]:
    """What the operation's success responses leave undocumented."""
    responses = operation["responses"]
    success = [code for code in SUCCESS if code in responses]
    if not success:
        return [] if "204" in responses else ["no success response"]
    problems = []
    for code in success:
        content = responses[code].get("content") or {}
        schema = content["application/json"].get("schema", {}) if "application/json" in content else None
        if not content:
            problems.append(f"{code}: no media type")
        # A JSON route's body names its properties; a JSON file download is a binary string.
        elif schema is not None and schema.get("format") != "binary" and not _has_properties(spec, schema):
            problems.append(f"{code}: JSON without a schema of named properties")
    return problems


def test_every_json_route_documents_its_response_schema(tmp_path):
    spec = create_app(Settings(preload_models=False, job_workers=0, data_dir=tmp_path)).openapi()
    undocumented = [
        f"{method.upper()} {path}: {problem}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for problem in _problems(spec, operation)
    ]
    assert not undocumented, "\n".join(undocumented)
    json_routes = [
        (path, method)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any("application/json" in (operation["responses"].get(c, {}).get("content") or {}) for c in SUCCESS)
    ]
    assert len(json_routes) >= 40  # the check above really covered the API, not an empty spec
