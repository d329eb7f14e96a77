"""A knowledge base's vocabulary: which terms it finds, and that recognition given them restores a service's own
terms that Whisper hears as same-sounding words (spoken by the bundled TTS, recognized by the bundled Whisper)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from shenggu.nlp.faq.retrieval import FaqIndex
from shenggu.nlp.faq.types import EntryText, KbEntry, KnowledgeBase
from shenggu.nlp.faq.vocabulary import kb_vocabulary


def _base(*questions: str, english: str = "") -> KnowledgeBase:
    entries = [KbEntry(f"e{i}", {"zh": EntryText(q)}) for i, q in enumerate(questions)]
    if english:
        entries.append(KbEntry("en", {"en": EntryText(english)}))
    return KnowledgeBase(entries)


LOANS = _base(
    "花呗额度怎么提升",
    "花呗额度为什么降低了",
    "花呗逾期了怎么办",
    "借呗可以提前还款吗",
    "借呗逾期会影响征信吗",
    "蚂蚁花呗怎么关闭",
    "微粒贷怎么开通",
    "微粒贷的利息怎么算",
    english="How do I close my account?",
)


def test_vocabulary_holds_the_terms_a_base_coins():
    terms = kb_vocabulary(LOANS)
    # names no dictionary knows, found because they recur; a recurring word too
    assert {"花呗", "借呗", "微粒贷", "逾期", "花呗额度"} <= set(terms), terms
    # 粒贷 only occurs inside 微粒贷: the longer term stands for it (逾期 only occurs in 呗逾期, but is a word)
    assert "粒贷" not in terms and "微粒" in terms
    # a string in one question only is not vocabulary; stopwords (怎么) cut runs, so no term spans them
    assert "关闭" not in terms and not any("怎么" in t for t in terms)
    assert terms[0] == "花呗"  # the most frequent first


def test_vocabulary_of_a_base_without_chinese_is_empty():
    assert kb_vocabulary(_base(english="How do I close my account?")) == []
    assert kb_vocabulary(KnowledgeBase([])) == []


def test_the_index_carries_its_vocabulary():
    assert FaqIndex(LOANS).vocabulary == kb_vocabulary(LOANS)


QUESTION = "我的花呗额度怎么提升"


@pytest.fixture(scope="module")
def spoken_question() -> np.ndarray:
    """QUESTION spoken by the default Mandarin voice, 16 kHz."""
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize

    chunks = synthesize(QUESTION, "zf_xiaoxiao", sample_rate=16000, settings=get_settings())
    return np.concatenate([*(c.samples for c in chunks), np.zeros(16000, np.float32)])


def test_recognition_with_the_vocabulary_restores_the_base_terms(recognizer, spoken_question):
    from shenggu.asr.pipeline import TranscribeOptions, transcribe
    from shenggu.audio.encode import StreamingEncoder

    encoder = StreamingEncoder("wav", 16000)
    wav = encoder.encode(spoken_question) + encoder.finish()
    plain = transcribe(io.BytesIO(wav), recognizer, TranscribeOptions(language="zh")).text
    vocabulary = kb_vocabulary(LOANS)
    aided = transcribe(io.BytesIO(wav), recognizer, TranscribeOptions(language="zh", vocabulary=vocabulary)).text
    assert "花呗" not in plain, plain  # Whisper-base alone hears a same-sounding word (花被)
    # the base's phrase 花呗额度 makes the correction worth it to the word LM, against Whisper's own score
    assert "花呗额度" in aided, aided


def test_streaming_sessions_use_the_vocabulary(recognizer, spoken_question):
    from shenggu.asr.streaming import StreamingSession, StreamOptions

    session = StreamingSession(recognizer, StreamOptions(language="zh", vocabulary=kb_vocabulary(LOANS)))
    events = [e for i in range(0, len(spoken_question), 1600) for e in session.accept(spoken_question[i : i + 1600])]
    text = "".join(e.segment.text for e in [*events, *session.finish()] if hasattr(e, "segment"))
    assert "花呗" in text, text
