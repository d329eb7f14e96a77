"""OpenAI Realtime transcription sessions: ``/v1/realtime?intent=transcription`` (WebSocket, JSON events).

Voice-agent code written against OpenAI's Realtime API (the ``openai`` package's ``client.realtime.connect``,
pipecat's ``OpenAIRealtimeSTTService``) transcribes live audio here unchanged, pointed at shenggu's address; the
key is the usual ``Authorization: Bearer`` (or ``?api_key=``). Both dialects are served: the GA one
(``session.update`` with ``{"type": "transcription", "audio": {"input": ...}}``, ``conversation.item.added``) and
the beta one (header ``OpenAI-Beta: realtime=v1``: ``transcription_session.update`` with ``input_audio_format``,
``input_audio_transcription``, ``turn_detection``; ``conversation.item.created``).

What is read from the session: the input format (``audio/pcm`` at any rate from 8 to 48 kHz, OpenAI's 24 kHz by
default, resampled; G.711 ``audio/pcmu`` / ``audio/pcma``, beta ``pcm16`` / ``g711_ulaw`` / ``g711_alaw``), the
transcription's ``model`` (OpenAI's names, or this server's engine), ``language``, ``prompt`` (read as
comma-separated hotwords) and ``keywords``, and ``turn_detection``: ``server_vad`` (``silence_duration_ms`` is the
end-of-turn silence; ``semantic_vad`` is served the same way) or null for turns the client commits. Noise
reduction, logprobs and the VAD's ``threshold`` / ``prefix_padding_ms`` are not configurable: ``session.updated``
shows the effective settings.

A turn: with server VAD, ``input_audio_buffer.speech_started`` (``audio_start_ms``, the ``item_id`` to come) when
the recognizer's VAD hears speech, ``...transcription.delta`` events while it is spoken (what the sentence's
partial text adds to the text sent so far: deltas are only appended), then at its end ``speech_stopped``
(``audio_end_ms``), ``input_audio_buffer.committed``, the item, a last ``delta`` and
``...transcription.completed`` with the transcript, decoded as in file mode (it has the last word where a
partial was revised). ``input_audio_buffer.commit`` ends a turn at once (the only way without VAD);
``input_audio_buffer.clear`` drops the audio not yet committed. Audio reaches the recognizer 100 ms at a time, so
a turn starts and stops on time whatever the size of the appends.

Faults in a client event are ``error`` events in OpenAI's shape (``{type, code, message, param, event_id}``) and
the session goes on; a refusal (key, quota, stream slots) or a stream that fell too far behind ends it after the
error, with close code 1008 (or 1013: try later), as does ``stream_idle_seconds`` without an event. Admission and
metering are those of every stream (``stream_admission``): the audio is metered as ``stream``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass, field, replace

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from shenggu.asr.streaming import Final, Partial, StreamingSession, StreamOptions
from shenggu.audio import SAMPLE_RATE
from shenggu.audio.vad import VadOptions
from shenggu.errors import BadStreamError, ShengguError
from shenggu.logs import get_logger
from shenggu.service.auth import authenticate_key
from shenggu.service.deps import SettingsDep
from shenggu.service.observability import set_stream_lag
from shenggu.service.sockets import CLOSE_ERROR, CLOSE_POLICY, CLOSE_TRY_LATER, MAX_MESSAGE_BYTES, pcm_samples
from shenggu.service.sockets import resampler_to_16k as resampler_for
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.stream_admission import AdmittedStream, StreamLag, admitted_stream, language_of
from shenggu.service.tasks import engine_name
from shenggu.text.lists import split_commas

router = APIRouter(tags=["realtime"])
log = get_logger("shenggu.realtime")

OPENAI_RATE = 24000  # OpenAI's PCM16 rate, the default of its clients
G711_RATE = 8000
PIECE = SAMPLE_RATE // 10  # audio goes to the recognizer 100 ms at a time, so turns start and stop on time
MIN_COMMIT_S = 0.1  # OpenAI's smallest committable buffer
# An append carries at most MAX_MESSAGE_BYTES of audio, base64 (4/3 larger) in a small JSON envelope.
MAX_EVENT_CHARS = MAX_MESSAGE_BYTES * 4 // 3 + 4096
_QUEUED_EVENTS = 64  # client events read ahead of processing; beyond them the socket holds the client back
_FORMATS = {"audio/pcm": None, "audio/pcmu": G711_RATE, "audio/pcma": G711_RATE}  # fixed rates
_BETA_FORMATS = {"pcm16": ("audio/pcm", OPENAI_RATE), "g711_ulaw": ("audio/pcmu", G711_RATE),
                 "g711_alaw": ("audio/pcma", G711_RATE)}  # fmt: skip
_TURN_TYPES = ("server_vad", "semantic_vad")


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class EventError(Exception):
    """A client event this server cannot follow: answered with an ``error`` event, the session goes on."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def error_event(
    code: str, message: str, param: str | None = None, event_id: str | None = None, kind: str = "invalid_request_error"
) -> dict:
    """An ``error`` server event in OpenAI's shape (``event_id``: the client event it answers, if any)."""
    error = {"type": kind, "code": code, "message": message, "param": param, "event_id": event_id}
    return {"type": "error", "event_id": _id("event"), "error": error}


# --- the session's settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptionConfig:
    """A transcription session's settings, whichever dialect set them. ``vad`` None: turns end on commit only."""

    format: str = "audio/pcm"
    rate: int = OPENAI_RATE
    model: str = "whisper-1"
    language: str | None = None
    prompt: str = ""
    keywords: tuple[str, ...] = ()
    vad: str | None = "server_vad"
    silence_ms: int = StreamOptions.end_silence_ms
    eagerness: str = "auto"  # semantic_vad's, shown back only
    id: str = field(default_factory=lambda: _id("sess"))

    @property
    def hotwords(self) -> list[str]:
        """The prompt's comma-separated terms, then the keywords (validated as the API's hotwords are)."""
        return _hotwords(self.prompt, self.keywords)

    def stream_options(self) -> StreamOptions:
        """What the recognizer is given: language, hotwords, the end-of-turn silence."""
        speculate = min(StreamOptions.speculate_ms, self.silence_ms // 2)
        return StreamOptions(
            language=language_of(self.language),
            hotwords=self.hotwords,
            end_silence_ms=self.silence_ms,
            speculate_ms=speculate,
        )

    def recognition(self) -> tuple:
        """The settings that a new recognition session is needed for."""
        return language_of(self.language), tuple(self.hotwords), self.silence_ms

    def updated(self, session: object, engine: str) -> TranscriptionConfig:
        """These settings with a ``session.update``'s (only the fields it names change; GA or beta shape, see
        :func:`is_beta`); EventError naming the parameter at fault. ``engine``: the server's ASR engine."""
        session = _object(session, "session")
        beta = is_beta(session)
        if "type" in session and session["type"] != "transcription":
            raise EventError(
                "invalid_value",
                "shenggu serves transcription sessions only: session.type must be 'transcription' "
                "(connect with ?intent=transcription)",
                "session.type",
            )
        if beta:
            prefix = "session."
            fields = {
                "format": session.get("input_audio_format", ...),
                "transcription": session.get("input_audio_transcription", ...),
                "turn_detection": session.get("turn_detection", ...),
            }
        else:
            prefix = "session.audio.input."
            audio = _object(session.get("audio", {}), "session.audio")
            audio_input = _object(audio.get("input", {}), "session.audio.input")
            fields = {name: audio_input.get(name, ...) for name in ("format", "transcription", "turn_detection")}
        config = self
        if fields["format"] is not ...:
            config = config._with_format(fields["format"], beta, prefix + ("input_audio_format" if beta else "format"))
        if fields["transcription"] not in (..., None):  # null: OpenAI's "off"; a transcription session stays on
            config = config._with_transcription(fields["transcription"], prefix, beta, engine)
        if fields["turn_detection"] is not ...:
            config = config._with_turns(fields["turn_detection"], prefix + "turn_detection")
        return config

    def _with_format(self, value: object, beta: bool, param: str) -> TranscriptionConfig:
        if beta:
            if value not in _BETA_FORMATS:
                raise EventError(
                    "invalid_value", f"input_audio_format must be one of: {', '.join(_BETA_FORMATS)}", param
                )
            kind, rate = _BETA_FORMATS[value]
            return replace(self, format=kind, rate=rate)
        value = _object(value, param)
        kind = value.get("type", self.format)
        if kind not in _FORMATS:
            raise EventError("invalid_value", f"format.type must be one of: {', '.join(_FORMATS)}", param + ".type")
        fixed = _FORMATS[kind]
        rate = value.get("rate", fixed or OPENAI_RATE)
        if fixed is not None and rate != fixed:
            raise EventError("invalid_value", f"{kind} is {fixed} Hz audio; rate must be {fixed}", param + ".rate")
        if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 48000:
            raise EventError(
                "invalid_value", "rate must be an integer from 8000 to 48000 (24000: OpenAI's)", param + ".rate"
            )
        return replace(self, format=kind, rate=rate)

    def _with_transcription(self, value: object, prefix: str, beta: bool, engine: str) -> TranscriptionConfig:
        param = prefix + ("input_audio_transcription" if beta else "transcription")
        value = _object(value, param)
        changes = {}
        if "model" in value:
            if not _streams_with(value["model"], engine):
                message = f"streams are recognized by this server's engine: model must be whisper-1 or {engine}"
                raise EventError("invalid_value", message, param + ".model")
            changes["model"] = value["model"]
        if "language" in value:
            try:
                language_of(_text(value["language"], param + ".language"))
            except ShengguError as exc:
                raise EventError("invalid_value", exc.message, param + ".language") from None
            changes["language"] = value["language"] or None
        if "prompt" in value:
            changes["prompt"] = _text(value["prompt"], param + ".prompt")
        if "keywords" in value:
            keywords = value["keywords"]
            if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
                raise EventError("invalid_type", "keywords must be a list of strings", param + ".keywords")
            changes["keywords"] = tuple(keywords)
        config = replace(self, **changes)
        try:  # the terms are checked now, not at the first audio
            _hotwords(config.prompt, config.keywords)
        except ShengguError as exc:
            raise EventError(
                "invalid_value", f"prompt and keywords are read as hotwords: {exc.message}", param
            ) from None
        return config

    def _with_turns(self, value: object, param: str) -> TranscriptionConfig:
        if value is None:
            return replace(self, vad=None)
        value = _object(value, param)
        kind = value.get("type", self.vad or "server_vad")
        if kind not in _TURN_TYPES:
            raise EventError(
                "invalid_value", f"turn_detection.type must be one of: {', '.join(_TURN_TYPES)}", param + ".type"
            )
        silence = value.get("silence_duration_ms", self.silence_ms)
        if not isinstance(silence, int) or isinstance(silence, bool) or not 100 <= silence <= 5000:
            raise EventError(
                "invalid_value",
                "silence_duration_ms must be an integer from 100 to 5000",
                param + ".silence_duration_ms",
            )
        return replace(self, vad=kind, silence_ms=silence, eagerness=str(value.get("eagerness", self.eagerness)))

    # The session object, as each dialect shows it.

    def _transcription(self) -> dict:
        shown = {"model": self.model, "language": self.language, "prompt": self.prompt}
        return {**shown, "keywords": list(self.keywords)} if self.keywords else shown

    def _turn_detection(self) -> dict | None:
        if self.vad is None:
            return None
        if self.vad == "semantic_vad":
            return {"type": "semantic_vad", "eagerness": self.eagerness}
        vad = VadOptions()
        return {
            "type": "server_vad",
            "threshold": vad.threshold,
            "prefix_padding_ms": vad.speech_pad_ms,
            "silence_duration_ms": self.silence_ms,
        }

    def ga(self) -> dict:
        """The GA session object (``session.created`` / ``session.updated``)."""
        audio_format = {"type": self.format, **({"rate": self.rate} if self.format == "audio/pcm" else {})}
        audio_input = {
            "format": audio_format,
            "transcription": self._transcription(),
            "turn_detection": self._turn_detection(),
            "noise_reduction": None,
        }
        return {"type": "transcription", "id": self.id, "audio": {"input": audio_input}, "include": []}

    def beta(self) -> dict:
        """The beta session object (``transcription_session.created`` / ``.updated``)."""
        names = {kind: name for name, (kind, _) in _BETA_FORMATS.items()}
        return {
            "id": self.id,
            "object": "realtime.transcription_session",
            "input_audio_format": names[self.format],
            "input_audio_transcription": self._transcription(),
            "turn_detection": self._turn_detection(),
            "input_audio_noise_reduction": None,
            "include": [],
        }


def is_beta(session: dict) -> bool:
    """Whether a session object has the beta shape (``input_audio_format``…) rather than GA's (``type``, ``audio``)."""
    return "type" not in session and "audio" not in session


def _hotwords(prompt: str, keywords: tuple[str, ...]) -> list[str]:
    return hotword_lists.clean_words([*split_commas(prompt), *keywords])


def _streams_with(model: object, engine: str) -> bool:
    """Whether a transcription ``model`` names what streams are recognized with: OpenAI's names mean this
    server's engine."""
    try:
        return isinstance(model, str) and engine_name(model) in (None, engine)
    except ShengguError:
        return False


def _object(value: object, param: str) -> dict:
    if not isinstance(value, dict):
        raise EventError("invalid_type", f"{param} must be an object", param)
    return value


def _text(value: object, param: str) -> str:
    if value is not None and not isinstance(value, str):
        raise EventError("invalid_type", f"{param} must be a string", param)
    return value or ""


# --- audio in ------------------------------------------------------------------------------------------------


def _g711_tables() -> dict[str, np.ndarray]:
    """G.711 μ-law and A-law bytes → float32 samples (ITU-T G.711's expansion)."""
    codes = np.arange(256)
    u = ~codes & 0xFF
    ulaw = ((((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84
    ulaw = np.where(u & 0x80, -ulaw, ulaw)
    a = codes ^ 0x55
    exponent, mantissa = (a >> 4) & 7, a & 0x0F
    alaw = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    alaw = np.where(a & 0x80, alaw, -alaw)
    return {"audio/pcmu": (ulaw / 32768.0).astype(np.float32), "audio/pcma": (alaw / 32768.0).astype(np.float32)}


_G711 = _g711_tables()


class AudioInput:
    """An append's base64 audio as 16 kHz float32 samples, in the session's format (resampled across appends)."""

    def __init__(self, config: TranscriptionConfig) -> None:
        self.format, self.rate = config.format, config.rate
        self._resampler = resampler_for(self.rate)

    def samples(self, encoded: object) -> np.ndarray:
        """Decode one append's audio; EventError for what is not base64 audio of the session's format."""
        if not isinstance(encoded, str):
            raise EventError("invalid_type", "audio must be a base64-encoded string", "audio")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise EventError("invalid_value", "audio is not valid base64", "audio") from None
        if len(data) > MAX_MESSAGE_BYTES:
            raise EventError(
                "invalid_value",
                f"an append carries at most {MAX_MESSAGE_BYTES >> 20} MiB of audio; send it in smaller appends",
                "audio",
            )
        if self.format == "audio/pcm":
            try:
                return pcm_samples(data, self._resampler)
            except BadStreamError as exc:
                raise EventError("invalid_value", exc.message, "audio") from None
        samples = _G711[self.format][np.frombuffer(data, dtype=np.uint8)]
        return self._resampler.resample_chunk(samples)


# --- the connection ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    """A client message as the reader took it off the socket (text, or bytes, which no event is)."""

    text: str | None
    arrived: float  # time.monotonic()


@dataclass(frozen=True)
class _Step:
    """The recognizer after 100 ms more audio: what it found, the open sentence's start, the audio so far."""

    events: list[Partial | Final]
    speech_start: float | None
    audio_seconds: float


def _accept(session: StreamingSession, samples: np.ndarray, lag: float) -> list[_Step]:
    """Feed ``samples`` to ``session`` 100 ms at a time (any thread), noting where speech opens and closes."""
    steps = []
    for start in range(0, len(samples), PIECE):
        events = session.accept(samples[start : start + PIECE], lag)
        steps.append(_Step(events, session.speech_start, session.audio_seconds))
    return steps


class RealtimeSession:
    """One transcription session on an admitted stream: client events in, server events out."""

    def __init__(self, websocket: WebSocket, admitted: AdmittedStream, beta: bool, idle_seconds: float) -> None:
        self.websocket, self.admitted, self.beta, self.idle_seconds = websocket, admitted, beta, idle_seconds
        self.engine = websocket.app.state.settings.asr_engine
        self.config = TranscriptionConfig()  # admitted with its recognition settings: StreamOptions' defaults
        self.audio = AudioInput(self.config)
        self.lag = StreamLag()
        self.recognizing = self.config.recognition()
        self.uncommitted: list[Final] = []  # sentences closed since the last commit
        self.committed_at = 0.0  # stream seconds at the last commit (or clear)
        self.last_item: str | None = None
        self.open_item: str | None = None  # announced by speech_started, not yet committed
        self.open_start: float | None = None  # the recognizer's speech start it was announced for
        self.sent = ""  # the open item's text sent as deltas

    @property
    def session(self) -> StreamingSession:
        """The recognizer's current session."""
        return self.admitted.session

    @property
    def offset(self) -> float:
        """Stream seconds before the current recognition session began (its times start at 0)."""
        return self.admitted.audio_seconds - self.session.audio_seconds

    async def send(self, event: dict) -> None:
        """One server event (an ``event_id`` of its own added)."""
        await self.websocket.send_json({"event_id": _id("event"), **event})

    async def serve(self) -> None:
        """Run the session until the client leaves (raises WebSocketDisconnect) or a fault ends it."""
        created = "transcription_session.created" if self.beta else "session.created"
        await self.send({"type": created, "session": self._shown()})
        messages: asyncio.Queue[_Message | Exception] = asyncio.Queue(maxsize=_QUEUED_EVENTS)
        reader = asyncio.create_task(self._read(messages))
        try:
            while True:
                message = await messages.get()
                if isinstance(message, Exception):
                    raise message
                await self._dispatch(message)
        finally:
            reader.cancel()
            set_stream_lag(self.websocket, id(self), None)

    async def _read(self, messages: asyncio.Queue[_Message | Exception]) -> None:
        """Queue the client's messages as they arrive; a fault (the client left, or sent nothing for too long) is
        queued as the exception, after the messages before it."""
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.websocket.receive(), timeout=self.idle_seconds)
                except TimeoutError:
                    raise BadStreamError(f"no event for {self.idle_seconds:.0f} s; closing the idle session") from None
                if message["type"] == "websocket.disconnect":
                    raise WebSocketDisconnect(message.get("code", 1000))
                await messages.put(_Message(message.get("text"), time.monotonic()))
        except Exception as exc:
            await messages.put(exc)

    async def _dispatch(self, message: _Message) -> None:
        """Handle one client event; a fault in it is answered with an error event."""
        event_id = None
        try:
            if message.text is None:
                raise EventError("invalid_json", "events are JSON text messages (audio goes base64 in appends)")
            if len(message.text) > MAX_EVENT_CHARS:
                raise EventError("invalid_value", f"an event is at most {MAX_EVENT_CHARS} characters long")
            try:
                event = json.loads(message.text)
            except json.JSONDecodeError:
                raise EventError("invalid_json", "the message is not valid JSON") from None
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                raise EventError("missing_required_parameter", "an event is a JSON object with a 'type'", "type")
            event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
            kind = event["type"]
            if kind == "input_audio_buffer.append":
                await self._append(event.get("audio"), message.arrived)
            elif kind in ("session.update", "transcription_session.update"):
                await self._update(event.get("session"), kind)
            elif kind == "input_audio_buffer.commit":
                await self._commit_buffer()
            elif kind == "input_audio_buffer.clear":
                await self._clear()
            else:
                raise EventError(
                    "invalid_value",
                    f"unsupported event type '{kind[:60]}': a transcription session takes session.update "
                    "(or transcription_session.update), input_audio_buffer.append, .commit and .clear",
                    "type",
                )
        except EventError as exc:
            await self.send(error_event(exc.code, exc.message, exc.param, event_id))

    # --- client events ---

    async def _update(self, session: object, kind: str) -> None:
        config = self.config.updated(session, self.engine)
        if (config.format, config.rate) != (self.audio.format, self.audio.rate):
            self.audio = AudioInput(config)
        self.config = config
        self._restart_when_idle()
        # Answered in the shape it was asked in.
        await self.send({"type": kind.replace(".update", ".updated"), "session": self._shown(is_beta(session))})

    async def _append(self, audio: object, arrived: float) -> None:
        samples = self.audio.samples(audio)
        if not len(samples):
            return
        lag = self.lag.measure(arrived, len(samples) / SAMPLE_RATE, self.admitted.audio_seconds)
        set_stream_lag(self.websocket, id(self), lag)
        for step in await run_in_threadpool(_accept, self.session, samples, lag):
            await self._after(step)
        self._restart_when_idle()

    async def _commit_buffer(self) -> None:
        buffered = self.admitted.audio_seconds - self.committed_at
        if buffered < MIN_COMMIT_S:
            raise EventError(
                "input_audio_buffer_commit_empty",
                f"the buffer is too small to commit: expected at least {1000 * MIN_COMMIT_S:.0f} ms of audio, "
                f"it has {1000 * buffered:.0f} ms",
            )
        self.uncommitted += await run_in_threadpool(self.session.finish)
        await self._commit(self.open_item or _id("item"))
        self._restart_when_idle()

    async def _clear(self) -> None:
        self.uncommitted, self.open_item, self.open_start, self.sent = [], None, None, ""
        self._restart()
        self.committed_at = self.admitted.audio_seconds
        await self.send({"type": "input_audio_buffer.cleared"})

    # --- turns ---

    async def _after(self, step: _Step) -> None:
        """Report what 100 ms more audio did: a turn that ended, one that began, a partial's growth."""
        self.uncommitted += [e for e in step.events if isinstance(e, Final)]
        if self.config.vad is None:
            return  # the client commits; nothing is said before
        position = self.offset + step.audio_seconds
        if self.open_item is not None and step.speech_start != self.open_start:
            await self.send(
                {"type": "input_audio_buffer.speech_stopped", "audio_end_ms": _ms(position), "item_id": self.open_item}
            )
            await self._commit(self.open_item, position)
        if step.speech_start is not None and self.open_item is None:
            self.open_item, self.open_start = _id("item"), step.speech_start
            start_ms = _ms(self.offset + step.speech_start)
            await self.send(
                {"type": "input_audio_buffer.speech_started", "audio_start_ms": start_ms, "item_id": self.open_item}
            )
        for partial in (e for e in step.events if isinstance(e, Partial)):
            if self.open_item is not None:
                await self._delta(self.open_item, partial.text)

    async def _delta(self, item: str, text: str) -> None:
        """Send what ``text`` adds to the item's text sent so far (nothing when it revised that text: deltas are
        only ever appended; the completed transcript has the last word)."""
        if text.startswith(self.sent) and len(text) > len(self.sent):
            delta, self.sent = text[len(self.sent) :], text
            await self.send(
                {"type": "conversation.item.input_audio_transcription.delta", "item_id": item, "content_index": 0,
                 "delta": delta}
            )  # fmt: skip

    async def _commit(self, item: str, position: float | None = None) -> None:
        """The buffer up to ``position`` (default: all audio received) becomes ``item``, with its transcript."""
        position = self.admitted.audio_seconds if position is None else position
        previous, self.last_item = self.last_item, item
        await self.send({"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": previous})
        added = "conversation.item.created" if self.beta else "conversation.item.added"
        content = [{"type": "input_audio", "transcript": None}]
        message = {"id": item, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
                   "content": content}  # fmt: skip
        await self.send({"type": added, "previous_item_id": previous, "item": message})
        separator = "" if (self.session.language or "zh") == "zh" else " "
        transcript = separator.join(final.segment.text.strip() for final in self.uncommitted)
        await self._delta(item, transcript)
        seconds = round(max(0.0, position - self.committed_at), 3)
        await self.send(
            {"type": "conversation.item.input_audio_transcription.completed", "item_id": item, "content_index": 0,
             "transcript": transcript, "usage": {"type": "duration", "seconds": seconds}}
        )  # fmt: skip
        self.uncommitted, self.committed_at = [], position
        self.open_item, self.open_start, self.sent = None, None, ""

    # --- settings that need a new recognition session ---

    def _restart_when_idle(self) -> None:
        """Put changed recognition settings into effect between sentences (a sentence is decoded as it began)."""
        if self.config.recognition() != self.recognizing and self.session.speech_start is None and not self.uncommitted:
            self._restart()

    def _restart(self) -> None:
        self.recognizing = self.config.recognition()
        self.admitted.restart(self.config.stream_options())

    def _shown(self, beta: bool | None = None) -> dict:
        return self.config.beta() if (self.beta if beta is None else beta) else self.config.ga()


def _ms(seconds: float) -> int:
    return round(1000 * seconds)


# --- the route -----------------------------------------------------------------------------------------------

# OpenAI's codes for what shenggu calls otherwise; and errors that mean "try later" (HTTP 429 / 503).
_OPENAI_CODES = {"unauthorized": "invalid_api_key"}
_TRY_LATER = (429, 503)


async def _end(websocket: WebSocket, event: dict, close_code: int) -> None:
    """Send the error ``event`` that ends the session, and close."""
    try:
        await websocket.send_json(event)
        await websocket.close(close_code)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client is gone already


async def _refuse(websocket: WebSocket, exc: ShengguError) -> None:
    """Report why the session cannot start or go on, in OpenAI's shape: "try later" for what the HTTP API answers
    429 or 503 (rate, quota, stream slots, a stream too far behind), a policy violation otherwise."""
    later = exc.http_status in _TRY_LATER
    event = error_event(_OPENAI_CODES.get(exc.code, exc.code), exc.message)
    await _end(websocket, event, CLOSE_TRY_LATER if later else CLOSE_POLICY)


@router.websocket("/v1/realtime")
async def realtime(websocket: WebSocket, settings: SettingsDep) -> None:
    """An OpenAI Realtime transcription session (see the module docstring and the README)."""
    beta = "realtime=v1" in websocket.headers.get("openai-beta", "")
    await websocket.accept()
    try:
        principal = await run_in_threadpool(authenticate_key, websocket)
        lists = split_commas(websocket.query_params.get("hotword_lists", ""))
        async with admitted_stream(websocket.app, principal, StreamOptions(), lists) as admitted:
            await RealtimeSession(websocket, admitted, beta, settings.stream_idle_seconds).serve()
    except ShengguError as exc:
        await _refuse(websocket, exc)
    except WebSocketDisconnect:
        log.info("realtime client left")
    except Exception:
        log.exception("realtime session failed")
        event = error_event("internal_error", "internal error; the server log has details", kind="server_error")
        await _end(websocket, event, CLOSE_ERROR)
