"""OpenAI-compatible chat: ``POST /v1/chat/completions`` (whole or streamed as server-sent events) on the local
language model, behind the platform's keys and rate limits, through the model's fair queue, metered in tokens."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from shenggu.errors import InvalidOptionError
from shenggu.llm.types import ChatChunk, ChatMessage, ChatOptions
from shenggu.service.deps import DatabaseDep, EnginesDep, PrincipalDep, RateLimiterDep
from shenggu.service.errors import error_responses
from shenggu.service.schemas.chat import ChatCompletion
from shenggu.service.storage import usage
from shenggu.service.storage.db import Database
from shenggu.service.storage.tenants import Principal

router = APIRouter(prefix="/v1/chat", tags=["chat"], responses=error_responses(400, 401, 422, 429, 502, 503))

MODEL_NAME = "shenggu-llm"
# OpenAI's model names mean "the local model", so unmodified clients work.
MODEL_ALIASES = (MODEL_NAME, "qwen2.5-coder-1.5b-instruct", "gpt-4o-mini", "gpt-4o", "gpt-3.5-turbo", "gpt-4.1-mini")
MAX_MESSAGES = 64
MAX_CONTENT_CHARS = 16000


class Message(BaseModel):
    """One chat turn (text content only)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_CONTENT_CHARS)


class ResponseFormat(BaseModel):
    """``text``, ``json_object`` or ``json_schema`` (``{"json_schema": {"name", "schema"}}``)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: dict[str, Any] | None = None


class ChatRequest(BaseModel):
    """The subset of OpenAI's chat request a local model can honour."""

    model_config = ConfigDict(extra="ignore", strict=True)
    model: str = MODEL_NAME
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_tokens: int | None = Field(None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = Field(False, strict=True)
    response_format: ResponseFormat | None = None

    def options(self) -> ChatOptions:
        """The model's decoding options."""
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        return ChatOptions(
            max_tokens=self.max_completion_tokens or self.max_tokens or 512,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=stop[:4],
            json_schema=_schema(self.response_format),
            seed=self.seed,
        )


def _schema(response_format: ResponseFormat | None) -> dict[str, Any] | None:
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        return {"type": "object"}
    schema = (response_format.json_schema or {}).get("schema")
    if not isinstance(schema, dict):
        raise InvalidOptionError("response_format json_schema needs {'json_schema': {'schema': {...}}}")
    return schema


@router.post(
    "/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "The answer; with ``stream``, server-sent events: one ``chat.completion.chunk`` per "
            "``data:`` line, then ``data: [DONE]``.",
            "content": {"text/event-stream": {}},
        }
    },
)
async def create_chat_completion(
    body: ChatRequest,
    engines: EnginesDep,
    database: DatabaseDep,
    limiter: RateLimiterDep,
    principal: PrincipalDep,
) -> dict | StreamingResponse:
    """Answer a conversation with the local model (OpenAI's response shape; ``stream`` for server-sent events)."""
    if body.model not in MODEL_ALIASES:
        raise InvalidOptionError(f"unknown model '{body.model[:40]}' (choose from: {', '.join(MODEL_ALIASES)})")
    limiter.check(principal)
    messages = [ChatMessage(m.role, m.content) for m in body.messages]
    options = body.options()
    tenant = str(principal.tenant_id)
    queue = await run_in_threadpool(engines.chat_queue)  # the first call loads the model
    completion_id, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
    if body.stream:
        chunks = queue.stream(tenant, messages, options)  # a full queue raises here, before any byte is sent
        # The first chunk is awaited before answering too, so a request the model refuses (e.g. a conversation its
        # chat template cannot take) is a 4xx rather than a stream broken after its first event.
        try:
            first = await run_in_threadpool(_next, chunks)
        except BaseException:
            chunks.close()  # stop the request if it still runs
            raise
        events = _events(first, chunks, database, principal, completion_id, created, body.model)
        return StreamingResponse(events, media_type="text/event-stream")
    result = await run_in_threadpool(queue.chat, tenant, messages, options)
    _meter(database, principal, result.prompt_tokens + result.completion_tokens)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.text},
                "finish_reason": result.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "total_tokens": result.prompt_tokens + result.completion_tokens,
        },
    }


def _meter(database: Database, principal: Principal, tokens: int) -> None:
    with database.session() as session:
        usage.record(session, principal.tenant_id, "chat", tokens=tokens)


def _next(chunks: Iterator[ChatChunk]) -> ChatChunk | None:
    return next(chunks, None)


async def _events(
    first: ChatChunk | None,
    chunks: Generator[ChatChunk, None, None],
    database: Database,
    principal: Principal,
    completion_id: str,
    created: int,
    model: str,
) -> AsyncIterator[bytes]:
    def event(delta: dict, finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        return f"data: {json.dumps({**body, 'choices': [choice]}, ensure_ascii=False)}\n\n".encode()

    tokens, chunk = 0, first
    try:
        yield event({"role": "assistant"})
        while chunk is not None:
            if chunk.text:
                yield event({"content": chunk.text})
            if chunk.finish_reason:
                tokens = (chunk.prompt_tokens or 0) + (chunk.completion_tokens or 0)
                yield event({}, chunk.finish_reason)
            chunk = await run_in_threadpool(_next, chunks)
        yield b"data: [DONE]\n\n"
    finally:
        chunks.close()  # the client went away: stop generating
        _meter(database, principal, tokens)
