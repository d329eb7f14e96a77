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
    labels: Annotated[
        Path | None, typer.Option(help="Rule truths TSV (id, rule, label, turn, note); default: the bundled labels.")
    ] = None,
    rules: Annotated[Path | None, typer.Option(help="Rules YAML/JSON to judge by (default: the bundled set).")] = None,
    summaries: Annotated[
        int, typer.Option(help="Summarize the first N dialogues with the bundled language model (faithfulness).")
    ] = 0,
    spoken: Annotated[
        int, typer.Option(help="Speak the first N dialogues as stereo calls (two TTS voices) and inspect them.")
    ] = 0,
) -> None:
    """QA: satisfaction/accomplishment Spearman, sentiment vs SnowNLP, rule precision/recall against labels,
    summary faithfulness, spoken calls per hour."""
    from shenggu.bench.qa import QaBenchConfig, run_qa_bench
    from shenggu.bench.qa_rules import LABELS
    from shenggu.errors import InvalidOptionError

    if dialogues is None and sentiment is None:
        raise InvalidOptionError("give --dialogues, --sentiment or both")
    if limit is not None and limit < 1:
        raise InvalidOptionError("--limit must be at least 1")
    if summaries < 0 or spoken < 0:
        raise InvalidOptionError("--summaries and --spoken must be 0 or more")
    if (summaries or spoken) and dialogues is None:
        raise InvalidOptionError("--summaries and --spoken need --dialogues")
    config = QaBenchConfig(dialogues, sentiment, out, limit, labels or LABELS, rules, summaries, spoken)
    summary = run_qa_bench(config)
    print_summary(summary, out)
