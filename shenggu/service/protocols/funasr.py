"""FunASR's runtime WebSocket protocol, for FunASR clients as they are (funasr-client, FunASR's own Python, Java
and HTML5 clients): on a port of its own (``shenggu serve --funasr-port 10095``) and at ``/v1/funasr`` on the
main port.

The client opens the socket and sends its configuration as JSON: ``mode`` (``offline``, ``online`` or
``2pass``), ``wav_name``, ``wav_format``, ``audio_fs``, ``itn``, ``hotwords`` (FunASR's JSON string
``"{\\"阿里巴巴\\": 20}"``, or space-separated words; weights are not used: shenggu's hotwords have none),
``svs_lang`` (``zh`` or ``en`` fixes the language; else the URL's ``?language=``, else it is detected) and
``chunk_size`` (accepted, unused: shenggu ends sentences by voice activity, not by chunks). Then binary audio,
then ``{"is_speaking": false}``. Answers are FunASR's result messages, as its 2pass runtime server (the one
funasr-client targets) labels them: ``{"mode", "wav_name", "text", "is_final"}``, with ``timestamp``
(``"[[start_ms,end_ms],...]"``, a pair per character of Chinese, per word otherwise) and ``stamp_sents`` on finals.

* ``online`` and ``2pass``: 16-bit PCM at ``audio_fs``, recognized as shenggu's own streams are (the same
  session, lag accounting and shedding). Partials are ``2pass-online``, sent as FunASR's online pass sends them:
  the characters past those the client has already appended for the open sentence. Each sentence's final is
  ``2pass-offline`` (punctuated, numbers written per ``itn``), and replaces those partials in FunASR clients.
  shenggu has no separate streaming model, so the two modes are answered alike.
* ``offline``: the whole recording (PCM, a WAV file, or any format ``shenggu.audio`` decodes, named by
  ``wav_format``) is collected, then recognized; one ``2pass-offline`` result holds all of it.

The last result, after the client's end, has ``is_final: true`` (an empty one when the last sentence was already
sent); then the server waits for the client to close, as FunASR clients expect to close first. A fault is
answered in the same form, with the reason added, ``{"mode": "2pass-offline", "wav_name", "text": "",
"is_final": true, "error": "what went wrong", "code": "quota_exceeded"}``, and the socket is closed with a code
(1008: the request was wrong; 1013: try again later; 1011: a server fault). FunASR's own servers just close.

Who is calling: a key in the URL (``?api_key=KEY``, or ``?key=KEY``), as FunASR clients send no headers; on the
listener, without a key, the tenant the operator named (``--funasr-tenant``). Either way the stream is admitted,
limited and metered (as ``stream``) as shenggu's own streams are (``shenggu.service.stream_admission``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
import soxr
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.types import Message
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from shenggu.asr.pipeline import SUPPORTED_LANGUAGES
from shenggu.asr.postprocess import PostprocessOptions
from shenggu.asr.streaming import Final, Shedding, StreamOptions
from shenggu.asr.types import Segment
from shenggu.audio import SAMPLE_RATE, AudioTooLongError, decode_audio
from shenggu.errors import BadStreamError, ShengguError
from shenggu.logs import get_logger
from shenggu.service.auth import UnauthorizedError, authenticate_key, principal_for_key
from shenggu.service.limits import check_audio
from shenggu.service.routers.stream import serve_frames
from shenggu.service.sockets import (
    CLOSE_ERROR,
    CLOSE_NORMAL,
    check_frame,
    close_code_for,
    pcm16_samples,
    resampler_to_16k,
)
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage.tenants import Principal
from shenggu.service.stream_admission import AdmittedStream, admitted_stream, principal_for_tenant
from shenggu.text.lists import split_commas
from shenggu.text.script import HAN, is_punctuation

router = APIRouter(tags=["stream"])
log = get_logger("shenggu.funasr")

MODES = ("offline", "online", "2pass")
PARTIAL, FINAL = "2pass-online", "2pass-offline"  # result labels, as FunASR's 2pass runtime server has them
DEFAULT_WAV_NAME = "wav-default-id"  # FunASR's servers' name for a stream that gives none
PCM_FORMATS = ("pcm", "wav", "")  # streamed as 16-bit PCM (FunASR's clients strip a WAV file's header)
MAX_FRAME_BYTES = 16 << 20  # what the listener's WebSocket library takes; frames over 1 MiB are refused in form
# An offline recording is decoded whole, in memory (~230 MB of samples an hour): longer ones belong to
# /v1/audio/transcriptions or a job, which decode window by window.
MAX_RECORDING_S = 3600.0
_TOKEN = re.compile(f"[{HAN}]|[^\\s{HAN}]+")  # one Chinese character, or a run of other letters


@dataclass
class FunasrConfig:
    """A client's first message, read the way FunASR's servers read it (missing fields take their defaults)."""

    mode: str = "2pass"
    wav_name: str = DEFAULT_WAV_NAME
    wav_format: str = "pcm"
    audio_fs: int = SAMPLE_RATE
    itn: bool = True
    language: str | None = None
    hotwords: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, message: str | bytes | None, language: str = "auto") -> FunasrConfig:
        """The configuration in a first message; BadStreamError naming what is wrong with it. ``language``: the
        URL's (zh, en or auto), for a message whose ``svs_lang`` names none."""
        if not isinstance(message, str):
            raise BadStreamError(
                'the first message must be the JSON configuration, e.g. {"mode": "2pass", "wav_name": "demo", '
                '"is_speaking": true}, before any audio'
            )
        fields = _json_object(message)
        if fields.get("is_speaking") is False:
            raise BadStreamError("the first message must start the stream (is_speaking true), not end it")
        mode = fields.get("mode") or "2pass"
        if mode not in MODES:
            raise BadStreamError(f"mode must be one of {', '.join(MODES)}, not {str(mode)[:20]!r}")
        audio_fs = fields.get("audio_fs") or SAMPLE_RATE
        audio_fs = int(audio_fs) if isinstance(audio_fs, str) and audio_fs.isdigit() else audio_fs
        if not isinstance(audio_fs, int) or not 8000 <= audio_fs <= 48000:
            raise BadStreamError(f"audio_fs must be a sample rate between 8000 and 48000, not {str(audio_fs)[:20]}")
        wav_format = str(fields.get("wav_format") or "pcm").lower().lstrip(".")
        if mode != "offline" and wav_format not in PCM_FORMATS:
            raise BadStreamError(f"{mode} mode streams 16-bit PCM; send {wav_format} files in offline mode")
        if language not in (*SUPPORTED_LANGUAGES, "auto"):
            raise BadStreamError(f"language must be one of {', '.join(SUPPORTED_LANGUAGES)} or auto")
        language = fields.get("svs_lang") if fields.get("svs_lang") in SUPPORTED_LANGUAGES else language
        return cls(
            mode=mode,
            wav_name=str(fields.get("wav_name") or DEFAULT_WAV_NAME)[:200],
            wav_format=wav_format,
            audio_fs=audio_fs,
            itn=fields.get("itn") is not False,
            language=None if language == "auto" else language,
            hotwords=hotword_lists.clean_words(funasr_hotwords(fields.get("hotwords"))),
        )

    def stream_options(self) -> StreamOptions:
        """How shenggu's streaming session recognizes this stream. Offline, nobody waits for partials or
        speculative finals, and no lag is worth shedding accuracy for: the file is recognized at full quality."""
        options = StreamOptions(language=self.language, hotwords=self.hotwords, post=PostprocessOptions(itn=self.itn))
        if self.mode == "offline":
            options.speculate_ms, options.partial_interval_s, options.shedding = 0, math.inf, Shedding.never()
        return options

    def result(self, text: str, is_final: bool, label: str = FINAL) -> dict:
        """A result message with FunASR's fields."""
        return {"mode": label, "wav_name": self.wav_name, "text": text, "is_final": is_final}


def funasr_hotwords(value: object) -> list[str]:
    """The words of a FunASR ``hotwords`` field: its JSON form (a string holding ``{"word": weight, ...}``, or
    the object itself), or words separated by spaces (FunASR's Python client sends that form)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value.split()
    if isinstance(value, dict):
        return [str(word) for word in value]
    if isinstance(value, str):  # a JSON string holding plain words
        return value.split()
    raise BadStreamError(
        'hotwords must be FunASR\'s JSON form, e.g. "{\\"阿里巴巴\\": 20}", or words separated by spaces'
    )


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise BadStreamError('text messages must be JSON objects, e.g. {"is_speaking": false} to end the audio')
    return value


@dataclass(frozen=True)
class _Sentence:
    """A final's text and timed words, from a streaming final message or a recognized segment."""

    text: str
    start: float
    end: float
    words: list[tuple[float, float, str]]

    @classmethod
    def of_segment(cls, segment: Segment) -> _Sentence:
        return cls(segment.text, segment.start, segment.end, [(w.start, w.end, w.word) for w in segment.words])

    @classmethod
    def of_message(cls, message: Mapping) -> _Sentence:
        words = [(w["start"], w["end"], w["word"]) for w in message.get("words", [])]
        return cls(message["text"], message["start"], message["end"], words)

    def tokens(self) -> list[tuple[int, int, str]]:
        """FunASR's timed tokens, in milliseconds: each Chinese character (a word's time shared evenly among
        its characters) and each other word, without punctuation."""
        timed = []
        for start, end, word in self.words:
            pieces = [p.strip("".join(filter(is_punctuation, p))) for p in _TOKEN.findall(word)]
            pieces = [p for p in pieces if p]
            step = (end - start) / max(1, len(pieces))
            for i, piece in enumerate(pieces):
                timed.append((round(1000 * (start + i * step)), round(1000 * (start + (i + 1) * step)), piece))
        return timed

    def stamp_sent(self) -> dict:
        """The sentence as one of FunASR's ``stamp_sents``."""
        tokens = self.tokens()
        text = self.text.rstrip()
        return {
            "text_seg": " ".join(token for _, _, token in tokens),
            "punc": text[-1] if text and is_punctuation(text[-1]) else "",
            "start": tokens[0][0] if tokens else round(1000 * self.start),
            "end": tokens[-1][1] if tokens else round(1000 * self.end),
            "ts_list": [[start, end] for start, end, _ in tokens],
        }


def final_result(config: FunasrConfig, sentences: list[_Sentence], is_final: bool, separator: str = "") -> dict:
    """A ``2pass-offline`` result of one or more sentences, with their timestamps where words were timed."""
    result = config.result(separator.join(s.text for s in sentences), is_final)
    stamps = [[start, end] for s in sentences for start, end, _ in s.tokens()]
    if stamps:
        result["timestamp"] = json.dumps(stamps, separators=(",", ":"))
        result["stamp_sents"] = [s.stamp_sent() for s in sentences]
    return result


class _FunasrSocket(WebSocket):
    """The client's socket as the streaming loop (``serve_frames``) sees it: FunASR's end message read as
    shenggu's, shenggu's events written as FunASR's results. Finals after the client's end are held until the
    stream is done, so that the last of them can say ``is_final``."""

    def __init__(self, websocket: WebSocket, config: FunasrConfig) -> None:
        super().__init__(websocket.scope, websocket.receive, websocket.send)
        self.client_state, self.application_state = websocket.client_state, websocket.application_state
        self.config = config
        self._shown = ""  # the open sentence's partial text as the client has appended it
        self._ended = False
        self._held: list[dict] = []
        self._idle_seconds = websocket.app.state.settings.stream_idle_seconds

    async def receive(self) -> Message:
        """The next audio frame or end; configuration sent again (FunASR clients may) changes nothing."""
        while True:
            message = await super().receive()
            text = message.get("text") if message["type"] == "websocket.receive" else None
            if text is None:
                return message
            if _json_object(text).get("is_speaking") is False:
                self._ended = True
                return {"type": "websocket.receive", "text": '{"type": "end"}'}

    async def send_json(self, data: object, mode: str = "text") -> None:
        """Write one of shenggu's stream events as FunASR's result (warnings have no FunASR form: dropped)."""
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "partial":
            added = data["text"][len(self._shown) :]  # FunASR clients append what the online pass sends
            if added:
                self._shown += added
                await super().send_json(self.config.result(added, False, PARTIAL))
        elif kind == "final":
            self._shown = ""
            result = final_result(self.config, [_Sentence.of_message(data)], False)
            if self._ended:
                self._held.append(result)
            else:
                await super().send_json(result)
        elif kind == "done":
            last = self._held.pop() if self._held else self.config.result("", True)
            for result in [*self._held, {**last, "is_final": True}]:
                await super().send_json(result)

    async def close(self, code: int = CLOSE_NORMAL, reason: str | None = None) -> None:
        """End the stream when the client has closed (see :func:`_close_after_client`)."""
        await _close_after_client(self, self._idle_seconds, code)


async def _close_after_client(websocket: WebSocket, timeout: float, code: int = CLOSE_NORMAL) -> None:
    """Wait for the client to close, ignoring what it still sends, then close; after ``timeout`` close anyway.
    FunASR clients close first: funasr-client sends its end message again as it closes, and fails if the server
    closed already."""
    try:
        async with asyncio.timeout(timeout):
            while (await WebSocket.receive(websocket))["type"] != "websocket.disconnect":
                pass
        return  # the client is gone
    except (WebSocketDisconnect, RuntimeError):
        return  # gone before
    except TimeoutError:
        pass
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # gone meanwhile
        await WebSocket.close(websocket, code)


async def _recognize_recording(websocket: WebSocket, config: FunasrConfig, stream: AdmittedStream) -> None:
    """Offline mode: collect the recording to the end message, recognize it, send one result."""
    settings = websocket.app.state.settings
    limit = settings.max_upload_mb << 20
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(websocket.receive(), timeout=settings.stream_idle_seconds)
        except TimeoutError:
            raise BadStreamError(f"no data for {settings.stream_idle_seconds:.0f} s; closing the idle stream") from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", CLOSE_NORMAL))
        if (data := message.get("bytes")) is not None:
            check_frame(data)
            size += len(data)
            if size > limit:
                raise BadStreamError(f"recordings must be at most {settings.max_upload_mb} MB")
            chunks.append(data)
        elif _json_object(message.get("text") or "").get("is_speaking") is False:
            break
    samples = await run_in_threadpool(_decoded, b"".join(chunks), config, stream.principal.max_audio_seconds)
    with websocket.app.state.db.session() as db_session:
        check_audio(db_session, stream.principal, len(samples) / SAMPLE_RATE)  # its length and the day's quota
    session = stream.session
    events = await run_in_threadpool(lambda: [*session.accept(samples), *session.finish()])
    sentences = [_Sentence.of_segment(e.segment) for e in events if isinstance(e, Final)]
    separator = "" if session.language == "zh" else " "
    await websocket.send_json(final_result(config, sentences, True, separator))
    await _close_after_client(websocket, settings.stream_idle_seconds)


def _decoded(data: bytes, config: FunasrConfig, tenant_limit_s: float | None) -> np.ndarray:
    """A recording as 16 kHz samples: 16-bit PCM at ``audio_fs``, or a file (a WAV file with its header, or any
    format shenggu decodes); AudioTooLongError past ``MAX_RECORDING_S`` (or the tenant's shorter limit)."""
    limit = min(MAX_RECORDING_S, tenant_limit_s or MAX_RECORDING_S)
    if config.wav_format not in PCM_FORMATS or data.startswith(b"RIFF"):
        return decode_audio(data, config.wav_name, max_seconds=limit)
    if len(data) / 2 / config.audio_fs > limit:
        raise AudioTooLongError(
            f"offline recordings are decoded whole and may be {limit:.0f} s long at most; send longer ones to "
            "/v1/audio/transcriptions"
        )
    samples = pcm16_samples(data[: len(data) & ~1])  # a recording cut mid-sample loses that half sample
    return soxr.resample(samples, config.audio_fs, SAMPLE_RATE) if config.audio_fs != SAMPLE_RATE else samples


def _principal(websocket: WebSocket, tenant: str | None) -> Principal:
    """A key in the URL (or header) acts as its tenant; without one, the listener's tenant if it has one."""
    state = websocket.app.state
    key = websocket.query_params.get("key")
    has_key = key or websocket.query_params.get("api_key") or websocket.headers.get("authorization")
    if tenant and not has_key:
        return principal_for_tenant(state.db, tenant)
    try:
        return principal_for_key(state, key) if key else authenticate_key(websocket)
    except UnauthorizedError as exc:
        if has_key:
            raise
        raise UnauthorizedError(
            "missing API key: FunASR clients send no headers, so add ?api_key=KEY to the server's URL", exc.headers
        ) from None


async def _first_message(websocket: WebSocket, idle_seconds: float) -> str | bytes | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=idle_seconds)
    except TimeoutError:
        raise BadStreamError(f"no configuration message for {idle_seconds:.0f} s; closing the idle stream") from None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", CLOSE_NORMAL))
    return message.get("text", message.get("bytes"))


async def _fail(websocket: WebSocket, config: FunasrConfig, code: str, message: str, close_code: int) -> None:
    """FunASR's last result, with the reason added; then close (quietly if the client is gone)."""
    try:
        await websocket.send_json({**config.result("", True), "error": message, "code": code})
        await websocket.close(close_code, message.encode()[:120].decode(errors="ignore"))  # 123 bytes at most
    except (WebSocketDisconnect, RuntimeError):
        pass


async def serve_funasr(websocket: WebSocket, tenant: str | None = None) -> None:
    """Serve one FunASR client (see the module docstring); ``tenant``: the listener's, for clients without a key."""
    offered = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="binary" if "binary" in offered else None)  # FunASR clients offer it
    settings = websocket.app.state.settings
    config = FunasrConfig()
    principal: Principal | None = None
    try:
        language = websocket.query_params.get("language") or "auto"
        config = FunasrConfig.parse(await _first_message(websocket, settings.stream_idle_seconds), language)
        principal = await run_in_threadpool(_principal, websocket, tenant)
        lists = split_commas(websocket.query_params.get("hotword_lists", ""))
        async with admitted_stream(websocket.app, principal, config.stream_options(), lists) as stream:
            if config.mode == "offline":
                await _recognize_recording(websocket, config, stream)
            else:
                socket = _FunasrSocket(websocket, config)
                resampler = resampler_to_16k(config.audio_fs)
                await serve_frames(socket, stream.session, resampler, settings.stream_idle_seconds)
    except ShengguError as exc:
        await _fail(websocket, config, exc.code, exc.message, close_code_for(exc))
    except WebSocketDisconnect:
        log.info("funasr client left", tenant=principal.tenant_name if principal else None)
    except Exception:
        log.exception("funasr stream failed")
        await _fail(websocket, config, "internal_error", "internal error; the server log has details", CLOSE_ERROR)


@router.websocket("/v1/funasr")
async def funasr(websocket: WebSocket) -> None:
    """FunASR's runtime WebSocket protocol on the main port (see the module docstring; a key is required:
    ``ws://HOST:PORT/v1/funasr?api_key=KEY``)."""
    await serve_funasr(websocket)


class FunasrListener:
    """FunASR's protocol on a port of its own (``funasr_port``), any path, in the server's event loop. Each
    connection is handed to :func:`serve_funasr` as a Starlette WebSocket, so both ports run the same code."""

    name = "funasr"

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        settings = app.state.settings
        self.host, self.port, self.tenant = settings.funasr_host, settings.funasr_port, settings.funasr_tenant
        self._server: Server | None = None

    async def start(self) -> None:
        """Listen (returns once the port is bound)."""
        self._server = await serve(
            self._serve,
            self.host,
            self.port,
            subprotocols=["binary"],
            max_size=MAX_FRAME_BYTES,
            ping_interval=None,  # FunASR clients do not expect pings (funasr-client turns its own off)
        )
        log.info("funasr listener started", host=self.host, port=self.port, tenant=self.tenant)

    async def stop(self) -> None:
        """Stop listening and end open connections."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, connection: ServerConnection) -> None:
        await serve_funasr(WebSocket(*_asgi(connection, self.app)), self.tenant)


def _asgi(connection: ServerConnection, app: FastAPI):
    """An ASGI scope, receive and send over a websockets connection whose handshake is done, for Starlette's
    WebSocket: the accept is a no-op, a closed connection a disconnect."""
    target = urlsplit(connection.request.path)
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": target.path or "/",
        "raw_path": target.path.encode(),
        "query_string": target.query.encode(),
        "headers": [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in connection.request.headers.raw_items()
        ],
        "client": connection.remote_address[:2],
        "server": connection.local_address[:2],
        "subprotocols": [connection.subprotocol] if connection.subprotocol else [],
        "app": app,
        "state": {},
    }
    connected = False

    async def receive() -> Message:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        try:
            data = await connection.recv()
        except ConnectionClosed as exc:
            return {"type": "websocket.disconnect", "code": exc.rcvd.code if exc.rcvd else 1006}
        if isinstance(data, bytes):
            return {"type": "websocket.receive", "bytes": data}
        return {"type": "websocket.receive", "text": data}

    async def send(message: Message) -> None:
        try:
            if message["type"] == "websocket.send":
                text = message.get("text")
                await connection.send(text if text is not None else message["bytes"])
            elif message["type"] == "websocket.close":
                await connection.close(message.get("code", CLOSE_NORMAL), message.get("reason") or "")
        except ConnectionClosed as exc:
            raise WebSocketDisconnect(exc.rcvd.code if exc.rcvd else 1006) from None

    return scope, receive, send
