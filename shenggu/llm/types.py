"""What a language model takes and gives: chat messages in, text (whole or streamed) out."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from shenggu.errors import ShengguError

Role = Literal["system", "user", "assistant"]


class LanguageModelError(ShengguError):
    """The model failed or gave output that breaks the request's contract (e.g. JSON that does not parse)."""

    code = "llm_error"
    http_status = 502


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation."""

    role: Role
    content: str


@dataclass(frozen=True)
class ChatOptions:
    """Decoding options. ``temperature`` 0 decodes greedily (repeatable); ``json_schema`` constrains the output to
    JSON that matches the schema; ``seed`` makes sampling repeatable when ``temperature`` > 0."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ChatResult:
    """A whole answer. ``finish_reason`` is ``"stop"`` (done) or ``"length"`` (cut at ``max_tokens``)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    seconds: float


@dataclass(frozen=True)
class ChatChunk:
    """A piece of a streamed answer. The last chunk has ``finish_reason`` and the token counts (and may have no
    text)."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LanguageModel(Protocol):
    """A chat model; implementations are safe to call from several threads."""

    def chat(self, messages: Sequence[ChatMessage], options: ChatOptions | None = None) -> ChatResult:
        """Answer the conversation in one piece."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], options: ChatOptions | None = None
    ) -> Generator[ChatChunk, None, None]:
        """Answer the conversation piece by piece; closing the generator early stops the generation."""
        ...


# One chat turn as solutions take it: a model's ``chat``, or a tenant's turn in the fair queue.
Chat = Callable[[Sequence[ChatMessage], ChatOptions], ChatResult]
