"""The quality-inspection API on a real server: rulesets stored per tenant and versioned (uploads, history,
activation by copy, clear 400s for bad rules, the bundled ruleset), inspections of JSON transcripts judged at
once by the version asked for, tenant isolation, and an inspection job on recordings (a stereo call spoken by
shenggu's own TTS, agent left and customer right, plus a corrupt file) with its report, its recordings served for
playback (ranges, tenant-only) and its findings linked to their moment. Also the storage beneath
(append-only versions, migration) and the response schemas against the engine's dataclasses."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import fields

import httpx
import pytest

from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import qa as qa_store
from shenggu.service.storage import tenants
from shenggu.service.storage.db import Database, default_url
from shenggu.service.storage.tenants import NotFoundError
from shenggu.solutions.qa import RulesError, bundled_ruleset, parse_rules_text
from shenggu.solutions.qa.links import media_fragment
from tests.servers import running_server, tenant_keys

RULES = "/v1/qa/rules"
INSPECTIONS = "/v1/qa/inspections"

# Meaning is off in these rules (meaning_threshold: null), so no sentence encoder is loaded.
RULES_V1 = """\
# a small ruleset: a greeting is required, promises are forbidden
name: hotline
version: "2024.1"
rules:
  - id: greeting
    name: 开场问候
    kind: required_phrase
    weight: 40
    within: {first: 15}
    meaning_threshold: null
    phrases: [您好，很高兴为您服务]
  - id: no_promises
    name: 禁止承诺收益
    kind: forbidden_phrase
    weight: 60
    phrases: [保证收益, 稳赚不赔]
"""
TAG_RULE = """\
  - id: tags
    name: 业务标签
    kind: tag_keywords
    who: customer
    tags: {投诉: [投诉]}
"""
RULES_V2 = RULES_V1.replace('"2024.1"', '"2024.2"') + TAG_RULE
CALL = {
    "id": "c1",
    "metadata": {"agent": "A01", "queue": "理财", "date": "2024-03-05"},
    "utterances": [
        {"role": "agent", "start": 0.0, "end": 2.5, "text": "您好，很高兴为您服务。"},
        {"role": "customer", "start": 3.0, "end": 5.0, "text": "我想投诉一下理财产品。"},
        {"role": "agent", "start": 5.5, "end": 8.0, "text": "这款产品保证收益，您放心。"},
    ],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings(preload_models=False, job_workers=1, data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    keys = tenant_keys(app, "bank", "other")
    with running_server(app) as base:
        yield base, keys, settings


def call(server, method, path, tenant="bank", headers: dict | None = None, **kwargs) -> httpx.Response:
    base, keys, _ = server
    headers = {"Authorization": f"Bearer {keys[tenant]}", **(headers or {})}
    return httpx.request(method, f"{base}{path}", headers=headers, timeout=300, **kwargs)


def upload(server, text: str, tenant="bank", media="application/yaml", **params) -> httpx.Response:
    return call(server, "POST", RULES, tenant, content=text.encode(), headers={"content-type": media}, params=params)


def uploaded(server, text: str, tenant="bank", **params) -> dict:
    response = upload(server, text, tenant, **params)
    assert response.status_code == 201, response.text
    return response.json()


def inspect_calls(server, body: dict, tenant="bank") -> dict:
    response = call(server, "POST", INSPECTIONS, tenant, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


def verdicts(result: dict) -> dict[str, bool]:
    return {r["rule_id"]: r["passed"] for r in result["rules"]}


# --------------------------------------------------------------------------------------------------------
# Rulesets
# --------------------------------------------------------------------------------------------------------


def test_rulesets_are_versioned_and_activation_copies_an_old_version(server):
    first = uploaded(server, RULES_V1, name="versions")
    assert (first["name"], first["version"], first["previous_version"]) == ("versions", 1, None)
    assert (first["title"], first["label"], first["format"], first["active"]) == ("hotline", "2024.1", "yaml", True)
    assert [r["id"] for r in first["rules"]] == ["greeting", "no_promises"]
    second = uploaded(server, RULES_V2, name="versions")
    assert (second["version"], second["previous_version"], second["rule_count"]) == (2, 1, 3)

    history = call(server, "GET", f"{RULES}/versions/versions").json()
    assert [(v["version"], v["label"], v["active"]) for v in history["data"]] == [(2, "2024.2", True),
                                                                                  (1, "2024.1", False)]  # fmt: skip
    activated = call(server, "POST", f"{RULES}/versions/activate", json={"version": 1})
    assert activated.status_code == 200, activated.text
    third = activated.json()
    assert (third["version"], third["previous_version"], third["restored_from"]) == (3, 2, 1)
    assert third["rules"] == first["rules"] and third["label"] == "2024.1"
    assert call(server, "GET", f"{RULES}/versions").json()["version"] == 3  # the copy is the active version
    old = call(server, "GET", f"{RULES}/versions", params={"version": 2}).json()
    assert (old["version"], old["active"], old["rule_count"]) == (2, False, 3)
    # the text comes back exactly as uploaded, comments included
    text = call(server, "GET", f"{RULES}/versions", params={"version": 1, "format": "yaml"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("application/yaml")
    assert text.text == RULES_V1
    assert call(server, "GET", f"{RULES}/versions", params={"version": 3, "format": "yaml"}).text == RULES_V1
    assert call(server, "GET", f"{RULES}/versions", params={"version": 4}).status_code == 404


def test_rules_as_json_in_both_shapes_and_names_from_query_body_or_file(server):
    as_object = parse_rules_text(RULES_V1).to_data()
    document = json.dumps({**as_object, "name": "json-doc"}, ensure_ascii=False)
    stored = uploaded(server, document, media="application/json")  # named by its own name
    assert (stored["name"], stored["format"]) == ("json-doc", "json")
    assert stored["rules"] == json.loads(json.dumps(as_object["rules"]))
    text = call(server, "GET", f"{RULES}/json-doc", params={"format": "yaml"})
    assert text.headers["content-type"].startswith("application/json") and text.text == document

    wrapped = call(server, "POST", RULES, json={"name": "wrapped", "rules": RULES_V2, "note": "from the editor"})
    assert wrapped.status_code == 201, wrapped.text
    assert (wrapped.json()["name"], wrapped.json()["note"], wrapped.json()["format"]) == ("wrapped", "from the editor",
                                                                                         "yaml")  # fmt: skip
    as_value = call(server, "POST", RULES, json={"name": "wrapped", "rules": as_object})
    assert as_value.status_code == 201 and as_value.json()["version"] == 2 and as_value.json()["format"] == "json"

    unnamed = upload(server, RULES_V1.replace("name: hotline", "name: 热线规则"))
    assert unnamed.status_code == 400 and "?name=" in unnamed.json()["error"]["message"]
    clash = call(server, "POST", RULES, json={"name": "a", "rules": RULES_V1}, params={"name": "b"})
    assert clash.status_code == 400


@pytest.mark.parametrize(
    ("text", "status", "mentions"),
    [
        (RULES_V1.replace("kind: forbidden_phrase", "kind: forbid"), 400, ["line 14", "no_promises", "forbid"]),
        (RULES_V1.replace("    weight: 60\n", "    weight: [60\n"), 400, ["line 16", "YAML"]),
        (RULES_V1.replace("phrases: [保证收益", "phrase: [保证收益"), 400, ["line 16", "no_promises", "'phrases'"]),
        ("rules: []\nname: x\nversion: '1'\n", 400, ["rules"]),
        ("{", 400, ["JSON"]),
    ],
)
def test_bad_rules_are_400_naming_the_line_and_rule(server, text, status, mentions):
    media = "application/json" if text == "{" else "application/yaml"
    response = upload(server, text, media=media, name="broken")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert all(m in error["message"] for m in mentions), error
    assert call(server, "GET", f"{RULES}/broken").status_code == 404  # nothing stored


def test_bad_uploads_are_refused_clearly(server):
    plain = call(server, "POST", RULES, content=RULES_V1.encode(), headers={"content-type": "text/plain"})
    assert plain.status_code == 400 and "application/yaml" in plain.json()["error"]["message"]
    assert upload(server, RULES_V1, name="bad/name").status_code in (400, 404)
    assert upload(server, RULES_V1, name="bank_default").status_code == 400  # the bundled one's name
    too_big = upload(server, RULES_V1 + "#" * qa_store.MAX_RULES_CHARS, name="big")
    assert too_big.status_code == 413
    assert call(server, "POST", f"{RULES}/nothing/activate", json={"version": 1}).status_code == 404
    assert call(server, "POST", f"{RULES}/nothing/activate", json={"version": 0}).status_code == 422


def test_the_bundled_ruleset_is_readable_by_every_tenant_and_cannot_change(server):
    number = int(bundled_ruleset("bank_default").version)  # the version its file gives itself
    for tenant in ("bank", "other"):
        listed = {r["name"]: r for r in call(server, "GET", RULES, tenant).json()["data"]}
        assert listed["bank_default"]["bundled"] is True and listed["bank_default"]["rule_count"] >= 8
        view = call(server, "GET", f"{RULES}/bank_default", tenant).json()
        assert view["bundled"] and view["version"] == number and "greeting" in [r["id"] for r in view["rules"]]
    text = call(server, "GET", f"{RULES}/bank_default", params={"format": "yaml"}).text
    assert text.startswith("# Example quality-inspection rules")
    assert call(server, "GET", f"{RULES}/bank_default/versions").json()["data"][0]["active"] is True
    assert call(server, "GET", f"{RULES}/bank_default", params={"version": number + 1}).status_code == 404
    assert call(server, "DELETE", f"{RULES}/bank_default").status_code == 400
    assert call(server, "POST", f"{RULES}/bank_default/activate", json={"version": number}).status_code == 400


def test_a_deleted_ruleset_is_gone_and_its_numbers_are_not_reused(server):
    uploaded(server, RULES_V1, name="short-lived")
    assert call(server, "DELETE", f"{RULES}/short-lived").status_code == 204
    assert call(server, "GET", f"{RULES}/short-lived").status_code == 404
    assert "short-lived" not in [r["name"] for r in call(server, "GET", RULES).json()["data"]]
    again = uploaded(server, RULES_V1, name="short-lived")
    assert (again["version"], again["previous_version"]) == (2, None)


# --------------------------------------------------------------------------------------------------------
# Inspections of transcripts
# --------------------------------------------------------------------------------------------------------


def test_calls_are_judged_at_once_by_the_version_asked_for(server):
    uploaded(server, RULES_V1, name="judge")
    uploaded(server, RULES_V2, name="judge")
    body = inspect_calls(server, {"rules": "judge", "calls": [CALL]})
    assert {k: body[k] for k in ("object", "status", "source", "ruleset", "ruleset_version", "items", "job_id")} == {
        "object": "qa.inspection", "status": "succeeded", "source": "calls", "ruleset": "judge",
        "ruleset_version": 2, "items": 1, "job_id": None,
    }  # fmt: skip
    (entry,) = body["results"]
    result = entry["result"]
    assert entry["item"] == "c1" and entry["call"]["utterances"][2]["text"] == CALL["utterances"][2]["text"]
    assert verdicts(result) == {"greeting": True, "no_promises": False, "tags": True}
    assert result["score"] == 40.0 and result["tags"] == ["投诉"]
    assert (result["ruleset"], result["ruleset_version"]) == ("judge", "2")
    (evidence,) = next(r for r in result["rules"] if r["rule_id"] == "no_promises")["evidence"]
    assert (evidence["utterance"], evidence["time"]) == (2, 5.5) and "保证收益" in evidence["detail"]
    assert body["failures"] == []
    assert body["batch"]["summary"]["mean_score"] == 40.0 and body["batch"]["top_failed_rules"] == ["no_promises"]
    assert [a["name"] for a in body["batch"]["agents"]] == ["A01"] and body["batch"]["tags"] == {"投诉": 1}
    assert call(server, "GET", f"{INSPECTIONS}/{body['id']}").json() == body

    older = inspect_calls(server, {"rules": "judge", "version": 1, "calls": [CALL]})
    assert older["ruleset_version"] == 1
    assert verdicts(older["results"][0]["result"]) == {"greeting": True, "no_promises": False}


def test_calls_report_is_reachable_in_each_format(server):
    uploaded(server, RULES_V1, name="reported")
    second = {**CALL, "id": "c2", "utterances": CALL["utterances"][:2]}  # no promise: full score
    body = inspect_calls(server, {"rules": "reported", "calls": [CALL, second]})
    path = f"{INSPECTIONS}/{body['id']}/report"
    html = call(server, "GET", path)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "禁止承诺收益" in html.text
    rows = csv_rows(call(server, "GET", path, params={"format": "csv"}))
    assert [(r["file"], float(r["score"])) for r in rows] == [("c1", 40.0), ("c2", 100.0)]
    document = call(server, "GET", path, params={"format": "json"}).json()
    assert document["summary"]["calls"] == 2 and document["summary"]["ruleset_version"] == "1"


def test_transcripts_are_metered_in_characters(server):
    uploaded(server, RULES_V1, name="metered")
    inspect_calls(server, {"rules": "metered", "calls": [CALL]})
    usage = {u["capability"]: u for u in call(server, "GET", "/v1/usage").json()["data"]}
    assert usage["qa_inspection"]["characters"] >= sum(len(u["text"]) for u in CALL["utterances"])


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"rules": "nowhere", "calls": [CALL]}, 404, "nowhere"),
        ({"rules": "bank_default", "version": 9, "calls": [CALL]}, 404, "version"),
        ({"calls": []}, 422, "calls"),
        ({"calls": [{**CALL, "utterances": [{**CALL["utterances"][0], "end": -1}]}]}, 422, "end"),
        ({"calls": [{**CALL, "utterances": [{**CALL["utterances"][0], "start": 4.0}]}]}, 400, "calls[0]"),
        ({"calls": [{**CALL, "utterances": [{**CALL["utterances"][0], "role": "bot"}]}]}, 422, "role"),
        ({"calls": [CALL, CALL]}, 400, "c1"),
    ],
)
def test_bad_inspection_requests(server, body, status, mentions):
    response = call(server, "POST", INSPECTIONS, json=body)
    assert response.status_code == status, response.text
    assert mentions in response.json()["error"]["message"]


def test_odd_call_ids_name_report_files_inside_the_report(server):
    uploaded(server, RULES_V1, name="odd-ids")
    ids = ["../../escape", "报告" * 90, ".", "a\nb"]  # 540 bytes of Chinese: too long a file name
    body = inspect_calls(server, {"rules": "odd-ids", "calls": [{**CALL, "id": i} for i in ids]})
    items = [entry["item"] for entry in body["results"]]
    assert items[0] == "escape" and items[2] == "call-3" and items[3] == "a_b"
    assert items[1].startswith("报告") and len(items[1].encode()) <= 200
    assert [entry["call"]["id"] for entry in body["results"]] == ids  # the calls keep their ids
    _, _, settings = server
    report = settings.data_dir / "results" / f"qa-{body['id']}"
    written = sorted(p.relative_to(report).as_posix() for p in (report / "calls").iterdir())
    assert written == sorted(f"calls/{item}.json" for item in items)
    assert not (settings.data_dir / "escape.json").exists()


def test_inspections_are_listed_newest_first_and_deleted_with_their_report(server):
    uploaded(server, RULES_V1, name="listed")
    first = inspect_calls(server, {"rules": "listed", "calls": [CALL]})
    second = inspect_calls(server, {"rules": "listed", "calls": [CALL]})
    listed = call(server, "GET", INSPECTIONS, params={"limit": 2}).json()
    assert [i["id"] for i in listed["data"]] == [second["id"], first["id"]] and "results" not in listed["data"][0]
    _, _, settings = server
    report = settings.data_dir / "results" / f"qa-{first['id']}"
    assert (report / "report.html").is_file()
    assert call(server, "DELETE", f"{INSPECTIONS}/{first['id']}").status_code == 204
    assert call(server, "GET", f"{INSPECTIONS}/{first['id']}").status_code == 404
    assert not report.exists()


def test_tenants_are_isolated(server):
    mine = uploaded(server, RULES_V1, name="shared-name")
    inspection = inspect_calls(server, {"rules": "shared-name", "calls": [CALL]})
    for method, path in [
        ("GET", f"{RULES}/shared-name/versions"),
        ("DELETE", f"{RULES}/shared-name"),
        ("GET", f"{INSPECTIONS}/{inspection['id']}"),
        ("GET", f"{INSPECTIONS}/{inspection['id']}/report"),
        ("DELETE", f"{INSPECTIONS}/{inspection['id']}"),
    ]:
        assert call(server, method, path, "other").status_code == 404, path
    refused = call(server, "POST", INSPECTIONS, "other", json={"rules": "shared-name", "calls": [CALL]})
    assert refused.status_code == 404
    assert inspection["id"] not in json.dumps(call(server, "GET", INSPECTIONS, "other").json())

    # the other tenant's ruleset of the same name is its own: its own versions, its own rules
    theirs = uploaded(server, RULES_V2, "other", name="shared-name")
    assert (theirs["version"], theirs["previous_version"], theirs["rule_count"]) == (1, None, 3)
    assert call(server, "GET", f"{RULES}/shared-name").json()["rules"] == mine["rules"]
    judged = inspect_calls(server, {"rules": "shared-name", "calls": [CALL]}, "other")
    assert "tags" in verdicts(judged["results"][0]["result"])
    mine_again = call(server, "GET", f"{INSPECTIONS}/{inspection['id']}").json()
    assert "tags" not in verdicts(mine_again["results"][0]["result"])


# --------------------------------------------------------------------------------------------------------
# Inspections of recordings
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"rules": "nowhere"}, "nowhere"),
        ({"channels": "quad"}, "channels"),
        ({"agent_channel": "middle"}, "agent_channel"),
        ({"language": "fr"}, "language"),
        ({"version": "two"}, "version"),
        ({"agent": "王坐席"}, "王坐席"),
        ({"hotword_lists": "missing-list"}, "missing-list"),
        ({"summarize": "maybe"}, "summarize"),
    ],
)
def test_bad_recording_requests_are_refused_before_a_job(server, fields, mentions):
    files = [("files", ("a.wav", b"RIFF" + b"\0" * 100, "audio/wav"))]
    response = call(server, "POST", INSPECTIONS, files=files, data=fields)
    assert response.status_code in (400, 404), response.text
    assert mentions in response.json()["error"]["message"]


def test_recording_requests_need_distinct_files(server):
    no_files = call(server, "POST", INSPECTIONS, files={"rules": (None, "bank_default")})
    assert no_files.status_code == 400 and "'files'" in no_files.json()["error"]["message"]
    twice = [("files", ("a.wav", b"x" * 10, "audio/wav")), ("files", ("a.wav", b"y" * 10, "audio/wav"))]
    response = call(server, "POST", INSPECTIONS, files=twice)
    assert response.status_code == 400 and "a.wav" in response.json()["error"]["message"]


def wait_for(server, inspection_id: str) -> dict:
    for _ in range(1200):
        view = call(server, "GET", f"{INSPECTIONS}/{inspection_id}").json()
        if view["status"] not in ("queued", "running"):
            return view
        assert view["results"] is None
        time.sleep(0.5)
    raise AssertionError(f"inspection {inspection_id} did not finish: {view}")


@pytest.fixture(scope="module")
def recordings_inspection(server, recognizer) -> tuple[dict, dict, bytes]:
    """One recordings job for the tests below (recognition is slow): a stereo call and a corrupt file, with
    metadata. Its 202 body, its finished view, and the call's WAV as uploaded."""
    from tests.qa_speech import stereo_wav

    wav = stereo_wav()
    metadata = "file,agent,queue,date\ncall.wav,A07,理财,2024-03-05\nbroken.wav,A08,信用卡,2024-03-06\n"
    files = [
        ("files", ("call.wav", wav, "audio/wav")),
        ("files", ("broken.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x07" * 200, "audio/wav")),
        ("metadata", ("calls.csv", metadata.encode(), "text/csv")),
    ]
    fields = {"rules": "bank_default", "channels": "stereo", "hotwords": "声谷银行"}
    accepted = call(server, "POST", INSPECTIONS, files=files, data=fields)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    return body, wait_for(server, body["id"]), wav


def test_recordings_are_inspected_by_a_job_and_a_corrupt_file_is_reported(server, recordings_inspection):
    body, view, _ = recordings_inspection
    assert set(body) == {"id", "object", "status", "job_id"} and body["object"] == "qa.inspection"
    assert view["status"] == "succeeded", view
    number = int(bundled_ruleset("bank_default").version)
    assert (view["source"], view["ruleset"], view["ruleset_version"], view["items"]) == ("files", "bank_default",
                                                                                          number, 2)  # fmt: skip

    (entry,) = view["results"]
    call_, result = entry["call"], entry["result"]
    assert entry["item"] == "call.wav" and result["metadata"]["agent"] == "A07"
    agent = [u for u in call_["utterances"] if u["role"] == "agent"]
    customer = [u for u in call_["utterances"] if u["role"] == "customer"]
    assert agent and customer
    assert {u["channel"] for u in agent} == {0} and {u["channel"] for u in customer} == {1}  # agent on the left
    assert verdicts(result)["greeting"] is True and verdicts(result)["no_promises"] is False
    assert "投诉" in result["tags"] and result["ruleset_version"] == str(number)

    (failure,) = view["failures"]
    assert failure["item"] == "broken.wav" and failure["code"] and failure["message"]
    assert "shenggu-qa-" not in failure["message"]  # the job's working folder is not shown
    assert view["batch"]["summary"]["failed"] == 1 and view["batch"]["summary"]["calls"] == 1
    assert view["batch"]["summary"]["unmatched_metadata"] == 0  # broken.wav's row names an item that failed
    from shenggu.service.worker import job_results_dir

    kept = job_results_dir(server[2].data_dir, body["job_id"]) / "recognized" / "call.wav.call.json"
    assert kept.is_file()  # a job taken over after a crash reads it instead of recognizing again

    report = f"{INSPECTIONS}/{body['id']}/report"
    html = call(server, "GET", report)
    assert html.status_code == 200 and "broken.wav" in html.text
    rows = csv_rows(call(server, "GET", report, params={"format": "csv"}))
    assert [(r["file"], r["agent"]) for r in rows] == [("call.wav", "A07")]
    job = call(server, "GET", f"/v1/jobs/{body['job_id']}").json()
    assert job["task"] == "qa_inspection" and "report.html" in job["result"]["files"]
    usage = {u["capability"]: u for u in call(server, "GET", "/v1/usage").json()["data"]}
    assert usage["qa_inspection"]["audio_seconds"] >= result["duration"] > 5


def test_recordings_are_served_for_playback_and_findings_link_to_their_moment(server, recordings_inspection):
    body, view, wav = recordings_inspection
    url = f"{INSPECTIONS}/{body['id']}/audio/call.wav"
    (entry,) = view["results"]
    assert entry["audio_url"] == url
    evidence = [e for r in entry["result"]["rules"] for e in r["evidence"]]
    assert evidence, "the call fails rules with evidence (the promise)"
    for e in evidence:
        assert e["audio_url"] == f"{url}#{media_fragment(e['time'], e['end'])}"
    promise = next(r for r in entry["result"]["rules"] if r["rule_id"] == "no_promises")["evidence"][0]
    assert promise["audio_url"].startswith(f"{url}#t=") and promise["time"] > 0

    played = call(server, "GET", url)
    assert played.status_code == 200 and played.content == wav
    assert played.headers["content-type"].startswith("audio/")
    assert played.headers["content-disposition"].startswith("inline")
    assert played.headers["accept-ranges"] == "bytes" and played.headers["x-content-type-options"] == "nosniff"
    part = call(server, "GET", url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == wav[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(wav)}"

    assert call(server, "GET", url, "other").status_code == 404  # another tenant's inspection
    assert call(server, "GET", f"{INSPECTIONS}/{body['id']}/audio/nothing.wav").status_code == 404
    assert call(server, "GET", f"{INSPECTIONS}/nope/audio/call.wav").status_code == 404
    html = call(server, "GET", f"{INSPECTIONS}/{body['id']}/report").text
    assert f'href="{url}#t=' in html  # the report's findings link to the moment too

    uploaded(server, RULES_V1, name="no-audio")
    transcripts = inspect_calls(server, {"rules": "no-audio", "calls": [CALL]})
    (judged,) = transcripts["results"]
    assert judged["audio_url"] is None
    assert all(e["audio_url"] is None for r in judged["result"]["rules"] for e in r["evidence"])
    assert call(server, "GET", f"{INSPECTIONS}/{transcripts['id']}/audio/c1").status_code == 404


# --------------------------------------------------------------------------------------------------------
# Storage and schemas
# --------------------------------------------------------------------------------------------------------


def test_deleting_an_inspection_deletes_its_recordings(server, recognizer):
    from shenggu.service.qa_tasks import stored_uploads
    from shenggu.service.storage.models import StoredInspection

    files = [("files", ("bad.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x07" * 200, "audio/wav"))]
    body = call(server, "POST", INSPECTIONS, files=files, data={"rules": "bank_default"}).json()
    assert wait_for(server, body["id"])["status"] == "succeeded"
    _, _, settings = server
    with Database(default_url(settings.data_dir)).session() as session:
        stored = stored_uploads(qa_store.job_of(session, session.get(StoredInspection, body["id"])))
    assert len(stored) == 2 and all(path.is_file() for path in stored)  # the manifest and the recording
    assert call(server, "DELETE", f"{INSPECTIONS}/{body['id']}").status_code == 204
    assert not any(path.exists() for path in stored)


def test_a_job_asked_for_summaries_adds_them_to_each_call(server, monkeypatch):
    import shenggu.service.qa_tasks as qa_tasks
    from shenggu.solutions.qa.summary import CallSummary

    asked = []

    def summary(call, chat):  # the language model's part is tested in test_qa_call.py
        asked.append(call.id)
        return CallSummary("客户咨询理财产品。", ["坐席承诺收益5%。"])

    monkeypatch.setattr(qa_tasks, "summarize_call", summary)
    files = [("files", ("call.json", json.dumps(CALL, ensure_ascii=False).encode(), "application/json"))]
    body = call(server, "POST", INSPECTIONS, files=files, data={"rules": "bank_default", "summarize": "true"}).json()
    (entry,) = wait_for(server, body["id"])["results"]
    result = entry["result"]
    assert result["summary"] == "客户咨询理财产品。" and result["summary_dropped"] == ["坐席承诺收益5%。"]
    assert asked == [entry["call"]["id"]]


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(default_url(tmp_path / "data"))
    database.migrate()
    return database


def test_migration_matches_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shenggu.service.storage.models import Base

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "qa_" in repr(d)] == []


def test_versions_are_append_only_and_an_inspection_keeps_its_version(db):
    with db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "acme").id
        rules, previous = qa_store.create_version(session, tenant_id, "hotline", RULES_V1)
        assert (rules.version, previous, rules.ruleset.name, rules.ruleset.version) == (1, None, "hotline", "1")
        assert qa_store.create_version(session, tenant_id, "hotline", RULES_V2)[1] == 1
        with pytest.raises(RulesError, match="line 14"):
            qa_store.create_version(session, tenant_id, "hotline", RULES_V1.replace("forbidden_phrase", "nope"))
        used = qa_store.get_rules(session, tenant_id, "hotline", 1)
        inspection = qa_store.create_inspection(session, tenant_id, "calls", used, 1, {"results": []})
        restored, previous = qa_store.activate(session, tenant_id, "hotline", 1)
        assert (restored.version, restored.restored_from, previous, restored.text) == (3, 1, 2, RULES_V1)
        assert [v.version for v in qa_store.list_versions(session, tenant_id, "hotline")] == [3, 2, 1]
        qa_store.delete_ruleset(session, tenant_id, "hotline")
    with db.session() as session:
        with pytest.raises(NotFoundError):
            qa_store.get_rules(session, tenant_id, "hotline")
        assert qa_store.create_version(session, tenant_id, "hotline", RULES_V1)[0].version == 4
        kept = qa_store.get_inspection(session, tenant_id, inspection.id)
        assert (kept.ruleset, kept.ruleset_version, kept.status) == ("hotline", 1, "succeeded")
        with pytest.raises(NotFoundError):
            qa_store.get_inspection(session, tenant_id + 1, inspection.id)


def test_response_schemas_have_the_fields_of_the_engines_results():
    from shenggu.service.schemas import qa as schemas
    from shenggu.solutions.qa import Call, CallResult, Evidence, RuleResult, TalkRatios, Utterance
    from shenggu.solutions.qa.batch import BatchResult
    from shenggu.solutions.qa.scorecards import DatePoint, RuleStats, Scorecard

    pairs = [
        (schemas.QaCall, Call),
        (schemas.QaUtterance, Utterance),
        (schemas.QaCallResult, CallResult),
        (schemas.QaRuleResult, RuleResult),
        (schemas.QaEvidence, Evidence),
        (schemas.QaTalkRatios, TalkRatios),
        (schemas.Scorecard, Scorecard),
        (schemas.DatePoint, DatePoint),
    ]
    served_only = {schemas.QaEvidence: {"audio_url"}}  # links the service adds where it serves the results
    for schema, dataclass_ in pairs:
        declared = set(schema.model_fields) - served_only.get(schema, set())
        assert declared == {f.name for f in fields(dataclass_)}, schema.__name__
    stats = RuleStats("r", "rule", "forbidden_phrase", 1.0, 2, 1)
    assert set(schemas.RuleStats.model_fields) == set(stats.to_dict())
    ruleset = parse_rules_text(RULES_V1)
    assert set(schemas.BatchSummary.model_fields) == set(BatchResult(ruleset, []).summary())
