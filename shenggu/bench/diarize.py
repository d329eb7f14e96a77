"""`shenggu bench diarize`: diarization error rate, speaker count and speed against reference RTTM files.

Files: the manifest's ``diarization`` rows (each WAV with its ``.rttm`` beside it) plus, unless turned off, the
multi-speaker mixes (mostly Mandarin) built from the manifest's own clips (:mod:`shenggu.bench.diarize_mixes`).

Summary (``results.json``): ``der`` (0.25 s collar), ``der_no_collar``, ``speaker_count_accuracy`` (share of
files whose number of speakers is right), ``rtf`` (diarization seconds / audio seconds, models warm),
``der_two_speaker`` / ``der_two_speaker_no_collar`` (files with two reference speakers), ``files``,
``failed`` (files that could not be scored, listed with their errors under ``failures``), ``skipped_mixes``
(mixes whose clips the manifest lacks), ``peak_rss_mb``. DER sums the scored seconds of all files (NIST
style), not the mean of per-file rates.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from shenggu.audio.decode import SAMPLE_RATE, decode_audio
from shenggu.bench.diarize_mixes import build_mixes
from shenggu.bench.failures import attempt, failure_table
from shenggu.bench.manifest import ManifestEntry, load_manifest
from shenggu.bench.resources import peak_rss_mb
from shenggu.diarize.metrics import DerCounts, der_counts
from shenggu.diarize.pipeline import DiarizeOptions, diarize
from shenggu.diarize.registry import get_speaker_encoder
from shenggu.diarize.rttm import RttmError, read_rttm
from shenggu.diarize.types import SpeakerTurn
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, timeline_plot
from shenggu.reports.results import write_results

COLLAR_S = 0.25


@dataclass
class DiarizeBenchConfig:
    """The manifest, where to write, whether to add the multi-speaker mixes, and the diarization options."""

    manifest: Path
    out: Path
    mixes: bool = True
    oracle_count: bool = False  # give each file its reference number of speakers
    options: DiarizeOptions = field(default_factory=DiarizeOptions)


def run_diarize_bench(config: DiarizeBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary.

    A file that cannot be read or scored (no RTTM, damaged audio…) is recorded under ``failures`` and the run
    goes on; mixes whose clips the manifest lacks are listed under ``skipped_mixes``.
    """
    entries = load_manifest(config.manifest, task="diarization")
    skipped_mixes: dict[str, list[str]] = {}
    if config.mixes:
        built, skipped_mixes = build_mixes(config.manifest, config.out / "mixes")
        entries += built
    encoder = get_speaker_encoder()
    rows: list[dict] = []
    failures: list[dict] = []
    for entry in tqdm(entries, desc="bench diarize", unit="file", file=sys.stderr):
        row = attempt(entry.id, lambda entry=entry: _run_file(entry, encoder, config), failures)
        if row is not None:
            rows.append(row)
    summary = _summarize(rows)
    summary.update(failed=len(failures), skipped_mixes=sorted(skipped_mixes), peak_rss_mb=round(peak_rss_mb(), 1))
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows, {"failures": failures, "skipped_mixes": skipped_mixes})
    write_html_report(config.out, "shenggu bench diarize", summary, _figures(rows), _tables(rows, failures))
    return summary


def _run_file(entry: ManifestEntry, encoder, config: DiarizeBenchConfig) -> dict:
    reference = _reference(entry)
    speakers = len({t.speaker for t in reference})
    options = replace(config.options, num_speakers=speakers) if config.oracle_count else config.options
    samples = decode_audio(entry.path)
    start = time.perf_counter()
    result = diarize(samples, encoder, options)
    seconds = time.perf_counter() - start
    return _row(entry, reference, result.turns, len(result.speakers), speakers, seconds, len(samples))


def _reference(entry: ManifestEntry) -> list[SpeakerTurn]:
    path = entry.path.with_suffix(".rttm")
    turns = read_rttm(path)
    if entry.id not in turns and len(turns) != 1:
        raise RttmError(f"{path}: no turns for file id {entry.id}")
    return turns.get(entry.id) or next(iter(turns.values()))


def _row(
    entry: ManifestEntry,
    reference: list[SpeakerTurn],
    hypothesis: list[SpeakerTurn],
    found: int,
    speakers: int,
    seconds: float,
    samples: int,
) -> dict:
    collared, plain = der_counts(reference, hypothesis, COLLAR_S), der_counts(reference, hypothesis, 0.0)
    audio_s = samples / SAMPLE_RATE
    return {
        "id": entry.id,
        "language": entry.language,
        "duration_s": round(audio_s, 2),
        "speakers": speakers,
        "speakers_found": found,
        "der": round(collared.der, 4),
        "der_no_collar": round(plain.der, 4),
        "counts": collared,
        "counts_no_collar": plain,
        "rtf": round(seconds / audio_s, 4),
        "seconds": round(seconds, 3),
        "reference": [(t.start, t.end, t.speaker) for t in reference],
        "hypothesis": [(t.start, t.end, t.speaker) for t in hypothesis],
    }


def _summarize(rows: list[dict]) -> dict:
    if not rows:
        return {"files": 0, "der": None, "der_no_collar": None, "speaker_count_accuracy": None, "rtf": None}
    two = [r for r in rows if r["speakers"] == 2]
    audio = sum(r["duration_s"] for r in rows)
    return {
        "files": len(rows),
        "der": _der(rows, "counts"),
        "der_no_collar": _der(rows, "counts_no_collar"),
        "speaker_count_accuracy": round(sum(r["speakers"] == r["speakers_found"] for r in rows) / len(rows), 4),
        "rtf": round(sum(r["seconds"] for r in rows) / audio, 4) if audio else None,
        "der_two_speaker": _der(two, "counts") if two else None,
        "der_two_speaker_no_collar": _der(two, "counts_no_collar") if two else None,
    }


def _der(rows: list[dict], key: str) -> float:
    counts: list[DerCounts] = [r[key] for r in rows]
    return round(sum(counts[1:], counts[0]).der, 4)


def _figures(rows: list[dict]):
    figures = [
        bar_plot([r["id"] for r in rows], [r["der"] for r in rows], "DER per file (0.25 s collar)", "DER"),
    ]
    for r in rows:
        title = f"{r['id']}: reference vs hypothesis (DER {r['der']:.1%})"
        figures.append(timeline_plot({"reference": r["reference"], "hypothesis": r["hypothesis"]}, title))
    return figures


_COLUMNS = ("id", "language", "duration_s", "speakers", "speakers_found", "der", "der_no_collar", "rtf")


def _tables(rows: list[dict], failures: list[dict]):
    tables = [("Files", _COLUMNS, [[r[c] for c in _COLUMNS] for r in rows])]
    if failures:
        tables.append(("Failed files", ("id", "code", "message"), failure_table(failures)))
    return tables
