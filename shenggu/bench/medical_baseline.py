"""The baseline of ``shenggu bench medical``: the bundled language model with one plain prompt per task and
JSON-schema output, no rules, no lexicon, no checks — what a team would get by asking the model directly.

Entities: "list the entities of these types in this text" → ``{type: [text, ...]}`` with the set's type names
(the ``[{type, text}]`` list grouped by type: see :func:`entity_schema`).
Reports: "write this consultation's record in these six sections" → ``{主诉, 现病史, 辅助检查, 既往史, 诊断, 建议}``.
Greedy decoding (temperature 0), so a run repeats; :class:`AnswerCache` keeps the answers, so that a run cut
short (on a shared 2-core machine the model takes hours over the whole set) resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path

from shenggu.bench.medical_scoring import REPORT_SECTIONS, SET_TYPE_NAMES, SET_TYPES
from shenggu.errors import InvalidOptionError
from shenggu.llm.chat_queue import ChatQueue
from shenggu.llm.types import ChatMessage, ChatOptions, LanguageModelError
from shenggu.reports.results import write_text_atomically

TENANT = "bench-medical"
# Entities per type at most: bounds a model that repeats one entity over and over (greedy decoding does).
_MAX_PER_TYPE = 32
_ENTITY_TOKENS = 2560
_REPORT_TOKENS = 1024
_SPEAKERS = {"doctor": "医生", "patient": "患者"}


def entity_schema(source: str) -> dict:
    """JSON schema of the entity answer: for each of the set's types, the list of its entities' texts.

    This is the ``[{type, text}]`` list grouped by type. Asked for the flat list, the bundled 1.5B model under
    greedy decoding either answered ``[]`` or repeated its second entity until the token limit (a CCKS
    passage: 200 s for nothing usable); grouped by type it answers in under a minute."""
    listing = {"type": "array", "items": {"type": "string"}, "maxItems": _MAX_PER_TYPE}
    types = list(SET_TYPES[source])
    return {
        "type": "object",
        "properties": {t: listing for t in types},
        "required": types,
        "additionalProperties": False,
    }


def entity_prompt(text: str, source: str) -> str:
    """The plain extraction prompt (CMeEE's type codes are explained, as the set defines them)."""
    names = SET_TYPE_NAMES[source]
    types = "、".join(t if names[t] == t else f"{t}（{names[t]}）" for t in SET_TYPES[source])
    return f"列出下面这段医学文本中这些类型的实体：{types}。每种类型给出它在文本中出现的原文列表。\n\n文本：{text}"


def report_schema() -> dict:
    """JSON schema of the report answer: the six sections as strings."""
    properties = {s: {"type": "string"} for s in REPORT_SECTIONS}
    return {
        "type": "object",
        "properties": properties,
        "required": list(REPORT_SECTIONS),
        "additionalProperties": False,
    }


def report_prompt(dialogue: Sequence[dict]) -> str:
    """The plain report prompt over the dialogue's turns (医生：/患者：)."""
    turns = "\n".join(f"{_SPEAKERS.get(t.get('speaker', ''), '')}：{t['text']}" for t in dialogue)
    sections = "、".join(REPORT_SECTIONS)
    return f"根据下面的医患对话，写出这次问诊的病历，分为{sections}六个部分。\n\n对话：\n{turns}"


class AnswerCache:
    """The model's answers by request (prompt, schema and token limit), kept in a JSON file when ``path`` is
    given (read first, written after every new answer), so a repeated or resumed run asks the model once per
    request. The file does not know the model's settings: delete it after changing them. Thread-safe."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.reused = 0  # answers this run took from the file instead of the model
        self._answers = _read_answers(path) if path is not None and path.is_file() else {}
        self._lock = threading.Lock()

    def ask(self, queue: ChatQueue, prompt: str, schema: dict, max_tokens: int) -> object:
        """The parsed JSON answer to ``prompt``: from the file when it has it, else from the model."""
        request = json.dumps([prompt, schema, max_tokens], ensure_ascii=False, sort_keys=True)
        key = hashlib.sha256(request.encode()).hexdigest()[:24]
        with self._lock:
            if key in self._answers:
                self.reused += 1
                return json.loads(self._answers[key])
        options = ChatOptions(max_tokens=max_tokens, temperature=0.0, json_schema=schema)
        text = queue.chat(TENANT, [ChatMessage("user", prompt)], options).text
        answer = json.loads(text)
        with self._lock:
            self._answers[key] = text
            if self.path is not None:
                write_text_atomically(self.path, json.dumps(self._answers, ensure_ascii=False, indent=1))
        return answer


def _read_answers(path: Path) -> dict[str, str]:
    try:
        answers = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        answers = None
    if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
        raise InvalidOptionError(f"{path}: not a file of answers written by bench medical")
    return answers


def llm_entities(queue: ChatQueue, text: str, source: str, cache: AnswerCache | None = None) -> list[tuple[str, str]]:
    """The model's ``(type, text)`` entities of ``text`` (types of ``source``'s set), type by type in the
    answer's order."""
    answer = (cache or AnswerCache()).ask(queue, entity_prompt(text, source), entity_schema(source), _ENTITY_TOKENS)
    if not isinstance(answer, dict):
        raise LanguageModelError("the entity answer is not an object")
    return [(type_, str(said)) for type_ in SET_TYPES[source] for said in answer.get(type_, [])]


def llm_report(queue: ChatQueue, dialogue: Sequence[dict], cache: AnswerCache | None = None) -> dict[str, str]:
    """The model's report of a dialogue: the six sections' texts."""
    answer = (cache or AnswerCache()).ask(queue, report_prompt(dialogue), report_schema(), _REPORT_TOKENS)
    if not isinstance(answer, dict):
        raise LanguageModelError("the report answer is not an object")
    return {s: str(answer.get(s, "")) for s in REPORT_SECTIONS}
