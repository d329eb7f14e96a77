"""The FAQ voice assistant over HTTP: ``WebSocket /v1/assistant`` (audio or text in; question, answer and answer
speech out), ``POST /v1/assistant/ask`` (one typed question, JSON answer) and the kiosk page ``GET /kiosk``.

The conversation and its messages are ``shenggu.solutions.assistant.conversation`` (the README's "Voice
assistant" section has the protocol whole); this module is the transport: the key, the query parameters, the
stream slot, the WebSocket as the conversation's ``Channel``, metering, and the error message and close code
that end every fault. Query: ``kb`` (a knowledge base of the key's tenant, required), ``voice`` (preferred
voice; a Mandarin one reads Mandarin replies), ``sample_rate`` (of the PCM sent, default 16000), ``audio_rate``
(of the answer audio, default 24000), ``language`` (zh, en or auto, of the speech), ``end_silence_ms``,
``hotwords`` / ``hotword_lists`` (as for ``/v1/audio/stream``), ``api_key`` (or ``Authorization: Bearer``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shenggu.asr.streaming import StreamOptions
from shenggu.errors import BadStreamError, InvalidOptionError, ShengguError
from shenggu.logs import get_logger
from shenggu.nlp.faq.retrieval import FaqIndex
from shenggu.service.auth import authenticate_key
from shenggu.service.deps import (
    AssistantIndexesDep,
    AssistantWorkersDep,
    DatabaseDep,
    EnginesDep,
    PrincipalDep,
    RateLimiterDep,
    SettingsDep,
    StreamSlotsDep,
)
from shenggu.service.errors import error_responses
from shenggu.service.fields import ReadableText
from shenggu.service.limits import check_audio, check_characters
from shenggu.service.observability import add_audio_seconds
from shenggu.service.schemas.assistant import AskResponse
from shenggu.service.sockets import (
    CLOSE_ERROR,
    CLOSE_NORMAL,
    CLOSE_TRY_LATER,
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
    AssistantSession,
    IndexCache,
    QuestionListener,
    Voices,
    listen_options,
)
from shenggu.solutions.assistant.conversation import MAX_TYPED_CHARS, Conversation, answer_message
from shenggu.solutions.assistant.phrasing import phrase_answer
from shenggu.text.lists import split_commas
from shenggu.text.script import text_language

router = APIRouter(tags=["assistant"])
log = get_logger("shenggu.assistant")

CAPABILITY = "assistant"
KIOSK_DIR = Path(__file__).resolve().parents[1] / "static" / "kiosk"
KIOSK_ASSETS = {"kiosk.js": "text/javascript", "kiosk.css": "text/css"}


def database_key(db: Database) -> str:
    """Names one database among those a process may use (version numbers are unique only within one)."""
    return f"{id(db)}:{db.engine.url.render_as_string()}"


def load_index(db: Database, indexes: IndexCache, tenant_id: int, name: str) -> tuple[int, FaqIndex]:
    """The tenant's base ``name`` at its active version, as a (cached) retrieval index; NotFoundError naming it."""
    knowledge.check_name(name)
    with db.session() as session:
        base = knowledge.active(session, tenant_id, name)
    return base.version, indexes.get((database_key(db), tenant_id, base.name, base.version), base.kb)


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
def ask(
    body: AskRequest,
    principal: PrincipalDep,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    database: DatabaseDep,
    indexes: AssistantIndexesDep,
    engines: EnginesDep,
) -> AskResponse:
    """Answer one typed question from a knowledge base: the retrieval result (``status`` answer, clarify or
    no_match, ``answer``, ``clarification``, ``candidates``, ``confidence``...) plus the assistant's ``reply``."""
    limiter.check(principal)
    voices = Voices.preferring(body.voice)
    version, index = load_index(database, indexes, principal.tenant_id, body.kb)
    turn = AssistantSession(index, voices, settings=settings).ask(body.text)
    with database.session() as session:
        usage.record(session, principal.tenant_id, CAPABILITY)
    message = answer_message(turn)
    phrasing = None
    if body.phrase and turn.result.status == "answer" and turn.result.answer.strip():
        language = turn.result.answer_language or text_language(turn.result.answer)
        queue = engines.chat_queue()  # loads the model on first use
        phrasing = phrase_answer(body.text, turn.result.answer, language, queue, str(principal.tenant_id))
    return AskResponse(
        **turn.result.to_dict(),
        kb=body.kb,
        kb_version=version,
        reply=phrasing.text if phrasing else message["text"],
        phrased=bool(phrasing and phrasing.phrased),
        phrasing_problems=phrasing.problems if phrasing else [],
        reply_language=message["language"],
        voice=message["voice"],
        options=message["options"],
    )


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
        raise BadStreamError("kb is required: the name of the knowledge base to answer from")
    if params.get("format", "pcm_s16le") != "pcm_s16le":
        raise BadStreamError("format must be pcm_s16le (raw 16-bit little-endian mono PCM)")
    raw_rate = params.get("audio_rate", str(DEFAULT_SAMPLE_RATE))
    if not raw_rate.isdigit() or not 8000 <= int(raw_rate) <= 48000:
        raise BadStreamError("audio_rate must be an integer between 8000 and 48000")
    language = params.get("language", "auto")
    if language not in ("zh", "en", "auto"):
        raise InvalidOptionError(f"language must be zh, en or auto, not '{language[:20]}'")
    raw_silence = params.get("end_silence_ms", "")
    if raw_silence and not raw_silence.isdigit():
        raise BadStreamError("end_silence_ms must be an integer")
    listen = listen_options(None if language == "auto" else language, int(raw_silence) if raw_silence else None)
    listen.hotwords = hotword_lists.clean_words(params.get("hotwords", ""))
    voices = Voices.preferring(params.get("voice") or None)
    return Params(knowledge.check_name(kb), voices, sample_rate_of(websocket), int(raw_rate), listen)


class WebSocketChannel:
    """A WebSocket as a conversation's ``Channel``: binary PCM16 frames at ``sample_rate`` in (as 16 kHz
    samples), JSON text messages and binary answer audio out."""

    def __init__(self, websocket: WebSocket, sample_rate: int) -> None:
        self.websocket = websocket
        self.resampler = resampler_to_16k(sample_rate)

    async def receive(self) -> np.ndarray | str:
        """The next frame's samples or text message; WebSocketDisconnect when the client left."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        data = message.get("bytes")
        return pcm_samples(data, self.resampler) if data is not None else message["text"]

    async def send_json(self, message: dict[str, Any]) -> None:
        """Send ``message`` as a JSON text message (Chinese as it is)."""
        await self.websocket.send_text(json.dumps(message, ensure_ascii=False))

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        await self.websocket.send_bytes(data)


def _check_characters(db: Database, principal: Principal, characters: int) -> None:
    with db.session() as session:
        check_characters(session, principal, characters)


def _meter(
    websocket: WebSocket, database: Database, principal: Principal, audio_seconds: float, characters: int
) -> None:
    """Record a connection's usage: audio heard, characters spoken."""
    with database.session() as session:
        usage.record(session, principal.tenant_id, CAPABILITY, audio_seconds=audio_seconds, characters=characters)
    add_audio_seconds(websocket, CAPABILITY, audio_seconds)


@router.websocket("/v1/assistant")
async def assistant(
    websocket: WebSocket,
    limiter: RateLimiterDep,
    settings: SettingsDep,
    database: DatabaseDep,
    slots: StreamSlotsDep,
    engines: EnginesDep,
    indexes: AssistantIndexesDep,
    workers: AssistantWorkersDep,
) -> None:
    """Answer spoken and typed questions from a knowledge base (see the module docstring for the protocol)."""
    await websocket.accept()
    try:
        principal = await run_in_threadpool(authenticate_key, websocket)
        params = _params(websocket)
        limiter.check(principal)
        with database.session() as session:
            check_audio(session, principal, 1.0)
            lists = split_commas(websocket.query_params.get("hotword_lists", ""))
            listen = params.listen
            listen.hotwords = hotword_lists.words_for(session, principal.tenant_id, lists, listen.hotwords)
        version, index = await workers.run(load_index, database, indexes, principal.tenant_id, params.kb)
        # the base's own terms (花呗, 微粒贷) are restored where recognition heard a same-sounding word
        listen.vocabulary = index.vocabulary
    except ShengguError as exc:
        await refuse(websocket, exc)
        return
    if not slots.acquire():
        await fail(websocket, "too_many_streams", "the server is at its stream limit; retry later", CLOSE_TRY_LATER)
        return
    conversation = None
    try:
        recognizer = await run_in_threadpool(engines.recognizer)
        conversation = Conversation(
            WebSocketChannel(websocket, params.sample_rate),
            AssistantSession(index, params.voices, params.audio_rate, settings=settings),
            QuestionListener(recognizer, params.listen),
            workers,
            idle_seconds=settings.stream_idle_seconds,
            check_characters=functools.partial(_check_characters, database, principal),
        )
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
        await websocket.close(CLOSE_NORMAL)
    except ShengguError as exc:
        await refuse(websocket, exc)
    except WebSocketDisconnect:
        log.info("assistant client left", tenant=principal.tenant_name)
    except Exception:
        log.exception("assistant stream failed")
        await fail(websocket, "internal_error", "internal error; the server log has details", CLOSE_ERROR)
    finally:
        slots.release()
        if conversation is not None:
            used = conversation.audio_seconds, conversation.characters
            await run_in_threadpool(_meter, websocket, database, principal, *used)
