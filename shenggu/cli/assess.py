"""Pronunciation commands: ``shenggu assess``, ``shenggu exam score`` and ``shenggu bench assess``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, bench_app, friendly_errors, print_summary

exam_app = typer.Typer(no_args_is_help=True, help="Classroom and exam oral scoring.")
app.add_typer(exam_app, name="exam")


@app.command()
@friendly_errors
def assess(
    file: Annotated[Path, typer.Argument(help="A recording of the text being read aloud.")],
    text: Annotated[str, typer.Option(help="The text that was to be read.")],
    language: Annotated[str, typer.Option(help="en or zh.")] = "en",
) -> None:
    """Score a reading: accuracy, fluency, completeness, prosody and total (0-100), per word and phone/syllable."""
    from shenggu.assess.registry import get_assessor
    from shenggu.audio.decode import decode_audio
    from shenggu.config import get_settings

    assessor = get_assessor(language, get_settings())
    result = assessor.assess(decode_audio(file), text)
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))


@exam_app.command("score")
@friendly_errors
def exam_score(
    exam: Annotated[Path, typer.Option(help="Exam definition (JSON: items with id, language, text, weight).")],
    recordings: Annotated[Path, typer.Option(help="Folder with one sub-folder per student: <item id>.<ext>.")],
    out: Annotated[Path, typer.Option(help="Output folder: class.csv, class.html, students/*.html.")],
) -> None:
    """Score a class's recordings of an exam; write per-student reports and the class summary."""
    from shenggu.config import get_settings
    from shenggu.solutions.exam import load_exam, score_class, write_reports

    definition = load_exam(exam)
    results = score_class(definition, recordings, get_settings())
    files = write_reports(definition, results, out)
    typer.echo(f"{len(results)} students scored; class report: {files['html']}; table: {files['csv']}")


@bench_app.command("assess")
@friendly_errors
def bench_assess(
    manifest: Annotated[Path, typer.Option(help="Manifest TSV with pronunciation rows (scores.jsonl beside).")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
) -> None:
    """Pronunciation assessment against expert scores: Pearson correlation per level, RTF."""
    from shenggu.bench.assess import AssessBenchConfig, run_assess_bench

    summary = run_assess_bench(AssessBenchConfig(manifest, out))
    print_summary(summary, out)
