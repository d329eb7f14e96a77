"""Kill -9 the server in the middle of jobs, start it again: every accepted job completes exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.slow  # a live server in another process, killed mid-job

CLIP = "en_mfa_acoustic_corpus.wav"  # 26.7 s: several seconds of work per job


def start(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shenggu", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, timeout=120)
    return proc, base


def test_sigkill_mid_job_loses_and_duplicates_nothing(data_dir, tmp_path):
    env = {
        **os.environ,
        "SHENGGU_DATA_DIR": str(tmp_path / "data"),
        "SHENGGU_LEASE_SECONDS": "3",
        "SHENGGU_PRELOAD_MODELS": "false",
        "SHENGGU_JOB_WORKERS": "1",
    }
    created = subprocess.run(
        [sys.executable, "-m", "shenggu", "keys", "create", "--tenant", "court"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    headers = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    proc, base = start(env)
    try:
        ids = []
        for _ in range(4):
            with open(data_dir / "asr" / CLIP, "rb") as f:
                response = httpx.post(
                    f"{base}/v1/jobs", headers=headers, files={"file": (CLIP, f)}, data={"language": "en"}, timeout=60
                )
            assert response.status_code == 202
            ids.append(response.json()["id"])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # kill while a job is running
            statuses = [httpx.get(f"{base}/v1/jobs/{i}", headers=headers).json()["status"] for i in ids]
            if "running" in statuses:
                break
            time.sleep(0.2)
        assert "running" in statuses
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    proc, base = start(env)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            jobs = [httpx.get(f"{base}/v1/jobs/{i}", headers=headers).json() for i in ids]
            if all(j["status"] in ("succeeded", "failed", "cancelled") for j in jobs):
                break
            time.sleep(0.5)
        assert [j["status"] for j in jobs] == ["succeeded"] * 4
        assert all("acoustic corpus" in j["result"]["text"].lower() for j in jobs)
        assert max(j["attempts"] for j in jobs) >= 2, "the killed job should have been re-run"
        usage = httpx.get(f"{base}/v1/usage", headers=headers).json()["data"]
        assert [(u["capability"], u["requests"]) for u in usage] == [("transcribe", 4)], "metered exactly once each"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
