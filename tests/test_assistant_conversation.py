"""The assistant's conversation without a WebSocket: a fake client feeds it a spoken question's audio frames and
typed questions and records what it is sent (order of the messages, answer audio, early answers, stop)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest

from shenggu.config import get_settings
from shenggu.nlp.faq.retrieval import FaqIndex
from shenggu.solutions.assistant import AssistantSession, Conversation, QuestionListener, Turn, Workers, listen_options
from shenggu.solutions.assistant.replies import Reply
from shenggu.tts.synthesis import AudioChunk
from tests.service_hall import HALL_KB, MARRIAGE_ANSWER, speak_question

FRAME = 1600  # 100 ms at 16 kHz
TIMEOUT_S = 300.0


class FakeClient:
    """The client's end of a conversation's ``Channel``: what it says waits in ``inbox``; what it is sent is kept
    in ``sent``. ``serving`` is the conversation's task: waiting fails at once when the conversation has ended."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[np.ndarray | str] = asyncio.Queue()
        self.sent: list[dict | bytes] = []
        self.serving: asyncio.Task | None = None

    async def receive(self) -> np.ndarray | str:
        return await self.inbox.get()

    async def send_json(self, message: dict) -> None:
        self.sent.append(message)

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)

    def say(self, message: np.ndarray | dict) -> None:
        self.inbox.put_nowait(json.dumps(message) if isinstance(message, dict) else message)

    def speak(self, audio: np.ndarray) -> None:
        for i in range(0, len(audio), FRAME):
            self.say(audio[i : i + FRAME])

    def messages(self, kind: str | None = None) -> list[dict]:
        """The JSON messages received (of type ``kind``), in order."""
        return [m for m in self.sent if isinstance(m, dict) and kind in (None, m["type"])]

    def audio_bytes(self) -> int:
        return sum(len(m) for m in self.sent if isinstance(m, bytes))

    async def until(self, done: Callable[[], bool], tick: Callable[[], None] = lambda: None) -> None:
        """Wait until ``done()``, calling ``tick()`` every 50 ms."""
        deadline = time.monotonic() + TIMEOUT_S
        while not done():
            assert self.serving is not None and not self.serving.done(), f"conversation ended: {self.messages()}"
            assert time.monotonic() < deadline, f"timed out; received {self.messages()}"
            tick()
            await asyncio.sleep(0.05)


@dataclass
class RecordingSession(AssistantSession):
    """The real session, recording the questions it looks up."""

    asked: list[str] = field(default_factory=list)

    def ask(self, question: str, source: str = "text") -> Turn:
        self.asked.append(question)
        return super().ask(question, source)


@dataclass
class PausingSession(RecordingSession):
    """Speaks each reply in two halves; the second waits for ``resume``, so a ``stop`` can come mid-answer."""

    resume: threading.Event = field(default_factory=threading.Event)

    def speak(self, reply: Reply) -> Iterator[AudioChunk]:
        samples = np.concatenate([c.samples for c in super().speak(reply)])
        half = len(samples) // 2
        yield AudioChunk(samples[:half], self.sample_rate, reply.spoken)
        assert self.resume.wait(TIMEOUT_S)
        yield AudioChunk(samples[half:], self.sample_rate, reply.spoken)


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return FaqIndex(HALL_KB)


@pytest.fixture(scope="module")
def workers() -> Workers:
    return Workers(4)


@pytest.fixture(scope="module")
def spoken_question() -> np.ndarray:
    return speak_question()


def converse(conversation: Conversation, client: FakeClient, script: Callable[[], Awaitable[None]]) -> None:
    """Run ``conversation`` to its end while ``script`` plays the client."""

    async def main() -> None:
        client.serving = asyncio.create_task(conversation.run())
        try:
            await asyncio.wait_for(script(), TIMEOUT_S)
            await asyncio.wait_for(client.serving, TIMEOUT_S)
        finally:
            client.serving.cancel()

    asyncio.run(main())


def new_conversation(recognizer, index: FaqIndex, workers: Workers, session_type=RecordingSession):
    client = FakeClient()
    listener = QuestionListener(recognizer, listen_options("zh"))
    session = session_type(index, settings=get_settings())
    conversation = Conversation(client, session, listener, workers, idle_seconds=TIMEOUT_S)
    return conversation, client


def kinds(client: FakeClient) -> list[str]:
    """The message types received, without partials (those depend on timing)."""
    return [m["type"] for m in client.messages() if m["type"] != "partial"]


def test_a_spoken_question_is_answered_aloud(recognizer, index, workers, spoken_question):
    conversation, client = new_conversation(recognizer, index, workers)
    audio = np.concatenate([np.zeros(4800, np.float32), spoken_question, np.zeros(32000, np.float32)])

    async def script() -> None:
        client.speak(audio)
        client.say({"type": "end"})

    converse(conversation, client, script)
    assert kinds(client) == ["question", "answer", "audio_start", "audio_end", "done"], client.messages()
    question, answer, start, end, _ = (m for m in client.messages() if m["type"] != "partial")
    assert question["source"] == "speech" and "结婚登记" in question["text"] and "材料" in question["text"]
    assert 0 <= question["start"] < question["end"] <= len(audio) / 16000
    assert answer["status"] == "answer" and answer["entry_id"] == "marriage" and answer["text"] == MARRIAGE_ANSWER
    assert answer["question"] == question["text"] and answer["voice"] == "zf_xiaoxiao"
    assert start["sample_rate"] == 24000 and start["first_chunk_ms"] > 0 and end["seconds"] > 3
    assert not end["interrupted"] and "error" not in end
    assert client.audio_bytes() == pytest.approx(end["seconds"] * 24000 * 2, abs=4)
    assert conversation.characters == len(MARRIAGE_ANSWER)
    assert conversation.audio_seconds == pytest.approx(len(audio) / 16000)
    assert conversation.session.asked == [question["text"]]


def test_a_stop_silences_the_answer_and_drops_the_questions_before_it(recognizer, index, workers):
    conversation, client = new_conversation(recognizer, index, workers, PausingSession)
    session = conversation.session

    async def script() -> None:
        client.say({"type": "text", "text": "结婚登记需要带什么材料？"})
        client.say({"type": "text", "text": "社保卡丢了怎么补办？"})  # waits for the first answer
        await client.until(lambda: client.audio_bytes() > 0)  # the first half of the first answer
        client.say({"type": "stop"})
        await client.until(lambda: conversation.generation == 1)
        session.resume.set()
        await client.until(lambda: bool(client.messages("audio_end")))
        client.say({"type": "text", "text": "办事大厅几点开门？"})
        client.say({"type": "end"})

    converse(conversation, client, script)
    assert [m["text"] for m in client.messages("question")] == [
        "结婚登记需要带什么材料？",
        "社保卡丢了怎么补办？",
        "办事大厅几点开门？",
    ]
    assert session.asked == ["结婚登记需要带什么材料？", "办事大厅几点开门？"]  # the second question was dropped
    answers, ends = client.messages("answer"), client.messages("audio_end")
    assert [a["entry_id"] for a in answers] == ["marriage", "hours"]
    assert [e["interrupted"] for e in ends] == [True, False]
    assert kinds(client)[-1] == "done"
    spoken = MARRIAGE_ANSWER + answers[1]["text"]
    assert conversation.characters == len(spoken)  # an interrupted answer counts whole: it was begun


def pause_then(recognizer, index, workers, question: np.ndarray, after: np.ndarray) -> tuple[Conversation, str]:
    """Speak ``question`` and stay silent 300 ms, until the conversation prepares an early answer, then send
    ``after`` and end; the conversation, once ended, and the text its early answer was prepared for."""
    conversation, client = new_conversation(recognizer, index, workers)
    early: list[str] = []

    def nudge() -> None:  # the speculative decode runs in the background: empty frames let the conversation look
        if client.inbox.empty():
            client.say(np.zeros(0, np.float32))

    async def script() -> None:
        client.speak(np.concatenate([np.zeros(4800, np.float32), question, np.zeros(3 * FRAME, np.float32)]))
        await client.until(lambda: conversation.early is not None, nudge)
        early.append(conversation.early.text)
        client.speak(after)
        client.say({"type": "end"})

    converse(conversation, client, script)
    return conversation, early[0]


def test_the_early_answer_is_used_when_the_question_closes_with_its_text(recognizer, index, workers, spoken_question):
    silence = np.zeros(20 * FRAME, np.float32)  # the silence goes on: the endpoint closes the question
    conversation, early = pause_then(recognizer, index, workers, spoken_question, silence)
    client = conversation.channel
    assert kinds(client) == ["question", "answer", "audio_start", "audio_end", "done"], client.messages()
    question, answer = client.messages("question")[0], client.messages("answer")[0]
    assert question["text"] == early and "结婚登记" in early
    assert answer["early"] and answer["entry_id"] == "marriage"
    assert conversation.session.asked == [early]  # looked up once, during the pause
    assert client.audio_bytes() == pytest.approx(client.messages("audio_end")[0]["seconds"] * 24000 * 2, abs=4)


def test_an_early_answer_is_dropped_when_speech_resumes(recognizer, index, workers, spoken_question):
    again = np.concatenate([spoken_question, np.zeros(20 * FRAME, np.float32)])  # the question said once more
    conversation, early = pause_then(recognizer, index, workers, spoken_question, again)
    client = conversation.channel
    question, answer = client.messages("question")[0], client.messages("answer")[0]
    assert len(client.messages("question")) == 1 and question["text"] != early
    assert not answer["early"] and answer["question"] == question["text"]
    assert conversation.session.asked == [early, question["text"]]
