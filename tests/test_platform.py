"""The multi-tenant platform on a real server and a real SQLite database: keys, isolation, quotas, rate limits,
usage metering, admin over HTTP, durable jobs and signed callbacks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from shenggu.config import Settings
from shenggu.service.app import create_app, open_database
from shenggu.service.storage import tenants
from tests.servers import free_port, running_server

CLIP = "zh_wenet_BAC009S0724W0121.wav"  # 4.28 s


@pytest.fixture(scope="module")
def platform(recognizer, tmp_path_factory):
    settings = Settings(
        preload_models=False,
        max_upload_mb=5,
        data_dir=tmp_path_factory.mktemp("data"),
        job_workers=1,
        lease_seconds=5,
        callback_allow_private=True,  # the operator's opt-in: the callback receiver of these tests is on loopback
    )
    db = open_database(settings)
    keys = {}
    with db.session() as session:
        for name, kwargs in {
            "alpha": {},
            "beta": {},
            "small": {"quota_seconds_per_day": 6.0},
            "busy": {"rate_per_minute": 2},
            "short": {"max_audio_seconds": 3.0},
        }.items():
            keys[name] = tenants.create_key(session, tenants.get_or_create_tenant(session, name, **kwargs))[1]
        keys["admin"] = tenants.create_key(session, tenants.get_or_create_tenant(session, "ops"), admin=True)[1]
        revoked, keys["revoked"] = tenants.create_key(session, tenants.get_or_create_tenant(session, "gone"))
        tenants.revoke_key(session, revoked.id)
    with running_server(create_app(settings)) as base:
        yield base, keys, db


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def transcribe(base, key, data_dir, clip=CLIP):
    with open(data_dir / "asr" / clip, "rb") as f:
        return httpx.post(
            f"{base}/v1/audio/transcriptions",
            headers=auth(key),
            files={"file": (clip, f)},
            data={"language": "zh"},
            timeout=120,
        )


def submit(base, key, data_dir, **data):
    with open(data_dir / "asr" / CLIP, "rb") as f:
        return httpx.post(
            f"{base}/v1/jobs", headers=auth(key), files={"file": (CLIP, f)}, data={"language": "zh", **data}, timeout=60
        )


def wait_done(base, key, job_id, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(key)).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise TimeoutError(job_id)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sg_nope_nope"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_key_is_401(platform, data_dir, headers):
    base, _, _ = platform
    response = httpx.post(f"{base}/v1/audio/transcriptions", headers=headers, files={"file": ("a.wav", b"x")})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert httpx.get(f"{base}/v1/jobs", headers=headers).status_code == 401


def test_revoked_key_is_401(platform):
    base, keys, _ = platform
    assert httpx.get(f"{base}/v1/usage", headers=auth(keys["revoked"])).status_code == 401


def test_openai_client_with_key(platform, data_dir):
    from openai import AuthenticationError, OpenAI

    base, keys, _ = platform
    client = OpenAI(base_url=f"{base}/v1", api_key=keys["alpha"])
    with open(data_dir / "asr" / CLIP, "rb") as f:
        assert "广州" in client.audio.transcriptions.create(model="whisper-1", file=f, language="zh").text
    with pytest.raises(AuthenticationError), open(data_dir / "asr" / CLIP, "rb") as f:
        OpenAI(base_url=f"{base}/v1", api_key="wrong").audio.transcriptions.create(model="whisper-1", file=f)


def test_job_lifecycle_and_tenant_isolation(platform, data_dir):
    base, keys, _ = platform
    accepted = submit(base, keys["alpha"], data_dir)
    assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
    job_id = accepted.json()["id"]
    assert httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(keys["beta"])).status_code == 404
    assert httpx.delete(f"{base}/v1/jobs/{job_id}", headers=auth(keys["beta"])).status_code == 404
    assert job_id not in [j["id"] for j in httpx.get(f"{base}/v1/jobs", headers=auth(keys["beta"])).json()["data"]]
    job = wait_done(base, keys["alpha"], job_id)
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    assert "广州" in job["result"]["text"] and job["result"]["segments"]
    listing = httpx.get(f"{base}/v1/jobs", headers=auth(keys["alpha"]), params={"limit": 5}).json()
    assert listing["data"][0]["id"] == job_id and listing["total"] >= 1
    assert httpx.get(f"{base}/v1/jobs/unknown", headers=auth(keys["alpha"])).status_code == 404


def test_cancel_queued_job(platform, data_dir):
    base, keys, _ = platform
    ids = [submit(base, keys["beta"], data_dir).json()["id"] for _ in range(3)]
    cancelled = httpx.delete(f"{base}/v1/jobs/{ids[-1]}", headers=auth(keys["beta"])).json()
    assert cancelled["status"] == "cancelled"
    assert wait_done(base, keys["beta"], ids[-1])["status"] == "cancelled"
    assert all(wait_done(base, keys["beta"], i)["status"] == "succeeded" for i in ids[:-1])


def test_bad_job_requests(platform, data_dir):
    base, keys, _ = platform
    assert submit(base, keys["alpha"], data_dir, task="dance").status_code == 422
    assert submit(base, keys["alpha"], data_dir, callback_url="ftp://x").status_code == 400
    assert submit(base, keys["alpha"], data_dir, language="xx").status_code == 422
    assert submit(base, keys["alpha"], data_dir, model="gpt-17").status_code == 400
    empty = httpx.post(f"{base}/v1/jobs", headers=auth(keys["alpha"]), files={"file": ("e.wav", b"")})
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_audio"


def test_daily_audio_quota_gives_429_with_retry_after(platform, data_dir):
    base, keys, _ = platform
    assert transcribe(base, keys["small"], data_dir).status_code == 200  # 4.3 s of 6 s
    over = transcribe(base, keys["small"], data_dir)
    assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"
    assert int(over.headers["Retry-After"]) > 0
    usage = httpx.get(f"{base}/v1/usage", headers=auth(keys["small"])).json()
    assert usage["data"][0]["capability"] == "transcribe" and usage["data"][0]["requests"] == 1
    assert usage["audio_seconds_today"] == pytest.approx(4.28, abs=0.05)


def test_rate_limit_per_minute(platform):
    base, keys, _ = platform
    statuses = [
        httpx.post(
            f"{base}/v1/audio/transcriptions", headers=auth(keys["busy"]), files={"file": ("e.wav", b"")}
        ).status_code
        for _ in range(3)
    ]
    assert statuses[:2] == [422, 422] and statuses[2] == 429


def test_tenant_audio_length_limit_is_413(platform, data_dir):
    base, keys, _ = platform
    response = transcribe(base, keys["short"], data_dir)
    assert response.status_code == 413 and response.json()["error"]["code"] == "audio_too_long"


def test_admin_manages_keys_over_http(platform):
    base, keys, _ = platform
    assert httpx.post(f"{base}/v1/admin/keys", headers=auth(keys["alpha"]), json={"tenant": "x"}).status_code == 403
    created = httpx.post(
        f"{base}/v1/admin/keys", headers=auth(keys["admin"]), json={"tenant": "newco", "rate_per_minute": 10}
    ).json()
    assert httpx.get(f"{base}/v1/usage", headers=auth(created["key"])).json()["tenant"] == "newco"
    listed = httpx.get(f"{base}/v1/admin/keys", headers=auth(keys["admin"])).json()["data"]
    assert created["id"] in [k["id"] for k in listed] and all("key" not in k for k in listed)
    assert httpx.delete(f"{base}/v1/admin/keys/{created['id']}", headers=auth(keys["admin"])).status_code == 200
    assert httpx.get(f"{base}/v1/usage", headers=auth(created["key"])).status_code == 401


def test_signed_callback_is_delivered_after_retry(platform, data_dir):
    base, keys, db = platform
    received: list[tuple[dict, bytes]] = []
    attempts = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # first delivery fails, the retry succeeds
            body = self.rfile.read(int(self.headers["Content-Length"]))
            attempts.append(1)
            status = 503 if len(attempts) == 1 else 200
            if status == 200:
                received.append((dict(self.headers), body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = HTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{receiver.server_port}/hook"
        job_id = submit(base, keys["alpha"], data_dir, callback_url=url).json()["id"]
        wait_done(base, keys["alpha"], job_id)
        deadline = time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        receiver.shutdown()
    assert received, "callback never delivered"
    headers, body = received[0]
    assert json.loads(body)["id"] == job_id and json.loads(body)["status"] == "succeeded"
    secret = _tenant_secret(db, "alpha")
    expected = hmac.new(secret.encode(), headers["X-Shenggu-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Shenggu-Signature"] == "sha256=" + expected.hexdigest()
    job = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth(keys["alpha"])).json()
    assert job["callback"]["state"] == "delivered" and job["callback"]["attempts"] == 2


def _tenant_secret(db, name: str) -> str:
    from sqlalchemy import select

    from shenggu.service.storage.models import Tenant

    with db.session() as session:
        return session.scalar(select(Tenant.secret).where(Tenant.name == name))


def test_fifty_clients_at_once_get_only_2xx_or_429_and_every_job_finishes(platform, data_dir):
    from concurrent.futures import ThreadPoolExecutor

    base, _, db = platform
    with db.session() as session:
        key = tenants.create_key(session, tenants.get_or_create_tenant(session, "crowd", rate_per_minute=20))[1]
    audio = (data_dir / "asr" / "en_speechbrain_spk2_snt5.wav").read_bytes()

    def client(_: int) -> httpx.Response:
        return httpx.post(
            f"{base}/v1/jobs", headers=auth(key), files={"file": ("a.wav", audio)}, data={"language": "en"}, timeout=120
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(client, range(50)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {202, 429}, statuses
    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    assert len(accepted) == 20 and statuses.count(429) == 30
    assert all(wait_done(base, key, job_id)["status"] == "succeeded" for job_id in accepted)


def test_queued_jobs_count_against_the_daily_quota(platform, data_dir):
    base, _, db = platform
    with db.session() as session:
        key = tenants.create_key(session, tenants.get_or_create_tenant(session, "queuer", quota_seconds_per_day=10))[1]
    first, second = submit(base, key, data_dir), submit(base, key, data_dir)  # 2 × 4.3 s fit in 10 s
    third = submit(base, key, data_dir)
    assert (first.status_code, second.status_code, third.status_code) == (202, 202, 429)
    assert third.json()["error"]["code"] == "quota_exceeded"
    for response in (first, second):
        assert wait_done(base, key, response.json()["id"])["status"] == "succeeded"
