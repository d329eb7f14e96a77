"""``shenggu medical``: a dictation or a consultation recording → its clinical record (record.json, .docx, .pdf
and .fhir.json), or a text → its record as JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shenggu.cli.base import app, friendly_errors

if TYPE_CHECKING:
    from shenggu.asr.pipeline import TranscribeOptions
    from shenggu.solutions.medical import MedicalRecord

medical_app = typer.Typer(no_args_is_help=True, help="Medical records (语音电子病历): dictation, consultations, text.")
app.add_typer(medical_app, name="medical")

Recording = Annotated[Path, typer.Argument(help="The recording (audio or video).")]
Out = Annotated[Path, typer.Option(help="Directory for record.json, record.docx, record.pdf and record.fhir.json.")]
Hotwords = Annotated[
    list[str] | None, typer.Option("--hotwords", help="Names or terms to favour (repeat, or comma-separate).")
]
NoVocabulary = Annotated[
    bool, typer.Option("--no-medical-vocabulary", help="Recognize without the bundled medical vocabulary.")
]


@medical_app.command("dictate")
@friendly_errors
def dictate(file: Recording, out: Out, hotwords: Hotwords = None, no_medical_vocabulary: NoVocabulary = False) -> None:
    """A doctor's dictation (section names, 下一项, 删除上一句...) → its record."""
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings
    from shenggu.solutions.medical.pipeline import dictate_file

    options = _recognition(hotwords, no_medical_vocabulary)
    recognizer = get_recognizer(settings=get_settings())
    with _progress(file) as progress:
        record = dictate_file(file, recognizer, options, progress)
    _write(record, out)


@medical_app.command("consult")
@friendly_errors
def consult(
    file: Recording,
    out: Out,
    doctor_voice: Annotated[
        Path | None,
        typer.Option(help="A recording of the doctor alone: that speaker is the doctor (else the one who asks most)."),
    ] = None,
    hotwords: Hotwords = None,
    no_medical_vocabulary: NoVocabulary = False,
    llm_fill: Annotated[
        bool,
        typer.Option(
            "--llm-fill",
            help="Let the bundled language model draft the sections the rules left empty (values it writes that "
            "the conversation lacks are dropped and listed for review).",
        ),
    ] = False,
) -> None:
    """A doctor–patient consultation (two speakers) → its drafted record, each statement linked to what was said."""
    from shenggu.asr.registry import get_recognizer
    from shenggu.audio.decode import decode_audio
    from shenggu.config import get_settings
    from shenggu.diarize.registry import get_speaker_encoder
    from shenggu.diarize.voiceprint import voiceprint
    from shenggu.solutions.medical.pipeline import consult_file

    options = _recognition(hotwords, no_medical_vocabulary)
    encoder = get_speaker_encoder()
    # The doctor's voice is checked before the long recording is recognized.
    voice = voiceprint(decode_audio(doctor_voice), encoder).embedding if doctor_voice is not None else None
    recognizer = get_recognizer(settings=get_settings())
    with _progress(file) as progress:
        record = consult_file(file, recognizer, options, encoder, voice, progress)
    if llm_fill:
        from shenggu.llm.llama import get_language_model
        from shenggu.solutions.medical.llm_fill import fill_empty_sections

        fill_empty_sections(record, get_language_model(get_settings()).chat)
    _write(record, out)


@medical_app.command("text")
@friendly_errors
def text(
    content: Annotated[str, typer.Argument(help="The text: typed notes or a dictated transcript.")],
    mode: Annotated[str, typer.Option(help="text (typed notes) or dictation (spoken commands obeyed).")] = "text",
) -> None:
    """A text → its record, printed as JSON."""
    from shenggu.errors import InvalidOptionError
    from shenggu.solutions.medical.from_text import text_record

    if mode not in ("text", "dictation"):
        raise InvalidOptionError(f"--mode must be text or dictation, not '{mode[:20]}'")
    if not content.strip():
        raise InvalidOptionError("the text is empty")
    typer.echo(json.dumps(text_record(mode, content).to_dict(), ensure_ascii=False, indent=2))


def _recognition(hotwords: list[str] | None, no_medical_vocabulary: bool) -> TranscribeOptions:
    from shenggu.config import get_settings
    from shenggu.solutions.medical.pipeline import medical_options
    from shenggu.text.lists import split_commas

    return medical_options(split_commas(hotwords or []), not no_medical_vocabulary).batched_as(get_settings())


@contextmanager
def _progress(file: Path) -> Iterator[Callable[[float], None]]:
    """A progress bar of the recognition on stderr (when it is a terminal), as ``shenggu transcribe`` shows."""
    from tqdm import tqdm

    shown = sys.stderr.isatty()
    with tqdm(total=100, desc=file.name, unit="%", file=sys.stderr, leave=False, disable=not shown) as bar:
        yield lambda fraction: bar.update(round(fraction * 100) - bar.n)


def _write(record: MedicalRecord, out: Path) -> None:
    from shenggu.solutions.medical.outputs import write_record_files

    for kind, path in write_record_files(record, out).items():
        typer.echo(f"{kind}: {path}")
    if record.reason:
        typer.echo(f"note: {record.reason}", err=True)
