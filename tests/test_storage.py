"""Storage and jobs against both databases: embedded SQLite and PostgreSQL (started by scripts/with-postgres.sh).

The PostgreSQL half is skipped, with the reason printed, only when no server could be started.
"""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest
from sqlalchemy import text

from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import jobs, tenants, usage
from shenggu.service.storage.db import Database, default_url
from shenggu.service.storage.models import Base
from tests.servers import running_server

PG_URL = os.environ.get("SHENGGU_TEST_DATABASE_URL")


def _reset(url: str) -> Database:
    db = Database(url)
    if db.engine.dialect.name == "postgresql":
        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.migrate()
    db.migrate()  # idempotent
    return db


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL not available (scripts/with-postgres.sh could not start one)")
        return PG_URL
    return default_url(tmp_path / "data")


@pytest.fixture
def db(database_url) -> Database:
    return _reset(database_url)


def test_keys_are_hashed_and_revocable(db):
    with db.session() as session:
        tenant = tenants.get_or_create_tenant(session, "acme", rate_per_minute=5)
        row, key = tenants.create_key(session, tenant)
    with db.session() as session:
        stored = session.execute(text("SELECT key_hash FROM api_keys")).scalar()
        assert key not in stored and len(stored) == 64
        assert tenants.authenticate(session, key).tenant_name == "acme"
        assert tenants.authenticate(session, key + "x") is None
        tenants.revoke_key(session, row.id)
    with db.session() as session:
        assert tenants.authenticate(session, key) is None


def test_usage_upsert_adds_up_under_concurrency(db):
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "acme").id

    def hit():
        for _ in range(10):
            with db.session() as session:
                usage.record(session, tenant_id, "transcribe", 1.5)
                usage.record(session, tenant_id, "speech", characters=5)
                usage.record(session, tenant_id, "chat", tokens=7)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as session:
        rows = usage.report(session, tenant_id)
        day = usage.today()
        base = {"day": day, "requests": 40, "audio_seconds": 0.0, "characters": 0, "tokens": 0}
        assert rows == [
            {**base, "capability": "chat", "tokens": 280},
            {**base, "capability": "speech", "characters": 200},
            {**base, "capability": "transcribe", "audio_seconds": 60.0},
        ]
        assert usage.audio_seconds_today(session, tenant_id) == pytest.approx(60.0)
        assert usage.characters_today(session, tenant_id, ["speech", "translate"]) == 200
        assert usage.characters_today(session, tenant_id, ["text"]) == 0


def test_each_job_is_claimed_by_one_worker(db):
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "acme").id
        ids = {jobs.create(session, tenant_id, "transcribe", {}, "/x", "0" * 64, "a.wav", None).id for _ in range(20)}
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(name: str):
        while True:
            with db.session() as session:
                job = jobs.claim(session, name, 60)
            if job is None:
                return
            with lock:
                claimed.append((job.id, name))

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for i, _ in claimed) == sorted(ids)


def test_expired_lease_is_reclaimed_and_only_the_holder_finishes(db):
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "acme").id
        job_id = jobs.create(session, tenant_id, "transcribe", {}, "/x", "0" * 64, "a.wav", None).id
    with db.session() as session:
        assert jobs.claim(session, "dead", 0.2).id == job_id
    with db.session() as session:
        assert jobs.claim(session, "alive", 60) is None  # lease still valid
    time.sleep(0.4)
    with db.session() as session:
        again = jobs.claim(session, "alive", 60)
        assert again.id == job_id and again.attempts == 2
    with db.session() as session:
        assert not jobs.finish(session, job_id, "dead", {"text": "late"}, None)
        assert jobs.finish(session, job_id, "alive", {"text": "ok"}, None)
        assert not jobs.finish(session, job_id, "alive", {"text": "twice"}, None)
    with db.session() as session:
        job = jobs.get(session, tenant_id, job_id)
        assert (job.status, job.result) == ("succeeded", {"text": "ok"})
        with pytest.raises(tenants.NotFoundError):
            jobs.get(session, tenant_id + 1, job_id)


def test_cancel_and_release(db):
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "acme").id
        first = jobs.create(session, tenant_id, "transcribe", {}, "/x", "0" * 64, "a.wav", None).id
        second = jobs.create(session, tenant_id, "transcribe", {}, "/x", "0" * 64, "b.wav", None).id
    with db.session() as session:
        claimed = jobs.claim(session, "w", 60).id
        jobs.cancel(session, tenant_id, second if claimed == first else first)
    with db.session() as session:
        assert not jobs.renew(session, second if claimed == first else first, "w", 60, 0.5)
        assert jobs.renew(session, claimed, "w", 60, 0.5)
        assert jobs.release(session, "w") == 1
        assert jobs.get(session, tenant_id, claimed).status == "queued"
        assert jobs.queue_depth(session) == 1
        page, total = jobs.page(session, tenant_id, 1, 0)
        assert total == 2 and len(page) == 1


def test_job_api_end_to_end(database_url, recognizer, data_dir, tmp_path):
    _reset(database_url)
    settings = Settings(
        preload_models=False, data_dir=tmp_path / "data", database_url=database_url, job_workers=1, lease_seconds=5
    )
    app = create_app(settings)
    with app.state.db.session() as session:
        key = tenants.create_key(session, tenants.get_or_create_tenant(session, "court"))[1]
    headers = {"Authorization": f"Bearer {key}"}
    with running_server(app) as base:
        clip = data_dir / "asr" / "zh_firered_BAC009S0764W0121.wav"
        with open(clip, "rb") as f:
            job_id = httpx.post(
                f"{base}/v1/jobs", headers=headers, files={"file": (clip.name, f)}, data={"language": "zh"}, timeout=60
            ).json()["id"]
        deadline = time.monotonic() + 120
        while (job := httpx.get(f"{base}/v1/jobs/{job_id}", headers=headers).json())["status"] != "succeeded":
            assert job["status"] in ("queued", "running") and time.monotonic() < deadline, job
            time.sleep(0.3)
        assert "交易" in job["result"]["text"]
        assert httpx.get(f"{base}/ready").json()["database"] is True
