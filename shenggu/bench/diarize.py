"""`shenggu bench diarize`: diarization error rate, speaker count and speed against reference RTTM files.

Files: the manifest's ``diarization`` rows (each WAV with its ``.rttm`` beside it: real recordings) plus, unless
turned off, the multi-speaker mixes (mostly Mandarin) built from the manifest's own clips
(:mod:`shenggu.bench.diarize_mixes`), and the single-speaker check: every ``asr`` and ``pronunciation`` clip (one
speaker each) must come out as one speaker.

Summary (``results.json``): ``der`` (0.25 s collar), ``der_no_collar``, ``speaker_count_accuracy`` (share of
files whose number of speakers is right), ``rtf`` (diarization seconds / audio seconds, models warm),
``der_two_speaker`` / ``der_two_speaker_no_collar`` (files with two reference speakers), ``files``,
``failed`` (files that could not be scored, listed with their errors under ``failures``), ``skipped_mixes``
(mixes whose clips the manifest lacks), ``peak_rss_mb``; ``der_real`` / ``der_real_no_collar`` and
``count_accuracy_real`` (the real recordings alone, the headline: mixes are easier), ``single_speaker_clips``,
``single_speaker_split`` (single-speaker clips found to hold more than one speaker), ``single_speaker_failed``
and ``count_accuracy`` (share of right counts over the scored files and the single-speaker clips together).
DER sums the scored seconds of all files (NIST style), not the mean of per-file rates.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tqdm import tqdm

from shenggu.audio.decode import SAMPLE_RATE, decode_audio
from shenggu.bench.diarize_mixes import MIXES, build_mixes
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
SINGLE_SPEAKER_TASKS = ("asr", "pronunciation")


@dataclass
class DiarizeBenchConfig:
    """The manifest, where to write, whether to add the multi-speaker mixes, and the diarization options."""

    manifest: Path
    out: Path
    mixes: bool = True
    oracle_count: bool = False  # give each file its reference number of speakers
    singles: bool = True  # check that single-speaker clips stay one speaker
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
    singles, single_failures = _single_speaker_check(config, encoder) if config.singles else ([], [])
    summary = _summarize(rows)
    summary.update(_single_summary(rows, singles, single_failures))
    summary.update(failed=len(failures), skipped_mixes=sorted(skipped_mixes), peak_rss_mb=round(peak_rss_mb(), 1))
    config.out.mkdir(parents=True, exist_ok=True)
    extra = {"failures": failures, "skipped_mixes": skipped_mixes}
    extra.update(single_speaker=singles, single_speaker_failures=single_failures)
    write_results(config.out, summary, rows, extra)
    write_html_report(config.out, "shenggu bench diarize", summary, _figures(rows), _tables(rows, failures, singles))
    return summary


def _run_file(entry: ManifestEntry, encoder, config: DiarizeBenchConfig) -> dict:
    reference = _reference(entry)
    speakers = len({t.speaker for t in reference})
    options = replace(config.options, num_speakers=speakers) if config.oracle_count else config.options
    samples = decode_audio(entry.path)
    start = time.perf_counter()
    result = diarize(samples, encoder, options)
    seconds = time.perf_counter() - start
    row = _row(entry, reference, result.turns, len(result.speakers), speakers, seconds, len(samples))
    row["source"] = "mix" if entry.id in MIXES else "real"
    return row


def _single_speaker_check(config: DiarizeBenchConfig, encoder) -> tuple[list[dict], list[dict]]:
    """(rows, failures) of the manifest's single-speaker clips: how many speakers each is found to hold."""
    entries = [e for e in load_manifest(config.manifest, task=None) if e.task in SINGLE_SPEAKER_TASKS]
    rows: list[dict] = []
    failures: list[dict] = []
    for entry in tqdm(entries, desc="bench diarize: single speakers", unit="file", file=sys.stderr):
        found = attempt(
            entry.id, lambda e=entry: len(diarize(decode_audio(e.path), encoder, config.options).speakers), failures
        )
        if found is not None:
            rows.append({"id": entry.id, "language": entry.language, "speakers_found": found})
    return rows, failures


def _single_summary(rows: list[dict], singles: list[dict], single_failures: list[dict]) -> dict:
    """The real recordings' figures, the single-speaker check and the count accuracy over both."""
    real = [r for r in rows if r["source"] == "real"]
    # A single-speaker clip with no speech found is not split; only more than one speaker is.
    right = _right_counts(rows) + sum(s["speakers_found"] <= 1 for s in singles)
    scored = len(rows) + len(singles)
    return {
        "der_real": _der(real, "counts") if real else None,
        "der_real_no_collar": _der(real, "counts_no_collar") if real else None,
        "count_accuracy_real": round(_right_counts(real) / len(real), 4) if real else None,
        "count_accuracy": round(right / scored, 4) if scored else None,
        "single_speaker_clips": len(singles),
        "single_speaker_split": sum(s["speakers_found"] > 1 for s in singles),
        "single_speaker_failed": len(single_failures),
    }


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
        "speaker_count_accuracy": round(_right_counts(rows) / len(rows), 4),
        "rtf": round(sum(r["seconds"] for r in rows) / audio, 4) if audio else None,
        "der_two_speaker": _der(two, "counts") if two else None,
        "der_two_speaker_no_collar": _der(two, "counts_no_collar") if two else None,
    }


def _right_counts(rows: list[dict]) -> int:
    """How many files were found to hold their reference number of speakers."""
    return sum(r["speakers"] == r["speakers_found"] for r in rows)


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


_COLUMNS = ("id", "source", "language", "duration_s", "speakers", "speakers_found", "der", "der_no_collar", "rtf")


def _tables(rows: list[dict], failures: list[dict], singles: list[dict]):
    tables = [("Files", _COLUMNS, [[r[c] for c in _COLUMNS] for r in rows])]
    split = [[s["id"], s["language"], s["speakers_found"]] for s in singles if s["speakers_found"] > 1]
    if split:
        tables.append(("Single-speaker clips split", ("id", "language", "speakers_found"), split))
    if failures:
        tables.append(("Failed files", ("id", "code", "message"), failure_table(failures)))
    return tables
