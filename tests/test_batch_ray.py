"""``shenggu batch transcribe --ray`` on a real two-node Ray cluster (the session's ``ray_address`` fixture):
outputs, a driver crash and resume, a worker killed mid-file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from shenggu.bench.manifest import load_manifest
from shenggu.bench.scoring import score
from tests.ray_cluster import BIN, processes_titled

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def references(data_dir: Path) -> dict[str, tuple[str, str]]:
    """Bundled clip file name → (language, reference text)."""
    return {e.path.name: (e.language, e.reference_text) for e in load_manifest(data_dir / "manifest.tsv")}


def _archive(root: Path, data_dir: Path, copies: int, longest_s: float = 8.0) -> dict[str, str]:
    """``copies`` files made from the short bundled A-quality clips (round robin), each under its own name;
    returns file name → the clip it copies."""
    clips = [
        e.path for e in load_manifest(data_dir / "manifest.tsv") if e.ref_quality == "A" and e.duration_s < longest_s
    ]
    root.mkdir(parents=True)
    made = {}
    for i in range(copies):
        clip = clips[i % len(clips)]
        name = f"call_{i:03d}.wav"
        shutil.copy(clip, root / name)
        made[name] = clip.name
    return made


def _batch(source: Path, out: Path, address: str) -> subprocess.Popen:
    command = [BIN / "shenggu", "batch", "transcribe", source, "--out", out, "--format", "txt", "--ray", address]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_crashed_batch_resumes_on_the_cluster(ray_address, tmp_path, data_dir, references) -> None:
    made = _archive(tmp_path / "in", data_dir, copies=20)
    out = tmp_path / "out"
    first = _batch(tmp_path / "in", out, ray_address)
    reached = _wait_for(lambda: len(list(out.glob("*.txt"))) >= 4, timeout=300)
    first.send_signal(signal.SIGKILL)  # the driver dies mid-batch
    first.wait(timeout=30)
    assert reached, "no transcripts appeared"
    kept = {p: p.stat().st_mtime_ns for p in out.glob("*.txt")}
    assert 4 <= len(kept) < 20

    second = _batch(tmp_path / "in", out, ray_address)
    output, _ = second.communicate(timeout=500)
    assert second.returncode == 0, output
    summary = json.loads((out / "batch.json").read_text())
    assert summary["backend"] == "ray"
    assert (summary["skipped"], summary["done"], summary["failed"]) == (len(kept), 20 - len(kept), 0)
    for path, mtime in kept.items():
        assert path.stat().st_mtime_ns == mtime  # written once
    errors = words = 0
    for name, clip in made.items():
        language, reference = references[clip]
        counts = score(language, reference, (out / name).with_suffix(".txt").read_text())
        errors, words = errors + counts.errors, words + counts.ref_len
    assert errors / words < 0.2
    assert not list(out.glob("*.tmp"))


def test_a_worker_killed_mid_file_is_retried(ray_address, tmp_path, data_dir) -> None:
    long_clip = max(load_manifest(data_dir / "manifest.tsv"), key=lambda e: e.duration_s)
    (tmp_path / "in").mkdir()
    for i in range(4):
        shutil.copy(long_clip.path, tmp_path / "in" / f"hearing_{i}.wav")
    out = tmp_path / "out"
    batch = _batch(tmp_path / "in", out, ray_address)
    assert _wait_for(lambda: bool(processes_titled("ray::transcribe_file")), timeout=300), "no task started"
    victim = processes_titled("ray::transcribe_file")[0]
    os.kill(victim, signal.SIGKILL)
    output, _ = batch.communicate(timeout=500)
    assert batch.returncode == 0, output  # the killed file was run again elsewhere, not failed
    assert sorted(p.name for p in out.glob("*.txt")) == [f"hearing_{i}.txt" for i in range(4)]
    for i in range(4):  # the same recording, transcribed whole each time
        counts = score(long_clip.language, long_clip.reference_text, (out / f"hearing_{i}.txt").read_text())
        assert counts.errors / counts.ref_len < 0.2


def test_bench_batch_on_the_cluster(ray_address, tmp_path, data_dir) -> None:
    command = [BIN / "shenggu", "bench", "batch", "--files", "4", "--manifest", data_dir / "manifest.tsv"]
    done = subprocess.run([*command, "--out", tmp_path, "--ray", ray_address], capture_output=True, timeout=500)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert (summary["backend"], summary["cluster_cpus"], summary["done"], summary["failed"]) == ("ray", 6, 4, 0)
    assert summary["audio_hours_per_hour"] > 0
