"""``shenggu bench faq``: FAQ retrieval accuracy, typed and spoken, against the embedding-only baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import bench_app, friendly_errors, print_summary


@bench_app.command("faq")
@friendly_errors
def bench_faq(
    kb: Annotated[Path, typer.Option(help="Knowledge base TSV: kb_id, question[, answer].")],
    queries: Annotated[Path, typer.Option(help="Queries TSV: query_id, query, gold_kb_id.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    spoken: Annotated[
        bool, typer.Option("--spoken", help="Also speak every query (TTS), transcribe it (ASR) and retrieve that.")
    ] = False,
    voice: Annotated[
        str | None, typer.Option(help="With --spoken: voice id (default: the default voice of each query's language).")
    ] = None,
    embedding_only: Annotated[
        bool, typer.Option("--embedding-only", help="Run only the embedding-only baseline ranker.")
    ] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N queries.")] = None,
    cv: Annotated[
        int,
        typer.Option(
            help="K-fold cross-validation: fusion and confidence chosen on K-1 folds (by gold entry), scored on the "
            "held-out fold (cv_* keys, with --spoken also cv_spoken_*). 0: none."
        ),
    ] = 0,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank", help="With --cv: also cross-validate the language-model re-ranker (slow: seconds per query)."
        ),
    ] = False,
    transcripts: Annotated[
        Path | None,
        typer.Option(
            help="With --spoken: JSON cache of the transcripts (reused and extended), so queries are decoded once."
        ),
    ] = None,
    vocabulary: Annotated[
        bool,
        typer.Option(
            help="With --spoken: recognize the queries with the knowledge base's vocabulary, as the voice assistant "
            "does (each is also recognized without it, for the baseline and the spoken_vocabulary_* keys)."
        ),
    ] = True,
    off_topic: Annotated[
        Path | None,
        typer.Option(
            help="Questions the base cannot answer (text, one a line; or dialogues .jsonl, customer turns): how "
            "many are answered anyway (off_topic_answered)."
        ),
    ] = None,
) -> None:
    """FAQ retrieval: top-1, top-3, MRR, abstentions (fused ranker vs embedding-only), optionally on spoken queries."""
    from shenggu.bench.faq import FaqBenchConfig, run_faq_bench
    from shenggu.errors import InvalidOptionError
    from shenggu.tts.voices import get_voice

    if voice is not None:
        if not spoken:
            raise InvalidOptionError("--voice needs --spoken")
        get_voice(voice)  # an unknown voice fails before any model loads
    if limit is not None and limit < 1:
        raise InvalidOptionError("--limit must be at least 1")
    if transcripts is not None and not spoken:
        raise InvalidOptionError("--transcripts needs --spoken")
    if cv == 1 or cv < 0:
        raise InvalidOptionError("--cv must be 0 (none) or at least 2 folds")
    if cv and embedding_only:
        raise InvalidOptionError("--cv tunes the fused ranker: not with --embedding-only")
    if rerank and not cv:
        raise InvalidOptionError("--rerank needs --cv")
    config = FaqBenchConfig(
        kb, queries, out, spoken, voice, embedding_only, limit, transcripts, cv, rerank, off_topic, vocabulary
    )
    summary = run_faq_bench(config)
    print_summary(summary, out)
