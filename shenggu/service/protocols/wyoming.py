"""The Wyoming protocol (Home Assistant's voice services) over TCP: speech recognition and synthesis for Wyoming
clients, unchanged, pointed at ``tcp://HOST:PORT`` (``shenggu serve --wyoming-port 10300`` or ``shenggu wyoming``).

Events (JSON header line, optional data, optional PCM payload; see the ``wyoming`` package):

* ``describe`` → ``info``: one ASR program (the configured engine; languages zh, en) and one TTS program with
  every shenggu voice. ``ping`` → ``pong``; events this server does not know are ignored, as Wyoming asks.
* ``transcribe`` (``language``, ``name``, ``transcript_names``/``transcript_terms`` as hotwords), then
  ``audio-start``, ``audio-chunk``…, ``audio-stop`` → ``transcript-start``, ``transcript-chunk``… (the text so
  far: finals, then the open sentence's partial; each replaces the last), ``transcript`` (``text``,
  ``language``), ``transcript-stop``; then the server closes the connection, as wyoming-faster-whisper does.
  Audio of any rate (8-48 kHz), width (8-32 bit) and channel count (mono, stereo) is converted to 16 kHz mono.
* ``synthesize`` (``text``, ``voice``: ``name`` or ``language``) → ``audio-start``, ``audio-chunk``…,
  ``audio-stop`` (16-bit mono PCM at the voice's rate). Streamed text: ``synthesize-start``,
  ``synthesize-chunk``…, ``synthesize-stop`` → each finished sentence as its own ``audio-start`` …
  ``audio-stop``, then ``synthesize-stopped`` (a ``synthesize`` inside the stream is the compatibility copy of
  its text and is ignored, as wyoming-piper does).

Wyoming has no keys: the operator names the tenant the listener acts for (``wyoming_tenant``), which is metered
(recognized audio as ``stream``, synthesis as ``speech`` characters and seconds) and limited (rate, daily quotas,
stream slots) like a key of that tenant. Every fault (an event out of order, an oversized or malformed event,
unknown voice or language, a quota, the server busy) is answered with Wyoming's ``error`` event (``text``,
``code``: shenggu's error code) and the connection is closed. Zeroconf discovery is off: Home Assistant is given
the address by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped
from wyoming.tts import SynthesizeVoice as WyomingVoice

from shenggu import __version__
from shenggu.asr.pipeline import SUPPORTED_LANGUAGES
from shenggu.asr.streaming import Final, Partial, StreamOptions
from shenggu.audio import SAMPLE_RATE
from shenggu.audio.encode import pcm16
from shenggu.config import Settings
from shenggu.errors import BadStreamError, InvalidOptionError, ShengguError
from shenggu.logs import get_logger
from shenggu.service.engines import Engines
from shenggu.service.limits import check_characters
from shenggu.service.observability import add_audio_seconds, set_stream_lag
from shenggu.service.sockets import MAX_MESSAGE_BYTES, pcm_samples
from shenggu.service.storage import usage
from shenggu.service.storage.hotwords import MAX_WORD_CHARS, MAX_WORDS
from shenggu.service.storage.tenants import Principal
from shenggu.service.stream_admission import StreamLag, admitted_stream, language_of, principal_for_tenant
from shenggu.text.script import text_language
from shenggu.tts.frontend import finished_sentences
from shenggu.tts.synthesis import MAX_CHARS
from shenggu.tts.types import AudioChunk as SpeechChunk
from shenggu.tts.types import Voice
from shenggu.tts.voices import DEFAULT_VOICES, VOICES, get_voice

log = get_logger("shenggu.wyoming")

PROGRAM = "shenggu"
MAX_HEADER_BYTES = 1 << 16  # an event's JSON line (asyncio's default stream limit)
MAX_DATA_BYTES = 1 << 16  # its additional JSON data: a synthesize event's text, hotwords
MAX_PAYLOAD_BYTES = MAX_MESSAGE_BYTES  # its binary payload: an audio chunk (as for shenggu's own stream)
_LINGER_S = 2.0  # how long a faulty client's data is read and dropped before the connection is closed
_QUEUED_EVENTS = 64  # events read ahead of the handler; beyond them the socket itself holds the client back
_ENGINE_AUTHORS = {
    "whisper": Attribution("OpenAI", "https://github.com/openai/whisper"),
    "kokoro": Attribution("hexgrad", "https://huggingface.co/hexgrad/Kokoro-82M-v1.1-zh"),
    "piper": Attribution("Rhasspy", "https://github.com/rhasspy/piper"),
}
_SHENGGU = Attribution("shenggu", "")


def wyoming_info(settings: Settings) -> Info:
    """What ``describe`` answers: the configured ASR engine (Mandarin and English) and every voice."""
    engine = settings.asr_engine
    model = AsrModel(
        name=engine,
        attribution=_ENGINE_AUTHORS["whisper"] if engine.startswith("whisper") else _SHENGGU,
        installed=True,
        description=f"{engine}: streaming recognition with VAD endpointing, punctuation and ITN",
        version=None,
        languages=list(SUPPORTED_LANGUAGES),
    )
    voices = [
        TtsVoice(
            name=voice.id,
            attribution=_ENGINE_AUTHORS.get(voice.engine, _SHENGGU),
            installed=True,
            description=voice.description,
            version=None,
            languages=[voice.language],
            speakers=None,  # every shenggu voice is one speaker
        )
        for voice in VOICES.values()
    ]
    asr = AsrProgram(
        name=PROGRAM,
        attribution=_SHENGGU,
        installed=True,
        description="shenggu speech recognition",
        version=__version__,
        models=[model],
        supports_transcript_streaming=True,
    )
    tts = TtsProgram(
        name=PROGRAM,
        attribution=_SHENGGU,
        installed=True,
        description="shenggu speech synthesis",
        version=__version__,
        voices=voices,
        supports_synthesize_streaming=True,
    )
    return Info(asr=[asr], tts=[tts])


def hotwords_of(request: Transcribe) -> list[str]:
    """A transcribe event's ``transcript_names`` and ``transcript_terms`` as hotwords, names first (they rank
    first), as many as a request may have, ones too long left out: hints bias recognition but must not get a
    request refused (a home with many devices sends many names)."""
    words = [w.strip() for w in [*(request.transcript_names or []), *(request.transcript_terms or [])]]
    return list(dict.fromkeys(w for w in words if w and len(w) <= MAX_WORD_CHARS))[:MAX_WORDS]


def voice_for(requested: WyomingVoice | None, text: str) -> Voice:
    """The voice a synthesis asks for: by ``name`` (a voice id or OpenAI name), else the default voice of its
    ``language``, else of the text's (Mandarin as soon as it has a Chinese character). A ``speaker`` is ignored:
    every voice has one."""
    if requested is not None and requested.name:
        return get_voice(requested.name)
    language = language_of(requested.language if requested is not None else None) or text_language(text)
    return VOICES[DEFAULT_VOICES[language]]


@dataclass(frozen=True)
class _Received:
    """An event as the reader took it off the connection, stamped with its arrival (``time.monotonic()``)."""

    event: Event
    arrived: float


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event, like ``wyoming.event.async_read_event`` but bounded: an oversized header, data or payload
    is a BadStreamError before it is read, so a client cannot make the server buffer without limit; None when
    the client closed the connection (also mid-event)."""
    try:
        line = await reader.readline()
    except ValueError:  # asyncio's limit on a line: the header never ended
        raise BadStreamError(f"an event header must be one JSON line of at most {MAX_HEADER_BYTES} bytes") from None
    if not line.endswith(b"\n"):
        return None
    try:
        header = json.loads(line)
    except ValueError:
        raise BadStreamError("an event header must be a JSON object on one line") from None
    if not (isinstance(header, dict) and isinstance(header.get("type"), str) and _is(header.get("data"), dict)):
        raise BadStreamError('an event header is a JSON object with a "type" (string) and an object as its "data"')
    data, data_length, payload_length = (header.get(k) for k in ("data", "data_length", "payload_length"))
    for name, length, limit in (("data", data_length, MAX_DATA_BYTES), ("payload", payload_length, MAX_PAYLOAD_BYTES)):
        if not (_is(length, int) and 0 <= (length or 0) <= limit):
            raise BadStreamError(f"an event's {name} must be at most {limit} bytes, not {str(length)[:20]}")
    data = dict(data or {})
    try:
        if data_length:
            extra = json.loads(await reader.readexactly(data_length))
            if not isinstance(extra, dict):
                raise BadStreamError("an event's additional data must be a JSON object")
            data.update(extra)
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None
    except ValueError:
        raise BadStreamError("an event's additional data must be a JSON object") from None
    return Event(header["type"], data, payload)


def _is(value: object, kind: type) -> bool:
    """Whether an optional field is absent or of its type."""
    return value is None or isinstance(value, kind)


def _parsed(kind, event: Event):
    """``kind.from_event(event)``; a malformed event (a field missing, or one shenggu reads of the wrong type: the
    package does not check them) is a BadStreamError."""
    try:
        parsed = kind.from_event(event)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadStreamError(f"malformed {event.type} event") from None
    texts: list[object] = []
    if isinstance(parsed, Transcribe):
        texts = [parsed.name, parsed.language, *(parsed.transcript_names or []), *(parsed.transcript_terms or [])]
        lists = (parsed.transcript_names, parsed.transcript_terms)
        if not all(_is(words, list) for words in lists):
            raise BadStreamError("transcript_names and transcript_terms must be lists of strings")
    elif isinstance(parsed, Synthesize | SynthesizeChunk) and not isinstance(parsed.text, str):
        raise BadStreamError(f"the text of a {event.type} event must be a string")
    if (voice := getattr(parsed, "voice", None)) is not None:
        texts = [voice.name, voice.language, voice.speaker]
    if not all(_is(text, str) for text in texts):
        raise BadStreamError(f"malformed {event.type} event: a field that must be a string is not")
    return parsed


def _check_format(rate: object, width: object, channels: object) -> None:
    """Refuse audio the converter cannot take (shenggu's stream takes 8-48 kHz)."""
    if not (isinstance(rate, int) and 8000 <= rate <= 48000):
        raise BadStreamError("audio rate must be between 8000 and 48000 Hz")
    if not (isinstance(width, int) and 1 <= width <= 4):
        raise BadStreamError("audio width must be 1 to 4 bytes per sample")
    if channels not in (1, 2):
        raise BadStreamError("audio must have 1 or 2 channels")


def _samples(chunk: AudioChunk, converter: AudioChunkConverter) -> np.ndarray:
    """An audio-chunk's audio as 16 kHz float32 mono samples (any rate, width and channels converted)."""
    _check_format(chunk.rate, chunk.width, chunk.channels)
    if len(chunk.audio) % (chunk.width * chunk.channels):
        raise BadStreamError("an audio-chunk must hold whole samples of its width and channels")
    return pcm_samples(converter.convert(chunk).audio, None)


def _transcript_text(parts: list[str], language: str | None) -> str:
    """Sentences joined as the language writes them."""
    return ("" if language == "zh" else " ").join(p for p in parts if p)


class WyomingHandler(AsyncEventHandler):
    """One client connection: a reader task queues its events as they arrive, and the handler answers them in
    order (a transcription or a text stream takes the events that belong to it)."""

    def __init__(self, listener: WyomingListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        super().__init__(reader, writer)
        self.listener = listener
        self.app = listener.app
        self.settings: Settings = listener.app.state.settings
        self._events: asyncio.Queue[_Received | Exception | None] = asyncio.Queue(maxsize=_QUEUED_EVENTS)
        self._transcribe: Transcribe | None = None

    async def run(self) -> None:
        """Serve the connection until the client leaves, a request ends it, or a fault (answered with ``error``)."""
        self._is_running = True
        reading = asyncio.create_task(self._read())
        failed = True
        try:
            while self._is_running and (item := await self._next()) is not None:
                if not await self.handle_event(item.event):
                    break
            failed = False
        except ShengguError as exc:
            await self._error(exc.code, exc.message)
        except ConnectionError:
            log.info("wyoming client left", tenant=self.listener.tenant)
        except Exception:
            log.exception("wyoming request failed")
            await self._error("internal_error", "internal error; the server log has details")
        finally:
            reading.cancel()
            await asyncio.wait([reading])
            if failed:
                await self._linger()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        """Answer an event outside a transcription or text stream; False ends the connection."""
        if Describe.is_type(event.type):
            await self.write_event(self.listener.info.event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=_parsed(Ping, event).text).event())
        elif Transcribe.is_type(event.type):
            self._transcribe = _parsed(Transcribe, event)
        elif AudioStart.is_type(event.type):
            if self._transcribe is None:
                raise BadStreamError("send transcribe before audio-start")
            await self._transcription(self._transcribe, _parsed(AudioStart, event))
            return False  # one transcript per connection, as Wyoming's ASR servers do
        elif AudioChunk.is_type(event.type) or AudioStop.is_type(event.type):
            raise BadStreamError(f"{event.type} before audio-start (send transcribe, then audio-start)")
        elif Synthesize.is_type(event.type):
            request = _parsed(Synthesize, event)
            await self._speak(self._principal(), request.text, voice_for(request.voice, request.text), True)
        elif SynthesizeStart.is_type(event.type):
            await self._synthesis_stream(_parsed(SynthesizeStart, event))
        elif SynthesizeChunk.is_type(event.type) or SynthesizeStop.is_type(event.type):
            raise BadStreamError(f"{event.type} before synthesize-start")
        return True  # other events are ignored, as Wyoming asks of servers

    async def _read(self) -> None:
        """Queue the client's events as they arrive; None when it closed, a fault as the exception."""
        try:
            while True:
                event = await read_event(self.reader)
                await self._events.put(None if event is None else _Received(event, time.monotonic()))
                if event is None:
                    return
        except Exception as exc:  # the handler reports it, after the events before it
            await self._events.put(exc)

    async def _next(self) -> _Received | None:
        """The next event (None: the client closed); a client silent for ``stream_idle_seconds`` while the
        server waits for it is a fault (time the server spends answering does not count)."""
        idle = self.settings.stream_idle_seconds
        try:
            item = await asyncio.wait_for(self._events.get(), timeout=idle)
        except TimeoutError:
            raise BadStreamError(f"no event for {idle:.0f} s; closing the idle connection") from None
        if isinstance(item, Exception):
            raise item
        return item

    async def _linger(self) -> None:
        """Before closing after a fault, stop sending and read what the client still sends, for a moment: a
        connection closed with unread data is reset, and the reset can destroy the error event before the client
        has read it (a client sending a large payload, say)."""
        with contextlib.suppress(Exception):
            self.writer.write_eof()
            async with asyncio.timeout(_LINGER_S):
                while await self.reader.read(1 << 16):
                    pass

    async def _error(self, code: str, text: str) -> None:
        with contextlib.suppress(ConnectionError):  # the client may be gone already
            await self.write_event(Error(text=text, code=code).event())

    def _principal(self) -> Principal:
        return principal_for_tenant(self.app.state.db, self.listener.tenant)

    # ---- speech recognition ------------------------------------------------------------------------------------

    async def _transcription(self, request: Transcribe, start: AudioStart) -> None:
        """Recognize one audio stream (audio-start … audio-stop), reporting the text so far as it grows."""
        _check_format(start.rate, start.width, start.channels)
        if request.name not in (None, PROGRAM, self.settings.asr_engine):
            raise InvalidOptionError(
                f"unknown model '{request.name[:40]}' (this server has {self.settings.asr_engine})"
            )
        options = StreamOptions(language=language_of(request.language), hotwords=hotwords_of(request))
        principal = self._principal()
        async with admitted_stream(self.app, principal, options) as admitted:
            session = admitted.session
            await self.write_event(TranscriptStart(language=options.language).event())
            converter = AudioChunkConverter(rate=SAMPLE_RATE, width=2, channels=1)
            lag = StreamLag()
            finals: list[str] = []
            open_text = reported = ""  # the open sentence's latest partial; the text the client has
            try:
                while True:
                    item = await self._next()
                    if item is None:
                        log.info("wyoming client left mid-stream", tenant=principal.tenant_name)
                        return
                    event = item.event
                    if AudioStop.is_type(event.type):
                        finals += [final.segment.text for final in await run_in_threadpool(session.finish)]
                        text = _transcript_text(finals, session.language)
                        await self.write_event(Transcript(text=text, language=session.language).event())
                        await self.write_event(TranscriptStop().event())
                        return
                    if not AudioChunk.is_type(event.type):
                        if event.type in ("transcribe", "audio-start", "synthesize", "synthesize-start"):
                            raise BadStreamError(f"{event.type} during a transcription (end it with audio-stop)")
                        continue
                    samples = _samples(_parsed(AudioChunk, event), converter)
                    backlog = lag.measure(item.arrived, len(samples) / SAMPLE_RATE, session.audio_seconds)
                    set_stream_lag(self.app, id(session), backlog)
                    for result in await run_in_threadpool(session.accept, samples, backlog):
                        if isinstance(result, Final):
                            finals.append(result.segment.text)
                            open_text = ""
                        elif isinstance(result, Partial):
                            open_text = result.text
                    text = _transcript_text([*finals, open_text], session.language)
                    if text != reported:
                        await self.write_event(TranscriptChunk(text=text).event())
                        reported = text
            finally:
                set_stream_lag(self.app, id(session), None)

    # ---- speech synthesis --------------------------------------------------------------------------------------

    async def _synthesis_stream(self, start: SynthesizeStart) -> None:
        """Speak text as it streams in: each finished sentence as soon as the next text shows it finished."""
        voice_for(start.voice, "")  # an unknown voice or language fails now, not at the first sentence
        principal = self._principal()
        first = True
        pending = ""
        while True:
            item = await self._next()
            if item is None:
                return
            event = item.event
            if SynthesizeChunk.is_type(event.type):
                pending += _parsed(SynthesizeChunk, event).text
                sentences, pending = finished_sentences(pending)
                if len(pending) > MAX_CHARS:
                    raise InvalidOptionError(f"a sentence of more than {MAX_CHARS} characters (no sentence end)")
            elif SynthesizeStop.is_type(event.type):
                sentences, pending = [pending.strip()], ""  # the rest: finished sentences were spoken already
            elif event.type in ("synthesize-start", "transcribe", "audio-start"):
                raise BadStreamError(f"{event.type} during a text stream (end it with synthesize-stop)")
            else:
                continue  # the compatibility `synthesize` with the whole text, and events this server ignores
            for sentence in filter(None, sentences):
                voice = voice_for(start.voice, sentence)
                await self._speak(principal, sentence, voice, count_request=first)
                first = False
            if SynthesizeStop.is_type(event.type):
                await self.write_event(SynthesizeStopped().event())
                return

    async def _speak(self, principal: Principal, text: str, voice: Voice, count_request: bool) -> None:
        """``text`` as audio-start, audio-chunk… (one per synthesized piece), audio-stop; metered as
        ``/v1/audio/speech`` meters: the characters (the daily quota's unit) once the first piece is made, the
        seconds of audio when the speech ends, also when the client left."""
        if count_request:
            self.app.state.rate_limiter.check(principal)
        database = self.app.state.db
        with database.session() as session:
            check_characters(session, principal, len(text))
        chunks = Engines(self.settings).speak(text, voice.id, 1.0, None)
        first = await run_in_threadpool(next, chunks, None)  # bad text fails here, before any audio is sent
        if first is None:
            raise InvalidOptionError("the text has nothing to say (no speakable text)")
        with database.session() as session:
            usage.record(session, principal.tenant_id, "speech", characters=len(text), requests=int(count_request))
        seconds = 0.0
        chunk: SpeechChunk | None = first
        try:
            await self.write_event(AudioStart(rate=first.sample_rate, width=2, channels=1).event())
            while chunk is not None:
                seconds += chunk.seconds
                audio = AudioChunk(rate=chunk.sample_rate, width=2, channels=1, audio=pcm16(chunk.samples))
                await self.write_event(audio.event())
                chunk = await run_in_threadpool(next, chunks, None)
            await self.write_event(AudioStop().event())
        finally:
            with database.session() as session:
                usage.record(session, principal.tenant_id, "speech", seconds, requests=0)
            add_audio_seconds(self.app, "speech", seconds)


class WyomingListener:
    """The Wyoming server on ``wyoming_host``:``wyoming_port``, acting for ``wyoming_tenant`` (see the module)."""

    name = "wyoming"

    def __init__(self, app: FastAPI) -> None:
        settings: Settings = app.state.settings
        self.app = app
        self.host, self.port, self.tenant = settings.wyoming_host, settings.wyoming_port, settings.wyoming_tenant
        self.info = wyoming_info(settings)
        self._server = AsyncTcpServer(self.host, self.port)

    async def start(self) -> None:
        """Listen (the tenant is created now if new, so a bad name fails at start-up)."""
        await run_in_threadpool(principal_for_tenant, self.app.state.db, self.tenant)
        await self._server.start(partial(WyomingHandler, self))
        log.info("wyoming listening", address=f"tcp://{self.host}:{self.port}", tenant=self.tenant)

    async def stop(self) -> None:
        """Stop listening and end open connections."""
        await self._server.stop()


async def serve_wyoming(settings: Settings) -> None:
    """``shenggu wyoming``: the Wyoming listener alone (no HTTP API), on the app's database, limits and engines,
    until SIGTERM (open connections are ended, their audio metered) or Ctrl-C; the models the settings preload
    are loaded first."""
    from shenggu.service.app import create_app  # the app imports the listeners, this module among them

    app = create_app(settings)
    engines = Engines(settings)
    for capability in settings.preload if settings.preload_models else []:
        await run_in_threadpool(engines.recognizer if capability == "asr" else engines.warm_speech)
    listener = WyomingListener(app)
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await listener.start()
    try:
        await stopped.wait()
    finally:
        await listener.stop()
        log.info("wyoming stopped")


__all__ = ["WyomingListener", "hotwords_of", "read_event", "serve_wyoming", "voice_for", "wyoming_info"]
