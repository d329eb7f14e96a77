"""The clinical-record API on a real server: records from text and dialogue, corrections and versions, the FHIR,
DOCX and PDF forms, tenant isolation, bad input, a recording's job, and the live dictation WebSocket (on speech
synthesized by shenggu's own TTS)."""

from __future__ import annotations

import io
import json
import time

import httpx
import numpy as np
import pytest
from docx import Document
from pypdf import PdfReader
from websockets.sync.client import connect

from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.schemas.medical import MAX_TEXT_CHARS
from shenggu.solutions.medical.grounding import ungrounded_values
from tests.medical_speech import dictation_audio, dictation_wav
from tests.servers import call_as, running_server, tenant_keys

RECORDS = "/v1/medical/records"
NOTES = "主诉，发热三天。下一项。患者三天前受凉后出现发热，最高体温三十八度五。"
DIALOGUE = [
    {"role": "doctor", "text": "你哪里不舒服？"},
    {"role": "patient", "text": "我咳嗽发烧两天了。"},
    {"role": "doctor", "text": "考虑上呼吸道感染，给你开点阿莫西林。"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings(
        preload_models=False, job_workers=1, stream_idle_seconds=5.0, data_dir=tmp_path_factory.mktemp("data")
    )
    app = create_app(settings)
    keys = tenant_keys(app, "clinic", "other")
    with running_server(app) as base:
        yield base, keys


def call(server, method, path, tenant="clinic", **kwargs):
    base, keys = server
    return call_as(base, keys[tenant], method, path, **kwargs)


def create(server, body: dict, tenant="clinic") -> dict:
    response = call(server, "POST", RECORDS, tenant, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def section_texts(record: dict) -> dict[str, str]:
    return {s["name"]: s["text"] for s in record["sections"]}


def entity_texts(record: dict, type_: str) -> set[str]:
    return {
        e["text"] for s in record["sections"] for st in s["statements"] for e in st["entities"] if e["type"] == type_
    }


# --------------------------------------------------------------------------------------------------------
# Records from text
# --------------------------------------------------------------------------------------------------------


def test_text_gives_the_record_at_once(server):
    created = create(server, {"mode": "text", "text": NOTES})
    assert {k: created[k] for k in ("object", "status", "version", "mode", "job_id")} == {
        "object": "medical.record", "status": "succeeded", "version": 1, "mode": "text", "job_id": None,
    }  # fmt: skip
    record = created["record"]
    # The section names start sections and 下一项 moves on; the numbers are written as clinicians write them.
    assert section_texts(record) == {"主诉": "发热3天。", "现病史": "患者3天前受凉后出现发热，最高体温38.5℃。"}
    assert {st["source"] for s in record["sections"] for st in s["statements"]} == {"text"}
    assert "发热" in entity_texts(record, "symptom")
    assert record["draft"] is False and record["reason"] == ""
    read = call(server, "GET", f"{RECORDS}/{created['id']}").json()
    assert read == created


def test_dictated_text_is_a_dictation_record(server):
    created = create(server, {"mode": "dictation", "text": NOTES})
    assert created["mode"] == "dictation" and created["record"]["mode"] == "dictation"
    assert list(section_texts(created["record"])) == ["主诉", "现病史"]


def test_dialogue_gives_a_draft_linked_to_its_utterances(server):
    record = create(server, {"mode": "consultation", "dialogue": DIALOGUE})["record"]
    assert record["draft"] is True
    assert [(u["role"], u["text"]) for u in record["utterances"]][:2] == [("doctor", "你哪里不舒服？"),
                                                                          ("patient", "我咳嗽发烧2天了。")]  # fmt: skip
    sections = {s["name"]: s for s in record["sections"]}
    assert sections["主诉"]["statements"][0]["utterances"] == [1]  # the patient's complaint
    assert "上呼吸道感染" in entity_texts(record, "diagnosis")
    diagnosis = sections["初步诊断"]["statements"][0]
    assert diagnosis["utterances"] == [2] and record["utterances"][2]["role"] == "doctor"
    for section in record["sections"]:  # every statement says where it came from
        for statement in section["statements"]:
            assert statement["utterances"] and all(0 <= i < len(DIALOGUE) for i in statement["utterances"])


def test_text_without_medical_content_has_a_reason_and_no_sections(server):
    record = create(server, {"mode": "text", "text": "今天天气很好，我们下午去公园散步吧。"})["record"]
    assert record["sections"] == [] and record["reason"]
    dialogue = [{"role": "doctor", "text": "今天天气怎么样？"}, {"role": "patient", "text": "挺好的，出太阳了。"}]
    drafted = create(server, {"mode": "consultation", "dialogue": dialogue})["record"]
    assert drafted["sections"] == [] and drafted["reason"]


@pytest.mark.slow
def test_language_model_fills_empty_sections_with_grounded_values_only(server):
    dialogue = [
        {"role": "patient", "text": "医生，我咳嗽三天了，晚上咳得厉害。"},
        {"role": "doctor", "text": "有没有发烧？"},
        {"role": "patient", "text": "没有发烧。"},
        {"role": "doctor", "text": "多喝水，注意休息，如果加重及时来医院。"},
    ]
    plain = create(server, {"mode": "consultation", "dialogue": dialogue})["record"]
    filled = create(server, {"mode": "consultation", "dialogue": dialogue, "llm_fill": True})["record"]
    # the rules' sections are kept as they were; the model only adds sections that were empty
    for name, text in section_texts(plain).items():
        assert section_texts(filled)[name] == text
    added = [st for s in filled["sections"] for st in s["statements"] if st["source"] == "llm"]
    said = "".join(turn["text"] for turn in dialogue)
    for statement in added:  # whatever the model wrote, no number, drug or diagnosis the dialogue lacks
        assert not ungrounded_values(statement["text"], said), statement
    assert all(flag["value"] for flag in filled["needs_review"] if flag["section"])


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"mode": "text", "text": "  "}, 400, "text"),
        ({"mode": "dictation"}, 400, "text"),
        ({"mode": "consultation", "dialogue": []}, 400, "dialogue"),
        ({"mode": "consultation", "dialogue": [{"role": "patient", "text": " "}]}, 400, "dialogue"),
        ({"mode": "consultation", "text": "发热"}, 400, "dialogue"),
        ({"mode": "text", "text": "发热" * (MAX_TEXT_CHARS // 2 + 1)}, 413, str(MAX_TEXT_CHARS)),
        ({"mode": "report", "text": "发热"}, 422, "mode"),
        ({"mode": "consultation", "dialogue": [{"role": "nurse", "text": "发热"}]}, 422, "role"),
        ({"mode": "text", "text": "发热", "llm_fill": True}, 400, "consultation"),
    ],
)
def test_bad_text_requests(server, body, status, mentions):
    response = call(server, "POST", RECORDS, json=body)
    assert response.status_code == status, response.text
    assert mentions in response.json()["error"]["message"]


def test_a_body_that_is_neither_a_file_nor_json_is_refused(server):
    base, keys = server
    headers = {"Authorization": f"Bearer {keys['clinic']}", "content-type": "text/plain"}
    response = httpx.post(f"{base}{RECORDS}", content=b"mode=text", headers=headers, timeout=60)
    assert response.status_code == 400 and "multipart" in response.json()["error"]["message"]
    no_file = call(server, "POST", RECORDS, files={"mode": (None, "dictation")})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]["message"]


# --------------------------------------------------------------------------------------------------------
# Corrections, versions, documents
# --------------------------------------------------------------------------------------------------------


def fhir(server, record_id: str) -> dict:
    response = call(server, "GET", f"{RECORDS}/{record_id}", params={"format": "fhir"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    return response.json()


def composition(bundle: dict) -> dict:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "document"
    return bundle["entry"][0]["resource"]


def test_corrections_confirm_and_count_versions(server):
    created = create(server, {"mode": "consultation", "dialogue": DIALOGUE})
    path = f"{RECORDS}/{created['id']}"
    assert composition(fhir(server, created["id"]))["status"] == "preliminary"  # a draft

    patch = {"sections": {"主诉": "发热伴咳嗽2天。", "医嘱": "", "体格检查": "体温38.2℃，咽部充血。"}, "confirm": True}
    corrected = call(server, "PATCH", path, json=patch)
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert body["version"] == 2 and body["record"]["draft"] is False
    texts = section_texts(body["record"])
    assert texts["主诉"] == "发热伴咳嗽2天。" and texts["体格检查"] == "体温38.2℃，咽部充血。"
    assert "医嘱" not in texts and "初步诊断" in texts  # removed; untouched
    complaint = next(s for s in body["record"]["sections"] if s["name"] == "主诉")["statements"]
    assert [st["source"] for st in complaint] == ["edit"]
    assert {e["text"] for e in complaint[0]["entities"]} >= {"发热", "咳嗽"}  # entities found again
    assert list(texts) == [n for n in ("主诉", "现病史", "体格检查", "初步诊断") if n in texts]  # print order

    again = call(server, "PATCH", path, json={"sections": {"现病史": "2天前受凉后咳嗽。"}}).json()
    assert again["version"] == 3 and again["record"]["draft"] is False
    assert call(server, "GET", path).json()["version"] == 3

    # The documents are made from the stored record: they show every correction.
    bundle = fhir(server, created["id"])
    assert composition(bundle)["status"] == "final"
    assert "发热伴咳嗽2天" in json.dumps(bundle, ensure_ascii=False)
    docx = call(server, "GET", path, params={"format": "docx"})
    assert docx.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    paragraphs = [p.text for p in Document(io.BytesIO(docx.content)).paragraphs]
    assert "发热伴咳嗽2天。" in paragraphs and "2天前受凉后咳嗽。" in paragraphs
    pdf = call(server, "GET", path, params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "发热伴咳嗽2天" in "".join(text.split())


def test_bad_corrections_change_nothing(server):
    created = create(server, {"mode": "text", "text": NOTES})
    path = f"{RECORDS}/{created['id']}"
    unknown = call(server, "PATCH", path, json={"sections": {"主诉": "咳嗽。", "家族病史": "无"}})
    assert unknown.status_code == 400 and "家族病史" in unknown.json()["error"]["message"]
    too_long = call(server, "PATCH", path, json={"sections": {"主诉": "咳" * (MAX_TEXT_CHARS + 1)}})
    assert too_long.status_code == 413
    assert call(server, "PATCH", path, json={"sections": "主诉"}).status_code == 422
    assert call(server, "GET", path).json() == created


def test_tenants_are_isolated_and_records_listed_and_deleted(server):
    first = create(server, {"mode": "text", "text": NOTES})
    second = create(server, {"mode": "dictation", "text": "主诉，头痛一天。"})
    path = f"{RECORDS}/{first['id']}"
    for method, kwargs in [("GET", {}), ("PATCH", {"json": {"confirm": True}}), ("DELETE", {})]:
        assert call(server, method, path, "other", **kwargs).status_code == 404
    listed = call(server, "GET", RECORDS, params={"limit": 2}).json()
    assert [r["id"] for r in listed["data"]] == [second["id"], first["id"]]  # newest first
    assert listed["total"] >= 2 and "record" not in listed["data"][0]
    assert first["id"] not in json.dumps(call(server, "GET", RECORDS, "other").json())
    assert call(server, "DELETE", path).status_code == 204
    assert call(server, "GET", path).status_code == 404
    assert call(server, "DELETE", path).status_code == 404


def test_text_records_are_metered_in_characters(server):
    create(server, {"mode": "text", "text": NOTES})
    usage = {u["capability"]: u for u in call(server, "GET", "/v1/usage").json()["data"]}
    assert usage["medical_record"]["characters"] >= len(NOTES)


# --------------------------------------------------------------------------------------------------------
# Recordings: the job, and the live dictation
# --------------------------------------------------------------------------------------------------------


def test_a_recording_becomes_a_record_through_its_job(server, recognizer):
    files = {"file": ("dictation.wav", dictation_wav(), "audio/wav")}
    accepted = call(server, "POST", RECORDS, files=files, data={"mode": "dictation", "hotwords": "受凉"})
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert set(body) == {"id", "object", "status", "job_id"} and body["object"] == "medical.record"
    path = f"{RECORDS}/{body['id']}"
    for _ in range(600):
        view = call(server, "GET", path).json()
        if view["status"] not in ("queued", "running"):
            break
        assert view["record"] is None
        time.sleep(0.5)
    assert view["status"] == "succeeded", view
    record = view["record"]
    assert record["mode"] == "dictation" and record["sections"] and record["duration"] > 3
    assert "发热" in entity_texts(record, "symptom")
    job = call(server, "GET", f"/v1/jobs/{body['job_id']}").json()
    assert job["task"] == "medical_record"
    assert job["result"]["files"] == ["record.docx", "record.fhir.json", "record.json", "record.pdf"]
    stored = call(server, "GET", f"/v1/jobs/{body['job_id']}/files/record.fhir.json").json()
    assert composition(stored)["identifier"]["value"] == body["id"]
    assert "medical_record" in json.dumps(call(server, "GET", "/v1/usage").json())


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"mode": "report"}, "mode"),
        ({"mode": "consultation", "doctor": "王医生"}, "王医生"),
        ({"mode": "dictation", "doctor": "王医生"}, "consultation"),
        ({"medical_vocabulary": "maybe"}, "medical_vocabulary"),
        ({"mode": "dictation", "llm_fill": "true"}, "consultation"),
    ],
)
def test_bad_recording_requests_are_refused_before_a_job(server, fields, mentions):
    files = {"file": ("a.wav", dictation_wav()[:32044], "audio/wav")}
    response = call(server, "POST", RECORDS, files=files, data=fields)
    assert response.status_code == 400, response.text
    assert mentions in response.json()["error"]["message"]


def test_live_dictation_sends_records_and_saves_one(server, recognizer):
    base, keys = server
    url = base.replace("http://", "ws://") + "/v1/medical/dictation"
    pcm = (np.clip(dictation_audio(), -1, 1) * 32767).astype("<i2").tobytes()
    with connect(url, additional_headers={"Authorization": f"Bearer {keys['clinic']}"}, open_timeout=10) as ws:
        for i in range(0, len(pcm), 3200):  # 100 ms frames
            ws.send(pcm[i : i + 3200])
        ws.send(json.dumps({"type": "end"}))
        messages = []
        while not messages or messages[-1]["type"] not in ("done", "error"):
            messages.append(json.loads(ws.recv(timeout=120)))
    kinds = [m["type"] for m in messages]
    assert kinds[-2:] == ["saved", "done"], kinds
    finals = [i for i, kind in enumerate(kinds) if kind == "final"]
    assert finals and all(kinds[i + 1] == "record" for i in finals)  # each final is followed by the record so far
    last = messages[finals[-1] + 1]["record"]
    assert last["mode"] == "dictation" and last["sections"] and "发热" in entity_texts(last, "symptom")
    saved = call(server, "GET", f"{RECORDS}/{messages[-2]['id']}").json()
    assert saved["mode"] == "dictation" and saved["status"] == "succeeded"
    assert saved["record"]["sections"] == last["sections"] and saved["record"]["duration"] > 3
    assert "medical_dictation" in json.dumps(call(server, "GET", "/v1/usage").json())


def test_live_dictation_needs_a_key(server):
    base, _ = server
    with connect(base.replace("http://", "ws://") + "/v1/medical/dictation", open_timeout=10) as ws:
        message = json.loads(ws.recv(timeout=10))
    assert message["type"] == "error" and message["code"] == "unauthorized"


# --------------------------------------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    from shenggu.service.storage.db import Database, default_url

    database = Database(default_url(tmp_path / "data"))
    database.migrate()
    return database


def test_migration_matches_the_model(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shenggu.service.storage.models import Base

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "medical" in repr(d)] == []


def test_a_record_follows_its_job_until_the_job_stores_its_outcome(db):
    from shenggu.service.storage import jobs, tenants
    from shenggu.service.storage import medical as medical_store

    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "clinic").id
        job = jobs.create(session, tenant_id, "medical_record", {}, "/nowhere.wav", "0" * 64, "a.wav", None, 5.0)
        row = medical_store.create(session, tenant_id, "dictation", None, job_id=job.id)
        assert medical_store.status_of(row, job) == "queued"
        jobs.cancel(session, tenant_id, job.id)
        assert medical_store.status_of(row, job) == "cancelled"
        with pytest.raises(medical_store.RecordNotReadyError):
            medical_store.ready(row)
        medical_store.job_finished(session, job.id, None, failed=True)
        session.refresh(row)
        assert (row.status, row.record, medical_store.status_of(row, job)) == ("failed", None, "failed")
        other = medical_store.create(session, tenant_id, "dictation", None, job_id="another-job")
        medical_store.job_finished(session, "another-job", {"mode": "dictation"}, failed=False)
        session.refresh(other)
        assert (other.status, other.record) == ("succeeded", {"mode": "dictation"})


def test_two_corrections_of_the_same_version_do_not_both_count(db):
    from shenggu.service.storage import medical as medical_store
    from shenggu.service.storage import tenants
    from shenggu.service.storage.tenants import NotFoundError

    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "clinic").id
        record_id = medical_store.create(session, tenant_id, "text", {"mode": "text"}).id
    with db.session() as first, db.session() as second:
        mine = medical_store.get(first, tenant_id, record_id)
        theirs = medical_store.get(second, tenant_id, record_id)
        assert medical_store.correct(first, mine, {"mode": "text", "reason": "mine"}).version == 2
        first.commit()
        with pytest.raises(medical_store.RecordChangedError):
            medical_store.correct(second, theirs, {"mode": "text", "reason": "theirs"})
    with db.session() as session:
        row = medical_store.get(session, tenant_id, record_id)
        assert (row.version, row.record["reason"]) == (2, "mine")
        with pytest.raises(NotFoundError):
            medical_store.get(session, tenant_id + 1, record_id)


def test_a_consultation_is_diarized_with_the_enrolled_doctor(db):
    from shenggu.diarize.voiceprint import Voiceprint
    from shenggu.errors import InvalidOptionError
    from shenggu.service.storage import hotwords, speakers, tenants
    from shenggu.service.tasks import MedicalRequest

    voice = np.zeros(256, np.float32)
    voice[3] = 1.0
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "clinic").id
        speakers.enroll(session, tenant_id, "王医生", Voiceprint(voice, 5.0))
        hotwords.put(session, tenant_id, "default", ["阿莫西林"])
        dictation = MedicalRequest.parse("r1", "dictation", True).transcription(session, tenant_id, "受凉", "", "")
        assert (dictation.language, dictation.diarize, dictation.hotwords) == ("zh", None, ("受凉", "阿莫西林"))
        enrolled = MedicalRequest.parse("r2", "consultation", True).transcription(session, tenant_id, "", "", "王医生")
        assert enrolled.diarize.num_speakers == 2 and enrolled.diarize.roles == ("doctor", "patient")
        assert np.allclose(enrolled.diarize.voices["doctor"], voice)
        # Without a voice the drafter finds the doctor (the one asking): no roles by order of speaking.
        unnamed = MedicalRequest.parse("r3", "consultation", False).transcription(session, tenant_id, "", "", "")
        assert (unnamed.diarize.num_speakers, unnamed.diarize.roles, unnamed.diarize.voices) == (2, (), {})
        with pytest.raises(InvalidOptionError, match="李医生"):
            MedicalRequest.parse("r4", "consultation", True).transcription(session, tenant_id, "", "", "李医生")
