"""The baseline of ``shenggu bench medical``: the bundled language model with one plain prompt per task and
JSON-schema output, no rules, no lexicon, no checks — what a team would get by asking the model directly.

Entities: "list the entities of these types in this text" → ``{type: [text, ...]}`` with the set's type names
(the ``[{type, text}]`` list grouped by type: see :func:`entity_schema`).
Reports: "write this consultation's record in these six sections" → ``{主诉, 现病史, 辅助检查, 既往史, 诊断, 建议}``.
Greedy decoding (temperature 0), so a run repeats.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from shenggu.bench.medical_scoring import REPORT_SECTIONS, SET_TYPE_NAMES, SET_TYPES
from shenggu.llm.chat_queue import ChatQueue
from shenggu.llm.types import ChatMessage, ChatOptions, LanguageModelError

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


def _ask(queue: ChatQueue, prompt: str, schema: dict, max_tokens: int) -> object:
    options = ChatOptions(max_tokens=max_tokens, temperature=0.0, json_schema=schema)
    return json.loads(queue.chat(TENANT, [ChatMessage("user", prompt)], options).text)


def llm_entities(queue: ChatQueue, text: str, source: str) -> list[tuple[str, str]]:
    """The model's ``(type, text)`` entities of ``text`` (types of ``source``'s set), type by type in the
    answer's order."""
    answer = _ask(queue, entity_prompt(text, source), entity_schema(source), _ENTITY_TOKENS)
    if not isinstance(answer, dict):
        raise LanguageModelError("the entity answer is not an object")
    return [(type_, str(said)) for type_ in SET_TYPES[source] for said in answer.get(type_, [])]


def llm_report(queue: ChatQueue, dialogue: Sequence[dict]) -> dict[str, str]:
    """The model's report of a dialogue: the six sections' texts."""
    answer = _ask(queue, report_prompt(dialogue), report_schema(), _REPORT_TOKENS)
    if not isinstance(answer, dict):
        raise LanguageModelError("the report answer is not an object")
    return {s: str(answer.get(s, "")) for s in REPORT_SECTIONS}
