"""The language model: packaged GGUF assembly, the real model (translation, streaming, JSON schema) and the fair,
bounded request queue (with a fake model)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Generator, Sequence

import pytest

from shenggu.config import get_settings
from shenggu.errors import ModelError
from shenggu.llm.chat_queue import ChatQueue, FairQueue, QueueFullError, TenantQueueFullError
from shenggu.llm.llama import LlamaModel
from shenggu.llm.models import QWEN_CODER_1_5B, PackagedGGUF, assemble_gguf, gguf_path
from shenggu.llm.types import ChatChunk, ChatMessage, ChatOptions, ChatResult

TRANSLATE = "Translate the user's Chinese text into English. Output only the translation."


# -- assembly -------------------------------------------------------------------------------------------------


def _parts(folder, *blobs: bytes):
    folder.mkdir()
    paths = []
    for i, blob in enumerate(blobs):
        path = folder / f"part{i}.bin"
        path.write_bytes(blob)
        paths.append(path)
    return paths


def test_assembly_checks_size_header_and_digest_and_leaves_nothing_behind(tmp_path):
    blobs = (b"GGUF\x03\x00\x00\x00", b"tensor data")
    good = b"".join(blobs)
    parts = _parts(tmp_path / "v3", *blobs)
    out = tmp_path / "out"
    digest = hashlib.sha256(good).hexdigest()
    with pytest.raises(ModelError, match="bytes, expected"):
        assemble_gguf(parts, out / "m.gguf", len(good) + 1, digest)  # e.g. a truncated part
    with pytest.raises(ModelError, match="SHA-256"):
        assemble_gguf(parts, out / "m.gguf", len(good), "0" * 64)
    with pytest.raises(ModelError, match="not a GGUF"):
        assemble_gguf(_parts(tmp_path / "v2", b"GGUF\x02\x00\x00\x00", blobs[1]), out / "m.gguf", len(good), digest)
    assert list(out.iterdir()) == []  # no half-written or unchecked file
    assert assemble_gguf(parts, out / "m.gguf", len(good), digest).read_bytes() == good


def test_missing_part_package_is_a_clear_model_error(tmp_path):
    model = PackagedGGUF("m.gguf", ("shenggu_no_such_part1",), 1, "0" * 64)
    with pytest.raises(ModelError, match="shenggu_no_such_part1"):
        gguf_path(model, cache_dir=tmp_path)


def test_the_configured_model_is_checked(tmp_path, monkeypatch):
    from shenggu.llm.models import configured_gguf

    monkeypatch.setenv("SHENGGU_LLM_MODEL", "llama-70b")
    get_settings.cache_clear()
    try:
        with pytest.raises(ModelError, match=r"unknown language model 'llama-70b'.*qwen2\.5-coder-0\.5b"):
            configured_gguf(get_settings())
        not_gguf = tmp_path / "model.gguf"
        not_gguf.write_bytes(b"PK\x03\x04 a zip file")
        monkeypatch.setenv("SHENGGU_LLM_MODEL_PATH", str(not_gguf))
        get_settings.cache_clear()
        with pytest.raises(ModelError, match="not a GGUF"):
            configured_gguf(get_settings())
        monkeypatch.setenv("SHENGGU_LLM_MODEL_PATH", str(tmp_path / "missing.gguf"))
        get_settings.cache_clear()
        with pytest.raises(ModelError, match="cannot read"):
            configured_gguf(get_settings())
    finally:
        get_settings.cache_clear()


def test_a_missing_small_model_extra_says_how_to_install_it(tmp_path):
    from shenggu.llm.models import EXTRAS

    model = PackagedGGUF("small.gguf", ("shenggu_no_such_part1",), 1, "0" * 64)
    EXTRAS[model.file_name] = "llm-small"
    try:
        with pytest.raises(ModelError, match=r"shenggu\[llm-small\]"):
            gguf_path(model, cache_dir=tmp_path)
    finally:
        del EXTRAS[model.file_name]


# -- the real model -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> LlamaModel:
    path = gguf_path(cache_dir=get_settings().models_dir)
    assert path.stat().st_size == QWEN_CODER_1_5B.size
    # One thread: on a 2-core machine shared with other work, two llama.cpp threads wait on each other at every
    # step and generation drops ~10x; one thread keeps the tests' time steady.
    return LlamaModel(path, threads=1, context=1024)


@pytest.mark.slow
def test_translates_a_simple_sentence(model):
    result = model.chat([ChatMessage("system", TRANSLATE), ChatMessage("user", "我喜欢喝咖啡。")])
    assert "coffee" in result.text.lower()
    assert result.finish_reason == "stop"
    assert result.prompt_tokens > 10 and 0 < result.completion_tokens < 20


@pytest.mark.slow
def test_stream_chunks_join_to_the_full_answer(model):
    messages = [ChatMessage("system", TRANSLATE), ChatMessage("user", "北京是中国的首都。")]
    options = ChatOptions(max_tokens=32)
    chunks = list(model.stream(messages, options))
    *pieces, last = chunks
    assert len(pieces) >= 3 and all(c.text for c in pieces)
    assert last.text == "" and last.finish_reason == "stop" and last.completion_tokens >= len(pieces)
    text = "".join(c.text for c in pieces)
    assert "beijing" in text.lower()
    assert text == model.chat(messages, options).text  # greedy decoding: the same answer either way


@pytest.mark.slow
def test_json_schema_output_parses_and_follows_the_schema(model):
    schema = {
        "type": "object",
        "properties": {
            "english": {"type": "string"},
            "keywords": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["english", "keywords"],
        "additionalProperties": False,
    }
    messages = [
        ChatMessage("system", "Translate the Chinese text into English and list its key words, as JSON."),
        ChatMessage("user", "我喜欢喝咖啡。"),
    ]
    data = json.loads(model.chat(messages, ChatOptions(max_tokens=80, json_schema=schema)).text)
    assert set(data) == {"english", "keywords"}
    assert "coffee" in data["english"].lower()
    assert isinstance(data["keywords"], list) and len(data["keywords"]) <= 3
    assert all(isinstance(k, str) for k in data["keywords"])


# -- the queue (no model) -------------------------------------------------------------------------------------


def test_waiting_requests_are_served_round_robin_between_tenants():
    fair = FairQueue(workers=1, max_waiting=10)
    gate = threading.Event()
    order: list[str] = []

    def job(name: str):
        def run() -> str:
            gate.wait(5)  # the first job holds the worker until everything is queued
            time.sleep(0.005)  # a slow model
            order.append(name)
            return name

        return run

    futures = [fair.submit("a", job("a1"))]
    while fair.waiting():  # the worker has taken a1
        time.sleep(0.001)
    names = ["a2", "a3", "a4", "b1", "b2", "c1"]
    futures += [fair.submit(n[0], job(n)) for n in names]
    gate.set()
    assert [f.result(5) for f in futures] == ["a1", *names]
    assert order == ["a1", "a2", "b1", "c1", "a3", "b2", "a4"]
    fair.close()


def test_full_queue_refuses_at_once_and_cancelled_requests_leave_it():
    fair = FairQueue(workers=1, max_waiting=3, max_waiting_per_tenant=2)
    gate = threading.Event()
    busy = fair.submit("a", lambda: gate.wait(5))
    while fair.waiting():
        time.sleep(0.001)
    first = fair.submit("a", lambda: "a")
    fair.submit("a", lambda: "a")
    with pytest.raises(TenantQueueFullError) as tenant_full:
        fair.submit("a", lambda: "a")
    assert tenant_full.value.http_status == 429
    fair.submit("b", lambda: "b")
    with pytest.raises(QueueFullError) as full:
        fair.submit("c", lambda: "c")
    assert full.value.http_status == 503 and int(full.value.headers["Retry-After"]) >= 1
    assert first.cancel() and fair.waiting() == 2
    assert fair.submit("c", lambda: "c") is not None  # the cancelled request's place is free again
    gate.set()
    assert busy.result(5) is True
    fair.close()


class _FakeModel:
    """Answers with the words of the last message, one chunk per word, slowly."""

    def __init__(self) -> None:
        self.stopped_early = threading.Event()

    def chat(self, messages: Sequence[ChatMessage], options: ChatOptions | None = None) -> ChatResult:
        text = "".join(c.text for c in self.stream(messages, options))
        return ChatResult(text, 1, len(text.split()), "stop", 0.0)

    def stream(
        self, messages: Sequence[ChatMessage], options: ChatOptions | None = None
    ) -> Generator[ChatChunk, None, None]:
        words = messages[-1].content.split()
        try:
            for word in words:
                time.sleep(0.002)
                yield ChatChunk(word + " ")
            yield ChatChunk("", "stop", 1, len(words))
        except GeneratorExit:
            self.stopped_early.set()
            raise


def test_chat_queue_returns_results_and_streams_chunks():
    fake = _FakeModel()
    fair = FairQueue(workers=1, max_waiting=4)
    chats = ChatQueue(fake, fair)
    assert chats.chat("t1", [ChatMessage("user", "one two")]).text == "one two "
    chunks = list(chats.stream("t2", [ChatMessage("user", "three four five")]))
    assert "".join(c.text for c in chunks) == "three four five " and chunks[-1].finish_reason == "stop"
    stream = chats.stream("t3", [ChatMessage("user", "many words " * 50)])
    next(stream)
    stream.close()  # the caller goes away: the generation stops and the worker is free again
    assert fake.stopped_early.wait(5)
    assert chats.chat("t1", [ChatMessage("user", "after")]).text == "after "
    fair.close()
