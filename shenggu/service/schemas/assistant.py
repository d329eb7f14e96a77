"""The voice assistant: ``POST /v1/assistant/ask`` (the WebSocket's messages are in the README)."""

from __future__ import annotations

from pydantic import Field

from shenggu.service.schemas import ResponseBody


class AskCandidate(ResponseBody):
    """One ranked entry of the knowledge base."""

    entry_id: str
    question: str = Field(description="The entry's question, in the query's language when it has one.")
    score: float = Field(description="The fused score the entries are ranked by.")
    semantic: float
    lexical: float
    matched_text: str = Field(description="The entry's text that matched best.")
    matched_language: str


class AskResponse(ResponseBody):
    """The retrieval result of a typed question and what the assistant would say to it."""

    status: str = Field(description="answer, clarify or no_match.")
    query: str
    language: str = Field(description="The question's language.")
    confidence: float
    entry_id: str | None = Field(description="The answering entry (status answer).")
    question: str = Field(description="The answering entry's question.")
    answer: str = Field(description="The entry's stored answer.")
    answer_language: str
    clarification: str = Field(description="The clarifying question (status clarify) or no-match message.")
    reason: str
    candidates: list[AskCandidate]
    kb: str
    kb_version: int
    reply: str = Field(
        description="What the assistant says: the answer (or the model's grounded wording of it), the clarifying "
        "question or a no-match message."
    )
    phrased: bool = Field(description="The reply is the language model's wording (`phrase`).")
    phrasing_problems: list[str] = Field(description="Why the model's wording was not used.")
    reply_language: str
    voice: str = Field(description="The voice that reads the reply.")
    options: list[str] = Field(description="Status clarify: the candidate questions, to choose from.")
