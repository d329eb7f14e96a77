"""`shenggu bench load`: concurrent clients upload the manifest's clips to a running server for a fixed time.

Each of ``clients`` threads (one ``httpx.Client`` each) posts clips in turn (shared round-robin over the
manifest's ``asr`` entries) as an OpenAI-style multipart transcription request, until ``duration_s`` has
elapsed. Every request has a timeout, so the run ends by itself at most ``timeout_s`` after the duration.
Clips are read into memory first, so latency measures the server, not this machine's disk. After a transport
failure a client pauses briefly, so a dead server is not hammered in a tight loop.

Summary (``results.json``): ``requests`` = all sent, ``ok`` = 2xx, ``rate_limited`` = 429, ``errors`` = every
other status and every transport failure (refused, timed out...). ``throughput_rps`` and
``audio_seconds_per_second`` count only 2xx requests (what the server actually served), over the measured
wall time ``duration_s``; latency percentiles are of 2xx requests (``null`` when there were none).
"""

from __future__ import annotations

import itertools
import mimetypes
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from shenggu.bench.manifest import ManifestEntry, ManifestError, load_manifest
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import Figure, bar_plot, histogram_plot, scatter_plot
from shenggu.reports.results import write_results

TRANSPORT_ERROR = "exception"
"""The ``status_counts`` key of requests that got no HTTP status (connection refused, timeout...)."""
TRANSPORT_ERROR_PAUSE_S = 0.1
"""How long a client waits after a transport failure before its next request."""


@dataclass
class LoadBenchConfig:
    """Where to send load, how much, and where to write the results."""

    url: str
    out: Path
    manifest: Path
    key: str = ""
    clients: int = 4
    duration_s: float = 30.0
    endpoint: str = "/v1/audio/transcriptions"
    timeout_s: float = 120.0
    model: str = "whisper-1"


@dataclass(frozen=True)
class UploadClip:
    """A manifest entry with its file's bytes, ready to upload."""

    entry: ManifestEntry
    data: bytes
    content_type: str


def run_load_bench(config: LoadBenchConfig) -> dict:
    """Run the load test and write ``results.json`` and ``report.html`` into ``config.out``; return the summary."""
    _check(config)
    clips = _load_clips(config.manifest)
    rows, elapsed = _run_clients(config, clips)
    summary = _summarize(rows, config.clients, elapsed)
    config.out.mkdir(parents=True, exist_ok=True)
    # The key is a credential: never written to the results.
    settings = {
        "url": config.url,
        "endpoint": config.endpoint,
        "manifest": config.manifest,
        "clients": config.clients,
        "duration_s": config.duration_s,
        "timeout_s": config.timeout_s,
        "model": config.model,
    }
    write_results(config.out, summary, rows, extra={"config": settings})
    write_html_report(config.out, "shenggu bench load", summary, _figures(rows, summary), _tables(rows))
    return summary


def _check(config: LoadBenchConfig) -> None:
    if config.clients < 1:
        raise InvalidOptionError(f"clients must be at least 1, not {config.clients}")
    if config.duration_s <= 0 or config.timeout_s <= 0:
        raise InvalidOptionError("duration and timeout must be positive")


def _load_clips(manifest: Path) -> list[UploadClip]:
    """The manifest's asr clips with their bytes; a manifest without any, or a missing file, is an error."""
    entries = load_manifest(manifest, task="asr")
    if not entries:
        raise ManifestError(f"{manifest}: no asr entries to send")
    clips = []
    for entry in entries:
        try:
            data = entry.path.read_bytes()
        except OSError as exc:
            raise ManifestError(f"{manifest}: cannot read clip {entry.id}: {exc}") from None
        content_type = mimetypes.guess_type(entry.path.name)[0] or "application/octet-stream"
        clips.append(UploadClip(entry, data, content_type))
    return clips


def _run_clients(config: LoadBenchConfig, clips: list[UploadClip]) -> tuple[list[dict], float]:
    """Run every client until the deadline; return all request rows (by start time) and the wall time."""
    order = itertools.cycle(clips)
    lock = threading.Lock()

    def next_clip() -> UploadClip:
        with lock:  # one shared rotation, so N clients together still walk the whole manifest
            return next(order)

    start = time.perf_counter()
    deadline = start + config.duration_s
    stop = threading.Event()
    with ThreadPoolExecutor(config.clients, thread_name_prefix="load-client") as pool:
        futures = [
            pool.submit(_client_loop, config, i, next_clip, start, deadline, stop) for i in range(config.clients)
        ]
        try:
            rows = [row for future in futures for row in future.result()]
        except BaseException:
            stop.set()  # Ctrl-C or a crashed client: the others finish their current request and return
            raise
    elapsed = time.perf_counter() - start
    return sorted(rows, key=lambda r: r["start_s"]), elapsed


def _client_loop(
    config: LoadBenchConfig,
    client_id: int,
    next_clip: Callable[[], UploadClip],
    start: float,
    deadline: float,
    stop: threading.Event,
) -> list[dict]:
    """One client: send clip after clip until the deadline; one row per request."""
    headers = {"Authorization": f"Bearer {config.key}"} if config.key else {}
    rows = []
    with httpx.Client(base_url=config.url, headers=headers, timeout=config.timeout_s) as client:
        for clip in _until(deadline, stop, next_clip):
            rows.append(_send(client, config, client_id, clip, start))
            if rows[-1]["status"] is None:
                # A refused connection fails in microseconds: without a pause a dead server yields 100k rows.
                stop.wait(TRANSPORT_ERROR_PAUSE_S)
    return rows


def _until(deadline: float, stop: threading.Event, next_clip: Callable[[], UploadClip]) -> Iterator[UploadClip]:
    """Clips to send while there is time left and no stop was asked."""
    while not stop.is_set() and time.perf_counter() < deadline:
        yield next_clip()


def _send(client: httpx.Client, config: LoadBenchConfig, client_id: int, clip: UploadClip, start: float) -> dict:
    """Post one clip and time it; a transport failure becomes a row with ``status`` None and the error."""
    files = {"file": (clip.entry.path.name, clip.data, clip.content_type)}
    form = {"model": config.model, "language": clip.entry.language}
    t0 = time.perf_counter()
    status: int | None = None
    error = None
    try:
        status = client.post(config.endpoint, files=files, data=form).status_code
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return {
        "client": client_id,
        "id": clip.entry.id,
        "status": status,
        "latency_s": round(time.perf_counter() - t0, 4),
        "start_s": round(t0 - start, 4),
        "audio_s": clip.entry.duration_s,
        "error": error,
    }


def _summarize(rows: list[dict], clients: int, elapsed: float) -> dict:
    """Counts, rates over the wall time, and latency percentiles of the 2xx requests."""
    ok = [r for r in rows if _is_ok(r["status"])]
    rate_limited = sum(1 for r in rows if r["status"] == 429)
    latencies = [r["latency_s"] for r in ok]
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]).tolist() if latencies else (None, None, None)
    counts = Counter(TRANSPORT_ERROR if r["status"] is None else str(r["status"]) for r in rows)
    return {
        "clients": clients,
        "duration_s": round(elapsed, 3),
        "requests": len(rows),
        "ok": len(ok),
        "rate_limited": rate_limited,
        "errors": len(rows) - len(ok) - rate_limited,
        "throughput_rps": round(len(ok) / elapsed, 3),
        "audio_seconds_per_second": round(sum(r["audio_s"] for r in ok) / elapsed, 3),
        "latency_p50_s": _round(p50),
        "latency_p95_s": _round(p95),
        "latency_p99_s": _round(p99),
        "status_counts": dict(sorted(counts.items())),
    }


def _is_ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _figures(rows: list[dict], summary: dict) -> list[Figure]:
    ok = [r for r in rows if _is_ok(r["status"])]
    counts = summary["status_counts"]
    return [
        histogram_plot(
            [r["latency_s"] for r in ok], "Latency of 2xx requests", "latency (s)", bins=30, ylabel="requests"
        ),
        scatter_plot(
            [r["start_s"] for r in ok],
            [r["latency_s"] for r in ok],
            "Latency over time (2xx requests)",
            "request start (s)",
            "latency (s)",
        ),
        bar_plot(list(counts), list(counts.values()), "Responses by status", "requests"),
    ]


def _tables(rows: list[dict]):
    """One line per clip (not per request: a long run sends thousands)."""
    body = []
    for clip_id in sorted({r["id"] for r in rows}):
        mine = [r for r in rows if r["id"] == clip_id]
        ok = [r["latency_s"] for r in mine if _is_ok(r["status"])]
        median = round(float(np.median(ok)), 4) if ok else None
        body.append([clip_id, mine[0]["audio_s"], len(mine), len(ok), median])
    return [("Requests by clip", ["id", "audio (s)", "requests", "2xx", "median 2xx latency (s)"], body)]
