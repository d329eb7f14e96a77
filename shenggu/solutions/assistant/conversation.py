"""One conversation of the voice assistant over any message channel: the ``/v1/assistant`` protocol (the
README's "Voice assistant" section) without the WebSocket, which ``shenggu.service.routers.assistant`` adapts to
a ``Channel`` (tests use a fake one).

Two loops run together, so answers are spoken while the microphone streams on: a receive loop (audio → ASR →
questions; typed questions; commands) and an answer loop (question → retrieval → ``answer`` message → speech).
While the speaker pauses, the receive loop also prepares an early answer to the settled text (retrieval and
first audio, see ``listening``), which the answer loop uses when the question closes with that text. A ``stop``
silences the answer being spoken and drops the questions asked before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from shenggu.asr.streaming import Final, Partial
from shenggu.audio.encode import pcm16
from shenggu.errors import BadStreamError, ShengguError
from shenggu.logs import get_logger
from shenggu.nlp.faq.files import MAX_QUESTION_CHARS
from shenggu.solutions.assistant.listening import EARLY_ANSWER_MS, QuestionListener, join_texts
from shenggu.solutions.assistant.session import AssistantSession, Turn
from shenggu.solutions.assistant.workers import Workers
from shenggu.tts.synthesis import AudioChunk

log = get_logger("shenggu.assistant")

MAX_TYPED_CHARS = MAX_QUESTION_CHARS
MAX_AUDIO_FRAME_S = 1.0  # answer audio goes out in frames of at most this much speech
DEFAULT_IDLE_SECONDS = 30.0


class Channel(Protocol):
    """What a conversation needs of its transport. Both loops send; the conversation sends one at a time."""

    async def receive(self) -> np.ndarray | str:
        """The client's next message: a binary audio frame as 16 kHz float32 samples, or a text message.
        Raises when the client is gone or a frame is malformed."""
        ...

    async def send_json(self, message: dict[str, Any]) -> None:
        """Send a JSON message."""
        ...

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame (answer audio)."""
        ...


def answer_message(turn: Turn, candidates: int = 5) -> dict[str, Any]:
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


def audio_frames(samples: np.ndarray, sample_rate: int) -> list[bytes]:
    """PCM16 frames of at most MAX_AUDIO_FRAME_S each."""
    pcm = pcm16(samples)
    step = 2 * max(1, int(sample_rate * MAX_AUDIO_FRAME_S))
    return [pcm[i : i + step] for i in range(0, len(pcm), step)]


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
    """One client's conversation: ``run`` serves it; ``audio_seconds`` and ``characters`` (spoken) are what it
    used, for metering. Model work runs in ``workers``; ``check_characters(n)`` (called in a worker before a
    reply of n characters is spoken) raises a ShengguError to refuse it, e.g. beyond a quota."""

    def __init__(
        self,
        channel: Channel,
        session: AssistantSession,
        listener: QuestionListener,
        workers: Workers,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        check_characters: Callable[[int], None] | None = None,
    ) -> None:
        self.channel = channel
        self.session = session
        self.listener = listener
        self.workers = workers
        self.idle_seconds = idle_seconds
        self.check_characters = check_characters
        self.questions: asyncio.Queue = asyncio.Queue()
        self.generation = 0  # raised by every "stop"
        self.answering = False
        self.characters = 0  # spoken (sent as audio)
        self.early: Early | None = None
        self._tasks: set[asyncio.Task] = set()
        self._send_lock = asyncio.Lock()

    @property
    def audio_seconds(self) -> float:
        """Audio heard so far."""
        return self.listener.audio_seconds

    async def send(self, message: dict[str, Any] | bytes) -> None:
        """Send a JSON message or binary frame (both loops send; one at a time)."""
        async with self._send_lock:
            if isinstance(message, bytes):
                await self.channel.send_bytes(message)
            else:
                await self.channel.send_json(message)

    async def run(self) -> None:
        """Serve until ``end`` has been answered, then send ``done``. A fault of either loop ends the
        conversation and is raised: a BadStreamError for a protocol fault, the channel's own when the client left,
        a ShengguError refusing a reply."""
        receiver = asyncio.create_task(self._receive_loop())
        answerer = asyncio.create_task(self._answer_loop())
        try:
            done, _ = await asyncio.wait({receiver, answerer}, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
            await answerer
        finally:
            for task in (receiver, answerer, *self._tasks):
                task.cancel()
        await self.send({"type": "done"})

    # -------------------------------------------------------------------------------------------- receiving

    async def _receive_loop(self) -> None:
        while True:
            try:
                message = await asyncio.wait_for(self.channel.receive(), timeout=self.idle_seconds)
            except TimeoutError:
                if self.answering or not self.questions.empty():
                    continue  # a text-only client waits quietly while its answer is spoken
                raise BadStreamError(f"no data for {self.idle_seconds:.0f} s; closing the idle stream") from None
            if not isinstance(message, str):
                await self._heard(await self.workers.run(self.listener.accept, message))
                self._prepare_early()
            elif await self._command(message):
                await self._heard(await self.workers.run(self.listener.finish))
                await self.questions.put(_END)
                return

    async def _command(self, text: str) -> bool:
        """Handle a JSON message; True for ``end``."""
        try:
            command = json.loads(text)
        except json.JSONDecodeError:
            raise BadStreamError('text messages must be JSON, e.g. {"type": "text", "text": "..."}') from None
        kind = command.get("type") if isinstance(command, dict) else None
        if kind == "end":
            return True
        if kind == "stop":
            self.generation += 1
            return False
        if kind == "text":
            question = command.get("text")
            if not isinstance(question, str) or not question.strip() or len(question) > MAX_TYPED_CHARS:
                raise BadStreamError(f"a text question needs 'text': 1 to {MAX_TYPED_CHARS} characters")
            await self._ask(question.strip(), "text")
            return False
        raise BadStreamError('text messages are {"type": "text" | "stop" | "end"}')

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
        prepared = Prepared(await self.workers.run(self.session.ask, text, "speech"))
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
        message: dict[str, Any] = {"type": "question", "text": text, "source": source}
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
            prepared.first = await self.workers.run(next, prepared.chunks, None)
        except ShengguError as exc:  # text the TTS cannot read: the answer stands, shown but not spoken
            prepared.error = exc.message
        prepared.first_s = time.monotonic() - started

    async def _answer(self, question: Question) -> None:
        if question.early is not None:
            prepared = await question.early
        else:
            prepared = Prepared(await self.workers.run(self.session.ask, question.text, question.source))
        turn = prepared.turn
        await self.send(answer_message(turn) | {"early": question.early is not None})
        spoken = turn.reply.spoken
        if not spoken:
            return
        if self.check_characters is not None:
            await self.workers.run(self.check_characters, len(spoken))
        await self._first_audio(prepared)
        await self.send(
            {
                "type": "audio_start",
                "sample_rate": self.session.sample_rate,
                "voice": turn.reply.voice,
                "first_chunk_ms": round((prepared.first_s or 0.0) * 1000, 1),
            }
        )
        self.characters += len(spoken)
        await self._speak(question, prepared)

    async def _speak(self, question: Question, prepared: Prepared) -> None:
        """Send the reply's audio as it is synthesized, until it ends or a ``stop`` interrupts it."""
        seconds, interrupted, error, chunk = 0.0, False, prepared.error, prepared.first
        try:
            while chunk is not None:
                if question.generation != self.generation:
                    interrupted = True
                    break
                for frame in audio_frames(chunk.samples, chunk.sample_rate):
                    await self.send(frame)
                seconds += chunk.seconds
                chunk = await self.workers.run(next, prepared.chunks, None)
        except ShengguError as exc:
            error = exc.message
        finally:
            with contextlib.suppress(ValueError):  # still running in a worker thread if this task was cancelled
                prepared.chunks.close()
        if error:
            log.warning("assistant reply not spoken", error=error)
        end = {"type": "audio_end", "seconds": round(seconds, 3), "interrupted": interrupted}
        await self.send(end | ({"error": error} if error else {}))
