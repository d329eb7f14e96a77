"""The evaluation API on a real server: test sets uploaded as a ZIP or as a manifest with its files (stored per
tenant, with their clips), bad sets refused with every problem listed (missing and non-audio files, missing
columns, bad rows, unsafe ZIP paths, a file that is not a ZIP) and nothing kept; benchmark runs as jobs (progress in
/v1/jobs, per-clip results with alignments, the HTML report, metering), a second run with a hotword list compared
with the first, a failing and a cancelled benchmark, tenant isolation, and deletion of runs and sets with their
files. Recordings: two Mandarin and two English clips of tests/data."""

from __future__ import annotations

import csv
import io
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

import shenggu.service.evaluation_tasks as evaluation_tasks
from shenggu.bench.scoring import align, normalize
from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import tenants
from shenggu.service.storage.db import Database, default_url
from tests.conftest import DATA_DIR
from tests.servers import running_server, tenant_keys

TESTSETS = "/v1/evaluations/testsets"
RUNS = "/v1/evaluations/runs"
CLIPS = (
    "zh_firered_BAC009S0764W0121",
    "zh_mindaudio_BAC009S0002W0123",
    "en_speechbrain_spk1_snt1",
    "en_speechbrain_spk2_snt4",
)


def _manifest_rows() -> list[dict[str, str]]:
    with (DATA_DIR / "manifest.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row for clip in CLIPS for row in rows if row["id"] == clip]


ROWS = _manifest_rows()


def tsv(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    columns = columns or list(rows[0])
    lines = ["\t".join(columns)] + ["\t".join(row.get(c, "") for c in columns) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def audio(row: dict[str, str]) -> bytes:
    return (DATA_DIR / row["path"]).read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def set_zip(top: str = "myset/") -> bytes:
    """The four clips in a ZIP: the shared set's manifest (every column) in one top folder, audio beside it."""
    return zipped({f"{top}manifest.tsv": tsv(ROWS), **{f"{top}{row['path']}": audio(row) for row in ROWS}})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings(preload_models=False, job_workers=1, data_dir=tmp_path_factory.mktemp("data"))
    app = create_app(settings)
    keys = tenant_keys(app, "lab", "other")
    with running_server(app) as base:
        yield base, keys, settings


def call(server, method: str, path: str, tenant: str = "lab", **kwargs) -> httpx.Response:
    base, keys, _ = server
    headers = {"Authorization": f"Bearer {keys[tenant]}"}
    return httpx.request(method, f"{base}{path}", headers=headers, timeout=300, **kwargs)


def upload_zip(server, data: bytes, name: str = "four clips", tenant: str = "lab") -> httpx.Response:
    return call(server, "POST", TESTSETS, tenant, data={"name": name}, files={"file": ("set.zip", data)})


def upload_files(server, manifest: bytes, files: dict[str, bytes], name: str = "tsv set") -> httpx.Response:
    parts = [("manifest", ("manifest.tsv", manifest, "text/tab-separated-values"))]
    parts += [("files", (file_name, data, "audio/wav")) for file_name, data in files.items()]
    return call(server, "POST", TESTSETS, data={"name": name}, files=parts)


def stored_set(server, response: httpx.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def database(server) -> Database:
    """The server's database, opened beside it."""
    return Database(default_url(server[2].data_dir))


def tenant_folder(server, tenant: str = "lab") -> Path:
    """The tenant's evaluations folder (the test sets' folders are named by their ids)."""
    with database(server).session() as session:
        tenant_id = tenants.get_or_create_tenant(session, tenant).id
    return server[2].data_dir / "evaluations" / str(tenant_id)


def folders(server) -> set[str]:
    """What the tenant's evaluations folder holds."""
    folder = tenant_folder(server)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def problems_of(response: httpx.Response) -> list[dict]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "bad_testset" and body["problems_total"] >= len(body["problems"]) >= 1
    return body["problems"]


def wait_for_run(server, run_id: str, tenant: str = "lab", timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = call(server, "GET", f"{RUNS}/{run_id}", tenant).json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.3)
    raise TimeoutError(f"run {run_id} did not finish")


# --------------------------------------------------------------------------------------------------------
# Test sets
# --------------------------------------------------------------------------------------------------------


def test_a_zip_test_set_is_stored_with_its_clips(server):
    testset = stored_set(server, upload_zip(server, set_zip()))
    assert (testset["object"], testset["name"], testset["clip_count"]) == ("evaluation.testset", "four clips", 4)
    assert testset["items"] == {"asr": {"zh": 2, "en": 2}}
    assert (testset["tasks"], testset["languages"], testset["benchmarks"]) == (["asr"], ["en", "zh"], ["asr"])
    declared = sum(float(row["duration_s"]) for row in ROWS)
    assert testset["audio_seconds"] == pytest.approx(declared, abs=0.2)  # decoded, not taken from the manifest
    assert [(c["id"], c["path"], c["reference_text"]) for c in testset["clips"]] == [
        (row["id"], row["path"], row["reference_text"]) for row in ROWS
    ]
    assert {c["ref_quality"] for c in testset["clips"]} == {row["ref_quality"] for row in ROWS}

    read = call(server, "GET", f"{TESTSETS}/{testset['id']}").json()
    assert read == testset
    listed = call(server, "GET", TESTSETS).json()
    assert testset["id"] in [s["id"] for s in listed["data"]] and "clips" not in listed["data"][0]
    folder = tenant_folder(server) / testset["id"]
    assert (folder / "manifest.tsv").is_file() and len(list((folder / "audio").iterdir())) == 4


def test_a_manifest_with_its_files_is_matched_by_file_name(server):
    # Only the required columns; the files are sent under their base names, the manifest gives folders.
    manifest = tsv(ROWS, ["id", "language", "task", "path", "reference_text"])
    testset = stored_set(server, upload_files(server, manifest, {Path(r["path"]).name: audio(r) for r in ROWS}))
    assert testset["items"] == {"asr": {"zh": 2, "en": 2}}
    assert [c["ref_quality"] for c in testset["clips"]] == ["A"] * 4  # the default quality
    assert [c["duration_s"] > 1.5 for c in testset["clips"]] == [True] * 4


def test_missing_and_non_audio_files_are_listed_by_line_and_id(server):
    before = folders(server)
    files = {Path(r["path"]).name: audio(r) for r in ROWS[:2]}  # the English clips are not sent...
    files[Path(ROWS[2]["path"]).name] = b"id\ttext\nnot audio at all\n"  # ...and one is not audio
    problems = problems_of(upload_files(server, tsv(ROWS), files))
    by_id = {p["id"]: p for p in problems}
    assert set(by_id) == {ROWS[2]["id"], ROWS[3]["id"]}
    assert (by_id[ROWS[2]["id"]]["row"], by_id[ROWS[2]["id"]]["column"]) == (4, "path")
    assert "not an audio" in by_id[ROWS[2]["id"]]["problem"] or "text file" in by_id[ROWS[2]["id"]]["problem"]
    assert by_id[ROWS[3]["id"]]["row"] == 5 and "no uploaded file" in by_id[ROWS[3]["id"]]["problem"]
    assert folders(server) == before  # nothing was kept


def test_missing_columns_are_named(server):
    problems = problems_of(upload_zip(server, zipped({"manifest.tsv": tsv(ROWS, ["id", "language", "path"])})))
    assert {(p["row"], p["column"]) for p in problems} == {(1, "task"), (1, "reference_text")}


def test_every_bad_row_is_reported_at_once(server):
    bad = [
        {**ROWS[0], "language": "fr"},
        {**ROWS[1], "task": "karaoke"},
        {**ROWS[2], "reference_text": ""},
        {**ROWS[3], "id": ROWS[0]["id"], "ref_quality": "Z"},
    ]
    data = zipped({"manifest.tsv": tsv(bad), **{row["path"]: audio(row) for row in ROWS}})
    problems = problems_of(upload_zip(server, data))
    found = {(p["row"], p["column"]) for p in problems}
    assert found == {(2, "language"), (3, "task"), (4, "reference_text"), (5, "ref_quality")}
    duplicate = [ROWS[0], {**ROWS[1], "id": ROWS[0]["id"]}]
    problems = problems_of(
        upload_zip(server, zipped({"manifest.tsv": tsv(duplicate), **{r["path"]: audio(r) for r in ROWS}}))
    )
    assert [(p["row"], p["id"], p["column"]) for p in problems] == [(3, ROWS[0]["id"], "id")]
    assert "first on line 2" in problems[0]["problem"]


def test_paths_leading_out_of_a_zip_are_refused_and_nothing_is_written_there(server):
    before = folders(server)
    row = {**ROWS[0], "path": "../evil.wav"}
    problems = problems_of(upload_zip(server, zipped({"manifest.tsv": tsv([row]), "../evil.wav": audio(ROWS[0])})))
    assert any(p["row"] is None and "unsafe path in the ZIP: '../evil.wav'" in p["problem"] for p in problems)
    assert any(p["row"] == 2 and p["column"] == "path" and "unsafe path" in p["problem"] for p in problems)
    assert folders(server) == before  # nothing was kept
    assert not (tenant_folder(server).parent / "evil.wav").exists()


def test_a_file_that_is_not_a_zip_and_a_zip_without_a_manifest_are_refused(server):
    assert "not a ZIP" in problems_of(upload_zip(server, b"PK\x03\x04 but not really a zip"))[0]["problem"]
    problems = problems_of(upload_zip(server, zipped({"a/b/manifest.tsv": tsv(ROWS)})))
    assert "no manifest.tsv at its root or in one top folder" in problems[0]["problem"]
    both = call(
        server, "POST", TESTSETS, data={"name": "x"}, files={"file": ("a.zip", set_zip()), "manifest": ("m.tsv", b"id")}
    )
    assert both.status_code == 400 and "not both" in both.json()["error"]["message"]


def test_a_zip_that_expands_past_its_limit_is_refused_before_it_is_read(server, monkeypatch):
    import shenggu.service.routers.evaluations as routes

    monkeypatch.setattr(routes, "ZIP_EXPANSION", 0)  # any content expands past a limit of 0 bytes
    problems = problems_of(upload_zip(server, set_zip()))
    assert problems[0]["column"] == "file" and "the ZIP expands to" in problems[0]["problem"]


# --------------------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def testset(server) -> dict:
    return stored_set(server, upload_zip(server, set_zip(), name="runs"))


def start_run(server, testset_id: str, tenant: str = "lab", **body) -> dict:
    response = call(server, "POST", RUNS, tenant, json={"testset_id": testset_id, **body})
    assert response.status_code == 202, response.text
    return response.json()


def _joined(runs: list[dict], side: str, language: str) -> str:
    return ("" if language == "zh" else " ").join(r[side] for r in runs if r[side])


@pytest.mark.slow
def test_a_run_benchmarks_the_set_and_a_second_run_with_hotwords_is_compared(server, testset):
    run = start_run(server, testset["id"], label="baseline")
    assert (run["object"], run["status"], run["tasks"], run["skipped"]) == ("evaluation.run", "queued", ["asr"], [])
    progress = []
    while (job := call(server, "GET", f"/v1/jobs/{run['job_id']}").json())["status"] in ("queued", "running"):
        progress.append(job["progress"])
        time.sleep(0.2)
    assert job["task"] == "evaluation" and job["status"] == "succeeded", job
    assert any(0 < p < 1 for p in progress), progress  # the benchmark's progress came through, clip by clip
    assert run["job_id"] in [j["id"] for j in call(server, "GET", "/v1/jobs").json()["data"]]

    first = wait_for_run(server, run["id"])
    assert (first["status"], first["progress"], first["error"]) == ("succeeded", 1.0, None)
    summary = first["summary"]["asr"]
    assert (summary["zh"]["n"], summary["en"]["n"], summary["failed"]) == (2, 2, 0)
    assert [c["id"] for c in first["clips"]] == list(CLIPS) and first["failures"] == []
    for clip in first["clips"]:
        alignment = clip["alignment"]
        # the alignment spells out both normalized texts, and its edits are the clip's error counts
        assert _joined(alignment, "ref", clip["language"]) == normalize(clip["language"], clip["reference"])
        assert _joined(alignment, "hyp", clip["language"]) == normalize(clip["language"], clip["hypothesis"])
        assert clip["errors"] == clip["substitutions"] + clip["deletions"] + clip["insertions"]
        assert (clip["errors"] == 0) == all(r["op"] == "equal" for r in alignment)
        assert clip["error_rate"] == pytest.approx(clip["errors"] / clip["ref_len"])

    report = call(server, "GET", f"{RUNS}/{run['id']}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert report.headers["x-content-type-options"] == "nosniff"
    assert "shenggu bench asr" in report.text and 'src="data:image/png;base64,' in report.text
    assert call(server, "GET", f"{RUNS}/{run['id']}/report", params={"task": "pronunciation"}).status_code == 404
    metered = [u for u in call(server, "GET", "/v1/usage").json()["data"] if u["capability"] == "evaluation"]
    assert metered and metered[0]["audio_seconds"] == pytest.approx(summary["audio_seconds"], abs=0.01)

    # the second run recognizes with a stored hotword list: a word of a reference
    assert call(server, "PUT", "/v1/hotwords/estate", json={"words": ["交易", "停滞"]}).status_code == 200
    second = start_run(server, testset["id"], label="hotwords", hotword_list="estate")
    assert (second["hotword_list"], second["hotwords"]) == ("estate", 2)
    second = wait_for_run(server, second["id"])
    assert second["status"] == "succeeded", second
    run_folder = tenant_folder(server) / testset["id"] / "runs" / second["id"]
    assert (run_folder / "hotwords.txt").read_text(encoding="utf-8") == "交易\n停滞\n"
    listed = call(server, "GET", RUNS, params={"testset_id": testset["id"]}).json()
    assert [r["id"] for r in listed["data"]][:2] == [second["id"], run["id"]]

    compared = call(server, "GET", "/v1/evaluations/compare", params={"base": run["id"], "other": second["id"]})
    assert compared.status_code == 200, compared.text
    comparison = compared.json()
    assert comparison["compared"] == 4 == comparison["better"] + comparison["worse"] + comparison["same"]
    for clip, base_clip, other_clip in zip(comparison["clips"], first["clips"], second["clips"], strict=True):
        assert (clip["base_rate"], clip["other_rate"]) == (base_clip["error_rate"], other_clip["error_rate"])
        assert clip["difference"] == pytest.approx(other_clip["error_rate"] - base_clip["error_rate"])
    mean = sum(c["difference"] for c in comparison["clips"]) / 4
    low, high = comparison["ci95"]
    assert comparison["mean_difference"] == pytest.approx(mean) and low <= mean + 1e-9 and mean - 1e-9 <= high
    deltas = {d["key"]: d for d in comparison["summary"]}
    zh_cer = second["summary"]["asr"]["zh"]["cer"] - first["summary"]["asr"]["zh"]["cer"]
    assert deltas["zh.cer"]["delta"] == pytest.approx(zh_cer) and "engine" not in deltas
    itself = call(server, "GET", "/v1/evaluations/compare", params={"base": run["id"], "other": run["id"]}).json()
    assert (itself["same"], itself["mean_difference"], itself["ci95"]) == (4, 0.0, [0.0, 0.0])

    assert call(server, "DELETE", f"{RUNS}/{second['id']}").status_code == 204
    assert not run_folder.exists() and call(server, "GET", f"{RUNS}/{second['id']}").status_code == 404
    assert run_folder.parent.exists()  # the first run's files stay


def _fake_bench(monkeypatch, script: str) -> None:
    """Runs start ``script`` (Python) instead of the benchmark: what the job does with a process is tested here,
    the benchmark itself above."""
    monkeypatch.setattr(evaluation_tasks, "bench_command", lambda *args: [sys.executable, "-c", script])


def test_a_failing_benchmark_fails_the_run_with_its_error_line(server, testset, monkeypatch):
    _fake_bench(monkeypatch, "import sys; print('bench (shenggu): 0%', file=sys.stderr); "
                "print('error: model_error: the model files are damaged', file=sys.stderr); sys.exit(2)")  # fmt: skip
    run = wait_for_run(server, start_run(server, testset["id"])["id"])
    assert run["status"] == "failed" and run["summary"] is None and run["clips"] == []
    assert run["error"] == {
        "code": "evaluation_failed",
        "message": "the asr benchmark failed: model_error: the model files are damaged",
    }
    assert call(server, "GET", f"{RUNS}/{run['id']}/report").status_code == 409


def test_a_cancelled_run_stops_its_benchmark_and_leaves_no_files(server, testset, monkeypatch, tmp_path):
    started = tmp_path / "started"
    _fake_bench(monkeypatch, f"import pathlib, time; pathlib.Path({str(started)!r}).touch(); time.sleep(120)")
    run = start_run(server, testset["id"])
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists()
    run_folder = tenant_folder(server) / testset["id"] / "runs" / run["id"]
    assert run_folder.exists()
    assert call(server, "DELETE", f"/v1/jobs/{run['job_id']}").json()["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while run_folder.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not run_folder.exists()  # the process was stopped, then its files removed
    assert call(server, "GET", f"{RUNS}/{run['id']}").json()["status"] == "cancelled"


def test_runs_are_checked_before_they_are_queued(server, testset):
    for body, message in (
        ({"tasks": ["pronunciation"]}, "has no pronunciation clips"),
        ({"engine": "nope"}, "unknown engine"),
        ({"engine": "sherpa-onnx"}, "needs a model directory"),
    ):
        response = call(server, "POST", RUNS, json={"testset_id": testset["id"], **body})
        assert response.status_code == 400 and message in response.json()["error"]["message"], response.text
    missing_list = call(server, "POST", RUNS, json={"testset_id": testset["id"], "hotword_list": "absent"})
    assert missing_list.status_code == 404
    assert call(server, "POST", RUNS, json={"testset_id": testset["id"], "limit": 0}).status_code == 422


def test_pronunciation_rows_are_stored_and_skipped_with_the_reason(server):
    reading = {**ROWS[3], "id": "reading", "task": "pronunciation"}
    data = zipped({"manifest.tsv": tsv([ROWS[0], reading]), **{r["path"]: audio(r) for r in (ROWS[0], ROWS[3])}})
    testset = stored_set(server, upload_zip(server, data))
    assert testset["items"] == {"asr": {"zh": 1}, "pronunciation": {"en": 1}} and testset["benchmarks"] == ["asr"]
    response = call(server, "POST", RUNS, json={"testset_id": testset["id"], "tasks": ["pronunciation"]})
    assert response.status_code == 400 and "expert scores" in response.json()["error"]["message"]
    run = start_run(server, testset["id"], limit=1)
    assert run["tasks"] == ["asr"] and [s["task"] for s in run["skipped"]] == ["pronunciation"]
    assert call(server, "DELETE", f"{TESTSETS}/{testset['id']}").status_code == 204  # the run is cancelled


def test_the_daily_quota_is_checked_before_a_run_is_queued(server, testset):
    base = server[0]
    with database(server).session() as session:
        tenant = tenants.get_or_create_tenant(session, "metered", quota_seconds_per_day=5.0)
        key = tenants.create_key(session, tenant)[1]
    headers = {"Authorization": f"Bearer {key}"}
    created = httpx.post(f"{base}{TESTSETS}", headers=headers, data={"name": "q"}, files={"file": ("s.zip", set_zip())})
    refused = httpx.post(f"{base}{RUNS}", headers=headers, json={"testset_id": created.json()["id"]})
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
    one = httpx.post(f"{base}{RUNS}", headers=headers, json={"testset_id": created.json()["id"], "limit": 1})
    assert one.status_code == 202  # one clip (4.2 s) is within the quota
    assert httpx.delete(f"{base}{RUNS}/{one.json()['id']}", headers=headers).status_code == 204


# --------------------------------------------------------------------------------------------------------
# Tenants and deletion
# --------------------------------------------------------------------------------------------------------


def test_another_tenants_sets_and_runs_are_not_found(server, testset):
    run = start_run(server, testset["id"], limit=1)
    for method, path in (
        ("GET", f"{TESTSETS}/{testset['id']}"),
        ("DELETE", f"{TESTSETS}/{testset['id']}"),
        ("GET", f"{RUNS}/{run['id']}"),
        ("GET", f"{RUNS}/{run['id']}/report"),
        ("DELETE", f"{RUNS}/{run['id']}"),
        ("GET", f"{RUNS}?testset_id={testset['id']}"),
        ("GET", f"/v1/evaluations/compare?base={run['id']}&other={run['id']}"),
    ):
        assert call(server, method, path, "other").status_code == 404, (method, path)
    response = call(server, "POST", RUNS, "other", json={"testset_id": testset["id"]})
    assert response.status_code == 404
    assert call(server, "GET", TESTSETS, "other").json()["data"] == []
    assert call(server, "DELETE", f"{RUNS}/{run['id']}").status_code == 204


def test_runs_of_different_sets_are_not_compared(server, testset):
    other_set = stored_set(server, upload_zip(server, set_zip(top="")))
    runs = [start_run(server, s["id"], limit=1)["id"] for s in (testset, other_set)]
    response = call(server, "GET", "/v1/evaluations/compare", params={"base": runs[0], "other": runs[1]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_comparable"
    assert call(server, "DELETE", f"{TESTSETS}/{other_set['id']}").status_code == 204
    assert call(server, "DELETE", f"{RUNS}/{runs[0]}").status_code == 204


def test_deleting_a_set_removes_its_runs_and_files(server):
    testset = stored_set(server, upload_zip(server, set_zip(), name="short-lived"))
    run = start_run(server, testset["id"], limit=1)
    folder = tenant_folder(server) / testset["id"]
    assert folder.is_dir()
    assert call(server, "DELETE", f"{TESTSETS}/{testset['id']}").status_code == 204
    assert call(server, "GET", f"{TESTSETS}/{testset['id']}").status_code == 404
    assert call(server, "GET", f"{RUNS}/{run['id']}").status_code == 404
    assert call(server, "GET", f"/v1/jobs/{run['job_id']}").json()["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while folder.exists() and time.monotonic() < deadline:  # a run already started stops, then its files go
        time.sleep(0.2)
    assert not folder.exists()


# --------------------------------------------------------------------------------------------------------
# The benchmark's alignment, and storage
# --------------------------------------------------------------------------------------------------------


def test_the_alignment_is_of_the_normalized_texts_and_counts_the_errors():
    counts, alignment = align("zh", "甚至出现交易几乎停滞的情况。", "甚至出線交易几乎停滞情况啊")  # t2s: 線 → 线
    assert alignment == [
        {"op": "equal", "ref": "甚至出", "hyp": "甚至出"},
        {"op": "substitute", "ref": "现", "hyp": "线"},
        {"op": "equal", "ref": "交易几乎停滞", "hyp": "交易几乎停滞"},
        {"op": "delete", "ref": "的", "hyp": ""},
        {"op": "equal", "ref": "情况", "hyp": "情况"},
        {"op": "insert", "ref": "", "hyp": "啊"},
    ]
    assert (counts.substitutions, counts.deletions, counts.insertions, counts.ref_len) == (1, 1, 1, 13)
    counts, alignment = align("en", "Mend the coat, Mr. Smith!", "mend a coat mister smith today")
    assert [run["op"] for run in alignment] == ["equal", "substitute", "equal", "insert"]
    assert alignment[2] == {"op": "equal", "ref": "coat mister smith", "hyp": "coat mister smith"}
    assert counts.errors == 2 and counts.rate == 2 / 5
    assert align("en", "", "uh hello")[1] == [{"op": "insert", "ref": "", "hyp": "hello"}]
    assert align("zh", "你好", "")[1] == [{"op": "delete", "ref": "你好", "hyp": ""}]
    assert align("zh", "", "。")[1] == []


def test_migration_matches_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shenggu.service.storage.models import Base

    db = Database(default_url(tmp_path))
    db.migrate()
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diff if "evaluation_" in repr(d)] == []
