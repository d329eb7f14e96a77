"""The text tools: ``/v1/text/{segment,keywords,normalize,pinyin,convert,sentiment,mask}``."""

from __future__ import annotations

from shenggu.service.schemas import ResponseBody


class SegmentedWord(ResponseBody):
    """A word and where it is (``text[start:end]``); ``pos`` only when tags were asked for."""

    word: str
    start: int
    end: int
    pos: str | None = None


class Segmentation(ResponseBody):
    """The words of the text and the language they were cut as."""

    language: str
    words: list[SegmentedWord]


class Keyword(ResponseBody):
    """A keyword and its weight."""

    word: str
    weight: float


class Keywords(ResponseBody):
    """The most characteristic words, best first."""

    method: str
    keywords: list[Keyword]


class Normalized(ResponseBody):
    """The normalized text."""

    text: str
    mode: str
    language: str


class PinyinWord(ResponseBody):
    """A word and its syllables (empty for words that are not Chinese)."""

    word: str
    pinyin: list[str]


class Pinyin(ResponseBody):
    """The text in pinyin, whole and word by word."""

    style: str
    text: str
    words: list[PinyinWord]


class Converted(ResponseBody):
    """The converted text."""

    text: str
    conversion: str


class SentenceSentiment(ResponseBody):
    """One sentence's score and label."""

    text: str
    score: float
    label: str


class Sentiment(ResponseBody):
    """The whole text's score (P(positive)) and label, and each sentence's."""

    score: float
    label: str
    model: str
    sentences: list[SentenceSentiment]


class Finding(ResponseBody):
    """What was masked where (``text[start:end]``)."""

    type: str
    start: int
    end: int


class Masked(ResponseBody):
    """The masked text (as long as the original) and what was masked."""

    text: str
    findings: list[Finding]
