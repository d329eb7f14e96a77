"""`shenggu bench asr-long`: real-time factor and peak memory on long recordings.

Long test recordings are built from the manifest's real clips (same language), separated by short silences and
repeated until the wanted length, and written to disk in pieces. Each (length, threads) run happens in a fresh
Python process, so its peak RSS is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shenggu.audio import SAMPLE_RATE, decode_audio
from shenggu.audio.encode import pcm16
from shenggu.bench.manifest import load_manifest
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot
from shenggu.reports.results import write_results


@dataclass
class LongBenchConfig:
    """Lengths (minutes) and thread counts to measure, and where the source clips come from."""

    out: Path
    manifest: Path
    language: str = "zh"
    minutes: list[float] = field(default_factory=lambda: [10.0, 60.0])
    threads: list[int] = field(default_factory=lambda: [2])


def build_long_recording(manifest: Path, language: str, minutes: float, path: Path) -> Path:
    """Write a ``minutes``-long 16-bit WAV of the manifest's clips in ``language`` (reused if present)."""
    target = int(minutes * 60 * SAMPLE_RATE)
    if path.is_file():
        with wave.open(str(path)) as existing:
            if existing.getnframes() == target:
                return path
    clips = [decode_audio(e.path) for e in load_manifest(manifest, task="asr") if e.language == language]
    if not clips:
        raise ValueError(f"the manifest has no '{language}' ASR clips to build long audio from")
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        while written < target:
            for clip in clips:
                pause = np.zeros(int(rng.uniform(0.3, 1.5) * SAMPLE_RATE), dtype=np.float32)
                piece = np.concatenate([clip, pause])[: target - written]
                out.writeframes(pcm16(piece))
                written += len(piece)
                if written >= target:
                    break
    return path


def run_long_bench(config: LongBenchConfig) -> dict:
    """Run every (length, threads) pair in its own process; write results.json and report.html."""
    runs = []
    for minutes in config.minutes:
        audio = build_long_recording(
            config.manifest,
            config.language,
            minutes,
            config.out / "audio" / f"long_{config.language}_{minutes:g}min.wav",
        )
        for threads in config.threads:
            runs.append({"minutes": minutes, "threads": threads, **_measure_in_child(audio, config.language, threads)})
    longest = max(config.minutes)
    best_threads = max(config.threads)
    main_runs = [r for r in runs if r["threads"] == best_threads]
    summary = {
        "rtf": next(r["rtf"] for r in main_runs if r["minutes"] == longest),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "rtf_by_threads": {str(r["threads"]): r["rtf"] for r in runs if r["minutes"] == longest},
        "peak_rss_mb_by_minutes": {f"{r['minutes']:g}": r["peak_rss_mb"] for r in main_runs},
        "rss_growth": round(max(r["peak_rss_mb"] for r in main_runs) / min(r["peak_rss_mb"] for r in main_runs) - 1, 4),
        "language": config.language,
    }
    write_results(config.out, summary, runs)
    labels = [f"{r['minutes']:g}min/{r['threads']}t" for r in runs]
    figures = [
        bar_plot(labels, [r["rtf"] for r in runs], "Real-time factor", "RTF"),
        bar_plot(labels, [r["peak_rss_mb"] for r in runs], "Peak RSS", "MB"),
    ]
    rows = [[r["minutes"], r["threads"], r["rtf"], r["peak_rss_mb"], r["load_s"], r["segments"]] for r in runs]
    write_html_report(
        config.out,
        "shenggu bench asr-long",
        summary,
        figures,
        [("Runs", ["minutes", "threads", "rtf", "peak_rss_mb", "load_s", "segments"], rows)],
    )
    return summary


def _measure_in_child(audio: Path, language: str, threads: int) -> dict:
    env = {**os.environ, "SHENGGU_CPU_THREADS": str(threads)}
    proc = subprocess.run(
        [sys.executable, "-m", "shenggu.bench.long_audio", str(audio), language],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"long-audio run failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(audio: Path, language: str) -> dict:
    from shenggu.asr.pipeline import TranscribeOptions, transcribe
    from shenggu.asr.registry import get_recognizer
    from shenggu.bench.resources import peak_rss_mb
    from shenggu.config import get_settings

    settings = get_settings()
    t0 = time.perf_counter()
    recognizer = get_recognizer(settings=settings)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    transcript = transcribe(audio, recognizer, TranscribeOptions(language=language).batched_as(settings))
    seconds = time.perf_counter() - t1
    return {
        "audio_s": round(transcript.duration, 1),
        "seconds": round(seconds, 2),
        "rtf": round(seconds / transcript.duration, 4),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "load_s": round(load_s, 2),
        "segments": len(transcript.segments),
    }


if __name__ == "__main__":
    print(json.dumps(_child(Path(sys.argv[1]), sys.argv[2])))
