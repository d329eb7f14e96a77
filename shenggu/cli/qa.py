"""``shenggu qa inspect``: call-centre quality inspection of a folder of call recordings and call JSON files,
with per-call results and per-batch reports (CSV, HTML, JSON). ``shenggu bench qa`` is in :mod:`qa_bench`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shenggu.cli.base import app, friendly_errors
from shenggu.cli.batch import batch_app

if TYPE_CHECKING:
    from shenggu.solutions.qa.audio import CallAudioOptions
    from shenggu.solutions.qa.batch import MakeCall, Summarizer
    from shenggu.solutions.qa.record import Call

qa_app = typer.Typer(no_args_is_help=True, help="Call-centre quality inspection (客服质检).")
app.add_typer(qa_app, name="qa")


@qa_app.command("inspect")
@friendly_errors
def inspect_calls(
    source: Annotated[
        Path, typer.Argument(help="A folder (its recordings and call .json files, recursively) or one file.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for calls/*.json, calls.csv, agents.csv, report.html, ...")],
    rules: Annotated[
        Path | None, typer.Option(help="Rules file (YAML or JSON); default: the bundled bank ruleset.")
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(help="CSV with a 'file' column (relative to SOURCE) and others such as agent, queue, date."),
    ] = None,
    channels: Annotated[
        str, typer.Option(help="auto, stereo (one party per channel) or mono (diarize two speakers).")
    ] = "auto",
    agent_channel: Annotated[
        str, typer.Option(help="Stereo: the agent's side, left or right; auto: the side that greets.")
    ] = "auto",
    agent_voice: Annotated[
        Path | None, typer.Option(help="Mono: a recording of the agent alone, to tell the agent by voice.")
    ] = None,
    hotwords: Annotated[
        list[str] | None, typer.Option("--hotwords", help="Names or terms to favour (repeat, or comma-separate).")
    ] = None,
    language: Annotated[str, typer.Option(help="Language of the recordings: zh or en.")] = "zh",
    summarize: Annotated[
        bool,
        typer.Option(
            "--summarize",
            help="Summarize each call with the bundled language model, keeping only facts the call holds "
            "(about half a minute a call on 2 cores).",
        ),
    ] = False,
) -> None:
    """Inspect every call of SOURCE against a ruleset and write per-call results and batch reports into OUT.

    Each recording's transcript is kept under OUT/recognized as soon as it is recognized: the same command run
    again (after a crash, or with new rules) recognizes only what is not there yet. Each finding in
    OUT/report.html and OUT/findings.csv links to its moment of the recording (a path relative to OUT).

    Exit code 0 when every item was inspected, 1 when some could not be (listed in OUT/failures.csv), 2 for bad
    options."""
    from tqdm import tqdm

    from shenggu.scale.archive import MEDIA_SUFFIXES
    from shenggu.solutions.qa.audio import CallAudioOptions
    from shenggu.solutions.qa.batch import CALL_SUFFIX, find_items, inspect_batch, item_name, read_metadata
    from shenggu.solutions.qa.engine import default_sentiment
    from shenggu.solutions.qa.links import file_links
    from shenggu.solutions.qa.report import write_batch_report
    from shenggu.solutions.qa.rules_file import bundled_ruleset, load_rules
    from shenggu.text.lists import split_commas

    # Bad options fail here, before any model loads or any call is inspected.
    options = CallAudioOptions(language, split_commas(hotwords or []), channels, agent_channel)  # type: ignore[arg-type]
    options.transcribe_options()  # checks the language
    ruleset = load_rules(rules) if rules is not None else bundled_ruleset()
    items = find_items(source, MEDIA_SUFFIXES, skip=out)
    joined = read_metadata(metadata) if metadata is not None else None
    root = source if source.is_dir() else source.parent
    recordings = {item_name(p, root): p for p in items if p.suffix.lower() != CALL_SUFFIX}
    make_call = {"make_call": _recording_reader(options, agent_voice)} if recordings else {}

    failed = 0
    with tqdm(total=len(items), unit="call", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:

        def progress(name: str, ok: bool) -> None:
            nonlocal failed
            failed += not ok
            bar.update(1)
            bar.set_postfix(failed=failed, refresh=False)

        batch = inspect_batch(
            items,
            ruleset,
            **make_call,
            root=root,
            metadata=joined,
            sentiment=default_sentiment,
            progress=progress,
            recognized=out / "recognized" / _recognition_key(options, agent_voice),
            summarizer=_summarizer() if summarize else None,
        )
    files = write_batch_report(batch, out, audio_link=file_links(recordings, out))
    mean = batch.mean_score
    typer.echo(
        f"{len(batch.calls)} calls inspected ({ruleset.name}, version {ruleset.version}), "
        f"mean score {'-' if mean is None else f'{mean:.1f}'}, {len(batch.failures)} failed; report: {files['html']}"
    )
    if batch.unmatched_metadata:
        first = batch.unmatched_metadata[0][:100]
        typer.echo(f"warning: {len(batch.unmatched_metadata)} metadata row(s) name no item, e.g. '{first}'", err=True)
    if batch.failures:
        typer.echo(f"error: {len(batch.failures)} of {batch.items} items failed: see {files['failures_csv']}", err=True)
        raise typer.Exit(1)


# The archive commands live under `shenggu batch`: the same command, resumable as `batch transcribe` is.
batch_app.command("qa", help="Quality-inspect a folder of call recordings (the same as `shenggu qa inspect`).")(
    inspect_calls
)


def _summarizer() -> Summarizer:
    """Grounded summaries by the bundled language model (loaded on the first call)."""
    from functools import partial

    from shenggu.config import get_settings
    from shenggu.llm.chat_queue import get_chat_queue
    from shenggu.solutions.qa.summary import summarize_call

    chat = partial(get_chat_queue(get_settings()).chat, "cli")
    return lambda call: summarize_call(call, chat)


def _recognition_key(options: CallAudioOptions, agent_voice: Path | None) -> str:
    """A folder name for the calls recognized under these options: a run with other options recognizes again."""
    import hashlib

    voice = hashlib.sha256(agent_voice.read_bytes()).hexdigest() if agent_voice is not None else ""
    said = repr((options.language, sorted(options.hotwords), options.channels, options.agent_channel, voice))
    return hashlib.sha256(said.encode()).hexdigest()[:12]


def _recording_reader(options: CallAudioOptions, agent_voice: Path | None) -> MakeCall:
    """Recordings → calls with the platform recognizer (and the agent's voiceprint, checked before any call)."""
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings
    from shenggu.solutions.qa.audio import call_from_audio

    encoder = None
    if agent_voice is not None:
        from shenggu.audio.decode import decode_audio
        from shenggu.diarize.registry import get_speaker_encoder
        from shenggu.diarize.voiceprint import voiceprint

        encoder = get_speaker_encoder()
        options.agent_voice = voiceprint(decode_audio(agent_voice), encoder).embedding
    settings = get_settings()
    recognizer = get_recognizer(settings=settings)

    def make_call(path: Path) -> Call:
        return call_from_audio(path, recognizer, options, encoder=encoder, settings=settings)

    return make_call
