"""Hardening of inputs (issue 15): spreadsheet formula injection in knowledge-base exports, XLSX entity bombs,
``.``/``..`` and control characters in names, the hotword limits on every request, and errors that never show
the server's upload paths."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import time
import zipfile

import numpy as np
import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shenggu.audio.decode import encode_wav
from shenggu.config import Settings
from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq import files
from shenggu.service.app import create_app
from shenggu.service.storage import hotwords, knowledge, speakers, tenants
from shenggu.service.tasks import TranscribeRequest
from tests.servers import tenant_keys

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Cells a spreadsheet would run as formulas, in every column, beside real leading apostrophes.
TRICKY = files.kb_from_json(
    [
        {
            "id": "=id-1",
            "question": "=1+1 怎么算",
            "alternatives": ["=HYPERLINK(A1)", "普通问法"],
            "answer": "-5 度以下请加衣",
            "category": "+分类",
            "language": "zh",
        },
        {"id": "@id-2", "question": "@SUM(A1:A9)", "answer": "+86 10 1234 5678", "category": "-"},
        {"id": "q3", "question": "'Tis the season?", "answer": "'=not a formula", "category": "''-two"},
        {"id": "q4", "question": "Only an apostrophe?", "alternatives": ["'"], "answer": "''", "category": "'a"},
    ]
)


def csv_cells(data: bytes, fmt: str) -> list[list[str]]:
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ","))


# ---------------------------------------------------------------- formula injection


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_csv_and_tsv_exports_neutralize_formulas(fmt):
    rows = csv_cells(files.dump_kb(TRICKY, fmt), fmt)
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]
    first, second, third, fourth = rows[1:]
    assert first[:5] == ["'=id-1", "'=1+1 怎么算", "'=HYPERLINK(A1) | 普通问法", "'-5 度以下请加衣", "'+分类"]
    assert second[4] == "'-"
    # A real leading apostrophe is left alone unless a formula character follows it: then it gets one more.
    assert third[1:5] == ["'Tis the season?", "", "''=not a formula", "'''-two"]
    assert fourth[2:5] == ["'", "''", "'a"]


@pytest.mark.parametrize("fmt", files.FORMATS)
def test_neutralized_cells_round_trip_exactly(fmt):
    back = files.parse_kb(files.dump_kb(TRICKY, fmt), fmt, f"kb.{fmt}")
    assert back == TRICKY
    assert files.parse_kb(files.dump_kb(back, fmt), fmt, f"again.{fmt}") == TRICKY


def test_cells_starting_with_tab_or_carriage_return_are_neutralized():
    # Reading trims such cells, but a base built in code may hold them: the export must still be inert.
    kb = files.kb_from_json([{"id": "t", "question": "q", "answer": "x"}])
    kb.entries[0].texts["en"].answer = "\t=cmd|' /C calc'!A0"
    kb.entries[0].category = "\r=1+1"
    for fmt in ("csv", "tsv"):
        row = csv_cells(files.dump_kb(kb, fmt), fmt)[1]
        assert row[3] == "'\t=cmd|' /C calc'!A0" and row[4] == "'\r=1+1"


def test_hand_made_csv_apostrophes():
    """One apostrophe goes only where it is followed by apostrophes and a formula character (documented)."""
    data = "question,answer\n'-5 度,'Tis\n''=x,'\n".encode()
    kb = files.parse_kb(data, "csv", "hand.csv")
    assert [(e.texts["zh"].question, e.texts["zh"].answer) for e in kb.entries[:1]] == [("-5 度", "'Tis")]
    assert kb.entries[1].texts["en"].question == "'=x" and kb.entries[1].texts["en"].answer == "'"


# ---------------------------------------------------------------- XLSX entities


def _with_sheet(change) -> bytes:
    """A valid exported workbook whose first sheet's XML is rewritten by ``change``."""
    kb = files.kb_from_json([{"id": "a", "question": "How?", "answer": "So."}])
    source, out = zipfile.ZipFile(io.BytesIO(files.dump_kb(kb, "xlsx"))), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info.filename, change(body) if info.filename == "xl/worksheets/sheet1.xml" else body)
    return out.getvalue()


def _billion_laughs(sheet: bytes) -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'.encode() + sheet.replace(b"How?", b"&lol9;")


def _one_entity(sheet: bytes) -> bytes:
    # Harmless, and expat alone would expand it: refused only because the workbook is parsed with defusedxml.
    return b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY q "Why?">]>' + sheet.replace(b"How?", b"&q;")


def test_xlsx_is_parsed_with_defusedxml():
    assert openpyxl.DEFUSEDXML
    with pytest.raises(InvalidOptionError, match="declares a DTD or entities"):
        files.parse_kb(_with_sheet(_one_entity), "xlsx", "kb.xlsx")


def test_billion_laughs_xlsx_upload_is_refused_at_once(client):
    http, keys = client
    response = http.put(
        "/v1/knowledge-bases/faq",
        headers=auth(keys["alice"]),
        files={"file": ("kb.xlsx", _with_sheet(_billion_laughs))},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_option" and "kb.xlsx is refused" in error["message"]


# ---------------------------------------------------------------- the service


def serve(tmp_path_factory, job_workers: int):
    app = create_app(Settings(preload_models=False, job_workers=job_workers, data_dir=tmp_path_factory.mktemp("data")))
    keys = tenant_keys(app, "alice")
    with app.state.db.session() as session:
        keys["admin"] = tenants.create_key(session, tenants.get_or_create_tenant(session, "ops"), admin=True)[1]
    with TestClient(app) as http:  # the lifespan starts the job workers
        yield http, keys


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """No job worker: accepted jobs stay queued (nothing loads Whisper)."""
    yield from serve(tmp_path_factory, 0)


@pytest.fixture(scope="module")
def worker_client(tmp_path_factory):
    yield from serve(tmp_path_factory, 1)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_are_refused_everywhere(client, name):
    http, keys = client
    encoded = "%2E" * len(name)  # as such, HTTP clients resolve them away; encoded, they reach the route
    cases = [
        http.put(f"/v1/hotwords/{encoded}", headers=auth(keys["alice"]), json={"words": ["x"]}),
        http.put(f"/v1/glossaries/{encoded}", headers=auth(keys["alice"]), json={"terms": {"a": "b"}}),
        http.put(
            f"/v1/knowledge-bases/{encoded}",
            headers=auth(keys["alice"]),
            files={"file": ("kb.csv", b"question,answer\nq,a\n")},
        ),
        http.post(
            "/v1/speakers",
            headers=auth(keys["alice"]),
            data={"name": f" {name} "},
            files={"file": ("a.wav", encode_wav(np.zeros(16000, dtype=np.float32)))},
        ),
        http.post("/v1/admin/keys", headers=auth(keys["admin"]), json={"tenant": name}),
    ]
    for response in cases:
        assert response.status_code == 400, (response.request.url, response.text)
        assert response.json()["error"]["code"] == "invalid_option"
    listed = [http.get(path, headers=auth(keys["alice"])).json()["data"] for path in ("/v1/hotwords", "/v1/glossaries")]
    assert listed == [[], []]


def test_name_checks_of_the_stores():
    for check in (hotwords.check_name, knowledge.check_name, speakers.check_name):
        for bad in (".", ".."):
            with pytest.raises(InvalidOptionError):
                check(bad)
    assert knowledge.check_name("faq.v2") == "faq.v2" and speakers.check_name("张法官") == "张法官"


@pytest.mark.parametrize("name", ["bank\nadmin", "bank\x1b[31m", "a\x00b", "ba\x85nk", "ba\x7fnk", ".."])
def test_tenant_names_with_control_characters_are_refused(client, name):
    http, keys = client
    response = http.post("/v1/admin/keys", headers=auth(keys["admin"]), json={"tenant": name})
    assert response.status_code == 400 and "tenant name" in response.json()["error"]["message"]


def test_cli_refuses_a_dot_tenant(tmp_path, monkeypatch):
    from shenggu.cli.main import app as cli
    from shenggu.config import get_settings

    monkeypatch.setenv("SHENGGU_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["keys", "create", "--tenant", ".."])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "tenant name" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- hotword limits

TOO_MANY = ",".join(f"词{i}" for i in range(hotwords.MAX_WORDS + 1))
TOO_LONG = "x" * (hotwords.MAX_WORD_CHARS + 1)


def test_request_hotwords_have_the_stored_list_limits():
    most = ",".join(f"w{i:03d}{'x' * (hotwords.MAX_WORD_CHARS - 4)}" for i in range(hotwords.MAX_WORDS))
    assert len(TranscribeRequest.parse(None, "zh", None, most).hotwords) == hotwords.MAX_WORDS
    for words in (TOO_MANY, f"ok,{TOO_LONG}"):
        with pytest.raises(InvalidOptionError):
            TranscribeRequest.parse(None, "zh", None, words)


@pytest.mark.parametrize("words", [TOO_MANY, TOO_LONG])
@pytest.mark.parametrize("path", ["/v1/audio/transcriptions", "/v1/jobs"])
def test_hotwords_field_limits_over_http(client, path, words):
    http, keys = client
    clip = encode_wav(np.zeros(16000, dtype=np.float32))
    response = http.post(path, headers=auth(keys["alice"]), data={"hotwords": words}, files={"file": ("a.wav", clip)})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_option"


@pytest.mark.parametrize("route", ["/v1/audio/stream?language=zh", "/v1/assistant?kb=faq"])
def test_hotwords_query_limits_on_websockets(client, route):
    http, keys = client
    with http.websocket_connect(f"{route}&hotwords={TOO_MANY}", headers=auth(keys["alice"])) as ws:
        message = ws.receive_json()
    assert message["type"] == "error" and message["code"] == "invalid_option", message


# ---------------------------------------------------------------- upload paths in errors

NOT_AUDIO = b"this is just text, not a recording\n" * 20
CUT_SHORT = encode_wav(np.zeros(16000, dtype=np.float32))[:2000]  # the header announces 1 s


def _assert_no_server_path(message: str, data_dir) -> None:
    for secret in (str(data_dir), tempfile.gettempdir(), "/tmp", "shenggu-upload", "uploads/"):
        assert secret not in message, message


@pytest.mark.parametrize(
    ("path", "fields", "data"),
    [
        # Only where the error comes before any model loads (the probe, or decoding before the model).
        ("/v1/audio/transcriptions", {}, NOT_AUDIO),
        ("/v1/audio/translations", {}, NOT_AUDIO),
        ("/v1/jobs", {}, NOT_AUDIO),
        ("/v1/assessments", {"text": "hello world"}, NOT_AUDIO),
        ("/v1/assessments", {"text": "hello world"}, CUT_SHORT),
        ("/v1/speakers", {"name": "judge"}, NOT_AUDIO),
        ("/v1/speakers", {"name": "judge"}, CUT_SHORT),
    ],
)
def test_audio_errors_never_show_server_paths(client, path, fields, data):
    http, keys = client
    for filename in ("recording.wav", "noextension"):
        response = http.post(path, headers=auth(keys["alice"]), data=fields, files={"file": (filename, data)})
        assert 400 <= response.status_code < 500, response.text
        message = response.json()["error"]["message"]
        _assert_no_server_path(message, http.app.state.settings.data_dir)
        assert "the uploaded file" in message or f"'{filename}'" in message, message


def test_failed_assess_job_does_not_show_its_stored_path(worker_client):
    """``task=assess`` decodes the stored file without its client name: the worker's error names neither path."""
    http, keys = worker_client
    response = http.post(
        "/v1/jobs",
        headers=auth(keys["alice"]),
        data={"task": "assess", "text": "hello world", "language": "en"},
        files={"file": ("reading.wav", CUT_SHORT)},
    )
    assert response.status_code == 202, response.text
    job = _finished_job(http, keys["alice"], response.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "truncated_audio"
    assert job["error"]["message"].startswith("the uploaded file is cut short"), job
    _assert_no_server_path(json.dumps(job), http.app.state.settings.data_dir)


def _finished_job(http: TestClient, key: str, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")
