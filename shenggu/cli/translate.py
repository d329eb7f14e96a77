"""``shenggu translate`` and ``shenggu bench translate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, bench_app, friendly_errors, print_summary


@app.command()
@friendly_errors
def translate(
    text: Annotated[str | None, typer.Argument(help="Text to translate (or use --file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the text from this UTF-8 file.")] = None,
    to: Annotated[str, typer.Option("--to", help="Target language: en or zh.")] = "en",
    glossary: Annotated[Path | None, typer.Option(help="Term pairs to use: JSON object or TSV lines.")] = None,
    checks: Annotated[bool, typer.Option(help="Verify numbers, dates, drugs, terms; retry or flag.")] = True,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
) -> None:
    """Translate Mandarin ↔ English with the local model; sentences that fail a self-check are flagged."""
    from shenggu.config import get_settings
    from shenggu.errors import InvalidOptionError
    from shenggu.text.script import text_language
    from shenggu.translate.glossary import load_glossary
    from shenggu.translate.pipeline import translate as run
    from shenggu.translate.registry import get_translator

    if (text is None) == (file is None):
        raise InvalidOptionError("give the text or --file, not both")
    if fmt not in ("text", "json"):
        raise InvalidOptionError(f"unknown format '{fmt}' (choose text or json)")
    try:
        source_text = text if text is not None else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    source = text_language(source_text)
    if source == to:
        raise InvalidOptionError(f"the text is already in '{to}' (translate to the other language)")
    direction = f"{source}-{to}"
    terms = load_glossary(glossary) if glossary else {}
    result = run(source_text, direction, get_translator(get_settings()), terms, "cli", checks)
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(result.text)
    for sentence in result.sentences:
        if sentence.needs_review:
            typer.echo(f"needs review: {sentence.source} → {sentence.text} ({'; '.join(sentence.problems)})", err=True)


@bench_app.command("translate")
@friendly_errors
def bench_translate(
    pairs: Annotated[Path, typer.Option(help="TSV: id, direction (zh-en|en-zh), source, reference.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    baseline: Annotated[bool, typer.Option(help="Also run the raw model with a plain prompt and no checks.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N pairs.")] = None,
) -> None:
    """Translation: chrF/BLEU per direction, fact preservation, needs-review rate, sentences per second."""
    from shenggu.bench.translate import TranslateBenchConfig, run_translate_bench

    summary = run_translate_bench(TranslateBenchConfig(pairs, out, baseline, limit))
    print_summary(summary, out)


@bench_app.command("llm")
@friendly_errors
def bench_llm(
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    requests: Annotated[int, typer.Option(help="Requests per concurrency level.")] = 8,
    max_tokens: Annotated[int, typer.Option(help="Tokens generated per request (at most).")] = 96,
) -> None:
    """Language model: load time, tokens/s, first-token time and RSS with 1 and 4 concurrent requests."""
    from shenggu.bench.llm import LlmBenchConfig, run_llm_bench
    from shenggu.errors import InvalidOptionError

    if requests < 1 or max_tokens < 1:
        raise InvalidOptionError("--requests and --max-tokens must be at least 1")
    summary = run_llm_bench(LlmBenchConfig(out, requests, max_tokens))
    print_summary(summary, out)
