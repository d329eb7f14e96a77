"""``shenggu batch``: transcribe archives of recordings, here or over a Ray cluster, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, friendly_errors

batch_app = typer.Typer(no_args_is_help=True, help="Archives: transcribe thousands of files, here or on Ray.")
app.add_typer(batch_app, name="batch")


@batch_app.command("transcribe")
@friendly_errors
def batch_transcribe(
    source: Annotated[Path, typer.Argument(help="A folder (its audio/video files, recursively) or a manifest.")],
    out: Annotated[Path, typer.Option(help="Folder for one transcript per input, failures.csv and batch.json.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="txt, json, srt or vtt.")] = "json",
    language: Annotated[str, typer.Option(help="zh, en or auto.")] = "auto",
    hotwords: Annotated[list[str] | None, typer.Option("--hotwords", help="Names or terms to favour (repeat).")] = None,
    engine: Annotated[str | None, typer.Option(help="ASR engine (see `shenggu engines`).")] = None,
    model_dir: Annotated[
        Path | None, typer.Option(help="Your own model directory (with --ray: the same path on every worker).")
    ] = None,
    beam_size: Annotated[int, typer.Option(help="Beam size.")] = 5,
    no_correct: Annotated[bool, typer.Option("--no-correct", help="Skip homophone correction.")] = False,
    ray: Annotated[
        str | None, typer.Option("--ray", help="Ray cluster address (host:port, or auto); default: this machine.")
    ] = None,
    cpus_per_task: Annotated[int, typer.Option(help="With --ray: CPUs (and decoding threads) per file.")] = 1,
) -> None:
    """Transcribe every file of a folder or manifest into OUT, skipping files already done by an earlier run.

    Exit code 0 when every file was transcribed, 1 when some failed (listed in OUT/failures.csv; run the same
    command again to retry them), 2 for bad options."""
    from shenggu.asr.formats import check_format
    from shenggu.asr.pipeline import TranscribeOptions
    from shenggu.scale.archive import FAILURES_NAME, plan_archive, run_archive
    from shenggu.scale.executors import executor_for
    from shenggu.scale.work import BatchOptions
    from shenggu.text.lists import split_commas

    options = BatchOptions(  # bad options fail here, before any work
        fmt=check_format(fmt),
        engine=engine,
        model_dir=str(model_dir.expanduser().resolve()) if model_dir else None,
        transcribe=TranscribeOptions(
            language=language, hotwords=split_commas(hotwords or []), beam_size=beam_size, correct=not no_correct
        ),
    )
    items = plan_archive(source, out, fmt)
    summary = run_archive(items, out, executor_for(ray, cpus_per_task), options)
    typer.echo(
        f"{summary.done} transcribed, {summary.skipped} already done, {summary.failed} failed "
        f"({summary.audio_seconds / 3600:.2f} h of audio in {summary.wall_s:.0f} s on {summary.backend})"
    )
    if summary.failed:
        typer.echo(f"error: {summary.failed} of {summary.files} files failed: see {out / FAILURES_NAME}", err=True)
        raise typer.Exit(1)
