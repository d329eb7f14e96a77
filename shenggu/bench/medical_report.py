"""The report page of ``shenggu bench medical``: its figures (ASCII labels: the plots' font has no CJK glyphs)
and tables (passages, report sections side by side, invented values, vitals and doses, round trip, failures)."""

from __future__ import annotations

from collections.abc import Sequence

from shenggu.bench.failures import failure_table
from shenggu.bench.medical_scoring import (
    REPORT_SECTIONS,
    SECTION_LABELS,
    TYPE_LABELS,
    Span,
    overlapping,
    rounded,
    total_counts,
)
from shenggu.reports.page import Table
from shenggu.reports.plots import Figure, bar_plot, histogram_plot

SYSTEMS = (("ours", ""), ("baseline", "baseline_"))  # row key and summary key prefix of each system


def report_figures(summary: dict, report_rows: list[dict]) -> list[Figure]:
    """Scores of both systems, F1 by type, ROUGE-L by section and per dialogue."""
    figures = []
    labels, values = [], []
    for system, prefix in SYSTEMS:
        for key in ("entity_f1", "entity_f1_exact", "entity_precision", "entity_recall", "report_rouge_l"):
            if summary.get(prefix + key) is not None:
                labels.append(f"{system}:{key.removeprefix('entity_')}")
                values.append(summary[prefix + key])
    if labels:
        figures.append(bar_plot(labels, values, "Entities (overlap match) and reports (ROUGE-L)", "score"))
    for system, prefix in SYSTEMS:
        by_type = summary.get(f"{prefix}entity_f1_by_type") or {}
        if by_type:
            names = [TYPE_LABELS.get(t, t) for t in by_type]
            figures.append(bar_plot(names, [v or 0.0 for v in by_type.values()], f"Entity F1 by type ({system})", "F1"))
    labels, values = [], []
    for system, prefix in SYSTEMS:
        by_section = summary.get(f"{prefix}report_rouge_l_by_section") or {}
        for section, value in by_section.items():
            labels.append(f"{system}:{SECTION_LABELS[section]}")
            values.append(value or 0.0)
    if labels:
        figures.append(bar_plot(labels, values, "Report ROUGE-L by section", "ROUGE-L F1"))
    per_item = [r["ours"]["rouge_l"] for r in report_rows]
    if per_item:
        bins = [i / 10 for i in range(11)]
        figures.append(histogram_plot(per_item, "Drafted reports: ROUGE-L per dialogue (shenggu)", "ROUGE-L F1", bins))
    return figures


def _f1(row: dict, system: str) -> float | None:
    return rounded(total_counts([row[system]["overlap"]]).f1) if system in row else None


def _spans_text(spans: Sequence[Span]) -> str:
    return "；".join(f"{s.type}:{s.text}" for s in spans)


def report_tables(
    ner_rows: list[dict], report_rows: list[dict], round_trip_rows: list[dict], failures: list[dict], summary: dict
) -> list[Table]:
    """The page's tables: each passage's scores with what we missed, each report section side by side, the
    invented values, vitals and doses not exact or not read, the round trip and the failed items."""
    ner_columns = ("id", "source", "gold", "ours", "f1", "baseline f1", "missed (ours)")
    ner_table = [
        [
            r["id"], r["source"], len(r["gold"]), len(r["ours"]["predicted"]), _f1(r, "ours"), _f1(r, "baseline"),
            _spans_text([g for g in r["gold"] if not any(overlapping(g, p) and p.type == g.type
                                                          for p in r["ours"]["predicted"])]),
        ]
        for r in ner_rows
    ]  # fmt: skip
    section_columns = ("id", "section", "reference", "ours", "ours ROUGE-L", "baseline", "baseline ROUGE-L")
    section_table = [
        [
            r["id"], section, r["reference"][section], r["ours"]["sections"][section],
            round(r["ours"]["scores"][section], 3), r.get("baseline", {}).get("sections", {}).get(section, ""),
            round(r["baseline"]["scores"][section], 3) if "baseline" in r else None,
        ]
        for r in report_rows
        for section in REPORT_SECTIONS
    ]  # fmt: skip
    tables = [("Entity passages", ner_columns, ner_table), ("Report sections", section_columns, section_table)]
    invented = summary.get("invented_values", []) + summary.get("baseline_invented_values", [])
    if invented:
        tables.append(("Invented values", ("id", "value"), [[v["id"], v["value"]] for v in invented]))
    mismatches = summary.get("vitals_doses_mismatches", []) + summary.get("doses_unread", [])
    if mismatches:
        columns = ("id", "kind", "text", "read")
        tables.append(
            ("Vitals and doses not exact, doses not read", columns, [[m[c] for c in columns] for m in mismatches])
        )
    if round_trip_rows:
        columns = ("id", "said", "heard", "cer", "cer_without_vocabulary", "entity_f1", "clean_entity_f1")
        tables.append(("Round trip", columns, [[r[c] for c in columns] for r in round_trip_rows]))
    if failures:
        tables.append(("Failed items", ("id", "code", "message"), failure_table(failures)))
    return tables
