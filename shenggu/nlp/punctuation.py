"""Rule-based punctuation for Mandarin ASR output, from pauses and sentence-final particles.

Whisper-base writes little punctuation in Mandarin (and sometimes ASCII commas). Pauses in the word timings mark
clause boundaries; question particles at a clause end mark questions.
"""

from __future__ import annotations

from shenggu.text.script import is_punctuation

_TO_FULL_WIDTH = str.maketrans({",": "，", "?": "？", "!": "！", ";": "；", ":": "：", ".": "。"})
_SENTENCE_END = "。？！"
_CLAUSE_END = "，、；：" + _SENTENCE_END
_QUESTION_PARTICLES = ("吗", "么", "呢")
_QUESTION_WORDS = ("什么", "怎么", "为什么", "哪里", "多少", "几点", "是不是", "有没有", "对不对")


def to_full_width_punctuation(text: str, before: str = "", after: str = "") -> str:
    """ASCII punctuation to its Chinese full-width form (decimal points and times between digits stay).

    ``before``/``after`` are the neighbouring words' texts: Whisper often makes "12", ".", "5" separate words."""
    context = before[-1:] + text + after[:1]
    offset = len(before[-1:])
    out = []
    for i, ch in enumerate(text):
        j = i + offset
        between_digits = 0 < j < len(context) - 1 and context[j - 1].isdigit() and context[j + 1].isdigit()
        out.append(ch if between_digits else ch.translate(_TO_FULL_WIDTH))
    return "".join(out)


def sentence_end_mark(clause: str) -> str:
    """'？' for a clause that reads as a question, else '。'."""
    stripped = clause.rstrip(_CLAUSE_END + "啊呀")
    if stripped.endswith(_QUESTION_PARTICLES) or any(q in stripped[-6:] for q in _QUESTION_WORDS):
        return "？"
    return "。"


def punctuate_words(
    words: list[tuple[str, float, float]], pause: float = 0.45, ends_sentence: bool = True
) -> list[str]:
    """Punctuate Mandarin words ``(text, start, end)``: a comma at each pause ≥ ``pause`` s, an end mark last
    (a comma instead when the words do not end a sentence, unless they read as a question).

    Returns the word texts with punctuation attached, so word timings stay aligned with the text.
    """
    raw = [w[0] for w in words]
    texts = [
        to_full_width_punctuation(text, raw[i - 1] if i else "", raw[i + 1] if i + 1 < len(raw) else "")
        for i, text in enumerate(raw)
    ]
    for i in range(len(words) - 1):
        if words[i + 1][1] - words[i][2] >= pause and texts[i] and not is_punctuation(texts[i][-1]):
            texts[i] += "，"
    if texts and texts[-1] and not is_punctuation(texts[-1][-1]):
        texts[-1] += _end_mark("".join(texts), ends_sentence)
    elif texts and texts[-1] and texts[-1][-1] in "，、；：":
        texts[-1] = texts[-1][:-1] + _end_mark("".join(texts)[:-1], ends_sentence)
    return _questions_inside(texts)


def _end_mark(clause: str, ends_sentence: bool) -> str:
    mark = sentence_end_mark(clause)
    return mark if ends_sentence or mark == "？" else "，"


def _questions_inside(texts: list[str]) -> list[str]:
    """Turn a comma after a question clause into '？' (e.g. 什么意思呢，→ 什么意思呢？)."""
    clause = ""
    for i, text in enumerate(texts):
        clause += text
        if text.endswith("，") and sentence_end_mark(clause[:-1]) == "？":
            texts[i] = text[:-1] + "？"
        if text and text[-1] in _CLAUSE_END:
            clause = ""
    return texts
