"""A batch's reports in an output folder:

* ``calls/<name>.json``: per call ``{"call": asdict(call), "result": result.to_dict()}`` (inspectable again under
  a new ruleset: :func:`shenggu.solutions.qa.batch.read_call` reads it);
* ``calls.csv`` (a row per call: file, agent, queue, date, score, each scoring rule's pass / fail / n/a, tags,
  duration, talk ratios, summary, the other metadata), ``findings.csv`` (a row per failed rule of a call, with
  the time and words to listen to, and a link to that moment of the recording), ``agents.csv`` and
  ``queues.csv`` (scorecards), ``rules.csv`` (failures per rule), ``failures.csv`` (items that could not be
  inspected: file, code, message);
* ``batch.json``: all of it for other systems;
* ``report.html``: summary, the findings (each with a link to its moment), plots (score histogram, most failed
  rules, score per agent, score per date) and tables.

The links are the caller's (:data:`~shenggu.solutions.qa.links.AudioLink`): ``shenggu qa inspect`` links to the
recording files relative to the report folder, the API to its audio route.

CSVs open safely in Excel (:mod:`shenggu.reports.spreadsheet_csv`: BOM, no formulas); the HTML escapes all text.
Plots are labelled in ASCII (their font has no Chinese): a name that is not ASCII is shown as its row number
(``#3``) in the table beside it."""

from __future__ import annotations

import html
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
from shenggu.solutions.qa.links import AudioLink
from shenggu.solutions.qa.record import RuleResult, TalkRatios
from shenggu.solutions.qa.scorecards import InspectedCall, Scorecard, scoring_rule_ids

CALLS_DIR = "calls"
RATIOS = tuple(f.name for f in fields(TalkRatios))
_FIXED_COLUMNS = ("file", "call_id", "agent", "queue", "date", "score")
AUDIO_COLUMN = "audio"  # findings: the link to the moment (empty where there is no recording)
_FINDINGS_COLUMNS = ("file", "agent", "queue", "date", "rule_id", "rule", "time", "end", AUDIO_COLUMN, "text", "detail",
                     "reason")  # fmt: skip
FINDINGS_CAPTION = "Findings (failed rules: where to listen)"


def call_file_names(names: Sequence[str]) -> dict[str, str]:
    """Each item's report file under ``calls/``: its name with ``.json`` for its suffix (``a/b.wav`` →
    ``a/b.json``), or with ``.json`` added where two items would share one (``b.wav`` and ``b.json``)."""
    stems = [PurePosixPath(n).with_suffix(".json").as_posix() for n in names]
    shared = Counter(stems)
    return {name: stem if shared[stem] == 1 else f"{name}.json" for name, stem in zip(names, stems, strict=True)}


def write_batch_report(batch: BatchResult, out: Path, audio_link: AudioLink | None = None) -> dict[str, Path]:
    """Write every file of the batch's report into ``out``; returns them by kind (``html``, ``calls_csv``, ...).
    ``audio_link`` (item name, start, end → link) gives each finding's link to its moment; none without it."""
    out.mkdir(parents=True, exist_ok=True)
    json_names = call_file_names([c.name for c in batch.calls])
    for inspected in batch.calls:
        document = {"call": asdict(inspected.call), "result": inspected.result.to_dict()}
        _write_json(out / CALLS_DIR / json_names[inspected.name], document)
    rule_ids = scoring_rule_ids(batch.ruleset)
    findings = _findings_table(batch.calls, audio_link)
    files = {
        "calls_csv": write_spreadsheet_csv(out / "calls.csv", *_calls_table(batch.calls, rule_ids, json_names)),
        "findings_csv": write_spreadsheet_csv(out / "findings.csv", *findings),
        "agents_csv": write_spreadsheet_csv(out / "agents.csv", *_scorecard_table("agent", batch.agents, rule_ids)),
        "queues_csv": write_spreadsheet_csv(out / "queues.csv", *_scorecard_table("queue", batch.queues, rule_ids)),
        "rules_csv": write_spreadsheet_csv(out / "rules.csv", *_rules_table(batch)),
        "failures_csv": write_spreadsheet_csv(out / "failures.csv", ("file", "code", "message"), batch.failures),
        "json": _write_json(out / "batch.json", batch_document(batch, json_names)),
    }
    files["html"] = _write_html(batch, out, rule_ids, findings)
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


def _findings_table(calls: Sequence[InspectedCall], audio_link: AudioLink | None) -> tuple[list[str], list[list[Any]]]:
    rows = []
    for c in calls:
        where = [c.name, c.field("agent"), c.field("queue"), c.date]
        for r in c.result.failed:
            for e in r.evidence or [None]:
                if e is None:
                    said = [None, None, None, "", ""]
                else:
                    link = audio_link(c.name, e.time, e.end) if audio_link is not None else None
                    said = [e.time, e.end, link, e.text, e.detail]
                rows.append([*where, r.rule_id, r.name, *said, r.reason])
    return list(_FINDINGS_COLUMNS), rows


def _findings_html(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The findings table as ready HTML, its audio cells links to the moment (the page's own tables hold text
    only). Every cell and link is escaped; times in seconds to 2 decimals."""

    def cell(column: str, value: Any) -> str:
        if column == AUDIO_COLUMN:
            return f'<a href="{html.escape(value)}">▶ listen</a>' if value else ""
        if isinstance(value, float):
            return f"{value:.2f}"
        return html.escape("" if value is None else str(value))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{cell(h, v)}</td>" for h, v in zip(header, row, strict=True)) + "</tr>" for row in rows
    )
    return f"<table>\n<caption>{html.escape(FINDINGS_CAPTION)}</caption>\n<tr>{head}</tr>\n{body}\n</table>"


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


def _write_html(
    batch: BatchResult, out: Path, rule_ids: Sequence[str], findings: tuple[list[str], list[list[Any]]]
) -> Path:
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
        ("Items that could not be inspected", ("file", "code", "message"), batch.failures),
    ]
    if batch.unmatched_metadata:
        tables.append(("Metadata rows that name no item", ("file",), [[n] for n in batch.unmatched_metadata]))
    title = f"Quality inspection: {batch.ruleset.name} (version {batch.ruleset.version})"
    # The findings come first, as a block: their links need HTML that the page's escaped tables cannot hold.
    return write_html_report(out, title, batch.summary(), _figures(batch), tables, blocks=[_findings_html(*findings)])
