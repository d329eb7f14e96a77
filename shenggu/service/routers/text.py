"""Text tools: ``POST /v1/text/{segment,keywords,normalize,pinyin,convert,sentiment,mask}``.

Each takes ``{"text": ...}`` (1 to 20,000 characters) plus its options and answers at once; the work is done by
:mod:`shenggu.nlp` (the same jieba, ITN and TN code ASR and TTS use). Usage is metered as capability ``text``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from shenggu.nlp import mask as mask_module
from shenggu.nlp.segment import MAX_TOP_K
from shenggu.service.deps import DbSessionDep, PrincipalDep, RateLimiterDep
from shenggu.service.errors import error_responses
from shenggu.service.fields import ReadableText
from shenggu.service.schemas.text import Converted, Keywords, Masked, Normalized, Pinyin, Segmentation, Sentiment
from shenggu.service.storage import usage

MAX_TEXT_CHARS = 20_000

router = APIRouter(prefix="/v1/text", tags=["text"], responses=error_responses(400, 401, 422, 429))


class TextBody(BaseModel):
    """The text to work on."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: ReadableText = Field(
        min_length=1, max_length=MAX_TEXT_CHARS, examples=["我在中国银行工作，电话13812345678。"]
    )


class SegmentRequest(TextBody):
    """Text to cut into words."""

    pos: bool = Field(False, description="Tag each word with its part of speech (jieba's tags; accurate mode).")
    mode: Literal["accurate", "search", "full"] = Field(
        "accurate", description="accurate: each character in one word; search: plus sub-words; full: all words."
    )


class KeywordsRequest(TextBody):
    """Text to extract keywords from."""

    top_k: int = Field(10, ge=1, le=MAX_TOP_K, description="How many keywords.")
    method: Literal["tfidf", "textrank"] = Field("tfidf", description="TF-IDF (jieba's IDF table) or TextRank.")


class NormalizeRequest(TextBody):
    """Text to normalize."""

    mode: Literal["itn", "tn"] = Field(
        description="itn: spoken → written (Mandarin ASR's ITN); tn: written → spoken (the TTS normalizer)."
    )
    language: Literal["auto", "zh", "en"] = Field("auto", description="auto: zh if the text has Chinese.")


class PinyinRequest(TextBody):
    """Text to transcribe into pinyin."""

    style: Literal["marks", "numbers", "none"] = Field(
        "marks", description="marks: yín háng; numbers: yin2 hang2; none: yin hang."
    )


class ConvertRequest(TextBody):
    """Text to convert between simplified and traditional characters."""

    conversion: Literal[
        "s2t", "t2s", "s2tw", "tw2s", "s2twp", "tw2sp", "s2hk", "hk2s", "t2tw", "tw2t", "t2hk", "hk2t", "t2jp", "jp2t"
    ] = Field("s2t", description="An OpenCC conversion: s2t, t2s, s2tw(p), tw2s(p), s2hk, hk2s, ...")


class SentimentRequest(TextBody):
    """Chinese text to score."""


class MaskRequest(TextBody):
    """Text to mask personal data and sensitive words in."""

    words: list[Annotated[str, Field(max_length=mask_module.MAX_WORD_CHARS)]] = Field(
        default_factory=list, max_length=mask_module.MAX_WORDS, description="Your sensitive words, masked whole."
    )
    builtin_words: bool = Field(True, description="Also mask the small built-in list of sensitive words.")
    types: list[Literal["email", "id_card", "bank_card", "mobile", "landline", "sensitive_word"]] | None = Field(
        None, description="What to look for (default: all)."
    )


class TextRequest:
    """A text tool's request: counted against the caller's rate limit, its characters metered once done."""

    def __init__(self, limiter: RateLimiterDep, session: DbSessionDep, principal: PrincipalDep) -> None:
        self.limiter, self.session, self.principal = limiter, session, principal

    def run(self, text: str, work: Callable[[], dict]) -> dict:
        """Count the request against the rate limit, do the work, meter the characters."""
        self.limiter.check(self.principal)
        result = work()
        usage.record(self.session, self.principal.tenant_id, "text", characters=len(text))
        return result


TextRequestDep = Annotated[TextRequest, Depends()]


@router.post("/segment", response_model=Segmentation, response_model_exclude_unset=True)
def segment_text(body: SegmentRequest, request: TextRequestDep) -> dict:
    """Cut text into words (jieba for Mandarin, a word tokenizer for English), with offsets and optional
    part-of-speech tags: ``{"language", "words": [{"word", "start", "end", "pos"?}]}``."""
    from shenggu.nlp.segment import segment

    return request.run(body.text, lambda: segment(body.text, body.pos, body.mode).to_dict())


@router.post("/keywords", response_model=Keywords)
def extract_keywords(body: KeywordsRequest, request: TextRequestDep) -> dict:
    """The most characteristic words of the text, best first, with weights (jieba's TF-IDF or TextRank):
    ``{"method", "keywords": [{"word", "weight"}]}``."""
    from shenggu.nlp.segment import keywords

    def work() -> dict:
        found = keywords(body.text, body.top_k, body.method)
        return {"method": body.method, "keywords": [k.to_dict() for k in found]}

    return request.run(body.text, work)


@router.post("/normalize", response_model=Normalized)
def normalize_text(body: NormalizeRequest, request: TextRequestDep) -> dict:
    """Inverse text normalization (``itn``: 二零二三年三月五日 → 2023年3月5日; Mandarin only, other text comes
    back unchanged), the code ASR transcripts go through; or text normalization (``tn``: 2023年 → 二零二三年,
    $12.50 → twelve dollars and fifty cents), the code TTS reads with."""
    from shenggu.nlp.textnorm import normalize

    return request.run(body.text, lambda: normalize(body.text, body.mode, body.language).to_dict())


@router.post("/pinyin", response_model=Pinyin)
def text_pinyin(body: PinyinRequest, request: TextRequestDep) -> dict:
    """Pinyin of Chinese text, polyphones read by word (银行 yín háng, 行走 xíng zǒu); other characters kept:
    ``{"style", "text", "words": [{"word", "pinyin": [...]}]}``."""
    from shenggu.nlp.pinyin import to_pinyin

    return request.run(body.text, lambda: to_pinyin(body.text, body.style).to_dict())


@router.post("/convert", response_model=Converted)
def convert_text(body: ConvertRequest, request: TextRequestDep) -> dict:
    """Simplified ↔ traditional Chinese with OpenCC (s2t, t2s, Taiwan and Hong Kong variants; s2twp/tw2sp also
    convert words such as 软件 ↔ 軟體)."""
    from shenggu.nlp.convert import convert

    return request.run(body.text, lambda: convert(body.text, body.conversion).to_dict())


@router.post("/sentiment", response_model=Sentiment)
def text_sentiment(body: SentimentRequest, request: TextRequestDep) -> dict:
    """Sentiment of Chinese text: ``score`` is P(positive) in [0, 1], per sentence and for the whole text
    (length-weighted mean); ``label`` positive (≥ 0.6), negative (≤ 0.4) or neutral.

    **A weak baseline**: SnowNLP's naive Bayes classifier, trained on Chinese online-shopping reviews. It is
    biased on neutral text (plain statements score about 0.2-0.3, so "negative"), does not understand negation,
    contrast or sarcasm, and is unreliable outside product and service reviews. Use it to sort or sample, not to
    decide. Text without Chinese characters (English) is refused with 400."""
    from shenggu.nlp.sentiment import sentiment

    return request.run(body.text, lambda: sentiment(body.text).to_dict())


@router.post("/mask", response_model=Masked)
def mask_text(body: MaskRequest, request: TextRequestDep) -> dict:
    """Mask personal data and sensitive words: mainland mobile and landline numbers (138****5678), resident ID
    numbers (18-character with a valid check character, and the 15-digit legacy form), bank card numbers
    (16-19 digits passing the Luhn check), email addresses, and sensitive words (a small built-in list plus
    ``words``). The masked text has the original's length; ``findings`` say what was masked where
    (``{"type", "start", "end"}``) and never repeat the original characters."""
    return request.run(
        body.text,
        lambda: mask_module.mask_text(body.text, body.words, body.builtin_words, body.types).to_dict(),
    )
