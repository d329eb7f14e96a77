"""`shenggu bench stream`: concurrent real-time streams of the manifest's clips through the streaming WebSocket.

Each of ``streams`` threads plays its share of the manifest's ``asr`` clips of reference quality A and B (dealt
round-robin; with more streams than clips the clips are dealt again, so every stream plays at least one) back to
back, in real time: 100 ms chunks, each sent when a microphone would have finished recording it. Every clip is
its own connection (audio, ``end``, the server's ``done``), so a clip's finals are scored against its own
reference with no guessing which clip a sentence belongs to, and one failed clip does not spoil the next.
Clips are decoded before the streams start, so the clock measures the server, not the decoder.

Without ``url`` a server is started in this process on loopback (development mode, no job workers, a temporary
data directory) and the streams start once ``/ready`` answers 200. It shares this process with the clients,
which mostly sleep (real-time pacing), so the measurement is close to that of a separate server.

Summary (``results.json``):

* ``final_latency_ms_p50`` / ``_p99``: over every final, its arrival minus the moment the audio up to its end had
  been sent; ``first_partial_ms_p50``: per clip, the first partial's arrival minus the first audio sent;
* ``cer_zh`` / ``wer_en``: corpus error rates (summed counts) of each clip's finals joined, against its
  reference (``null`` without clips of that language);
* ``realtime_ok``: every clip's stream ended with ``done`` within the clip's duration + 2 s of its first audio,
  i.e. the server kept up (a failed clip counts as not kept up);
* ``finals`` (count), ``errors`` (clips whose stream failed: refused, rejected, server error, connection lost,
  timeout), ``audio_seconds`` (streamed), ``streams``;
* ``lag_ms_p50`` / ``_p99``: the server's backlog when each final was produced (how long the audio that closed
  it waited to be processed); ``lag_ms_max``: the furthest the server fell behind any stream (its own account,
  frame by frame, sent with ``done``), ``warnings`` (``falling_behind`` messages), ``narrowed_finals`` (finals
  decoded with a narrower beam to catch up), ``speculative_share`` (finals that a speculative decode had ready);
* ``latency_parts_ms``: where a final's latency goes, ``{part: {"p50", "p99"}}`` over finals: ``endpoint``
  (silence heard before the sentence closed), ``backlog``, ``decode`` (after the close; the engine's
  ``queue``, ``encode``, ``generate``, ``refine`` are its parts, 0 for speculative finals) and ``other``: the
  latency less endpoint, backlog and decode (network, event loop, and the last word's end against the VAD's).
"""

from __future__ import annotations

import math
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from shenggu.audio import SAMPLE_RATE, decode_audio
from shenggu.bench.manifest import ManifestEntry, ManifestError, load_manifest
from shenggu.bench.scoring import ErrorCounts, metric_name, score, total
from shenggu.client.stream import StreamClient, StreamClientError, StreamResult
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import Table, write_html_report
from shenggu.reports.plots import Figure, bar_plot, scatter_plot
from shenggu.reports.results import write_results

QUALITIES = ("A", "B")
"""Reference qualities that are streamed and scored."""
REALTIME_SLACK_S = 2.0
"""How long after its audio a clip's stream may end and still count as kept up."""


@dataclass
class StreamBenchConfig:
    """What to stream, how many streams at once, to which server, and where to write the results."""

    manifest: Path
    out: Path
    streams: int = 4
    url: str | None = None  # None: start a server in this process on loopback
    key: str | None = None
    chunk_ms: int = 100
    ready_timeout_s: float = 600.0


@dataclass(frozen=True)
class DecodedClip:
    """A manifest entry with its decoded 16 kHz audio."""

    entry: ManifestEntry
    samples: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def run_stream_bench(config: StreamBenchConfig) -> dict:
    """Run the benchmark and write ``results.json`` and ``report.html`` into ``config.out``; return the summary."""
    _check(config)
    plan = deal_round_robin(load_clips(config.manifest), config.streams)
    with _server_url(config) as url:
        rows = _run_streams(url, config, plan)
    summary = summarize(rows, config.streams)
    config.out.mkdir(parents=True, exist_ok=True)
    # The key is a credential: never written to the results (nor a URL's query, which may carry it).
    url = config.url.split("?", 1)[0] if config.url else "local"
    settings = {"url": url, "manifest": config.manifest, "chunk_ms": config.chunk_ms}
    write_results(config.out, summary, rows, extra={"config": settings})
    write_html_report(config.out, "shenggu bench stream", summary, _figures(rows, summary), _tables(rows))
    return summary


def _check(config: StreamBenchConfig) -> None:
    if config.streams < 1:
        raise InvalidOptionError(f"streams must be at least 1, not {config.streams}")
    if config.chunk_ms <= 0:
        raise InvalidOptionError(f"chunk_ms must be positive, not {config.chunk_ms}")


def load_clips(manifest: Path) -> list[DecodedClip]:
    """The manifest's asr clips of quality A and B, decoded; a manifest without any is an error."""
    entries = [e for e in load_manifest(manifest, task="asr") if e.ref_quality in QUALITIES]
    if not entries:
        raise ManifestError(f"{manifest}: no asr entries of quality {'/'.join(QUALITIES)} to stream")
    return [DecodedClip(entry, decode_audio(entry.path, name=entry.id)) for entry in entries]


def deal_round_robin(items: Sequence, streams: int) -> list[list]:
    """Deal ``items`` to ``streams`` hands in turn; with fewer items than streams, deal them again so that no
    hand is empty (every stream plays, every item is played at least once)."""
    if not items:
        return [[] for _ in range(streams)]
    dealt = [items[i % len(items)] for i in range(max(len(items), streams))]
    return [dealt[s::streams] for s in range(streams)]


@contextmanager
def _server_url(config: StreamBenchConfig) -> Iterator[str]:
    """The given server URL, or that of a development server started here for the run."""
    if config.url:
        yield config.url
        return
    with local_stream_server(config.ready_timeout_s) as base:
        yield base


@contextmanager
def local_stream_server(ready_timeout_s: float = 600.0) -> Iterator[str]:
    """A development server in this process on loopback (no job workers, a temporary data directory), once
    ``/ready`` answers 200; yields its base URL."""
    from shenggu.bench.local_server import serving
    from shenggu.config import Settings
    from shenggu.service.app import create_app

    with tempfile.TemporaryDirectory(prefix="shenggu-bench-stream-") as data_dir:
        # database_url=None: a SHENGGU_DATABASE_URL in the environment must not point the run at a real database.
        settings = Settings(
            dev_mode=True, job_workers=0, data_dir=Path(data_dir), database_url=None, preload_models=True
        )
        with serving(create_app(settings), "/ready", ready_timeout_s) as base:
            yield base


def _run_streams(url: str, config: StreamBenchConfig, plan: list[list[DecodedClip]]) -> list[dict]:
    """Play every stream's clips concurrently; return one row per clip, by stream then order."""
    bar = tqdm(total=sum(map(len, plan)), desc="bench stream", unit="clip", file=sys.stderr)
    stop = threading.Event()

    def play(stream: int, clips: list[DecodedClip]) -> list[dict]:
        rows = []
        for clip in clips:
            if stop.is_set():
                break
            rows.append(_play_clip(url, config, stream, clip))
            bar.update()
        return rows

    with bar, ThreadPoolExecutor(len(plan), thread_name_prefix="stream") as pool:
        futures = [pool.submit(play, stream, clips) for stream, clips in enumerate(plan)]
        try:
            return [row for future in futures for row in future.result()]
        except BaseException:
            stop.set()  # Ctrl-C or a crashed stream: the others stop after their current clip
            raise


def _play_clip(url: str, config: StreamBenchConfig, stream: int, clip: DecodedClip) -> dict:
    """Stream one clip in real time on its own connection and score it; a failure becomes the row's error."""
    client = StreamClient(url, config.key, language=clip.entry.language)
    try:
        result = client.transcribe_audio(clip.samples, realtime=True, chunk_ms=config.chunk_ms)
        error = f"{result.error.code}: {result.error.message}" if result.error else None
    except StreamClientError as exc:  # refused or rejected at the handshake: nothing was streamed
        result, error = StreamResult(finals=[], partials=[], error=None, text="", wall_s=math.nan), exc.message
    return clip_row(stream, clip.entry, clip.seconds, result, error)


def clip_row(stream: int, entry: ManifestEntry, audio_s: float, result: StreamResult, error: str | None) -> dict:
    """The results row of one streamed clip (``error``: why its stream failed, None if it did not)."""
    counts = score(entry.language, entry.reference_text, result.text)
    latencies_ms = [_ms(s) for s in result.final_latencies_s]
    return {
        "stream": stream,
        "id": entry.id,
        "language": entry.language,
        "ref_quality": entry.ref_quality,
        "audio_s": round(audio_s, 3),
        "reference": entry.reference_text,
        "hypothesis": result.text,
        "metric": metric_name(entry.language),
        "counts": counts,
        "rate": round(counts.rate, 4),
        "finals": len(result.finals),
        "partials": len(result.partials),
        "final_end_s": [round(f.end, 3) for f in result.finals],
        "final_latency_ms": latencies_ms,
        "lag_ms": [f.lag_ms for f in result.finals if f.lag_ms is not None],
        "timings": [_parts(f.timing, ms) for f, ms in zip(result.finals, latencies_ms, strict=True) if f.timing],
        "warnings": len(result.warnings),
        "lag_ms_max": result.lag_ms_max,
        "median_latency_ms": _round(float(np.median(latencies_ms)), 1) if latencies_ms else None,
        "first_partial_ms": _ms(result.first_partial_s),
        "wall_s": round(result.wall_s, 3),
        "realtime_ok": error is None and result.wall_s <= audio_s + REALTIME_SLACK_S,
        "error": error,
    }


LATENCY_PARTS = ("endpoint", "backlog", "decode", "queue", "encode", "generate", "refine", "other")


def _parts(timing: dict[str, float], latency_ms: float | None) -> dict[str, float]:
    """A final's latency parts (ms), with ``other``: what the server's parts leave of the latency seen here."""
    parts = {name: timing.get(name, 0.0) for name in LATENCY_PARTS if name != "other"}
    measured = parts["endpoint"] + parts["backlog"] + parts["decode"]
    parts["other"] = round(latency_ms - measured, 1) if latency_ms is not None else 0.0
    parts["narrowed"] = timing.get("narrowed", 0.0)
    parts["speculative"] = timing.get("speculative", 0.0)
    return parts


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, linear interpolation) of ``values``; None when there are none."""
    return float(np.percentile(values, q)) if len(values) else None


def summarize(rows: list[dict], streams: int) -> dict:
    """The summary of the clip rows (see the module docstring for each key)."""
    latencies = [ms for r in rows for ms in r["final_latency_ms"]]
    first_partials = [r["first_partial_ms"] for r in rows if r["first_partial_ms"] is not None]
    lags = [ms for r in rows for ms in r["lag_ms"]]
    worst = [*lags, *(r["lag_ms_max"] for r in rows if r["lag_ms_max"] is not None)]
    timings = [t for r in rows for t in r["timings"]]
    return {
        "streams": streams,
        "final_latency_ms_p50": _round(percentile(latencies, 50), 1),
        "final_latency_ms_p99": _round(percentile(latencies, 99), 1),
        "first_partial_ms_p50": _round(percentile(first_partials, 50), 1),
        "cer_zh": _corpus_rate(rows, "zh"),
        "wer_en": _corpus_rate(rows, "en"),
        "realtime_ok": bool(rows) and all(r["realtime_ok"] for r in rows),
        "finals": sum(r["finals"] for r in rows),
        "errors": sum(1 for r in rows if r["error"] is not None),
        "audio_seconds": round(sum(r["audio_s"] for r in rows), 2),
        "lag_ms_p50": _round(percentile(lags, 50), 1),
        "lag_ms_p99": _round(percentile(lags, 99), 1),
        "lag_ms_max": _round(max(worst, default=None), 1),
        "warnings": sum(r["warnings"] for r in rows),
        "narrowed_finals": sum(bool(t["narrowed"]) for t in timings),
        "speculative_share": _round(sum(bool(t["speculative"]) for t in timings) / max(len(timings), 1), 3),
        "latency_parts_ms": {
            part: {
                "p50": _round(percentile([t[part] for t in timings], 50), 1),
                "p99": _round(percentile([t[part] for t in timings], 99), 1),
            }
            for part in LATENCY_PARTS
        },
    }


def _corpus_rate(rows: list[dict], language: str) -> float | None:
    counts: list[ErrorCounts] = [r["counts"] for r in rows if r["language"] == language]
    return round(total(counts).rate, 4) if counts else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _ms(seconds: float | None) -> float | None:
    return _round(None if seconds is None else seconds * 1000, 1)


def _bar_value(value: float | None) -> float:
    return math.nan if value is None else value  # NaN: no bar for a clip without finals or partials


def _figures(rows: list[dict], summary: dict) -> list[Figure]:
    labels = [f"{r['id']} (s{r['stream']})" for r in rows]
    parts = summary["latency_parts_ms"]
    return [
        bar_plot(
            [f"{part} {q}" for part in LATENCY_PARTS for q in ("p50", "p99")],
            [_bar_value(parts[part][q]) for part in LATENCY_PARTS for q in ("p50", "p99")],
            "Where a final's latency goes (endpoint + backlog + decode + other; queue..refine are decode's parts)",
            "ms",
        ),
        bar_plot(
            labels,
            [_bar_value(r["lag_ms_max"]) for r in rows],
            "Largest server backlog per clip (audio waiting to be processed)",
            "backlog (ms)",
        ),
        bar_plot(
            labels,
            [_bar_value(r["median_latency_ms"]) for r in rows],
            "Median final latency per clip",
            "latency (ms)",
        ),
        bar_plot(
            labels,
            [_bar_value(r["first_partial_ms"]) for r in rows],
            "First partial after the first audio, per clip",
            "latency (ms)",
        ),
        scatter_plot(
            [end for r in rows for end in r["final_end_s"]],
            [ms for r in rows for ms in r["final_latency_ms"]],
            "Final latency by position in the clip",
            "end of the final's audio (s)",
            "latency (ms)",
        ),
        bar_plot(labels, [r["rate"] for r in rows], "Error rate per clip (CER zh / WER en)", "error rate"),
    ]


_TABLE_COLUMNS = (
    "stream", "id", "ref_quality", "metric", "rate", "finals", "median_latency_ms", "first_partial_ms", "audio_s",
    "wall_s", "realtime_ok", "warnings", "error", "reference", "hypothesis",
)  # fmt: skip


def _tables(rows: list[dict]) -> list[Table]:
    return [("Clips", _TABLE_COLUMNS, [[r[key] for key in _TABLE_COLUMNS] for r in rows])]
