"""The language model on llama.cpp, through xllamacpp's in-process server (one per process, thread-safe).

xllamacpp runs llama.cpp's C++ server inside this process: requests are OpenAI-style dicts handed straight to its
routes (the GIL is released while the model works), and llama.cpp schedules them over ``slots`` parallel
sequences, queueing the rest. JSON-schema constrained decoding is done by llama.cpp's grammar sampler.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

from shenggu.config import Settings
from shenggu.errors import InvalidOptionError, ModelError
from shenggu.lazy import once_per
from shenggu.llm.models import configured_gguf
from shenggu.llm.types import ChatChunk, ChatMessage, ChatOptions, ChatResult, LanguageModelError

DEFAULT_CONTEXT = 4096  # tokens per slot: a page of source text, its translation and the instructions
# Sequences decoded together. Measured on 2 cores, 4 concurrent requests: 1 slot 19-22 s, 2 slots 16-21 s,
# 4 slots 12.5 s; each slot adds ~110 MB of KV cache (at 4096 tokens). Two keep a turn for a second tenant
# while one tenant's request runs, at little memory.
DEFAULT_SLOTS = 2
_END = object()  # end of a stream's events


class LlamaModel:
    """A GGUF chat model loaded fully into memory (no mmap, so RSS tells the truth) and served by llama.cpp."""

    def __init__(
        self, model_path: Path, *, threads: int, context: int = DEFAULT_CONTEXT, slots: int = DEFAULT_SLOTS
    ) -> None:
        import xllamacpp as xlc  # a 100 MB native library: import it only when a model is really loaded

        params = xlc.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = context * slots  # llama.cpp splits the context evenly between its slots
        params.n_parallel = slots
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.load_mode = xlc.llama_load_mode.LLAMA_LOAD_MODE_NONE  # read into RAM instead of mmap
        params.cache_ram_mib = 0  # no extra host-RAM prompt cache (8 GiB by default); a slot still reuses prefixes
        # The embedded server also listens on 127.0.0.1 (it cannot be switched off): lock it with a key nobody
        # knows. Calls from Python go straight to the routes and need no key.
        params.api_keys = [secrets.token_hex(16)]
        params.n_threads_http = 1
        params.verbosity = 0  # errors and warnings only
        started = time.perf_counter()
        try:
            self._server = xlc.Server(params)
        except RuntimeError as exc:
            raise ModelError(f"llama.cpp could not load {model_path}") from exc
        self.load_seconds = time.perf_counter() - started
        self.slots = slots

    def chat(self, messages: Sequence[ChatMessage], options: ChatOptions | None = None) -> ChatResult:
        """Answer the conversation in one piece (blocks this thread; other threads may call at the same time)."""
        options = options or ChatOptions()
        started = time.perf_counter()
        response = self._call(_request(messages, options))
        _raise_if_error(response)
        choice = response["choices"][0]
        text = choice["message"].get("content") or ""
        if options.json_schema is not None:
            _check_json(text, choice["finish_reason"])
        usage = response.get("usage", {})
        return ChatResult(
            text=text,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=choice["finish_reason"],
            seconds=time.perf_counter() - started,
        )

    def stream(
        self, messages: Sequence[ChatMessage], options: ChatOptions | None = None
    ) -> Generator[ChatChunk, None, None]:
        """Yield the answer as it is generated, then a last chunk with the finish reason and token counts.
        Closing the generator early stops the generation."""
        options = options or ChatOptions()
        body = _request(messages, options) | {"stream": True, "stream_options": {"include_usage": True}}
        events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stop = threading.Event()

        def on_event(event: dict[str, Any]) -> bool:
            events.put(event)
            return stop.is_set()  # True tells llama.cpp to stop and cancel the generation

        def run() -> None:
            # xllamacpp delivers a stream by calling back on the thread that asked for it, until the end: that
            # thread is this helper, so the caller can consume chunks as an iterator.
            try:
                self._call(body, on_event)
            except Exception as exc:
                events.put(exc)
            finally:
                events.put(_END)

        threading.Thread(target=run, name="llm-stream", daemon=True).start()
        try:
            yield from _chunks(events, options)
        finally:
            stop.set()

    def next_token_logprobs(self, prompt: str, top: int = 20) -> dict[str, float]:
        """Log-probabilities of the ``top`` likeliest tokens to follow the raw ``prompt`` (no chat template is
        applied), from the model's own distribution: the prompt is evaluated and one token's distribution read.
        llama.cpp reports no log-probabilities of prompt tokens, so scoring is done this way."""
        body = {"prompt": prompt, "n_predict": 1, "n_probs": top, "temperature": 0.0, "post_sampling_probs": False}
        try:
            response = self._server.handle_completions(body)
        except ValueError as exc:
            raise InvalidOptionError(f"language model request rejected: {exc}") from exc
        _raise_if_error(response)
        try:
            tokens = response["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except (KeyError, IndexError) as exc:
            raise LanguageModelError(f"the model gave no token probabilities ({exc})") from None
        return {t["token"]: float(t["logprob"]) for t in tokens}

    def _call(self, body: dict[str, Any], callback: Any = None) -> Any:
        try:
            return self._server.handle_chat_completions(body, callback)
        except ValueError as exc:  # raised while preparing the request, e.g. a schema llama.cpp cannot compile
            raise InvalidOptionError(f"language model request rejected: {exc}") from exc


def model_key(settings: Settings) -> tuple:
    """The settings that make a different language model (file, cache, threads, slots)."""
    return (settings.llm_model_path, settings.llm_model, settings.models_dir, llm_threads(settings), settings.llm_slots)


def llm_threads(settings: Settings) -> int:
    """The language model's threads: ``llm_threads``, else ``cpu_threads`` (else every core)."""
    return settings.llm_threads or settings.threads


@once_per(model_key)
def get_language_model(settings: Settings) -> LlamaModel:
    """The model the settings configure (by default the packaged Qwen2.5-Coder-1.5B-Instruct, ~1.45 GB of RAM),
    loaded once per process."""
    return LlamaModel(configured_gguf(settings), threads=llm_threads(settings), slots=settings.llm_slots)


def _request(messages: Sequence[ChatMessage], options: ChatOptions) -> dict[str, Any]:
    if not messages:
        raise InvalidOptionError("a chat needs at least one message")
    body: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "max_tokens": options.max_tokens,
        "temperature": options.temperature,
        "top_p": options.top_p,
    }
    if options.stop:
        body["stop"] = list(options.stop)
    if options.seed is not None:
        body["seed"] = options.seed
    if options.json_schema is not None:
        body["json_schema"] = options.json_schema
    return body


def _chunks(events: queue.SimpleQueue[Any], options: ChatOptions) -> Iterator[ChatChunk]:
    parts: list[str] = []
    finish_reason = "stop"
    usage: dict[str, int] = {}
    while (event := events.get()) is not _END:
        if isinstance(event, Exception):
            raise event
        _raise_if_error(event)
        for choice in event.get("choices", []):
            text = choice.get("delta", {}).get("content")
            if text:
                parts.append(text)
                yield ChatChunk(text)
            finish_reason = choice.get("finish_reason") or finish_reason
        usage = event.get("usage") or usage
    if options.json_schema is not None:
        _check_json("".join(parts), finish_reason)
    yield ChatChunk("", finish_reason, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))


def _raise_if_error(response: dict[str, Any]) -> None:
    error = response.get("error")
    if error is None and "choices" not in response and "message" in response:
        error = response  # xllamacpp's own shape when it cannot parse llama.cpp's reply
    if error is None:
        return
    message = error.get("message", "unknown error")
    if error.get("code") == 400 or error.get("type") in ("invalid_request_error", "exceed_context_size_error"):
        raise InvalidOptionError(f"language model request rejected: {message}")
    raise LanguageModelError(f"language model failed: {message}")


def _check_json(text: str, finish_reason: str) -> None:
    if finish_reason == "length":  # the caller's budget, not a model failure
        raise InvalidOptionError("the JSON answer was cut off at max_tokens; allow more tokens")
    try:
        json.loads(text)
    except ValueError as exc:
        raise LanguageModelError(f"the model's JSON answer does not parse: {exc}") from exc
