"""`shenggu bench stream --protocol NAME[,NAME…]`: the same recordings streamed in real time through each client
protocol shenggu speaks — its own WebSocket (``native``), FunASR's runtime protocol (``funasr``), Wyoming
(``wyoming``) and OpenAI's Realtime transcription (``realtime``) — each with that protocol's own client (the
``shenggu/bench/protocol_<name>.py`` modules), one clip at a time, so the protocols are compared on equal terms.

Without ``url`` a server is started in this process on loopback with every listener on a free port (development
mode: no key needed). With ``url`` (``http://HOST:PORT`` of a running server, ``key`` its API key) the Wyoming
listener is reached on that host at ``wyoming_port``; FunASR's protocol is spoken at ``/v1/funasr`` on the main
port (the same handler as its own listener's, with a key).

Summary (``results.json``), per protocol under ``protocols.<name>``: ``final_latency_ms_p50`` / ``_p90`` (from
the last audio chunk sent to the final result; 0 when the final came before the audio ended, i.e. the server
closed the sentence on silence while the clip's trailing silence was still being sent),
``first_partial_ms_p50`` (from the first chunk to the first partial; null for protocols without partials),
``cer_zh`` / ``wer_en`` (corpus error rates), ``clips``, ``errors``. A failed clip is a row with its error; it
never stops the run.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

from shenggu.bench.manifest import ManifestError
from shenggu.bench.scoring import metric_name, score, total
from shenggu.bench.stream import DecodedClip, load_clips, percentile
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import Table, write_html_report
from shenggu.reports.plots import Figure, bar_plot
from shenggu.reports.results import write_results

PROTOCOLS = ("native", "funasr", "wyoming", "realtime")
_TABLE_COLUMNS = [
    "protocol",
    "id",
    "language",
    "audio_s",
    "final_latency_ms",
    "first_partial_ms",
    "rate",
    "hypothesis",
    "error",
]


@dataclass
class ProtocolBenchConfig:
    """Which protocols, which clips, which server, and where the results go."""

    manifest: Path
    out: Path
    protocols: tuple[str, ...] = PROTOCOLS
    url: str | None = None  # None: a server started here with every listener
    key: str | None = None
    wyoming_port: int = 10300
    chunk_ms: int = 100
    limit: int | None = None
    ready_timeout_s: float = 600.0


@dataclass(frozen=True)
class Endpoints:
    """Where each protocol's client connects."""

    base: str  # http://HOST:PORT of the main server
    wyoming: str

    def address(self, protocol: str) -> str:
        """The address ``protocol_<name>.final_latency`` takes."""
        if protocol == "wyoming":
            return self.wyoming
        if protocol == "native":
            return self.base.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        return self.base


def parse_protocols(text: str) -> tuple[str, ...]:
    """``"funasr,wyoming"`` → the names, checked (``all``: every protocol)."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if names == ("all",):
        return PROTOCOLS
    unknown = [n for n in names if n not in PROTOCOLS]
    if unknown or not names:
        raise InvalidOptionError(f"--protocol takes {', '.join(PROTOCOLS)} or all (comma-separated), not {text!r}")
    return names


def run_protocol_bench(config: ProtocolBenchConfig) -> dict:
    """Stream every clip through every protocol; write ``results.json`` and ``report.html``; return the summary."""
    if config.chunk_ms <= 0:
        raise InvalidOptionError(f"chunk_ms must be positive, not {config.chunk_ms}")
    clips = load_clips(config.manifest)[: config.limit]
    if not clips:
        raise ManifestError(f"{config.manifest}: no clips to stream")
    rows: list[dict] = []
    with _endpoints(config) as endpoints:
        bar = tqdm(
            total=len(clips) * len(config.protocols), desc="bench stream --protocol", unit="run", file=sys.stderr
        )
        for clip in clips:  # clip by clip, every protocol in turn: a slow minute of the machine hits them alike
            for name in config.protocols:
                rows.append(_play(name, endpoints, config, clip))
                bar.update()
        bar.close()
    summary = summarize(rows, config.protocols)
    config.out.mkdir(parents=True, exist_ok=True)
    settings = {
        "url": config.url.split("?", 1)[0] if config.url else "local",  # never the key
        "manifest": config.manifest,
        "chunk_ms": config.chunk_ms,
        "protocols": list(config.protocols),
    }
    write_results(config.out, summary, rows, extra={"config": settings})
    write_html_report(config.out, "shenggu bench stream --protocol", summary, _figures(summary), _tables(rows))
    return summary


def _play(name: str, endpoints: Endpoints, config: ProtocolBenchConfig, clip: DecodedClip) -> dict:
    """One clip through one protocol, scored; any failure (a client package that is not installed included)
    becomes the row's error."""
    entry = clip.entry
    try:
        client = importlib.import_module(f"shenggu.bench.protocol_{name}")
        run = client.final_latency(
            endpoints.address(name), config.key or "", clip.samples, config.chunk_ms / 1000, language=entry.language
        )
        text, latency, partial, error = run.text, run.final_latency_s, run.first_partial_s, None
    except Exception as exc:  # one bad clip or protocol never stops the benchmark
        text, latency, partial, error = "", None, None, f"{type(exc).__name__}: {exc}"[:300]
    counts = score(entry.language, entry.reference_text, text)
    return {
        "protocol": name,
        "id": entry.id,
        "language": entry.language,
        "audio_s": round(clip.seconds, 3),
        "reference": entry.reference_text,
        "hypothesis": text,
        "metric": metric_name(entry.language),
        "counts": counts,
        "rate": round(counts.rate, 4),
        "final_latency_ms": None if latency is None else round(1000 * latency, 1),
        "first_partial_ms": None if partial is None else round(1000 * partial, 1),
        "error": error,
    }


def summarize(rows: list[dict], protocols: tuple[str, ...]) -> dict:
    """Per protocol: latency percentiles, error rates, clips and errors."""
    per_protocol = {}
    for name in protocols:
        mine = [r for r in rows if r["protocol"] == name]
        ok = [r for r in mine if r["error"] is None]
        latencies = [r["final_latency_ms"] for r in ok]
        partials = [r["first_partial_ms"] for r in ok if r["first_partial_ms"] is not None]
        rates = {}
        for language, key in (("zh", "cer_zh"), ("en", "wer_en")):
            counts = [r["counts"] for r in ok if r["language"] == language]
            rates[key] = round(total(counts).rate, 4) if counts else None
        per_protocol[name] = {
            "final_latency_ms_p50": _round(percentile(latencies, 50)),
            "final_latency_ms_p90": _round(percentile(latencies, 90)),
            "first_partial_ms_p50": _round(percentile(partials, 50)),
            **rates,
            "clips": len(mine),
            "errors": len(mine) - len(ok),
        }
    return {
        "protocols": per_protocol,
        "clips": len({r["id"] for r in rows}),
        "errors": sum(r["error"] is not None for r in rows),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@contextmanager
def _endpoints(config: ProtocolBenchConfig) -> Iterator[Endpoints]:
    if config.url:
        host = urlparse(config.url).hostname or "127.0.0.1"
        yield Endpoints(config.url.rstrip("/"), f"tcp://{host}:{config.wyoming_port}")
        return
    from shenggu.bench.local_server import free_port, serving
    from shenggu.config import Settings
    from shenggu.service.app import create_app

    wyoming_port = free_port()
    with tempfile.TemporaryDirectory(prefix="shenggu-bench-protocols-") as data_dir:
        # database_url=None: a SHENGGU_DATABASE_URL in the environment must not point the run at a real database.
        settings = Settings(
            dev_mode=True,
            job_workers=0,
            data_dir=Path(data_dir),
            database_url=None,
            preload_models=True,
            wyoming_port=wyoming_port,
            wyoming_tenant="bench",
        )
        with serving(create_app(settings), "/ready", config.ready_timeout_s) as base:
            yield Endpoints(base, f"tcp://127.0.0.1:{wyoming_port}")


def _figures(summary: dict) -> list[Figure]:
    names = list(summary["protocols"])
    numbers = summary["protocols"]
    return [
        bar_plot(
            names,
            [numbers[n]["final_latency_ms_p50"] or 0.0 for n in names],
            "Final result latency p50 (last audio chunk → final)",
            "ms",
        ),
        bar_plot(names, [numbers[n]["cer_zh"] or 0.0 for n in names], "Mandarin CER by protocol", "CER"),
    ]


def _tables(rows: list[dict]) -> list[Table]:
    return [("Clips by protocol", _TABLE_COLUMNS, [[r[c] for c in _TABLE_COLUMNS] for r in rows])]
