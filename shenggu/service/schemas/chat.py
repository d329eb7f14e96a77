"""OpenAI-compatible chat: ``POST /v1/chat/completions`` (the whole answer; streamed answers are server-sent
events)."""

from __future__ import annotations

from typing import Literal

from shenggu.service.schemas import ResponseBody


class AssistantMessage(ResponseBody):
    """The model's answer."""

    role: Literal["assistant"]
    content: str


class Choice(ResponseBody):
    """The one answer and why generation stopped (``stop``, ``length``)."""

    index: int
    message: AssistantMessage
    finish_reason: str


class TokenUsage(ResponseBody):
    """Tokens read and written (what the request is metered by)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(ResponseBody):
    """OpenAI's chat completion."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: TokenUsage
