"""The FAQ voice assistant: ``WebSocket /v1/assistant`` (audio or text in; question, answer and answer speech
out), ``POST /v1/assistant/ask`` (one typed question, JSON answer) and the kiosk page ``GET /kiosk``.

WebSocket protocol (the README's "Voice assistant" section has it whole). Query: ``kb`` (a knowledge base of
the key's tenant, required), ``voice`` (preferred voice; a Mandarin one reads Mandarin replies), ``sample_rate``
(of the PCM sent, default 16000), ``audio_rate`` (of the answer audio, default 24000), ``language`` (zh, en or
auto, of the speech), ``end_silence_ms``, ``hotwords`` / ``hotword_lists`` (as for ``/v1/audio/stream``),
``api_key`` (or ``Authorization: Bearer``). The client sends binary PCM16 mono frames and/or
``{"type": "text", "text": ...}``, ``{"type": "stop"}`` (silence the answer being spoken), and finally
``{"type": "end"}``. The server sends ``ready``, then ``partial`` and, per question, ``question``, ``answer``,
``audio_start``, binary PCM16 frames, ``audio_end``; after ``end`` it answers what is left and sends ``done``.
Every fault ends with an ``error`` message and a close code.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shenggu.asr.hotwords import split_hotwords
from shenggu.asr.registry import get_recognizer
from shenggu.asr.streaming import Final, Partial, StreamOptions
from shenggu.errors import InvalidOptionError, ShengguError
from shenggu.lazy import once
from shenggu.logs import get_logger
from shenggu.nlp.faq.files import MAX_QUESTION_CHARS
from shenggu.nlp.faq.retrieval import FaqIndex
from shenggu.service.auth import authenticate_key, current_principal
from shenggu.service.errors import error_responses
from shenggu.service.fields import ReadableText
from shenggu.service.limits import check_audio, check_characters
from shenggu.service.observability import add_audio_seconds
from shenggu.service.sockets import (
    CLOSE_ERROR,
    CLOSE_NORMAL,
    CLOSE_TRY_LATER,
    StreamError,
    fail,
    pcm_samples,
    refuse,
    resampler_to_16k,
    sample_rate_of,
)
from shenggu.service.storage import hotwords as hotword_lists
from shenggu.service.storage import knowledge, usage
from shenggu.service.storage.db import Database
from shenggu.service.storage.tenants import Principal
from shenggu.solutions.assistant import (
    DEFAULT_SAMPLE_RATE,
    EARLY_ANSWER_MS,
    AssistantSession,
    IndexCache,
    QuestionListener,
    Turn,
    Voices,
    join_texts,
    listen_options,
)
from shenggu.solutions.assistant.phrasing import phrase_answer
from shenggu.tts.script import text_language
from shenggu.tts.synthesis import AudioChunk

router = APIRouter(tags=["assistant"])
log = get_logger("shenggu.assistant")

CAPABILITY = "assistant"
MAX_TYPED_CHARS = MAX_QUESTION_CHARS
MAX_AUDIO_FRAME_S = 1.0  # answer audio goes out in frames of at most this much speech
KIOSK_DIR = Path(__file__).resolve().parents[1] / "static" / "kiosk"
KIOSK_ASSETS = {"kiosk.js": "text/javascript", "kiosk.css": "text/css"}

indexes = IndexCache()


@once
def _workers() -> ThreadPoolExecutor:
    """Threads for the model work of conversations (index builds, ASR, retrieval, TTS). Not the event loop's
    default threads: those are daemon threads, killed mid-inference when the process exits (onnxruntime then
    aborts the process); these are joined at exit."""
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="assistant")


async def in_worker(function, *args):
    """``function(*args)`` in a worker thread."""
    return await asyncio.get_running_loop().run_in_executor(_workers(), functools.partial(function, *args))


def database_key(db: Database) -> str:
    """Names one database among those a process may use (version numbers are unique only within one)."""
    return f"{id(db)}:{db.engine.url.render_as_string()}"


def load_index(db: Database, tenant_id: int, name: str) -> tuple[int, FaqIndex]:
    """The tenant's base ``name`` at its active version, as a (cached) retrieval index; NotFoundError naming it."""
    knowledge.check_name(name)
    with db.session() as session:
        base = knowledge.active(session, tenant_id, name)
    return base.version, indexes.get((database_key(db), tenant_id, base.name, base.version), base.kb)


def answer_event(turn: Turn, candidates: int = 5) -> dict:
    """The ``answer`` message of a turn (also the extra fields of ``POST /v1/assistant/ask``)."""
    result, reply = turn.result, turn.reply
    return {
        "type": "answer",
        "status": result.status,
        "text": reply.text,
        "question": turn.question,
        "entry_id": result.entry_id,
        "entry_question": result.question,
        "confidence": result.confidence,
        "language": reply.language,
        "voice": reply.voice,
        "options": reply.options,
        "candidates": [
            {"entry_id": c.entry_id, "question": c.question, "score": round(c.score, 4)}
            for c in result.candidates[:candidates]
        ],
        "retrieval_ms": round(turn.retrieval_s * 1000, 1),
    }


# ------------------------------------------------------------------------------------------------------------
# POST /v1/assistant/ask
# ------------------------------------------------------------------------------------------------------------


class AskRequest(BaseModel):
    """A typed question to a knowledge base."""

    model_config = ConfigDict(extra="forbid", strict=True)

    kb: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="Knowledge base name.")
    text: ReadableText = Field(min_length=1, max_length=MAX_TYPED_CHARS, examples=["结婚登记需要带什么材料？"])
    voice: str | None = Field(None, max_length=40, description="Preferred voice (the reply's `voice` field).")
    phrase: bool = Field(
        False,
        description="Reword the answer as a reply to the question with the local language model (seconds), used "
        "only when it states exactly the answer's facts (numbers, dates, times, names) — else the stored answer.",
    )


@router.post("/v1/assistant/ask", responses=error_responses(400, 401, 404, 422, 429))
def ask(body: AskRequest, request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> dict:
    """Answer one typed question from a knowledge base: the retrieval result (``status`` answer, clarify or
    no_match, ``answer``, ``clarification``, ``candidates``, ``confidence``...) plus the assistant's ``reply``."""
    state = request.app.state
    state.rate_limiter.check(principal)
    voices = Voices.preferring(body.voice)
    version, index = load_index(state.db, principal.tenant_id, body.kb)
    turn = AssistantSession(index, voices).ask(body.text)
    with state.db.session() as session:
        usage.record(session, principal.tenant_id, CAPABILITY)
    event = answer_event(turn)
    phrasing = None
    if body.phrase and turn.result.status == "answer" and turn.result.answer.strip():
        language = turn.result.answer_language or text_language(turn.result.answer)
        phrasing = phrase_answer(body.text, turn.result.answer, language, str(principal.tenant_id))
    return {
        **turn.result.to_dict(),
        "kb": body.kb,
        "kb_version": version,
        "reply": phrasing.text if phrasing else event["text"],
        "phrased": bool(phrasing and phrasing.phrased),
        "phrasing_problems": phrasing.problems if phrasing else [],
        "reply_language": event["language"],
        "voice": event["voice"],
        "options": event["options"],
    }


# ------------------------------------------------------------------------------------------------------------
# The kiosk page
# ------------------------------------------------------------------------------------------------------------


@router.get("/kiosk", include_in_schema=False)
def kiosk() -> FileResponse:
    """The kiosk page (``?kb=NAME&key=KEY`` fills in the form)."""
    return FileResponse(KIOSK_DIR / "kiosk.html", media_type="text/html; charset=utf-8")


@router.get("/kiosk/{asset}", include_in_schema=False)
def kiosk_asset(asset: str) -> FileResponse:
    """The kiosk's script and style sheet."""
    if asset not in KIOSK_ASSETS:
        raise HTTPException(404, "no such file")
    return FileResponse(KIOSK_DIR / asset, media_type=f"{KIOSK_ASSETS[asset]}; charset=utf-8")


# ------------------------------------------------------------------------------------------------------------
# WebSocket /v1/assistant
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """A connection's query parameters, checked."""

    kb: str
    voices: Voices
    sample_rate: int
    audio_rate: int
    listen: StreamOptions


def _params(websocket: WebSocket) -> Params:
    params = websocket.query_params
    kb = params.get("kb", "")
    if not kb:
        raise StreamError("kb is required: the name of the knowledge base to answer from")
    if params.get("format", "pcm_s16le") != "pcm_s16le":
        raise StreamError("format must be pcm_s16le (raw 16-bit little-endian mono PCM)")
    raw_rate = params.get("audio_rate", str(DEFAULT_SAMPLE_RATE))
    if not raw_rate.isdigit() or not 8000 <= int(raw_rate) <= 48000:
        raise StreamError("audio_rate must be an integer between 8000 and 48000")
    language = params.get("language", "auto")
    if language not in ("zh", "en", "auto"):
        raise InvalidOptionError(f"language must be zh, en or auto, not '{language[:20]}'")
    raw_silence = params.get("end_silence_ms", "")
    if raw_silence and not raw_silence.isdigit():
        raise StreamError("end_silence_ms must be an integer")
    listen = listen_options(None if language == "auto" else language, int(raw_silence) if raw_silence else None)
    listen.hotwords = hotword_lists.clean_words(params.get("hotwords", ""))
    voices = Voices.preferring(params.get("voice") or None)
    return Params(knowledge.check_name(kb), voices, sample_rate_of(websocket), int(raw_rate), listen)


@router.websocket("/v1/assistant")
async def assistant(websocket: WebSocket) -> None:
    """Answer spoken and typed questions from a knowledge base (see the module docstring for the protocol)."""
    await websocket.accept()
    state = websocket.app.state
    try:
        principal = await run_in_threadpool(authenticate_key, websocket)
        params = _params(websocket)
        state.rate_limiter.check(principal)
        with state.db.session() as session:
            check_audio(session, principal, 1.0)
            lists = split_hotwords(websocket.query_params.get("hotword_lists", ""))
            listen = params.listen
            listen.hotwords = hotword_lists.words_for(session, principal.tenant_id, lists, listen.hotwords)
        version, index = await in_worker(load_index, state.db, principal.tenant_id, params.kb)
    except ShengguError as exc:
        await refuse(websocket, exc)
        return
    if not state.stream_slots.acquire():
        await fail(websocket, "too_many_streams", "the server is at its stream limit; retry later", CLOSE_TRY_LATER)
        return
    conversation = None
    try:
        recognizer = await run_in_threadpool(get_recognizer)
        session = AssistantSession(index, params.voices, params.audio_rate)
        conversation = Conversation(websocket, principal, params, session, QuestionListener(recognizer, params.listen))
        await conversation.send(
            {
                "type": "ready",
                "kb": params.kb,
                "kb_version": version,
                "sample_rate": params.sample_rate,
                "audio_rate": params.audio_rate,
            }
        )
        await conversation.run()
    except ShengguError as exc:
        await refuse(websocket, exc)
    except WebSocketDisconnect:
        log.info("assistant client left", tenant=principal.tenant_name)
    except Exception:
        log.exception("assistant stream failed")
        await fail(websocket, "internal_error", "internal error; the server log has details", CLOSE_ERROR)
    finally:
        state.stream_slots.release()
        if conversation is not None:
            await run_in_threadpool(conversation.meter)


@dataclass
class Prepared:
    """A question's answer as far as it is ready: the turn, then the speech's chunks and its first chunk."""

    turn: Turn
    chunks: Iterator[AudioChunk] | None = None
    first: AudioChunk | None = None
    error: str | None = None  # the TTS could not read the reply
    first_s: float | None = None  # how long the first chunk took to synthesize


@dataclass(frozen=True)
class Question:
    """A question waiting to be answered: its text, where it came from, the ``stop`` generation it belongs to
    (a ``stop`` drops the questions asked before it), and its early answer if one was prepared."""

    text: str
    source: str
    generation: int
    early: asyncio.Task | None = None


@dataclass(frozen=True)
class Early:
    """An early answer in preparation for the open sentence's settled text (see ``listening``)."""

    key: tuple[float, float]
    text: str
    task: asyncio.Task


_END = object()


class Conversation:
    """One connection: a receive loop (audio → ASR → questions; typed questions; commands) and an answer loop
    (question → retrieval → answer message → speech), so answers are spoken while the microphone streams on.

    While the speaker pauses, the receive loop also prepares an early answer to the settled text (retrieval and
    first audio), which the answer loop uses when the question closes with that text."""

    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        params: Params,
        session: AssistantSession,
        listener: QuestionListener,
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self.params = params
        self.session = session
        self.listener = listener
        self.resampler = resampler_to_16k(params.sample_rate)
        self.questions: asyncio.Queue = asyncio.Queue()
        self.generation = 0  # raised by every "stop"
        self.answering = False
        self.characters = 0  # spoken (sent as audio)
        self.early: Early | None = None
        self._tasks: set[asyncio.Task] = set()
        self._send_lock = asyncio.Lock()
        self._db = websocket.app.state.db
        self._idle_s = websocket.app.state.settings.stream_idle_seconds

    async def send(self, message: dict | bytes) -> None:
        """Send a JSON message or binary frame (both loops send; one at a time)."""
        async with self._send_lock:
            if isinstance(message, bytes):
                await self.websocket.send_bytes(message)
            else:
                await self.websocket.send_text(json.dumps(message, ensure_ascii=False))

    async def run(self) -> None:
        """Serve until ``end`` has been answered (then ``done`` and a normal close) or a fault."""
        receiver = asyncio.create_task(self._receive_loop())
        answerer = asyncio.create_task(self._answer_loop())
        try:
            done, _ = await asyncio.wait({receiver, answerer}, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()  # a fault of either loop ends the connection
            await answerer
        finally:
            for task in (receiver, answerer, *self._tasks):
                task.cancel()
        await self.send({"type": "done"})
        await self.websocket.close(CLOSE_NORMAL)

    def meter(self) -> None:
        """Record the connection's usage: audio heard, characters spoken."""
        audio = self.listener.audio_seconds
        with self._db.session() as db_session:
            usage.record(
                db_session, self.principal.tenant_id, CAPABILITY, audio_seconds=audio, characters=self.characters
            )
        add_audio_seconds(self.websocket, CAPABILITY, audio)

    def _check_characters(self, characters: int) -> None:
        with self._db.session() as db_session:
            check_characters(db_session, self.principal, characters)

    # -------------------------------------------------------------------------------------------- receiving

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await asyncio.wait_for(self.websocket.receive(), timeout=self._idle_s)
            except TimeoutError:
                if self.answering or not self.questions.empty():
                    continue  # a text-only client waits quietly while its answer is spoken
                raise StreamError(f"no data for {self._idle_s:.0f} s; closing the idle stream") from None
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            data, text = message.get("bytes"), message.get("text")
            if data is not None:
                samples = pcm_samples(data, self.resampler)
                await self._heard(await in_worker(self.listener.accept, samples))
                self._prepare_early()
            elif text is not None and await self._command(text):
                await self._heard(await in_worker(self.listener.finish))
                await self.questions.put(_END)
                return

    async def _command(self, text: str) -> bool:
        """Handle a JSON message; True for ``end``."""
        try:
            command = json.loads(text)
        except json.JSONDecodeError:
            raise StreamError('text messages must be JSON, e.g. {"type": "text", "text": "..."}') from None
        kind = command.get("type") if isinstance(command, dict) else None
        if kind == "end":
            return True
        if kind == "stop":
            self.generation += 1
            return False
        if kind == "text":
            question = command.get("text")
            if not isinstance(question, str) or not question.strip() or len(question) > MAX_TYPED_CHARS:
                raise StreamError(f"a text question needs 'text': 1 to {MAX_TYPED_CHARS} characters")
            await self._ask(question.strip(), "text")
            return False
        raise StreamError('text messages are {"type": "text" | "stop" | "end"}')

    async def _heard(self, events: list[Partial | Final]) -> None:
        """Partials go out as they are; the finals of a closed sentence are one question."""
        finals = [e.segment for e in events if isinstance(e, Final)]
        for event in events:
            if isinstance(event, Partial):
                await self.send({"type": "partial", "text": event.text})
        text = join_texts([s.text for s in finals], self.listener.language)
        if text:
            early = self.early.task if self.early is not None and self.early.text == text else None
            self.early = None
            await self._ask(text, "speech", round(finals[0].start, 3), round(finals[-1].end, 3), early)

    def _prepare_early(self) -> None:
        """Start an early answer when the open sentence has just settled (one per sentence and pause)."""
        settled = self.listener.settled(EARLY_ANSWER_MS)
        if settled is None or not settled.text or (self.early is not None and self.early.key == settled.key):
            return
        task = asyncio.create_task(self._early_answer(settled.text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.early = Early(settled.key, settled.text, task)

    async def _early_answer(self, text: str) -> Prepared:
        prepared = Prepared(await in_worker(self.session.ask, text, "speech"))
        await self._first_audio(prepared)
        return prepared

    async def _ask(
        self,
        text: str,
        source: str,
        start: float | None = None,
        end: float | None = None,
        early: asyncio.Task | None = None,
    ) -> None:
        message = {"type": "question", "text": text, "source": source}
        if start is not None:
            message |= {"start": start, "end": end}
        await self.send(message)
        await self.questions.put(Question(text, source, self.generation, early))

    # -------------------------------------------------------------------------------------------- answering

    async def _answer_loop(self) -> None:
        while (question := await self.questions.get()) is not _END:
            if question.generation != self.generation:
                continue  # asked before a "stop"
            self.answering = True
            try:
                await self._answer(question)
            finally:
                self.answering = False

    async def _first_audio(self, prepared: Prepared) -> None:
        """Start the reply's speech and synthesize its first chunk (once)."""
        if prepared.chunks is not None or not prepared.turn.reply.spoken:
            return
        prepared.chunks = self.session.speak(prepared.turn.reply)
        started = time.monotonic()
        try:
            prepared.first = await in_worker(next, prepared.chunks, None)
        except ShengguError as exc:  # text the TTS cannot read: the answer stands, shown but not spoken
            prepared.error = exc.message
        prepared.first_s = time.monotonic() - started

    async def _answer(self, question: Question) -> None:
        if question.early is not None:
            prepared = await question.early
        else:
            prepared = Prepared(await in_worker(self.session.ask, question.text, question.source))
        turn = prepared.turn
        await self.send(answer_event(turn) | {"early": question.early is not None})
        spoken = turn.reply.spoken
        if not spoken:
            return
        await run_in_threadpool(self._check_characters, len(spoken))
        await self._first_audio(prepared)
        await self.send(
            {
                "type": "audio_start",
                "sample_rate": self.params.audio_rate,
                "voice": turn.reply.voice,
                "first_chunk_ms": round((prepared.first_s or 0.0) * 1000, 1),
            }
        )
        self.characters += len(spoken)
        seconds, interrupted, error, chunk = 0.0, False, prepared.error, prepared.first
        try:
            while chunk is not None:
                if question.generation != self.generation:
                    interrupted = True
                    break
                for frame in _frames(chunk.samples, chunk.sample_rate):
                    await self.send(frame)
                seconds += chunk.seconds
                chunk = await in_worker(next, prepared.chunks, None)
        except ShengguError as exc:
            error = exc.message
        finally:
            with contextlib.suppress(ValueError):  # still running in a worker thread if this task was cancelled
                prepared.chunks.close()
        if error:
            log.warning("assistant reply not spoken", error=error)
        end = {"type": "audio_end", "seconds": round(seconds, 3), "interrupted": interrupted}
        await self.send(end | ({"error": error} if error else {}))


def _frames(samples: np.ndarray, sample_rate: int) -> list[bytes]:
    """PCM16 frames of at most MAX_AUDIO_FRAME_S each."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    step = max(1, int(sample_rate * MAX_AUDIO_FRAME_S))
    return [pcm[i : i + step].tobytes() for i in range(0, len(pcm), step)]
