"""Who-spoke-when commands: ``shenggu diarize`` and ``shenggu bench diarize``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, bench_app, friendly_errors, print_summary

NumSpeakers = Annotated[int | None, typer.Option(help="Exact number of speakers, if known.")]
MinSpeakers = Annotated[int, typer.Option(help="At least this many speakers.")]
MaxSpeakers = Annotated[int, typer.Option(help="At most this many speakers.")]


@app.command()
@friendly_errors
def diarize(
    file: Annotated[Path, typer.Argument(help="Audio or video file.")],
    num_speakers: NumSpeakers = None,
    min_speakers: MinSpeakers = 1,
    max_speakers: MaxSpeakers = 8,
    fmt: Annotated[str, typer.Option("--format", "-f", help="rttm or json.")] = "rttm",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of printing.")] = None,
) -> None:
    """Who spoke when: speaker turns of a recording, as RTTM or JSON."""
    from shenggu.audio.decode import decode_audio
    from shenggu.diarize.pipeline import DiarizeOptions
    from shenggu.diarize.pipeline import diarize as run
    from shenggu.diarize.registry import get_speaker_encoder
    from shenggu.diarize.rttm import format_rttm
    from shenggu.errors import InvalidOptionError

    if fmt not in ("rttm", "json"):
        raise InvalidOptionError(f"unknown format '{fmt}' (choose rttm or json)")
    options = DiarizeOptions(num_speakers, min_speakers, max_speakers)
    result = run(decode_audio(file), get_speaker_encoder(), options)
    if fmt == "rttm":
        text = format_rttm(result, file.stem)
    else:
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text.rstrip("\n"))


@bench_app.command("diarize")
@friendly_errors
def bench_diarize(
    manifest: Annotated[Path, typer.Option(help="Manifest TSV; its diarization rows have an RTTM beside the WAV.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    mixes: Annotated[bool, typer.Option(help="Add the multi-speaker mixes built from the manifest's clips.")] = True,
    oracle_count: Annotated[bool, typer.Option(help="Give each file its reference number of speakers.")] = False,
    singles: Annotated[
        bool, typer.Option(help="Check that the manifest's single-speaker (asr, pronunciation) clips stay one speaker.")
    ] = True,
) -> None:
    """Diarization: DER (0.25 s collar and none), speaker-count accuracy and RTF against reference RTTM files, and
    the single-speaker check."""
    from shenggu.bench.diarize import DiarizeBenchConfig, run_diarize_bench

    summary = run_diarize_bench(DiarizeBenchConfig(manifest, out, mixes, oracle_count, singles))
    print_summary(summary, out)
