"""A batch's reports in an output folder:

* ``calls/<name>.json``: per call ``{"call": asdict(call), "result": result.to_dict()}`` (inspectable again under
  a new ruleset: :func:`shenggu.solutions.qa.batch.read_call` reads it);
* ``calls.csv`` (a row per call: file, agent, queue, date, score, each scoring rule's pass / fail / n/a, tags,
  duration, talk ratios, summary, the other metadata), ``findings.csv`` (a row per failed rule of a call, with
  the time and words to listen to), ``agents.csv`` and ``queues.csv`` (scorecards), ``rules.csv`` (failures per
  rule), ``failures.csv`` (items that could not be inspected: file, code, message);
* ``batch.json``: all of it for other systems;
* ``report.html``: summary, plots (score histogram, most failed rules, score per agent, score per date) and tables.

CSVs open safely in Excel (:mod:`shenggu.reports.spreadsheet_csv`: BOM, no formulas); the HTML escapes all text.
Plots are labelled in ASCII (their font has no Chinese): a name that is not ASCII is shown as its row number
(``#3``) in the table beside it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path, PurePosixPath
from typing import Any

from shenggu.reports.page import write_html_report
from shenggu.reports.plots import Figure, bar_plot, histogram_plot
from shenggu.reports.results import jsonable, write_text_atomically
from shenggu.reports.spreadsheet_csv import write_spreadsheet_csv
from shenggu.solutions.qa.batch import BatchResult
from shenggu.solutions.qa.record import RuleResult, TalkRatios
from shenggu.solutions.qa.scorecards import InspectedCall, Scorecard, scoring_rule_ids

CALLS_DIR = "calls"
RATIOS = tuple(f.name for f in fields(TalkRatios))
_FIXED_COLUMNS = ("file", "call_id", "agent", "queue", "date", "score")


def call_file_names(names: Sequence[str]) -> dict[str, str]:
    """Each item's report file under ``calls/``: its name with ``.json`` for its suffix (``a/b.wav`` →
    ``a/b.json``), or with ``.json`` added where two items would share one (``b.wav`` and ``b.json``)."""
    stems = [PurePosixPath(n).with_suffix(".json").as_posix() for n in names]
    shared = Counter(stems)
    return {name: stem if shared[stem] == 1 else f"{name}.json" for name, stem in zip(names, stems, strict=True)}


def write_batch_report(batch: BatchResult, out: Path) -> dict[str, Path]:
    """Write every file of the batch's report into ``out``; returns them by kind (``html``, ``calls_csv``, ...)."""
    out.mkdir(parents=True, exist_ok=True)
    json_names = call_file_names([c.name for c in batch.calls])
    for inspected in batch.calls:
        document = {"call": asdict(inspected.call), "result": inspected.result.to_dict()}
        _write_json(out / CALLS_DIR / json_names[inspected.name], document)
    rule_ids = scoring_rule_ids(batch.ruleset)
    files = {
        "calls_csv": write_spreadsheet_csv(out / "calls.csv", *_calls_table(batch.calls, rule_ids, json_names)),
        "findings_csv": write_spreadsheet_csv(out / "findings.csv", *_findings_table(batch.calls)),
        "agents_csv": write_spreadsheet_csv(out / "agents.csv", *_scorecard_table("agent", batch.agents, rule_ids)),
        "queues_csv": write_spreadsheet_csv(out / "queues.csv", *_scorecard_table("queue", batch.queues, rule_ids)),
        "rules_csv": write_spreadsheet_csv(out / "rules.csv", *_rules_table(batch)),
        "failures_csv": write_spreadsheet_csv(out / "failures.csv", ("file", "code", "message"), batch.failures),
        "json": _write_json(out / "batch.json", batch_document(batch, json_names)),
    }
    files["html"] = _write_html(batch, out, rule_ids)
    return files


def batch_document(batch: BatchResult, json_names: dict[str, str] | None = None) -> dict[str, Any]:
    """``batch.json``: the summary, scorecards, rule statistics, trend, tags, failures, and a line per call
    (its report file under ``calls/``, score, failed rule ids, tags, metadata)."""
    json_names = json_names or call_file_names([c.name for c in batch.calls])
    return {
        "summary": batch.summary(),
        "agents": [asdict(s) for s in batch.agents],
        "queues": [asdict(s) for s in batch.queues],
        "rules": [s.to_dict() for s in batch.rules],
        "top_failed_rules": [s.rule_id for s in batch.top_failed_rules],
        "trend": [asdict(p) for p in batch.trend],
        "tags": batch.tags,
        "failures": [f._asdict() for f in batch.failures],
        "unmatched_metadata": batch.unmatched_metadata,
        "calls": [
            {
                "file": c.name,
                "report": f"{CALLS_DIR}/{json_names[c.name]}",
                "call_id": c.call.id,
                "score": c.result.score,
                "failed": [r.rule_id for r in c.result.failed],
                "tags": c.result.tags,
                "duration": c.call.duration,
                "ratios": asdict(c.result.ratios),
                "metadata": c.result.metadata,
            }
            for c in batch.calls
        ],
    }


def _write_json(path: Path, document: Any) -> Path:
    text = json.dumps(jsonable(document), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return write_text_atomically(path, text)


def _verdict(result: RuleResult | None) -> str:
    if result is None:
        return ""
    if not result.applicable:
        return "n/a"
    return "pass" if result.passed else "fail"


def _ratios(ratios: TalkRatios) -> list[float]:
    return [round(getattr(ratios, name), 4) for name in RATIOS]


def _calls_table(
    calls: Sequence[InspectedCall], rule_ids: Sequence[str], json_names: dict[str, str]
) -> tuple[list[str], list[list[Any]]]:
    fixed = [*_FIXED_COLUMNS, *rule_ids, "failed_rules", "tags", "duration", *(f"{r}_ratio" for r in RATIOS)]
    fixed.append("summary")
    extra = list(dict.fromkeys(k for c in calls for k in c.result.metadata if k not in fixed))
    rows = []
    for c in calls:
        verdicts = {r.rule_id: r for r in c.result.rules}
        rows.append(
            [
                c.name,
                c.call.id,
                c.field("agent"),
                c.field("queue"),
                c.date,
                c.result.score,
                *(_verdict(verdicts.get(rid)) for rid in rule_ids),
                "; ".join(r.name for r in c.result.failed),
                "; ".join(c.result.tags),
                round(c.call.duration, 2),
                *_ratios(c.result.ratios),
                c.result.summary,
                *(c.field(key) for key in extra),
            ]
        )
    return [*fixed, *extra], rows


def _findings_table(calls: Sequence[InspectedCall]) -> tuple[list[str], list[list[Any]]]:
    header = ["file", "agent", "queue", "date", "rule_id", "rule", "time", "end", "text", "detail", "reason"]
    rows = []
    for c in calls:
        where = [c.name, c.field("agent"), c.field("queue"), c.date]
        for r in c.result.failed:
            for e in r.evidence or [None]:
                said = [e.time, e.end, e.text, e.detail] if e is not None else [None, None, "", ""]
                rows.append([*where, r.rule_id, r.name, *said, r.reason])
    return header, rows


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _scorecard_table(
    kind: str, cards: Sequence[Scorecard], rule_ids: Sequence[str]
) -> tuple[list[str], list[list[Any]]]:
    header = [kind, "calls", "mean_score", *(f"{rid} pass rate" for rid in rule_ids), *(f"{r}_ratio" for r in RATIOS)]
    rows = [
        [
            card.name,
            card.calls,
            round(card.mean_score, 2),
            *(_rate(card.pass_rates.get(rid)) for rid in rule_ids),
            *_ratios(card.ratios),
        ]
        for card in cards
    ]
    return header, rows


def _rules_table(batch: BatchResult) -> tuple[list[str], list[list[Any]]]:
    header = ["rule_id", "name", "kind", "weight", "applied", "failures", "failure_share", "pass_rate"]
    rows = [
        [s.rule_id, s.name, s.kind, s.weight, s.applied, s.failures, _rate(s.failure_share), _rate(s.pass_rate)]
        for s in batch.rules
    ]
    return header, rows


def _plot_labels(names: Sequence[str]) -> list[str]:
    """Names for a plot's axis: as they are where ASCII, else their row number in the table beside it."""
    return [name if name.isascii() else f"#{i}" for i, name in enumerate(names, start=1)]


def _figures(batch: BatchResult) -> list[Figure]:
    figures = []
    if batch.calls:
        scores = [c.result.score for c in batch.calls]
        figures.append(histogram_plot(scores, "Call scores", "score (0-100)", bins=list(range(0, 101, 10))))
    failed = batch.top_failed_rules
    if failed:
        labels = _plot_labels([s.rule_id for s in failed])
        shares = [100.0 * (s.failure_share or 0.0) for s in failed]
        figures.append(bar_plot(labels, shares, "Most failed rules (% of the calls where they applied)", "% failed"))
    if batch.agents:
        labels = _plot_labels([card.name for card in batch.agents])
        figures.append(bar_plot(labels, [c.mean_score for c in batch.agents], "Mean score per agent", "score"))
    if batch.trend:
        labels = _plot_labels([point.date for point in batch.trend])
        figures.append(bar_plot(labels, [p.mean_score for p in batch.trend], "Mean score per date", "score"))
    return figures


def _numbered(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[list[str], list[list[Any]]]:
    return ["#", *header], [[i, *row] for i, row in enumerate(rows, start=1)]


def _write_html(batch: BatchResult, out: Path, rule_ids: Sequence[str]) -> Path:
    top_rows = [[s.rule_id, s.name, s.failures, s.applied, _rate(s.failure_share)] for s in batch.top_failed_rules]
    trend_rows = [[p.date, p.calls, round(p.mean_score, 2)] for p in batch.trend]
    calls_rows = [
        [c.name, c.field("agent"), c.field("queue"), c.date, c.result.score, "; ".join(r.name for r in c.result.failed)]
        for c in batch.calls
    ]
    tables = [
        ("Agents", *_numbered(*_scorecard_table("agent", batch.agents, rule_ids))),
        ("Queues", *_scorecard_table("queue", batch.queues, rule_ids)),
        ("Most failed rules", *_numbered(("rule_id", "name", "failures", "applied", "failure_share"), top_rows)),
        ("Rules", *_rules_table(batch)),
        ("Score per date", *_numbered(("date", "calls", "mean_score"), trend_rows)),
        ("Tags", ("tag", "calls"), list(batch.tags.items())),
        ("Calls", ("file", "agent", "queue", "date", "score", "failed rules"), calls_rows),
        ("Findings (failed rules: where to listen)", *_findings_table(batch.calls)),
        ("Items that could not be inspected", ("file", "code", "message"), batch.failures),
    ]
    if batch.unmatched_metadata:
        tables.append(("Metadata rows that name no item", ("file",), [[n] for n in batch.unmatched_metadata]))
    title = f"Quality inspection: {batch.ruleset.name} (version {batch.ruleset.version})"
    return write_html_report(out, title, batch.summary(), _figures(batch), tables)
