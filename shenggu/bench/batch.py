"""`shenggu bench batch`: archive throughput, here or on a Ray cluster, in audio hours per hour.

``--files N`` input files are made from the manifest's ``asr`` clips (round robin, every quality: an archive is
not curated), transcribed by the same code as ``shenggu batch transcribe`` into a fresh folder, and the
transcripts are scored against the references, so a faster path that lost accuracy would show.

Summary (``results.json``): ``files``, ``done``, ``failed``, ``audio_seconds``, ``wall_s``,
``audio_hours_per_hour`` (audio transcribed per wall-clock hour), ``files_per_hour``, ``backend`` (``local`` or
``ray``), ``cluster_cpus`` (Ray only), ``cer_zh`` / ``wer_en`` (corpus error rates of the transcripts),
``file_seconds_p50`` / ``_p99`` (one file's processing time), ``peak_rss_mb`` (this process; Ray workers apart).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shenggu.bench.manifest import load_manifest
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.scoring import metric_name, score
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import histogram_plot, scatter_plot
from shenggu.reports.results import write_results
from shenggu.scale.archive import plan_archive, run_archive
from shenggu.scale.executors import executor_for
from shenggu.scale.work import BatchOptions, FileOutcome


@dataclass
class BatchBenchConfig:
    """How many files, from which manifest, on which backend, and where to write the results."""

    out: Path
    manifest: Path
    files: int = 40
    ray: str | None = None  # a Ray address; None: this machine
    cpus_per_task: int = 1


def run_batch_bench(config: BatchBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    if config.files < 1:
        raise InvalidOptionError("--files must be at least 1")
    entries = load_manifest(config.manifest)
    if not entries:
        raise InvalidOptionError(f"no asr clips in {config.manifest}")
    inputs, transcripts = config.out / "inputs", config.out / "transcripts"
    for folder in (inputs, transcripts):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    sources = {}
    for i in range(config.files):
        entry = entries[i % len(entries)]
        name = f"{i:05d}_{entry.id}{entry.path.suffix}"
        shutil.copy(entry.path, inputs / name)
        sources[name] = entry
    outcomes: list[FileOutcome] = []
    executor = executor_for(config.ray, config.cpus_per_task)
    archive = run_archive(
        plan_archive(inputs, transcripts, "txt"), transcripts, executor, BatchOptions(fmt="txt"), True, outcomes.append
    )
    rows = [_row(outcome, sources[outcome.name]) for outcome in outcomes]
    summary = {
        **{k: v for k, v in archive.to_dict().items() if k != "skipped"},
        "files_per_hour": round(3600 * archive.done / archive.wall_s, 1) if archive.wall_s else 0.0,
        "cluster_cpus": _cluster_cpus() if config.ray else None,
        **_error_rates(rows),
        **_percentiles([r["elapsed_s"] for r in rows if r["ok"]]),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    write_results(config.out, summary, rows)
    write_html_report(config.out, "shenggu bench batch", summary, _figures(rows), _tables(rows))
    return summary


def _row(outcome: FileOutcome, entry) -> dict:
    row = {
        "file": outcome.name,
        "id": entry.id,
        "language": entry.language,
        "audio_s": entry.duration_s,
        "elapsed_s": round(outcome.elapsed_s, 3),
        "ok": outcome.ok,
        "error": f"{outcome.error_code}: {outcome.error_message}" if not outcome.ok else "",
    }
    if outcome.text is not None:  # the transcript written to the folder
        counts = score(entry.language, entry.reference_text, outcome.text)
        row.update(errors=counts.errors, ref_len=counts.ref_len)
    return row


def _error_rates(rows: list[dict]) -> dict:
    rates = {}
    for language in ("zh", "en"):
        scored = [r for r in rows if r["ok"] and r["language"] == language]
        ref_len = sum(r["ref_len"] for r in scored)
        key = f"{metric_name(language)}_{language}"
        rates[key] = round(sum(r["errors"] for r in scored) / ref_len, 4) if ref_len else None
    return rates


def _percentiles(seconds: list[float]) -> dict:
    if not seconds:
        return {"file_seconds_p50": None, "file_seconds_p99": None}
    p50, p99 = np.percentile(seconds, [50, 99]).tolist()
    return {"file_seconds_p50": round(p50, 3), "file_seconds_p99": round(p99, 3)}


def _cluster_cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 0))


def _figures(rows: list[dict]):
    done = [r for r in rows if r["ok"]]
    if not done:
        return []
    return [
        histogram_plot([r["elapsed_s"] for r in done], "Processing time per file", "seconds", bins=20),
        scatter_plot(
            [r["audio_s"] for r in done],
            [r["elapsed_s"] for r in done],
            "Processing time against audio length",
            "audio (s)",
            "processing (s)",
        ),
    ]


def _tables(rows: list[dict]):
    failed = [[r["file"], r["error"]] for r in rows if not r["ok"]]
    return [("Failed files", ("file", "error"), failed)] if failed else []
