"""``shenggu bench assistant``: the voice assistant's end-to-end latency."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import bench_app, friendly_errors, print_summary


@bench_app.command("assistant")
@friendly_errors
def bench_assistant(
    kb: Annotated[Path, typer.Option(help="Knowledge base: TSV kb_id, question[, answer] (or CSV, XLSX, Markdown).")],
    queries: Annotated[Path, typer.Option(help="TSV: query_id, query, gold_kb_id.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    limit: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    end_silence_ms: Annotated[
        int | None, typer.Option(help="Silence that ends a spoken question (default: the assistant's).")
    ] = None,
) -> None:
    """Voice loop latency: spoken questions streamed in real time → first answer audio, with its breakdown."""
    from shenggu.bench.assistant import AssistantBenchConfig, run_assistant_bench
    from shenggu.errors import InvalidOptionError

    if limit is not None and limit < 1:
        raise InvalidOptionError("--limit must be at least 1")
    summary = run_assistant_bench(AssistantBenchConfig(kb, queries, out, limit, end_silence_ms))
    print_summary(summary, out)
