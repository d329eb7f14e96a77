"""``shenggu bench medical``: entity extraction and drafted consultation records on real clinical text, against
the bundled language model asked plainly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import bench_app, friendly_errors, print_summary

# Recognition on the shared 2-core machines: more clips than this is a long run (and a loaded machine).
MAX_ROUND_TRIP = 8


@bench_app.command("medical")
@friendly_errors
def bench_medical(
    records: Annotated[
        Path, typer.Option(help="Records JSONL (shared/eval/medical/records.jsonl): ner and dialogue_to_report items.")
    ],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    limit: Annotated[int | None, typer.Option(help="Only the first N items of each task.")] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also ask the bundled language model with one plain prompt per task (slow).")
    ] = True,
    round_trip: Annotated[
        int,
        typer.Option(
            help=f"Speak the first N ner passages (cut to ~150 characters) with the Mandarin TTS and recognize them "
            f"with the medical vocabulary (at most {MAX_ROUND_TRIP}). 0: none."
        ),
    ] = 0,
    voice: Annotated[
        str | None, typer.Option(help="With --round-trip: a Mandarin voice id (default: the default Mandarin voice).")
    ] = None,
    llm_fill: Annotated[
        bool,
        typer.Option(
            "--llm-fill", help="Also score our drafts with the model's grounded fill-in of their empty sections."
        ),
    ] = False,
    answers: Annotated[
        Path | None,
        typer.Option(
            help="With the baseline: JSON file of the model's answers (reused and extended), so that an interrupted "
            "or repeated run asks the model once per item."
        ),
    ] = None,
) -> None:
    """Medical: entity F1 (overlap and exact), report ROUGE-L, invented values, vitals/doses, vs a plain LLM."""
    from shenggu.bench.medical import MedicalBenchConfig, run_medical_bench
    from shenggu.errors import InvalidOptionError
    from shenggu.tts.voices import get_voice

    if limit is not None and limit < 1:
        raise InvalidOptionError("--limit must be at least 1")
    if not 0 <= round_trip <= MAX_ROUND_TRIP:
        raise InvalidOptionError(f"--round-trip must be between 0 and {MAX_ROUND_TRIP}")
    if voice is not None:
        if not round_trip:
            raise InvalidOptionError("--voice needs --round-trip")
        if get_voice(voice).language != "zh":  # an unknown or English voice fails before any model loads
            raise InvalidOptionError(f"--voice {voice} is not a Mandarin voice")
    if answers is not None and not baseline:
        raise InvalidOptionError("--answers needs the baseline (not with --no-baseline)")
    config = MedicalBenchConfig(records, out, limit, baseline, round_trip, voice, answers, llm_fill)
    summary = run_medical_bench(config)
    print_summary(summary, out)
