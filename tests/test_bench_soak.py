"""`shenggu bench stream-soak`: a long stream's memory samples, summary keys and report (short run here)."""

from __future__ import annotations

import json

from shenggu.bench.soak import SoakConfig, run_soak, summarize


def test_short_soak_writes_memory_curve(data_dir, recognizer, tmp_path):
    out = tmp_path / "soak"
    summary = run_soak(SoakConfig(data_dir / "manifest.tsv", out, minutes=0.5, speed=3.0, sample_every_s=5.0))
    assert summary["error"] is None
    assert summary["finals"] >= 3  # 30 s of looped Mandarin sentences
    assert summary["minutes"] == 0.5
    results = json.loads((out / "results.json").read_text())
    assert set(results["summary"]) >= {"minutes", "rss_mb_start", "rss_mb_end", "rss_mb_peak", "rss_growth"}
    assert len(results["utterances"]) >= 6 and all(s["rss_mb"] > 0 for s in results["utterances"])
    assert "<img" in (out / "report.html").read_text()


def test_growth_is_measured_after_warm_up():
    samples = [
        {"audio_minutes": m, "rss_mb": rss, "finals": 0, "wall_s": 0.0}
        for m, rss in [(0.0, 300.0), (1.0, 500.0), (5.0, 510.0), (10.0, 525.0)]
    ]
    summary = summarize(samples, SoakConfig(manifest=None, out=None, minutes=10.0), 7, None, 12.0)
    assert summary["rss_mb_start"] == 500.0 and summary["rss_mb_end"] == 525.0
    assert summary["rss_growth"] == 0.05 and summary["rss_mb_peak"] == 525.0
