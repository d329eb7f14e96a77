"""The web console's backend: ``/v1/me`` (user, admin, development mode), first-run setup (the first administrator
key, made once, from loopback only, never two at once; the start-up hint), and saved transcripts (CRUD, revision
conflicts, validation, exports that parse back to what was saved, DOCX with the corrections, tenant isolation).
Requests from loopback go to a real server; TestClient's peer ("testclient") stands for a remote browser."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from urllib.parse import quote

import httpx
import pytest
import structlog
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import select

from shenggu.config import Settings
from shenggu.service.app import create_app, first_run_hint
from shenggu.service.routers.tenants import is_local_request, is_loopback
from shenggu.service.schemas.transcripts import MAX_SEGMENT_CHARS, MAX_SEGMENTS
from shenggu.service.storage import tenants
from shenggu.service.storage.models import ApiKey, Base
from tests.servers import call_as, running_server, tenant_keys

SETUP = "/v1/admin/setup"
TRANSCRIPTS = "/v1/transcripts"

# A transcript as the console saves it after a correction: 起诉 was misrecognized (as 旗树) and corrected.
SEGMENTS = [
    {
        "start": 0.0,
        "end": 2.48,
        "text": "原告今天正式起诉被告。",
        "speaker": "原告",
        "words": [{"start": 0.0, "end": 0.4, "word": "原告"}, {"start": 1.1, "end": 1.6, "word": "起诉"}],
    },
    {"start": 2.75, "end": 5.125, "text": "被告对此没有异议。", "speaker": "被告"},
    {"start": 3661.5, "end": 3663.25, "text": "休庭。", "speaker": None},
]
TRANSCRIPT = {
    "name": "庭审记录: 张三/李四",
    "language": "zh",
    "duration": 3665.0,
    "source": {"job_id": "job123", "file": "hearing.wav"},
    "segments": SEGMENTS,
}


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(preload_models=False, job_workers=0, data_dir=tmp_path, **overrides)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = create_app(_settings(tmp_path_factory.mktemp("data")))
    keys = tenant_keys(app, "acme", "other")
    with running_server(app) as base:
        yield base, keys


def call(server, method: str, path: str, tenant: str = "acme", **kwargs) -> httpx.Response:
    base, keys = server
    return call_as(base, keys[tenant], method, path, **kwargs)


def _error(response: httpx.Response) -> str:
    return response.json()["error"]["message"]


# --------------------------------------------------------------------------------------------------------
# /v1/me
# --------------------------------------------------------------------------------------------------------


def test_me_names_the_tenant_and_key(server):
    base, keys = server
    me = call(server, "GET", "/v1/me").json()
    assert me == {"tenant": "acme", "key_id": keys["acme"].split("_")[1], "admin": False, "dev_mode": False}
    assert httpx.get(f"{base}/v1/me").status_code == 401
    assert call_as(base, "sg_nope_nope", "GET", "/v1/me").status_code == 401


def test_me_in_development_mode(tmp_path):
    app = create_app(_settings(tmp_path, dev_mode=True))
    key = tenant_keys(app, "acme")["acme"]
    client = TestClient(app)
    assert client.get("/v1/me").json() == {"tenant": "dev", "key_id": None, "admin": False, "dev_mode": True}
    with_key = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert with_key == {"tenant": "acme", "key_id": key.split("_")[1], "admin": False, "dev_mode": True}


# --------------------------------------------------------------------------------------------------------
# First-run setup
# --------------------------------------------------------------------------------------------------------


def test_loopback_check():
    for host in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("testclient", None, "", "10.0.0.1", "192.168.1.20", "::", "0.0.0.0", "::ffff:10.0.0.1", "2001:db8::1"):
        assert not is_loopback(host), host
    assert is_local_request("127.0.0.1", {"host": "localhost"})
    assert not is_local_request("127.0.0.1", {"x-forwarded-for": "203.0.113.9"})  # relayed by a local proxy
    assert not is_local_request("127.0.0.1", {"forwarded": "for=203.0.113.9"})


def test_first_run_hint_points_a_browser_on_this_machine_at_the_console():
    assert "open http://127.0.0.1:8000/console " in first_run_hint(("0.0.0.0", 8000))
    assert "open http://127.0.0.1:9000/console " in first_run_hint(("127.0.0.1", 9000))
    assert "open http://[::1]:9000/console " in first_run_hint(("::1", 9000))
    assert "open http://localhost:8080/console " in first_run_hint(("localhost", 8080))
    remote = first_run_hint(("192.168.1.5", 8000))
    assert "http://" not in remote and "shenggu keys create --tenant admin --admin" in remote


def test_setup_makes_one_admin_key_from_loopback_then_closes(server, tmp_path):
    base, _ = server
    assert httpx.get(f"{base}{SETUP}").json() == {"available": True}
    # A proxy's headers mean the loopback peer only relayed the request: refused, and nothing is made.
    for proxy in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}):
        refused = httpx.post(f"{base}{SETUP}", headers=proxy)
        assert refused.status_code == 403, proxy
        assert "only allowed from this machine (loopback)" in _error(refused)
    with structlog.testing.capture_logs() as logs:
        created = httpx.post(f"{base}{SETUP}")
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "tenant", "admin", "key"}
    assert (body["tenant"], body["admin"], body["key"].split("_")[1]) == ("admin", True, body["id"])
    events = [e for e in logs if e["event"] == "first-run setup: administrator key created"]
    assert [e["key_id"] for e in events] == [body["id"]]
    assert body["key"] not in repr(logs)  # the key is never logged, not even before redaction

    admin_key = body["key"]
    me = call_as(base, admin_key, "GET", "/v1/me").json()
    assert me == {"tenant": "admin", "key_id": body["id"], "admin": True, "dev_mode": False}
    assert call_as(base, admin_key, "GET", "/v1/admin/keys").status_code == 200
    again = httpx.post(f"{base}{SETUP}", json={"tenant": "ops"})
    assert again.status_code == 409
    assert _error(again) == "an administrator key exists; sign in with it"
    assert httpx.get(f"{base}{SETUP}").json() == {"available": False}

    # A revoked admin key does not count: setup opens again, here for another tenant.
    assert call_as(base, admin_key, "DELETE", f"/v1/admin/keys/{body['id']}").status_code == 200
    assert httpx.get(f"{base}{SETUP}").json() == {"available": True}
    second = httpx.post(f"{base}{SETUP}", json={"tenant": "ops"})
    assert second.status_code == 201
    assert (second.json()["tenant"], second.json()["admin"]) == ("ops", True)
    bad = httpx.post(f"{base}{SETUP}", json={"tenant": "ops", "admin": False})
    assert bad.status_code == 422 and "admin" in _error(bad)


def test_setup_is_refused_to_a_remote_browser(tmp_path):
    client = TestClient(create_app(_settings(tmp_path)))  # its peer is "testclient", not a loopback address
    assert client.get(SETUP).json() == {"available": True}
    refused = client.post(SETUP)
    assert refused.status_code == 403
    assert _error(refused) == "first-run setup is only allowed from this machine (loopback)"
    assert client.get(SETUP).json() == {"available": True}


def test_two_concurrent_setups_make_one_key(tmp_path, monkeypatch):
    app = create_app(_settings(tmp_path))
    create_key = tenants.create_key

    def slow_create_key(*args, **kwargs):
        time.sleep(0.3)  # both requests are in flight while the first makes its key
        return create_key(*args, **kwargs)

    monkeypatch.setattr(tenants, "create_key", slow_create_key)
    statuses: list[int] = []
    with running_server(app) as base:
        threads = [
            threading.Thread(target=lambda: statuses.append(httpx.post(f"{base}{SETUP}", timeout=30).status_code))
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [201, 409]
    with app.state.db.session() as session:
        assert len(session.scalars(select(ApiKey).where(ApiKey.admin.is_(True))).all()) == 1


def test_start_up_log_says_how_to_make_the_first_key(tmp_path):
    app = create_app(_settings(tmp_path))
    with structlog.testing.capture_logs() as logs, TestClient(app):
        pass
    assert any("/console to create the administrator key" in e["event"] for e in logs)
    with app.state.db.session() as session:
        tenants.create_key(session, tenants.get_or_create_tenant(session, "admin"), admin=True)
    with structlog.testing.capture_logs() as logs, TestClient(app):
        pass
    assert not any("administrator key" in e["event"] for e in logs)


# --------------------------------------------------------------------------------------------------------
# Saved transcripts
# --------------------------------------------------------------------------------------------------------


def _saved(server, tenant: str = "acme", **changes) -> dict:
    response = call(server, "POST", TRANSCRIPTS, tenant, json={**TRANSCRIPT, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_read_list_save_delete(server):
    saved = _saved(server)
    assert saved["revision"] == 1 and saved["segment_count"] == 3
    assert (saved["name"], saved["language"], saved["duration"]) == (TRANSCRIPT["name"], "zh", 3665.0)
    assert saved["source"] == {"job_id": "job123", "file": "hearing.wav"}
    assert saved["segments"][0] == SEGMENTS[0]
    assert saved["segments"][1] == {**SEGMENTS[1], "words": []}  # normalized: every key present
    assert call(server, "GET", f"{TRANSCRIPTS}/{saved['id']}").json() == saved

    newer = _saved(server, name="第二份", source=None, language=None, duration=None)
    listed = call(server, "GET", TRANSCRIPTS, params={"limit": 100}).json()
    ids = [item["id"] for item in listed["data"]]
    assert ids.index(newer["id"]) < ids.index(saved["id"])  # newest first
    assert "segments" not in listed["data"][0] and listed["total"] >= 2
    assert listed["data"][ids.index(saved["id"])] == {k: v for k, v in saved.items() if k != "segments"}

    fixed = [{**SEGMENTS[1], "text": "被告对此无异议。"}]
    put = call(server, "PUT", f"{TRANSCRIPTS}/{saved['id']}", json={"segments": fixed, "revision": 1})
    assert put.status_code == 200, put.text
    body = put.json()
    assert (body["revision"], body["segment_count"], body["segments"][0]["text"]) == (2, 1, "被告对此无异议。")
    assert (body["name"], body["source"], body["created_at"]) == (saved["name"], saved["source"], saved["created_at"])
    assert body["updated_at"] > saved["updated_at"]
    cleared = call(server, "PUT", f"{TRANSCRIPTS}/{saved['id']}", json={"name": "改名", "source": None}).json()
    assert (cleared["revision"], cleared["name"], cleared["source"], cleared["language"]) == (3, "改名", None, "zh")

    assert call(server, "DELETE", f"{TRANSCRIPTS}/{saved['id']}").status_code == 204
    assert call(server, "GET", f"{TRANSCRIPTS}/{saved['id']}").status_code == 404
    assert call(server, "DELETE", f"{TRANSCRIPTS}/{saved['id']}").status_code == 404


def test_a_save_from_an_older_revision_is_refused(server):
    saved = _saved(server)
    path = f"{TRANSCRIPTS}/{saved['id']}"
    first = call(server, "PUT", path, json={"name": "甲的修改", "revision": 1})
    assert first.status_code == 200 and first.json()["revision"] == 2
    second = call(server, "PUT", path, json={"name": "乙的修改", "revision": 1})  # loaded before 甲 saved
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "transcript_changed"
    assert "changed since you loaded it" in _error(second)
    kept = call(server, "GET", path).json()
    assert (kept["name"], kept["revision"]) == ("甲的修改", 2)
    assert call(server, "PUT", path, json={"name": "乙的修改", "revision": 2}).json()["revision"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"segments": [SEGMENTS[0], {**SEGMENTS[1], "start": 6.0}]}, "segments.1: Value error, start (6) is after end"),
        ({"segments": [{**SEGMENTS[1], "start": -1.0}]}, "segments.0.start"),
        ({"segments": [{**SEGMENTS[1], "end": 1e9}]}, "segments.0.end"),
        ({"segments": [{**SEGMENTS[0], "words": [{"start": 2.0, "end": 1.0, "word": "起诉"}]}]}, "segments.0.words.0"),
        ({"segments": [{**SEGMENTS[1], "text": "长" * (MAX_SEGMENT_CHARS + 1)}]}, "segments.0.text"),
        ({"segments": [SEGMENTS[1]] * (MAX_SEGMENTS + 1)}, "segments: List should have at most"),
        ({"segments": [{**SEGMENTS[1], "speaker": "甲\n乙"}]}, "segments.0.speaker"),
        ({"segments": [{**SEGMENTS[1], "start": "1.0"}]}, "segments.0.start"),
        ({"segments": [{**SEGMENTS[1], "confidence": 0.5}]}, "segments.0.confidence"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"language": "中文"}, "language"),
        ({"duration": -3}, "duration"),
        ({"source": {"job_id": "../x"}}, "source.job_id"),
        ({"segments": None}, "segments"),
    ],
)
def test_invalid_transcripts_are_422_naming_the_field(server, body, field):
    response = call(server, "POST", TRANSCRIPTS, json={**TRANSCRIPT, **body})
    assert response.status_code == 422
    assert field in _error(response)


def test_times_must_be_finite_and_text_valid_unicode(server):
    base, keys = server
    for raw in (
        json.dumps({**TRANSCRIPT, "duration": None}).replace("null", "NaN", 1),
        json.dumps({**TRANSCRIPT, "segments": [{**SEGMENTS[1], "end": 1e400}]}),  # Infinity
        json.dumps({**TRANSCRIPT, "segments": [{**SEGMENTS[1], "text": "x"}]}).replace('"x"', '"\\ud800"'),
    ):
        headers = {"Authorization": f"Bearer {keys['acme']}", "Content-Type": "application/json"}
        response = httpx.post(f"{base}{TRANSCRIPTS}", content=raw, headers=headers)
        assert response.status_code == 422, raw


def test_invalid_saves_are_422(server):
    path = f"{TRANSCRIPTS}/{_saved(server)['id']}"
    for body, message in (
        ({"revision": 1}, "nothing to save"),
        ({"name": None}, "name cannot be null"),
        ({"segments": None, "revision": 1}, "segments cannot be null"),
        ({"segments": [{**SEGMENTS[0], "end": 0.5, "start": 0.6}]}, "segments.0"),
        ({"name": "x", "revision": 0}, "revision"),
    ):
        response = call(server, "PUT", path, json=body)
        assert response.status_code == 422 and message in _error(response), (body, response.text)
    assert call(server, "GET", path).json()["revision"] == 1


def test_transcripts_are_per_tenant(server):
    saved = _saved(server)
    path = f"{TRANSCRIPTS}/{saved['id']}"
    for method, suffix, kwargs in (
        ("GET", "", {}),
        ("PUT", "", {"json": {"name": "偷改"}}),
        ("GET", "/export", {"params": {"format": "srt"}}),
        ("DELETE", "", {}),
    ):
        response = call(server, method, path + suffix, "other", **kwargs)
        assert response.status_code == 404, (method, suffix)
    listed = call(server, "GET", TRANSCRIPTS, "other").json()
    assert saved["id"] not in [item["id"] for item in listed["data"]]
    assert call(server, "GET", path).json() == saved  # untouched
    assert httpx.get(f"{server[0]}{TRANSCRIPTS}").status_code == 401


# --------------------------------------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------------------------------------

_CUE_TIME = r"(\d{2}):(\d{2}):(\d{2})[,.](\d{3})"


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _cues(text: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of each cue of SRT or WebVTT subtitles."""
    cues = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue  # the WEBVTT header
        times = re.fullmatch(f"{_CUE_TIME} --> {_CUE_TIME}", lines[timing])
        assert times, lines[timing]
        start, end = _seconds(*times.groups()[:4]), _seconds(*times.groups()[4:])
        cues.append((start, end, "\n".join(lines[timing + 1 :])))
    return cues


def _export(server, transcript_id: str, fmt: str) -> httpx.Response:
    response = call(server, "GET", f"{TRANSCRIPTS}/{transcript_id}/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response


def test_subtitles_parse_back_to_the_saved_times_and_texts(server):
    saved = _saved(server)
    expected = [(s["start"], s["end"], s["text"], s["speaker"]) for s in SEGMENTS]
    srt = _export(server, saved["id"], "srt")
    assert srt.headers["content-type"] == "text/srt; charset=utf-8"
    cues = _cues(srt.content.decode("utf-8"))
    assert [(a, b) for a, b, _ in cues] == [(a, b) for a, b, _, _ in expected]
    assert [text for *_, text in cues] == [f"[{who}] {text}" if who else text for *_, text, who in expected]

    vtt = _export(server, saved["id"], "vtt")
    assert vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    assert vtt.text.startswith("WEBVTT\n")
    cues = _cues(vtt.text)
    assert [(a, b) for a, b, _ in cues] == [(a, b) for a, b, _, _ in expected]
    assert [text for *_, text in cues] == [f"<v {who}>{text}" if who else text for *_, text, who in expected]


def test_text_export_has_a_line_per_speaker_turn(server):
    saved = _saved(server)
    text = _export(server, saved["id"], "txt").text
    assert text == "原告: 原告今天正式起诉被告。\n被告: 被告对此没有异议。\n休庭。\n"
    plain = _saved(server, segments=[{**s, "speaker": None} for s in SEGMENTS])
    assert _export(server, plain["id"], "txt").text == "原告今天正式起诉被告。被告对此没有异议。休庭。\n"


def test_docx_holds_the_correction_with_times_and_speakers(server):
    saved = _saved(server, segments=[{**s, "text": s["text"].replace("起诉", "旗树")} for s in SEGMENTS])
    corrected = call(server, "PUT", f"{TRANSCRIPTS}/{saved['id']}", json={"segments": SEGMENTS, "revision": 1})
    assert corrected.status_code == 200
    response = _export(server, saved["id"], "docx")
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    doc = Document(io.BytesIO(response.content))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == TRANSCRIPT["name"] and doc.core_properties.title == TRANSCRIPT["name"]
    assert texts[1:] == [
        "[00:00:00 – 00:00:02] 原告：原告今天正式起诉被告。",
        "[00:00:02 – 00:00:05] 被告：被告对此没有异议。",
        "[01:01:01 – 01:01:03] 休庭。",
    ]
    assert "旗树" not in "".join(texts)
    assert [run.text for run in doc.paragraphs[1].runs if run.bold] == ["原告"]


def test_json_export_and_file_names(server):
    saved = _saved(server)
    response = _export(server, saved["id"], "json")
    assert json.loads(response.content.decode("utf-8")) == saved
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="transcript-{saved["id"]}.json"; ')
    # The name's "/" and ":" (not allowed in file names) became "_"; the rest is kept, in UTF-8.
    assert disposition.endswith("filename*=UTF-8''" + quote("庭审记录_ 张三_李四.json"))
    odd = _saved(server, name="..\\..\\etc.")
    odd_disposition = _export(server, odd["id"], "txt").headers["content-disposition"]
    assert odd_disposition.endswith("filename*=UTF-8''etc.txt")
    bad = call(server, "GET", f"{TRANSCRIPTS}/{saved['id']}/export", params={"format": "pdf"})
    assert bad.status_code == 422 and "format" in _error(bad)


# --------------------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------------------


def test_migration_matches_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = create_app(_settings(tmp_path))
    with app.state.db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "transcripts" in repr(d)] == []
