"""A call's summary by the bundled language model, kept only where it is grounded: every number and every named
thing (person, place, organisation, product name, Latin word) in a kept sentence is said in the call. A sentence
holding a fact the call does not hold is dropped and listed, so a supervisor never reads an invented amount,
date or name as if the customer had said it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from shenggu.llm.types import Chat, ChatMessage, ChatOptions, LanguageModelError
from shenggu.nlp.itn import inverse_normalize
from shenggu.nlp.segment import segment
from shenggu.solutions.qa.record import Call
from shenggu.text.digits import DIGIT_NUMBER, written_numbers
from shenggu.text.numbers_zh import ZH_DIGIT_VALUES, ZH_NUMERALS, parse_zh_positional

MAX_SUMMARY_CHARS = 150
_PARTY = {"agent": "坐席", "customer": "客户"}
_INSTRUCTIONS = (
    "你是客服质检员。用两三句话概括下面这通客服电话：客户的诉求、坐席的处理和结果。"
    "只能写对话里出现过的信息，不要添加对话中没有的金额、日期、号码、人名或产品名。"
)
_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*")
_WORD = re.compile(r"\w")
_FENCE = re.compile(r"`+(?:json)?", re.IGNORECASE)
_PUNCTUATION_RUN = re.compile(r"[，,。.、；;！!？?]{2,}")
_NUMERALS = re.compile(f"[{''.join(sorted(ZH_NUMERALS))}]+")
# Numerals that are words, not amounts (十分满意, 千万别, 万一, 一下): not facts to check in a summary.
_NUMERAL_WORDS = frozenset({"一", "十分", "千万", "万万", "万一", "一一"})
# jieba's tags of named things: person, place, organisation, other proper noun, Latin word.
_NAMED_TAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz", "eng"})
_MAX_DIALOGUE_CHARS = 6000  # the model's context holds the call, the instructions and the answer


@dataclass
class CallSummary:
    """The kept summary and the sentences dropped because a fact in them is not in the call."""

    text: str
    dropped: list[str] = field(default_factory=list)


def _numbers(text: str, words: frozenset[str] = _NUMERAL_WORDS) -> list[str]:
    """The numbers of ``text`` as digits: written ones, spoken ones as the text normalizer writes them
    (三百元 → 300, 一零二三 → 1023) and counts it leaves in characters (三个工作日 → 3); numerals in ``words``
    are not numbers."""
    found = written_numbers(f"{text} {inverse_normalize(text)}")
    for run in _NUMERALS.findall(text):
        if run in words:
            continue
        value = parse_zh_positional(run)
        if value is None and all(c in ZH_DIGIT_VALUES for c in run):  # read digit by digit: 六六八
            value = int("".join(str(ZH_DIGIT_VALUES[c]) for c in run))
        if value is not None:
            found.append(str(value))
    return list(dict.fromkeys(found))


def summary_facts(text: str) -> list[str]:
    """The facts of ``text`` that must be in the call: its numbers (see :func:`_numbers`) and its named things, in
    order."""
    numbers = _numbers(text)
    named = [t.word for t in segment(text, pos=True).tokens if t.pos in _NAMED_TAGS and len(t.word) >= 2]
    return list(dict.fromkeys([*numbers, *named]))


class CallFacts:
    """What a call holds, for checking facts against it: its numbers and its text (both as said and written)."""

    def __init__(self, call: Call) -> None:
        said = "\n".join(u.text for u in call.utterances)
        self._text = said + "\n" + inverse_normalize(said)
        self._numbers = set(_numbers(said, frozenset()))  # 一 said in the call may be a summary's 1

    def holds(self, fact: str) -> bool:
        """Whether the call says ``fact`` (a number or a named thing of :func:`summary_facts`)."""
        return fact in self._numbers if DIGIT_NUMBER.fullmatch(fact) else fact.lower() in self._text.lower()


def _tidy(text: str) -> str:
    """The model's text without the Markdown it sometimes writes inside the JSON string (```json, stray
    backticks) and without runs of punctuation (，，，，)."""
    text = _FENCE.sub("", text)
    return _PUNCTUATION_RUN.sub(lambda m: m.group(0)[0], text).strip(" ，,、")


def ground_summary(text: str, call: Call) -> CallSummary:
    """Keep the sentences of ``text`` whose every fact the call holds; list the others as dropped."""
    facts = CallFacts(call)
    kept, dropped = [], []
    for sentence in (m.group(0).strip(" ，,、") for m in _SENTENCE.finditer(_tidy(text))):
        if _WORD.search(sentence):  # a piece of punctuation left between sentences is no sentence
            grounded = all(facts.holds(fact) for fact in summary_facts(sentence))
            (kept if grounded else dropped).append(sentence)
    return CallSummary("".join(kept), dropped)


def dialogue_text(call: Call) -> str:
    """The call as the model reads it: one line per utterance, 坐席/客户 before each, cut to fit the context."""
    lines = [f"{_PARTY[u.role]}：{u.text.strip()}" for u in call.utterances if u.text.strip()]
    text = "\n".join(lines)
    return text if len(text) <= _MAX_DIALOGUE_CHARS else text[:_MAX_DIALOGUE_CHARS] + "\n……"


def draft_summary(call: Call, chat: Chat) -> str:
    """The model's summary of ``call`` as it wrote it, before the grounding check ("" for a call without words,
    without asking the model). Raises :class:`~shenggu.llm.types.LanguageModelError` when the model fails or
    answers outside the schema."""
    dialogue = dialogue_text(call)
    if not dialogue:
        return ""
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string", "maxLength": MAX_SUMMARY_CHARS}},
        "required": ["summary"],
        "additionalProperties": False,
    }
    messages = [ChatMessage("system", _INSTRUCTIONS), ChatMessage("user", f"对话：\n{dialogue}")]
    result = chat(messages, ChatOptions(max_tokens=2 * MAX_SUMMARY_CHARS, temperature=0.0, json_schema=schema))
    try:
        answer = json.loads(result.text)
    except json.JSONDecodeError as error:
        raise LanguageModelError(f"the summary answer is not JSON: {error}") from error
    if not isinstance(answer, dict) or not isinstance(answer.get("summary"), str):
        raise LanguageModelError("the summary answer has no summary text")
    return answer["summary"].strip()


def summarize_call(call: Call, chat: Chat) -> CallSummary:
    """The model's summary of ``call``, grounded (see :func:`draft_summary` and :func:`ground_summary`)."""
    return ground_summary(draft_summary(call, chat), call)
