"""Sentence splitting for translation: short units translate better and are checked one by one."""

from __future__ import annotations

import re

from shenggu.errors import InvalidOptionError

MAX_TEXT_CHARS = 8000
MAX_SENTENCE_CHARS = 400
# Chinese sentence ends, and English ones before a space + capital/quote/digit (not "Dr. Smith", "3.5", "e.g. x").
_ZH_END = re.compile(r"[。！？；][”’」』）)]*")
_EN_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_EN_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|No|Fig|vs|etc|e\.g|i\.e)\.$")


def split_sentences(text: str, source_language: str) -> list[str]:
    """Sentences of ``text`` (line breaks always end one); over-long ones are cut at a comma or space."""
    if not text.strip():
        raise InvalidOptionError("text is empty: nothing to translate")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidOptionError(f"text has {len(text)} characters; at most {MAX_TEXT_CHARS} per request")
    sentences: list[str] = []
    for line in text.splitlines():
        if line.strip():
            sentences.extend(_split_line(line.strip(), source_language))
    return [piece for s in sentences for piece in _cut_long(s)]


def _split_line(line: str, language: str) -> list[str]:
    parts, start = [], 0
    pattern = _ZH_END if language == "zh" else _EN_END
    for match in pattern.finditer(line):
        head = line[start : match.end()].strip()
        if language != "zh" and _EN_TITLE.search(head.rstrip("\"')]")):
            continue
        parts.append(head)
        start = match.end()
    parts.append(line[start:])
    return [p.strip() for p in parts if p.strip()]


def _cut_long(sentence: str) -> list[str]:
    out = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        window = sentence[:MAX_SENTENCE_CHARS]
        cut = max(window.rfind(mark) for mark in "，,；;、 ")
        cut = cut + 1 if cut > MAX_SENTENCE_CHARS // 2 else MAX_SENTENCE_CHARS
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*out, sentence] if sentence else out
