"""`shenggu bench stream-soak`: one long stream through the WebSocket while the server's memory is sampled.

The manifest's Mandarin clips of quality A and B are played over and over (each followed by 1 s of silence) on a
single connection for ``minutes`` of audio, at ``speed`` times real time (1 = a live microphone). The server runs
in this process, so the resident memory sampled every ``sample_every_s`` seconds of audio is the server's (the
client only holds the clips). Long sessions must keep memory flat: nothing may accumulate per sentence.

Summary (``results.json``): ``minutes`` (audio streamed), ``speed``, ``rss_mb_start`` (after the first tenth of
the run, once models and buffers are warm), ``rss_mb_end``, ``rss_mb_peak``, ``rss_growth`` (end / start - 1),
``finals``, ``error`` (null, or why the stream ended early) and ``wall_s``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

from shenggu.audio import SAMPLE_RATE
from shenggu.bench.stream import load_clips, local_stream_server
from shenggu.client.stream import DoneMessage, ErrorMessage, FinalMessage, StreamClient
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import line_plot
from shenggu.reports.results import write_results

CHUNK_S = 0.1


@dataclass
class SoakConfig:
    """How long and how fast to stream, how often to sample memory, and where to write the results."""

    manifest: Path
    out: Path
    minutes: float = 60.0
    speed: float = 1.0
    sample_every_s: float = 30.0
    ready_timeout_s: float = 600.0


def run_soak(config: SoakConfig) -> dict:
    """Run the soak; write ``results.json`` (one row per memory sample) and ``report.html``; return the summary."""
    if config.minutes <= 0 or config.speed <= 0 or config.sample_every_s <= 0:
        raise InvalidOptionError("minutes, speed and sample_every_s must be positive")
    clips = [c for c in load_clips(config.manifest) if c.entry.language == "zh"]
    if not clips:
        raise InvalidOptionError(f"{config.manifest}: no Mandarin asr clips of quality A or B to stream")
    with local_stream_server(config.ready_timeout_s) as url:
        samples, finals, error, wall_s = _stream(url, config, [c.samples for c in clips])
    summary = summarize(samples, config, finals, error, wall_s)
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, samples, extra={"config": {"manifest": config.manifest}})
    minutes = [s["audio_minutes"] for s in samples]
    figure = line_plot(
        minutes, {"RSS": [s["rss_mb"] for s in samples]}, "Server memory over the stream", "audio (min)", "MB"
    )
    rows = [[s["audio_minutes"], s["rss_mb"], s["finals"], s["wall_s"]] for s in samples]
    tables = [("Samples", ["audio_minutes", "rss_mb", "finals", "wall_s"], rows)]
    write_html_report(config.out, "shenggu bench stream-soak", summary, [figure], tables)
    return summary


def _audio(clips: list[np.ndarray], seconds: float) -> Iterator[np.ndarray]:
    """``seconds`` of the clips played in turn, 1 s of silence after each, in 100 ms pieces."""
    pause = np.zeros(SAMPLE_RATE, np.float32)
    step, sent, index = int(CHUNK_S * SAMPLE_RATE), 0, 0
    while sent < seconds * SAMPLE_RATE:
        audio = np.concatenate([clips[index % len(clips)], pause])
        index += 1
        for begin in range(0, len(audio), step):
            if sent >= seconds * SAMPLE_RATE:
                return
            piece = audio[begin : begin + step]
            sent += len(piece)
            yield piece


def _stream(url: str, config: SoakConfig, clips: list[np.ndarray]) -> tuple[list[dict], int, str | None, float]:
    process = psutil.Process()
    client = StreamClient(url, None, language="zh").connect()
    counts = {"finals": 0}
    outcome: list[str | None] = []

    def read() -> None:
        for event in client.messages():
            if isinstance(event, FinalMessage):
                counts["finals"] += 1
            elif isinstance(event, ErrorMessage):
                outcome.append(f"{event.code}: {event.message}")
            elif isinstance(event, DoneMessage):
                outcome.append(None)

    reader = threading.Thread(target=read, name="soak-reader", daemon=True)
    reader.start()
    samples: list[dict] = []
    start, sent_s, next_sample = time.monotonic(), 0.0, 0.0
    total_s = config.minutes * 60
    try:
        with tqdm(total=int(total_s), desc="bench stream-soak", unit="s audio", file=sys.stderr) as bar:
            for piece in _audio(clips, total_s):
                if outcome:  # the server ended the stream early
                    break
                time.sleep(max(0.0, start + sent_s / config.speed - time.monotonic()))
                client.send_pcm(piece)
                sent_s += len(piece) / SAMPLE_RATE
                bar.update(int(sent_s) - bar.n)  # whole seconds: a readable bar
                if sent_s >= next_sample:
                    samples.append(_sample(process, sent_s, counts["finals"], start))
                    next_sample += config.sample_every_s
            if not outcome:
                client.end()
            reader.join(timeout=120)
    finally:
        client.close()
    samples.append(_sample(process, sent_s, counts["finals"], start))
    error = outcome[0] if outcome else "no 'done' from the server"
    return samples, counts["finals"], error, time.monotonic() - start


def _sample(process: psutil.Process, sent_s: float, finals: int, start: float) -> dict:
    return {
        "audio_minutes": round(sent_s / 60, 3),
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
        "finals": finals,
        "wall_s": round(time.monotonic() - start, 1),
    }


def summarize(samples: list[dict], config: SoakConfig, finals: int, error: str | None, wall_s: float) -> dict:
    """The summary of the memory samples (see the module docstring for each key)."""
    warm = [s for s in samples if s["audio_minutes"] >= config.minutes / 10] or samples
    start, end = warm[0]["rss_mb"], samples[-1]["rss_mb"]
    return {
        "minutes": round(samples[-1]["audio_minutes"], 2),
        "speed": config.speed,
        "rss_mb_start": start,
        "rss_mb_end": end,
        "rss_mb_peak": max(s["rss_mb"] for s in samples),
        "rss_growth": round(end / start - 1, 4),
        "finals": finals,
        "error": error,
        "wall_s": round(wall_s, 1),
    }
