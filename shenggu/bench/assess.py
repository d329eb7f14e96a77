"""`shenggu bench assess`: English pronunciation scores against expert ratings (speechocean762).

Reads the manifest's ``pronunciation`` rows and ``pronunciation/scores.jsonl`` beside the manifest (expert
scores per utterance, word and phone), runs the English assessor on every recording and reports the Pearson
correlation (PCC) between its scores and the experts' at each level:

* with the shipped calibration (``pcc_utt_accuracy``, ``pcc_utt_total``, ``pcc_utt_fluency``,
  ``pcc_word_accuracy``, ``pcc_phone_accuracy``): optimistic where the shipped file was fitted on these readings;
* leave-one-speaker-out (the same keys with ``_heldout``): the calibration is refitted without each speaker in
  turn and scores that speaker, so the figures are for speakers the calibration never saw.

Speakers are the first five digits of the speechocean762 utterance id. Expert phones (ARPAbet with stress, from
the corpus lexicon) are paired with the assessor's phones by position within each word, or by edit distance when
the two pronunciations differ in length; expert phones left without a partner are counted as skipped.
``rtf`` is assessment time over audio time, decoder loaded beforehand.

A manifest from elsewhere may hold other rows: rows of other tasks are not readings and are ignored; pronunciation
rows that cannot be benchmarked (not English, no or incomplete expert scores) are listed under ``skipped`` (summary
``skipped``); a reading that cannot be assessed (missing or damaged file, no speech...) is listed with its error
under ``failures`` (summary ``failed``) and the run goes on. Held-out scores need at least ``MIN_FOLD_READINGS``
readings of the other speakers; a speaker with fewer gets none.

The same loading, pairing and fitting serve ``scripts/fit_assess_calibration.py``, which writes the shipped file.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from shenggu.assess.calibration import Calibration, fit_target
from shenggu.assess.english import (
    CALIBRATED_TARGETS,
    MAX_SECONDS,
    Analysis,
    EnglishAssessor,
    normalize_reference,
    phone_features,
    utterance_features,
    word_features,
)
from shenggu.assess.types import Assessment
from shenggu.audio.decode import decode_audio
from shenggu.bench.failures import attempt, failure_table
from shenggu.bench.manifest import ManifestEntry, ManifestError, load_manifest
from shenggu.bench.resources import peak_rss_mb
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import Figure, scatter_plot
from shenggu.reports.results import write_results

SCORES_NAME = "pronunciation/scores.jsonl"
UTTERANCE_TARGETS = ("accuracy", "fluency", "prosodic", "total")
# Summary keys: utterance targets reported, then the word and phone levels.
_SUMMARY_LEVELS = ("utt_accuracy", "utt_total", "utt_fluency", "word_accuracy", "phone_accuracy")
MIN_FOLD_READINGS = 10  # fewer readings than this fit no calibration worth scoring a held-out speaker with


@dataclass
class AssessBenchConfig:
    """The manifest (``pronunciation/scores.jsonl`` beside it) and where to write the results."""

    manifest: Path
    out: Path


@dataclass(frozen=True)
class RatedReading:
    """One recording with its text and expert ratings (a ``scores.jsonl`` row)."""

    id: str
    speaker: str
    path: Path
    text: str
    duration: float
    expert: dict


@dataclass(frozen=True)
class Measured:
    """A rated reading, its analysis and how long analysing it took."""

    reading: RatedReading
    analysis: Analysis
    seconds: float


def load_rated_readings(manifest: Path, skipped: list[dict] | None = None) -> list[RatedReading]:
    """The manifest's English ``pronunciation`` rows that have usable expert scores, in manifest order.

    The other pronunciation rows are appended to ``skipped`` as ``{"id", "reason"}``; rows of other tasks are
    ignored. Raises ``ManifestError`` for a broken manifest or ``scores.jsonl`` (a missing one holds no scores)."""
    scores = _load_scores(Path(manifest).resolve().parent / SCORES_NAME)
    readings = []
    for entry in load_manifest(manifest, task="pronunciation"):
        expert = scores.get(entry.id)
        reason = _unusable(entry, expert)
        if reason or expert is None:
            if skipped is not None:
                skipped.append({"id": entry.id, "reason": reason})
            continue
        speaker = str(expert.get("utt", entry.id))[:5]
        readings.append(RatedReading(entry.id, speaker, entry.path, entry.reference_text, entry.duration_s, expert))
    return readings


def _load_scores(path: Path) -> dict[str, dict]:
    """Expert scores by clip id (one JSON object with an ``id`` a line)."""
    if not path.is_file():
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from None
    scores = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            scores[str(row["id"])] = row
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ManifestError(f"{path}: line {number}: not a JSON object with an id") from None
    return scores


def _unusable(entry: ManifestEntry, expert: dict | None) -> str:
    """Why a pronunciation row cannot be benchmarked ("" when it can)."""
    if entry.language != "en":
        return f"language {entry.language!r}: the benchmark scores English readings"
    if expert is None:
        return f"no expert scores in {SCORES_NAME}"
    if not _complete(expert):
        return "incomplete expert scores"
    try:
        words = normalize_reference(entry.reference_text)
    except InvalidOptionError as exc:
        return exc.message
    if len(words) != len(expert["words"]):
        return f"the expert scores have {len(expert['words'])} words, the reference text {len(words)}"
    return ""


def _complete(expert: dict) -> bool:
    """Whether a scores row has every figure the benchmark pairs: the utterance scores, and per word its accuracy
    and its phones with their scores."""
    try:
        words = expert["words"]
        numbers = [expert[k] for k in (*UTTERANCE_TARGETS, "completeness")] + [w["accuracy"] for w in words]
        numbers += [score for w in words for score in w["phones_accuracy"]]
        phones_scored = all(len(w["phones"]) == len(w["phones_accuracy"]) for w in words)
    except (KeyError, TypeError):
        return False
    return bool(words) and phones_scored and all(_is_score(n) for n in numbers)


def _is_score(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def analyze_readings(
    readings: Sequence[RatedReading], assessor: EnglishAssessor, failures: list[dict] | None = None
) -> list[Measured]:
    """Analyse every reading (raw features, no calibration), timing each one.

    With ``failures``, a reading that cannot be analysed (missing or damaged file, no speech...) is appended there
    as ``{"id", "error": {"code", "message"}}`` and left out; without, its error is raised."""
    measured = []
    for reading in tqdm(readings, desc="assess", unit="clip", file=sys.stderr):
        if failures is None:
            measured.append(_measure(reading, assessor))
        elif (done := attempt(reading.id, lambda r=reading: _measure(r, assessor), failures)) is not None:
            measured.append(done)
    return measured


def _measure(reading: RatedReading, assessor: EnglishAssessor) -> Measured:
    samples = decode_audio(reading.path, max_seconds=MAX_SECONDS)
    start = time.perf_counter()
    analysis = assessor.analyze(samples, reading.text)
    return Measured(reading, analysis, time.perf_counter() - start)


def pair_phones(ours: Sequence[str], theirs: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs ``(ours, theirs)`` of two pronunciations of one word: by position when they have as many phones,
    otherwise along a minimum edit-distance alignment (matches and substitutions; stress digits ignored)."""
    a, b = list(ours), [re.sub(r"\d", "", p) for p in theirs]
    if len(a) == len(b):
        return list(zip(range(len(a)), range(len(b)), strict=True))
    cost = np.zeros((len(a) + 1, len(b) + 1))
    cost[:, 0], cost[0, :] = range(len(a) + 1), range(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    pairs, i, j = [], len(a), len(b)
    while i and j:
        if cost[i, j] == cost[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            i, j = i - 1, j - 1
            pairs.append((i, j))
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _phone_items(measured: Measured) -> Iterable[tuple[dict[str, float], float]]:
    """(features, expert phone score) of every paired phone of one reading."""
    alignment = measured.analysis.alignment
    if alignment is None:
        return
    for word, expert in zip(alignment.words, measured.reading.expert["words"], strict=True):
        for i, j in pair_phones([p.phone for p in word.phones], expert["phones"]):
            yield phone_features(word, word.phones[i]), expert["phones_accuracy"][j]


def _items(measured: Measured, target: str) -> Iterable[tuple[dict[str, float], float]]:
    """(features, expert score) pairs of one reading for a calibration target."""
    alignment = measured.analysis.alignment
    if alignment is None:
        return
    expert = measured.reading.expert
    if target == "phone":
        yield from _phone_items(measured)
    elif target == "word":
        for word, rated in zip(alignment.words, expert["words"], strict=True):
            yield word_features(word), rated["accuracy"]
    else:
        yield utterance_features(alignment), expert[target]


def fit_calibration(measured: Sequence[Measured], meta: dict | None = None) -> Calibration:
    """Fit every target of ``CALIBRATED_TARGETS`` on these readings."""
    targets = {}
    for target, (features, scale) in CALIBRATED_TARGETS.items():
        items = [item for m in measured for item in _items(m, target)]
        x = np.array([[values[name] for name in features] for values, _ in items])
        targets[target] = fit_target(features, x, np.array([score for _, score in items]), scale)
    return Calibration(targets, meta or {})


def heldout_assessments(measured: Sequence[Measured], assessor: EnglishAssessor) -> list[Assessment | None]:
    """Each reading scored by ``assessor`` with a calibration fitted on the other speakers only; ``None`` where the
    other speakers have fewer than ``MIN_FOLD_READINGS`` aligned readings."""
    scored: dict[str, Assessment] = {}
    for speaker in dict.fromkeys(m.reading.speaker for m in measured):
        others = [m for m in measured if m.reading.speaker != speaker and m.analysis.alignment is not None]
        if len(others) < MIN_FOLD_READINGS:
            continue
        fold = assessor.with_calibration(fit_calibration(others))
        for m in measured:
            if m.reading.speaker == speaker:
                scored[m.reading.id] = fold.score(m.analysis)
    return [scored.get(m.reading.id) for m in measured]


@dataclass(frozen=True)
class LevelPairs:
    """System and expert scores paired at every level (0–100 system scores, expert scales as rated)."""

    pairs: dict[str, tuple[list[float], list[float]]]
    phones_compared: int
    phones_skipped: int

    def pcc(self) -> dict[str, float | None]:
        """Pearson correlation per level (``None`` when a side is constant or empty)."""
        return {level: _pearson(system, expert) for level, (system, expert) in self.pairs.items()}


def level_pairs(measured: Sequence[Measured], assessments: Sequence[Assessment | None]) -> LevelPairs:
    """Pair the assessor's scores with the experts' at the utterance, word and phone levels (readings without an
    assessment, ``None``, are left out)."""
    pairs: dict[str, tuple[list[float], list[float]]] = {
        name: ([], []) for name in [f"utt_{t}" for t in UTTERANCE_TARGETS] + ["word_accuracy", "phone_accuracy"]
    }
    compared = skipped = 0
    for m, assessment in zip(measured, assessments, strict=True):
        if assessment is None:
            continue
        expert = m.reading.expert
        for target in UTTERANCE_TARGETS:
            _add(pairs[f"utt_{target}"], getattr(assessment, target), expert[target])
        for word, rated in zip(assessment.words, expert["words"], strict=True):
            _add(pairs["word_accuracy"], word.accuracy, rated["accuracy"])
            matched = pair_phones([p.phone for p in word.phones], rated["phones"])
            for i, j in matched:
                _add(pairs["phone_accuracy"], word.phones[i].accuracy, rated["phones_accuracy"][j])
            compared += len(matched)
            skipped += len(rated["phones"]) - len(matched)
    return LevelPairs(pairs, compared, skipped)


def _add(pair: tuple[list[float], list[float]], system: float, expert: float) -> None:
    pair[0].append(system)
    pair[1].append(expert)


def _pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return round(float(np.corrcoef(x, y)[0, 1]), 4)


def run_assess_bench(config: AssessBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html`` into ``config.out``; return the summary."""
    from shenggu.assess.english import get_english_assessor

    skipped: list[dict] = []
    failures: list[dict] = []
    readings = load_rated_readings(config.manifest, skipped)
    shipped = get_english_assessor()
    measured = analyze_readings(readings, shipped, failures)
    start = time.perf_counter()
    assessments = [shipped.score(m.analysis) for m in measured]
    scoring_s = time.perf_counter() - start
    heldout = heldout_assessments(measured, shipped)
    ours, theirs = level_pairs(measured, assessments), level_pairs(measured, heldout)
    shipped_pcc, heldout_pcc = ours.pcc(), theirs.pcc()
    audio_s = sum(m.analysis.duration for m in measured)
    summary: dict = {f"pcc_{level}": shipped_pcc[level] for level in _SUMMARY_LEVELS}
    summary["n"] = len(measured)
    summary["failed"] = len(failures)
    summary["skipped"] = len(skipped)
    summary["rtf"] = round((sum(m.seconds for m in measured) + scoring_s) / audio_s, 4) if audio_s else None
    summary.update({f"pcc_{level}_heldout": heldout_pcc[level] for level in _SUMMARY_LEVELS})
    details = {
        "pcc_all_levels": shipped_pcc,
        "pcc_all_levels_heldout": heldout_pcc,
        "phones_compared": ours.phones_compared,
        "phones_skipped": ours.phones_skipped,
        "speakers": len({m.reading.speaker for m in measured}),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    rows = [_row(m, a, h) for m, a, h in zip(measured, assessments, heldout, strict=True)]
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows, {"details": details, "failures": failures, "skipped": skipped})
    tables = _tables(rows)
    if failures:
        tables.append(("Failed clips", ("id", "code", "message"), failure_table(failures)))
    if skipped:
        tables.append(("Skipped rows", ("id", "reason"), [[s["id"], s["reason"]] for s in skipped]))
    write_html_report(
        config.out, "shenggu bench assess (English)", {**summary, **details}, _figures(ours, theirs), tables
    )
    return summary


def _row(m: Measured, assessment: Assessment, heldout: Assessment | None) -> dict:
    expert = m.reading.expert
    return {
        "id": m.reading.id,
        "speaker": m.reading.speaker,
        "text": m.reading.text,
        "duration_s": round(m.analysis.duration, 3),
        "rtf": round(m.seconds / m.analysis.duration, 4),
        "expert": {k: expert[k] for k in (*UTTERANCE_TARGETS, "completeness")},
        "system": _utterance_scores(assessment),
        "heldout": _utterance_scores(heldout) if heldout else None,
        "words": [
            {"word": w.word, "expert": rated["accuracy"], "system": round(w.accuracy, 1), "error": w.error}
            for w, rated in zip(assessment.words, expert["words"], strict=True)
        ],
    }


def _utterance_scores(assessment: Assessment) -> dict:
    return {k: round(getattr(assessment, k), 1) for k in (*UTTERANCE_TARGETS, "completeness")}


def _figures(ours: LevelPairs, heldout: LevelPairs) -> list[Figure]:
    figures = []
    for level, (system, expert) in ours.pairs.items():
        held, held_expert = heldout.pairs[level]
        figures.append(scatter_plot(expert, system, f"{level}: shipped calibration", "expert", "system (0-100)"))
        figures.append(scatter_plot(held_expert, held, f"{level}: leave-one-speaker-out", "expert", "system (0-100)"))
    return figures


_TABLE_SCORES = ("total", "accuracy", "fluency")
_TABLE_SOURCES = ("expert", "system", "heldout")


def _tables(rows: list[dict]):
    headers = ["id", "speaker", "text"] + [f"{source} {k}" for k in _TABLE_SCORES for source in _TABLE_SOURCES]
    body = [
        [
            r["id"],
            r["speaker"],
            r["text"],
            *((r[source] or {}).get(k) for k in _TABLE_SCORES for source in _TABLE_SOURCES),
        ]
        for r in rows
    ]
    return [("Utterances (expert 0-10, system 0-100)", headers, body)]
