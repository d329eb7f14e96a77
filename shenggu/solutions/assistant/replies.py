"""What the assistant says to a retrieval result, and in which voice.

An answer is the entry's answer text (or, for a base without answers, the matched question, so the caller
still hears which entry was found); a clarifying question names the candidates (``您是想问：A，还是 B？``); no
match is a polite message in the question's language. The voice follows the reply's language, not the
question's: a Mandarin reply is read by a Kokoro voice, an English one by Piper's en_joe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shenggu.nlp.faq.retrieval import FaqAnswer
from shenggu.text.script import has_han, text_language
from shenggu.tts.voices import DEFAULT_VOICES, get_voice

MAX_SPOKEN_CHARS = 1000  # a longer answer is shown whole but read only up to a sentence end before this
NO_MATCH = {
    "zh": "抱歉，知识库里没有找到相关的问题，请换个说法，或者转人工服务。",
    "en": "Sorry, I could not find this in the knowledge base. Please rephrase, or ask for a person.",
}
FOUND_QUESTION = {"zh": "找到了相关问题：{question}", "en": "I found this question: {question}"}
_SENTENCE_END = re.compile(r"[。！？；!?;\n]|\.(?=\s)")


@dataclass(frozen=True)
class Voices:
    """The voice for each reply language: a Mandarin (Kokoro) voice for ``zh``, an English one for ``en``."""

    zh: str = DEFAULT_VOICES["zh"]
    en: str = DEFAULT_VOICES["en"]

    @classmethod
    def preferring(cls, voice: str | None) -> Voices:
        """The default voices with ``voice`` (an id or OpenAI name; checked) for its own language."""
        if not voice:
            return cls()
        chosen = get_voice(voice)
        return cls(zh=chosen.id) if chosen.language == "zh" else cls(en=chosen.id)

    def for_text(self, text: str) -> str:
        """The voice that can read ``text``: the Mandarin one as soon as it has a Chinese character (the English
        voice reads English only; the Mandarin voices read English words too)."""
        return self.zh if has_han(text) else self.en


@dataclass(frozen=True)
class Reply:
    """What to show and say for one question: ``text`` (shown), ``spoken`` (read aloud: ``text``, cut at a
    sentence end when very long), its language and voice."""

    status: str  # answer | clarify | no_match
    text: str
    spoken: str
    language: str
    voice: str
    options: list[str] = field(default_factory=list)  # clarify: the candidate questions, to choose from


def reply_for(result: FaqAnswer, voices: Voices | None = None) -> Reply:
    """The reply to a retrieval result."""
    voices = voices or Voices()
    language = result.language if result.language in NO_MATCH else text_language(result.query)
    options: list[str] = []
    if result.status == "answer":
        text = result.answer.strip() or FOUND_QUESTION[language].format(question=result.question.strip())
    elif result.status == "clarify":
        text = result.clarification
        options = _clarify_options(result)
    else:  # the retriever words its own no-match message; ours if it has none
        text = result.clarification or NO_MATCH[language]
    text = text.strip()
    spoken = spoken_part(text)
    return Reply(result.status, text, spoken, text_language(spoken), voices.for_text(spoken), options)


def _clarify_options(result: FaqAnswer) -> list[str]:
    """The candidate questions a clarification names, in its order (the clarification lists them first)."""
    found = {}
    for candidate in result.candidates:
        name = candidate.question.strip().rstrip("?？。.!！")
        at = result.clarification.find(name) if name else -1
        if at >= 0 and candidate.question not in found:
            found[candidate.question] = at
    return sorted(found, key=found.__getitem__)


def spoken_part(text: str, limit: int = MAX_SPOKEN_CHARS) -> str:
    """``text`` if short enough to read aloud, else its sentences up to ``limit`` characters (at least one
    sentence, itself cut at ``limit``)."""
    if len(text) <= limit:
        return text
    cut = 0
    for match in _SENTENCE_END.finditer(text, 0, limit):
        cut = match.end()
    return text[: cut or limit].strip()
