"""Exam reports: one HTML page per student (each item's text coloured word by word, scores, plots), and the
class summary (CSV, and HTML with the score distribution), plus ``results.json``."""

from __future__ import annotations

import csv
import html
import io
import re
import statistics
from pathlib import Path

from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, histogram_plot
from shenggu.reports.results import write_results
from shenggu.solutions.exam.exam import Exam
from shenggu.solutions.exam.scoring import ItemResult, StudentResult

# Word colours by accuracy: good, fair, poor; omitted words are struck through.
_GOOD, _FAIR = 80.0, 60.0
_WORD_CSS = (
    "<style>.w{padding:0 .1em;border-radius:3px}.good{background:#d8f0d8}.fair{background:#fbeec2}"
    ".poor{background:#f6c9c9}.omission{text-decoration:line-through;color:#999}</style>"
)


def write_reports(exam: Exam, results: list[StudentResult], out: Path) -> dict[str, Path]:
    """Write ``class.csv``, ``class.html``, ``results.json`` and ``students/<student>.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    pages = out / "students"
    pages.mkdir(exist_ok=True)
    files = {"csv": _write_csv(exam, results, out / "class.csv")}
    for result in results:
        files[f"student:{result.student}"] = _student_page(exam, result, pages)
    summary = class_summary(exam, results)
    rows = [_row(r) for r in results]
    files["results"] = write_results(out, summary, rows, {"exam": {"id": exam.id, "title": exam.title}})
    links = "".join(
        f'<li><a href="students/{html.escape(_file_name(r.student))}.html">{html.escape(r.student)}</a>'
        f" — {r.total:.1f}</li>"
        for r in results
    )
    totals = [r.total for r in results]
    figures = [histogram_plot(totals, "Score distribution", "weighted total (0-100)", bins=list(range(0, 101, 10)))]
    figures.append(
        bar_plot(
            [i.id for i in exam.items], [summary["item_means"][i.id] for i in exam.items], "Mean per item", "score"
        )
    )
    files["html"] = write_html_report(
        out, f"{exam.title}: class summary", summary, figures, blocks=[f"<h2>Students</h2><ul>{links}</ul>"],
        name="class.html",
    )  # fmt: skip
    return files


def class_summary(exam: Exam, results: list[StudentResult]) -> dict:
    """Students, mean/median/min/max of the weighted totals, and each item's mean."""
    totals = [r.total for r in results]
    return {
        "exam": exam.id,
        "students": len(results),
        "mean": round(statistics.fmean(totals), 1) if totals else None,
        "median": round(statistics.median(totals), 1) if totals else None,
        "min": round(min(totals), 1) if totals else None,
        "max": round(max(totals), 1) if totals else None,
        "missing_or_failed": sum(1 for r in results for i in r.items if i.assessment is None),
        "item_means": {
            item.id: round(statistics.fmean(r.items[k].total for r in results), 1) if results else None
            for k, item in enumerate(exam.items)
        },
    }


def _row(result: StudentResult) -> dict:
    return {
        "student": result.student,
        "total": round(result.total, 1),
        "items": {
            r.item.id: (
                r.assessment.to_dict()
                if r.assessment
                else {"total": 0.0, "problem": r.problem, "error": {"code": r.code, "message": r.problem}}
            )
            for r in result.items
        },
    }


def _write_csv(exam: Exam, results: list[StudentResult], path: Path) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", *(item.id for item in exam.items), "total", "problems"])
    for r in results:
        problems = "; ".join(f"{i.item.id}: {i.problem}" for i in r.items if i.problem)
        writer.writerow([r.student, *(f"{i.total:.1f}" for i in r.items), f"{r.total:.1f}", problems])
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")  # BOM: spreadsheet programs then read UTF-8
    return path


def _student_page(exam: Exam, result: StudentResult, folder: Path) -> Path:
    summary = {"student": result.student, "exam": exam.title, "total": round(result.total, 1)}
    blocks = [_WORD_CSS] + [_item_block(r) for r in result.items]
    labels = [r.item.id for r in result.items]
    figures = [bar_plot(labels, [r.total for r in result.items], "Score per item", "score (0-100)")]
    headers = ("item", "weight", "total", "accuracy", "fluency", "completeness", "prosodic", "problem")
    rows = [[r.item.id, r.item.weight, *(_scores(r)), r.problem] for r in result.items]
    return write_html_report(
        folder, f"{exam.title}: {result.student}", summary, figures, [("Items", headers, rows)], blocks,
        name=f"{_file_name(result.student)}.html",
    )  # fmt: skip


def _scores(result: ItemResult) -> list[float | None]:
    a = result.assessment
    if a is None:
        return [0.0, None, None, None, None]
    return [
        round(a.total, 1),
        round(a.accuracy, 1),
        round(a.fluency, 1),
        round(a.completeness, 1),
        round(a.prosodic, 1),
    ]


def _item_block(result: ItemResult) -> str:
    title = html.escape(result.item.title or result.item.id)
    if result.assessment is None:
        return f"<h2>{title}</h2><p>{html.escape(result.item.text)}</p><p><b>{html.escape(result.problem)}</b></p>"
    joiner = "" if result.item.language == "zh" else " "
    words = joiner.join(
        f'<span class="w {_band(w.accuracy, w.error)}" title="{w.accuracy:.0f}">{html.escape(w.word)}</span>'
        for w in result.assessment.words
    )
    return f"<h2>{title} — {result.assessment.total:.1f}</h2><p>{words}</p>"


def _band(accuracy: float, error: str) -> str:
    if error == "omission":
        return "omission"
    return "good" if accuracy >= _GOOD else "fair" if accuracy >= _FAIR else "poor"


def _file_name(student: str) -> str:
    return re.sub(r"[^\w.-]", "_", student)[:80] or "student"
