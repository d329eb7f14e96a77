"""``shenggu court record``: a hearing recording → its record (庭审笔录) as JSON, DOCX and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli.base import app, friendly_errors
from shenggu.solutions.court.hearing import DEFAULT_ROLES

court_app = typer.Typer(no_args_is_help=True, help="Smart court: hearing records.")
app.add_typer(court_app, name="court")


@court_app.command("record")
@friendly_errors
def record(
    file: Annotated[Path, typer.Argument(help="Hearing recording (audio or video).")],
    case: Annotated[str, typer.Option("--case", help="Case number, e.g. (2024)京0105民初123号.")],
    out: Annotated[Path, typer.Option(help="Directory for record.json, record.docx and record.pdf.")],
    roles: Annotated[str, typer.Option(help="Roles by first appearance or enrolled voice.")] = ",".join(DEFAULT_ROLES),
    court: Annotated[str, typer.Option(help="Court name.")] = "",
    date: Annotated[str, typer.Option(help="Hearing date.")] = "",
    participants: Annotated[str, typer.Option(help="role:name pairs, e.g. 审判长:张三,原告:李四.")] = "",
    num_speakers: Annotated[int | None, typer.Option(help="Exact number of speakers, if known.")] = None,
    language: Annotated[str, typer.Option(help="zh, en or auto.")] = "zh",
) -> None:
    """Transcribe a hearing, say who spoke (by role), index legal terms, amounts and dates, and export."""
    from shenggu.asr.pipeline import TranscribeOptions
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings
    from shenggu.diarize.roles import parse_roles
    from shenggu.solutions.court import HearingHeader, export_record
    from shenggu.solutions.court.hearing import hearing_speakers, parse_participants, record_hearing

    settings = get_settings()
    header = HearingHeader(case, court, date, participants=parse_participants(participants))
    role_names = parse_roles(roles)
    speakers = hearing_speakers(role_names, num_speakers)
    options = TranscribeOptions(language=language).batched_as(settings)
    recognizer = get_recognizer(settings=settings)
    result = record_hearing(file, header, recognizer, role_names, speakers, options)
    for kind, path in export_record(result, out).items():
        typer.echo(f"{kind}: {path}")
