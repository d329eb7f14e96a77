"""OpenAPI-driven fuzzing (schemathesis): no generated request gets a 5xx or an undocumented response: every
response's status code, content type, headers and body conform to what ``/openapi.json`` documents."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import tenants
from shenggu.tts.synthesis import MAX_CHARS

pytestmark = pytest.mark.slow  # schemathesis drives every route of the API: minutes

_app = create_app(
    Settings(
        preload_models=False,
        dev_mode=True,
        job_workers=0,
        # Above the largest bodies the fuzzer generates (~1.3 MB of random JSON): the server-wide size limit
        # answers those with 413 before the handler's validation (tested in test_service), and the fuzzing here
        # is of the handlers' validation. 413 is documented on every route with a body.
        max_upload_mb=8,
        data_dir=Path(tempfile.mkdtemp(prefix="shenggu-fuzz-")),
    )
)
with _app.state.db.session() as _session:
    _ADMIN_KEY = tenants.create_key(_session, tenants.get_or_create_tenant(_session, "fuzz-admin"), admin=True)[1]

schema = schemathesis.openapi.from_asgi("/openapi.json", _app)

# Named rather than left to schemathesis' configurable defaults, so the response conformance checks always run on
# every fuzzed operation. Every JSON route documents a response model, so the body check has a schema to apply.
RESPONSE_CONFORMANCE = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# The other single-response checks. Not "schema-valid data is accepted" (positive_data_acceptance): a fuzzer's
# random bytes are never a decodable recording, so the API rightly refuses most schema-valid uploads with 4xx.
OTHER_CHECKS = [
    checks.not_a_server_error,
    checks.negative_data_rejection,
    checks.missing_required_header,
    checks.unsupported_method,
    checks.allow_header_conformance,
    checks.use_after_free,
    checks.ensure_resource_availability,
    checks.ignored_auth,
    checks.object_level_authorization,
]


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SHENGGU_FUZZ_EXAMPLES", "25")),
    derandomize="SHENGGU_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case):
    text = case.body.get("input") if case.path == "/v1/audio/speech" and isinstance(case.body, dict) else None
    if isinstance(text, str) and len(text) <= MAX_CHARS:
        # Speaking up to 4096 generated characters takes minutes (correctly); what is fuzzed here is the handling
        # of odd text and parameters, so valid inputs are cut short (over-long ones must still be refused).
        case.body["input"] = text[:32]
    if case.path == "/v1/chat/completions" and isinstance(case.body, dict):
        # Likewise an answer of up to 4096 tokens (512 by default) takes minutes: valid limits are cut to a few
        # tokens (a limit out of range must still be refused).
        limits = [case.body.get(key) for key in ("max_tokens", "max_completion_tokens")]
        if all(v is None or (type(v) is int and 1 <= v <= 4096) for v in limits):
            case.body["max_completion_tokens"] = 8
    case.call_and_validate(
        headers={"Authorization": f"Bearer {_ADMIN_KEY}"},
        checks=[*RESPONSE_CONFORMANCE, *OTHER_CHECKS],
        timeout=120,  # a whole synthesized reply is read before checking; a busy 2-core machine is slow
    )
