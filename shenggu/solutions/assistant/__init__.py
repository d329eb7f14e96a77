"""The FAQ voice assistant of service halls: spoken or typed questions answered from a tenant's knowledge base,
shown and spoken. HTTP-independent: a ``Conversation`` speaks its protocol over any ``Channel``;
``shenggu.service.routers.assistant`` serves it over WebSocket."""

from shenggu.solutions.assistant.conversation import Channel, Conversation
from shenggu.solutions.assistant.indexes import IndexCache
from shenggu.solutions.assistant.listening import (
    EARLY_ANSWER_MS,
    END_SILENCE_MS,
    QuestionListener,
    Settled,
    join_texts,
    listen_options,
)
from shenggu.solutions.assistant.replies import NO_MATCH, Reply, Voices, reply_for, spoken_part
from shenggu.solutions.assistant.session import DEFAULT_SAMPLE_RATE, AssistantSession, Turn
from shenggu.solutions.assistant.workers import Workers

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "EARLY_ANSWER_MS",
    "END_SILENCE_MS",
    "NO_MATCH",
    "AssistantSession",
    "Channel",
    "Conversation",
    "IndexCache",
    "QuestionListener",
    "Reply",
    "Settled",
    "Turn",
    "Voices",
    "Workers",
    "join_texts",
    "listen_options",
    "reply_for",
    "spoken_part",
]
