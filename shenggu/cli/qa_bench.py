"""``shenggu bench qa``: call-centre quality inspection, text level: per-call satisfaction and accomplishment
estimates against annotators, and sentiment accuracy against the SnowNLP baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import bench_app, friendly_errors, print_summary


@bench_app.command("qa")
@friendly_errors
def bench_qa(
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    dialogues: Annotated[
        Path | None,
        typer.Option(help="Dialogues JSONL (shared/eval/callcentre/dialogues.jsonl): turns of agent and customer."),
    ] = None,
    sentiment: Annotated[
        Path | None, typer.Option(help="Sentiment TSV (shared/eval/sentiment/pairs.tsv): id, text, label 1/0.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N dialogues and N sentiment rows.")] = None,
) -> None:
    """QA: satisfaction/accomplishment Spearman (shipped and leave-one-out), sentiment accuracy vs SnowNLP."""
    from shenggu.bench.qa import QaBenchConfig, run_qa_bench
    from shenggu.errors import InvalidOptionError

    if dialogues is None and sentiment is None:
        raise InvalidOptionError("give --dialogues, --sentiment or both")
    if limit is not None and limit < 1:
        raise InvalidOptionError("--limit must be at least 1")
    summary = run_qa_bench(QaBenchConfig(dialogues, sentiment, out, limit))
    print_summary(summary, out)
