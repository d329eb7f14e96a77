"""Optional language-model fill-in of a drafted consultation record: the bundled model (JSON-schema output)
writes the sections the extractive drafter left empty, and every value it writes goes through the grounding
check, so a number, unit, drug, diagnosis or negation the conversation does not hold is dropped and flagged."""

from __future__ import annotations

import json

from shenggu.llm.types import Chat, ChatMessage, ChatOptions, LanguageModelError
from shenggu.solutions.medical.grounding import ground_record
from shenggu.solutions.medical.lexicon import MedicalLexicon
from shenggu.solutions.medical.record import MedicalRecord, ReviewFlag, Statement

FILLABLE_SECTIONS = ("主诉", "现病史", "既往史", "辅助检查", "初步诊断", "处理意见")
_MAX_SECTION_CHARS = 120
_SPEAKERS = {"doctor": "医生", "patient": "患者"}
# What a model writes for a section the conversation does not touch: the section stays empty instead.
_NOTHING_SAID = frozenset({"", "无", "暂无", "不详", "暂缺", "未提及", "没有", "无相关信息"})
_INSTRUCTIONS = (
    "你是门诊医生的书记助手。根据下面的医患对话，为指定的病历栏目各写一句简洁的记录。"
    "只能使用对话中出现的信息，不要添加对话里没有的数字、药物、诊断或检查；对话没有提到的栏目写空字符串。"
)


def fill_empty_sections(record: MedicalRecord, chat: Chat, lexicon: MedicalLexicon | None = None) -> int:
    """Ask the language model (``chat``: a model's ``chat``, or a tenant's turn in the fair queue) for the
    record's empty sections of :data:`FILLABLE_SECTIONS`, keep what is grounded in the conversation (statements
    with source ``llm``) and return how many statements were added. A model failure leaves the record as it was,
    with a review flag saying so."""
    missing = [name for name in FILLABLE_SECTIONS if not record.statements_of(name)]
    if not missing or not record.utterances:
        return 0
    dialogue = "\n".join(f"{_SPEAKERS.get(u.role, '说话人')}：{u.text}" for u in record.utterances)
    schema = {
        "type": "object",
        "properties": {name: {"type": "string", "maxLength": _MAX_SECTION_CHARS} for name in missing},
        "required": missing,
        "additionalProperties": False,
    }
    messages = [
        ChatMessage("system", _INSTRUCTIONS),
        ChatMessage("user", f"对话：\n{dialogue}\n\n需要填写的栏目：{'、'.join(missing)}"),
    ]
    try:
        answer = json.loads(chat(messages, ChatOptions(max_tokens=80 * len(missing), json_schema=schema)).text)
    except (LanguageModelError, json.JSONDecodeError) as error:
        record.needs_review.append(ReviewFlag(f"the language model could not draft the empty sections: {error}"))
        return 0
    for name in missing:
        text = str(answer.get(name, "")).strip()
        if text.strip("。.，, ") not in _NOTHING_SAID:
            record.section(name).statements.append(Statement(text, source="llm"))
    ground_record(record, ("llm",), lexicon)
    return sum(1 for s in record.sections for st in s.statements if st.source == "llm")
