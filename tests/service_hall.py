"""The service hall of the assistant tests: its knowledge base, and a question spoken by the TTS."""

from __future__ import annotations

import numpy as np

from shenggu.nlp.faq.types import EntryText, KbEntry, KnowledgeBase

MARRIAGE_ANSWER = "结婚登记需要双方的户口本、身份证和三张两寸合照，到婚姻登记处办理。"
HALL_KB = KnowledgeBase(
    [
        KbEntry("marriage", {"zh": EntryText("结婚登记需要带什么材料？", ["办结婚证要带什么"], MARRIAGE_ANSWER)}),
        KbEntry(
            "divorce",
            {"zh": EntryText("离婚登记需要带什么材料？", [], "离婚登记需要双方的户口本、身份证、结婚证和离婚协议书。")},
        ),
        KbEntry(
            "hours",
            {
                "zh": EntryText(
                    "办事大厅几点开门？", ["营业时间是什么时候"], "办事大厅周一到周五上午九点到下午五点开放。"
                ),
                "en": EntryText(
                    "When is the service hall open?", [], "The hall is open from 9 am to 5 pm on weekdays."
                ),
            },
        ),
        KbEntry("social-card", {"zh": EntryText("社保卡丢了怎么补办？", [], "带身份证到社保窗口挂失并补办。")}),
        KbEntry("residence", {"zh": EntryText("户口迁移需要什么手续？", [], "需要准迁证和户口本。")}),
    ]
)
QUESTION = "结婚登记需要带什么材料"


def speak_question() -> np.ndarray:
    """The question spoken by a male Mandarin voice (the answers use a female one), 16 kHz, without the silence
    the TTS leaves after it."""
    from shenggu.bench.assistant import tighten  # heavy imports: only once a test needs the audio
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize

    chunks = synthesize(QUESTION, "zm_yunxi", sample_rate=16000, settings=get_settings())
    return tighten(np.concatenate([c.samples for c in chunks]))
