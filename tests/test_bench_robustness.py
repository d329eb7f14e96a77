"""Benchmarks on another team's manifest: rows of every task, a broken file, a missing RTTM, absent mix clips.
Each benchmark uses only its own rows, records what fails, and runs to the end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from shenggu.bench.asr import AsrBenchConfig, run_asr_bench
from shenggu.bench.asr_ablation import STAGES
from shenggu.bench.diarize import DiarizeBenchConfig, run_diarize_bench
from shenggu.bench.diarize_mixes import MIXES
from shenggu.reports.results import RESULTS_NAME

HEADER = "id\tlanguage\ttask\tpath\tduration_s\treference_text\tref_quality\tnotes\n"


@pytest.fixture(scope="module")
def other_folder(data_dir, tmp_path_factory) -> Path:
    """A manifest in its own folder: two AISHELL sentences, an English reading to assess, the meeting clip with its
    RTTM, a meeting whose RTTM is missing, and a text file posing as a recording in the asr and diarization rows."""
    root = tmp_path_factory.mktemp("other_team")
    (root / "wav").mkdir()
    rows = []
    for clip_id, task, folder in [
        ("zh_firered_BAC009S0764W0121", "asr", "asr"),
        ("zh_wenet_BAC009S0724W0121", "asr", "asr"),
        ("so762_000010121", "pronunciation", "pronunciation"),
        ("dia_pyannote_dev01", "diarization", "diarization"),
    ]:
        shutil.copy(data_dir / folder / f"{clip_id}.wav", root / "wav" / f"{clip_id}.wav")
        rows.append(f"{clip_id}\tzh\t{task}\twav/{clip_id}.wav\t4\t{_reference(data_dir, clip_id)}\tA\t")
    for rttm in ("dia_pyannote_dev01.rttm", "broken.rttm"):
        shutil.copy(data_dir / "diarization" / "dia_pyannote_dev01.rttm", root / "wav" / rttm)
    shutil.copy(data_dir / "diarization" / "dia_pyannote_dev01.wav", root / "wav" / "no_rttm.wav")
    (root / "wav" / "broken.wav").write_text("not a recording\n", encoding="utf-8")
    rows += [
        "no_rttm\ten\tdiarization\twav/no_rttm.wav\t30\t\tA\t",
        "broken_meeting\ten\tdiarization\twav/broken.wav\t1\t\tA\t",
        "broken_sentence\tzh\tasr\twav/broken.wav\t1\t你好\tA\t",
    ]
    (root / "manifest.tsv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return root


def _reference(data_dir: Path, clip_id: str) -> str:
    for line in (data_dir / "manifest.tsv").read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if fields[0] == clip_id:
            return fields[5]
    raise KeyError(clip_id)


def _failures(out: Path) -> dict[str, str]:
    results = json.loads((out / RESULTS_NAME).read_text(encoding="utf-8"))
    return {f["id"]: f["error"]["code"] for f in results["failures"]}


@pytest.mark.parametrize("mixes", [True, False])
def test_bench_diarize_runs_to_the_end(other_folder, tmp_path, mixes):
    out = tmp_path / "diarize"
    summary = run_diarize_bench(DiarizeBenchConfig(other_folder / "manifest.tsv", out, mixes=mixes))
    built = ["zh_mix_2spk_c"] if mixes else []  # the only recipe whose clips this manifest has
    assert summary["files"] == 1 + len(built)
    assert summary["failed"] == 2 and summary["der"] is not None
    assert _failures(out) == {"no_rttm": "bad_rttm", "broken_meeting": "not_audio"}
    assert summary["skipped_mixes"] == (sorted(set(MIXES) - set(built)) if mixes else [])
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "broken_meeting" in report and "no_rttm" in report


@pytest.mark.slow
def test_bench_asr_runs_to_the_end(other_folder, tmp_path):
    out = tmp_path / "asr"
    summary = run_asr_bench(AsrBenchConfig(other_folder / "manifest.tsv", out))
    assert summary["zh"]["n"] == 2 and summary["failed"] == 1
    assert _failures(out) == {"broken_sentence": "not_audio"}
    assert "broken_sentence" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_bench_asr_ablation_and_anchors_run_to_the_end(other_folder, tmp_path):
    out = tmp_path / "ablation"
    summary = run_asr_bench(AsrBenchConfig(other_folder / "manifest.tsv", out, baseline=True, ablation=True))
    assert summary["baseline"]["zh"]["n"] == summary["baseline_vad"]["zh"]["n"] == 2
    assert set(summary["relative_improvement_vs_vad"]) == {"zh_cer", "en_wer"}
    assert set(summary["ablation"]) == {stage.name for stage in STAGES}
    for name, effects in summary["ablation"].items():
        zh = effects["zh_AB"]
        assert zh["clips"] == 2, name
        low, high = zh["ci95_points"]
        assert low <= zh["points_saved"] <= high, name
        assert zh["verdict"] in ("no effect", "keep (interval excludes harm)", "off (interval includes harm)")
    # Text-only stages that the scorer normalizes away cannot change the score.
    assert summary["ablation"]["punctuation"]["zh_AB"]["errors_saved"] == 0
    assert summary["ablation"]["mandarin_prompt"]["zh_AB"]["default_on"] is False
    # The broken clip fails once per system and never stops the run.
    systems = {f.get("system", "shenggu") for f in json.loads((out / RESULTS_NAME).read_text())["failures"]}
    assert systems == {"shenggu", "baseline", "baseline_vad"} | {f"ablation:{s.name}" for s in STAGES}
    assert "Ablation" in (out / "report.html").read_text(encoding="utf-8")
