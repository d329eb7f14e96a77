"""`shenggu bench load` against a tiny local server (loopback only) that answers 200, 429 or 401."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Annotated

import pytest
import uvicorn
from fastapi import FastAPI, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse

from shenggu.bench.load import TRANSPORT_ERROR, LoadBenchConfig, run_load_bench
from shenggu.bench.manifest import load_manifest
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import REPORT_NAME
from shenggu.reports.results import RESULTS_NAME

KEY = "test-key"
SUMMARY_KEYS = {
    "clients",
    "duration_s",
    "requests",
    "ok",
    "rate_limited",
    "errors",
    "throughput_rps",
    "audio_seconds_per_second",
    "latency_p50_s",
    "latency_p95_s",
    "latency_p99_s",
    "status_counts",
}


def fake_asr_app() -> FastAPI:
    """Checks the request like the real endpoint would; every fourth accepted request is rate limited."""
    app = FastAPI()
    served = itertools.count()

    @app.post("/v1/audio/transcriptions")
    async def transcribe(
        file: Annotated[UploadFile, File()],
        model: Annotated[str, Form()],
        language: Annotated[str, Form()],
        authorization: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        if authorization != f"Bearer {KEY}":
            return JSONResponse(status_code=401, content={"error": {"code": "unauthorized", "message": "no"}})
        if model != "whisper-1" or language not in {"zh", "en"} or not await file.read():
            return JSONResponse(status_code=400, content={"error": {"code": "invalid_option", "message": "bad"}})
        if next(served) % 4 == 3:
            return JSONResponse(status_code=429, content={"error": {"code": "rate_limited", "message": "slow"}})
        await asyncio.sleep(0.02)  # some service time, so latencies are not all zero
        return JSONResponse({"text": "ok"})

    return app


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(fake_asr_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "test server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def read_results(out) -> dict:
    return json.loads((out / RESULTS_NAME).read_text(encoding="utf-8"))


@pytest.mark.slow
def test_load_bench_counts_ok_and_rate_limited(server_url, data_dir, tmp_path):
    manifest = data_dir / "manifest.tsv"
    config = LoadBenchConfig(
        url=server_url, out=tmp_path, manifest=manifest, key=KEY, clients=2, duration_s=2.0, timeout_s=10.0
    )
    summary = run_load_bench(config)

    results = read_results(tmp_path)
    assert set(results["summary"]) == SUMMARY_KEYS
    assert results["summary"] == json.loads(json.dumps(summary))
    assert "key" not in results["config"] and KEY not in json.dumps(results)  # the credential is never written

    rows = results["utterances"]
    assert summary["clients"] == 2
    assert summary["duration_s"] >= 2.0
    assert summary["requests"] == len(rows) > 10
    assert summary["ok"] == sum(1 for r in rows if r["status"] == 200) > 0
    assert summary["rate_limited"] == sum(1 for r in rows if r["status"] == 429) > 0
    assert summary["errors"] == 0
    assert summary["status_counts"] == {"200": summary["ok"], "429": summary["rate_limited"]}
    assert summary["throughput_rps"] == pytest.approx(summary["ok"] / summary["duration_s"], rel=0.01)
    assert summary["audio_seconds_per_second"] > 0
    assert 0.02 <= summary["latency_p50_s"] <= summary["latency_p95_s"] <= summary["latency_p99_s"] < 10.0

    # Both clients worked, round-robin over the manifest's asr clips, and every row has its fields.
    asr_ids = [e.id for e in load_manifest(manifest, task="asr")]
    assert {r["client"] for r in rows} == {0, 1}
    assert {r["id"] for r in rows} <= set(asr_ids)
    assert len({r["id"] for r in rows}) == min(len(rows), len(asr_ids))
    assert all({"client", "id", "status", "latency_s", "start_s"} <= r.keys() for r in rows)
    assert all(0 <= r["start_s"] < 2.0 for r in rows)  # nothing is started after the duration

    report = (tmp_path / REPORT_NAME).read_text(encoding="utf-8")
    assert report.count("<img") >= 2


@pytest.mark.slow
def test_load_bench_without_key_counts_errors(server_url, data_dir, tmp_path):
    config = LoadBenchConfig(
        url=server_url, out=tmp_path, manifest=data_dir / "manifest.tsv", clients=1, duration_s=0.5
    )
    summary = run_load_bench(config)
    assert summary["requests"] == summary["errors"] == summary["status_counts"]["401"] > 0
    assert summary["ok"] == summary["rate_limited"] == 0
    assert summary["latency_p50_s"] is None and summary["throughput_rps"] == 0
    assert "<img" in (tmp_path / REPORT_NAME).read_text(encoding="utf-8")


def test_load_bench_unreachable_server_is_bounded(data_dir, tmp_path):
    with socket.socket() as s:  # a loopback port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = LoadBenchConfig(
        url=f"http://127.0.0.1:{port}", out=tmp_path, manifest=data_dir / "manifest.tsv", clients=2, duration_s=0.3
    )
    summary = run_load_bench(config)
    assert summary["requests"] == summary["errors"] == summary["status_counts"][TRANSPORT_ERROR] > 0
    assert all(r["error"] for r in read_results(tmp_path)["utterances"])


def test_load_bench_rejects_bad_settings(data_dir, tmp_path):
    with pytest.raises(InvalidOptionError):
        run_load_bench(LoadBenchConfig("http://127.0.0.1:9", tmp_path, data_dir / "manifest.tsv", clients=0))
