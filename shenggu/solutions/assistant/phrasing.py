"""Optional answer phrasing by the local language model, strictly grounded in the retrieved answer.

The model may only reword the stored answer as a reply to the visitor's question. Its wording is used only when
it states exactly the facts of the stored answer — the same numbers, amounts, dates, times, weekdays, drug names
and Latin-script names or codes (the translation checks' fact reader, within one language) — none added, none
lost; otherwise the stored answer is said as it is, with the reasons. It costs seconds of model time per
answer, so it is an opt-in for typed questions, not part of the spoken loop's 1.5 s budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shenggu.llm.chat_queue import ChatQueue
from shenggu.llm.types import ChatMessage, ChatOptions
from shenggu.translate.facts import Clock, Fact, extract_facts, same_quantity

INSTRUCTIONS = {
    "zh": "你是政务服务大厅的咨询助手。只根据“参考答案”回答来访者的问题：可以调整措辞、使语气自然礼貌，"
    "但不得添加参考答案中没有的任何信息（数字、日期、时间、地点、材料、条件、费用等），也不得遗漏其中的信息。"
    "用简体中文回答，不超过三句话，只输出回答本身。",
    "en": "You are the information assistant of a public service hall. Answer the visitor's question using only "
    "the reference answer: you may reword it and make it polite and natural, but you must not add anything that "
    "is not in it (numbers, dates, times, places, documents, conditions, fees) and must not leave anything out. "
    "Answer in English, in at most three sentences, and output only the answer.",
}


@dataclass(frozen=True)
class Phrasing:
    """What to say: the model's wording when it passed the grounding check (``phrased``), else the stored
    answer; ``problems`` say why the wording was not used."""

    text: str
    phrased: bool
    problems: list[str] = field(default_factory=list)


def phrase_answer(question: str, answer: str, language: str, queue: ChatQueue, tenant: str = "") -> Phrasing:
    """Reword ``answer`` (in ``language``, zh or en) as a reply to ``question`` with the local language model,
    through its fair ``queue`` under ``tenant``; fall back to ``answer`` unless the wording is grounded."""
    messages = [
        ChatMessage("system", INSTRUCTIONS[language]),
        ChatMessage("user", f"问题 / Question: {question}\n参考答案 / Reference answer: {answer}"),
    ]
    options = ChatOptions(max_tokens=min(512, 48 + 2 * len(answer)), temperature=0.0)
    wording = queue.chat(tenant, messages, options).text.strip()
    problems = grounding_problems(answer, wording, language)
    return Phrasing(answer, False, problems) if problems else Phrasing(wording, True)


def grounding_problems(answer: str, wording: str, language: str) -> list[str]:
    """Why ``wording`` is not a faithful rewording of ``answer``: empty, far longer, a fact added or lost."""
    if not wording:
        return ["the model gave no answer"]
    if len(wording) > 2 * len(answer) + 60:
        return ["the wording is much longer than the answer"]
    # Weak facts (a lone "one", 一下) are words more than facts, as in the translation checks.
    stated = [f for f in extract_facts(answer, language) if not f.weak]
    said = [f for f in extract_facts(wording, language) if not f.weak]
    added = [f for f in said if not any(_same(f, g) for g in stated)]
    lost = [f for f in stated if not any(_same(f, g) for g in said)]
    return [f"added {f.kind} {f.describe()}" for f in added] + [f"left out {f.kind} {f.describe()}" for f in lost]


def _same(a: Fact, b: Fact) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "number":
        return same_quantity(a, b)
    if isinstance(a.value, Clock) and isinstance(b.value, Clock):
        return a.value.same(b.value)
    if a.kind in ("drug", "latin") and isinstance(a.value, str) and isinstance(b.value, str):
        return a.value.lower() == b.value.lower()
    return a.value == b.value
