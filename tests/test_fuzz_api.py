"""OpenAPI-driven fuzzing (schemathesis): no generated request may produce a 5xx, whatever it contains."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import tenants

_app = create_app(
    Settings(
        preload_models=False,
        dev_mode=True,
        job_workers=0,
        max_upload_mb=1,
        data_dir=Path(tempfile.mkdtemp(prefix="shenggu-fuzz-")),
    )
)
with _app.state.db.session() as _session:
    _ADMIN_KEY = tenants.create_key(_session, tenants.get_or_create_tenant(_session, "fuzz-admin"), admin=True)[1]

schema = schemathesis.openapi.from_asgi("/openapi.json", _app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call(headers={"Authorization": f"Bearer {_ADMIN_KEY}"})
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
