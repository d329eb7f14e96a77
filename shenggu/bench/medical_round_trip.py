"""The spoken round trip of ``shenggu bench medical``: clinical passages read by shenggu's Mandarin TTS,
recognized by shenggu's ASR with and without the medical vocabulary, and their entities extracted again.

Each passage is cut to its first ~150 characters at a sentence end (:func:`cut_passage`), so a clip is a few
sentences long. Recognized text has no offsets into the passage, so entities are matched by type and text: a
predicted entity matches a gold entity inside the cut passage when one text contains the other; the clean cut
passages are scored the same way, so the two numbers differ only by what recognition changed.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence

from tqdm import tqdm

from shenggu.bench.failures import attempt
from shenggu.bench.faq import _speak  # the FAQ benchmark's TTS → WAV helper: one way to synthesize a clip
from shenggu.bench.medical_scoring import (
    Counts,
    Span,
    containing_text,
    entity_counts,
    mapped_spans,
    rounded,
    sum_counts,
    total_counts,
)
from shenggu.bench.scoring import ErrorCounts, score, total
from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.pipeline import medical_options

CUT_CHARS = 150
_SENTENCE_ENDS = "。！？；!?;"
_CLAUSE_ENDS = "，,"


def cut_passage(text: str, limit: int = CUT_CHARS) -> str:
    """The passage up to its last sentence end within ``limit`` characters; without one, up to its last comma
    within the limit; without either, its first ``limit`` characters. Leading punctuation is dropped (CCKS
    passages often start with a comma)."""
    stripped = text.lstrip("，,。；; ")
    offset = len(text) - len(stripped)
    head = stripped[:limit]
    for ends in (_SENTENCE_ENDS, _CLAUSE_ENDS):
        cut = max(head.rfind(c) for c in ends)
        if cut > 0:
            return text[offset : offset + cut + 1]
    return text[offset : offset + limit]


def gold_inside(text: str, cut: str, gold: Sequence[Span]) -> list[Span]:
    """The gold entities that lie inside ``cut`` (a piece of ``text``), with offsets into ``cut``."""
    offset = text.find(cut)
    end = offset + len(cut)
    return [Span(g.type, g.text, g.start - offset, g.end - offset) for g in gold if offset <= g.start and g.end <= end]


def _entity_counts(text: str, gold: Sequence[Span], source: str) -> Counts:
    predicted = mapped_spans(extract_entities(normalize_clinical(text)), source)
    return total_counts([entity_counts(gold, predicted, containing_text)])


def _transcribe(wav: bytes, vocabulary: bool) -> str:
    from shenggu.asr.pipeline import transcribe
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings

    settings = get_settings()
    options = medical_options(medical_vocabulary=vocabulary).batched_as(settings)
    return transcribe(io.BytesIO(wav), get_recognizer(settings=settings), options).text


def round_trip(items: Sequence[dict], voice: str, failures: list[dict]) -> tuple[dict, list[dict]]:
    """Speak and recognize each ``items`` passage (``id``, ``source``, ``text``, ``gold``: spans); returns the
    ``round_trip_*`` summary keys and one row per passage. A passage whose synthesis or recognition fails is
    recorded in ``failures`` and left out."""
    rows: list[dict] = []
    heard_counts, clean_counts, plain_counts = [], [], []
    errors: list[ErrorCounts] = []
    plain_errors: list[ErrorCounts] = []
    progress = tqdm(items, desc="medical round trip", unit="passage", file=sys.stderr, disable=not sys.stderr.isatty())
    for item in progress:
        cut = cut_passage(item["text"])
        gold = gold_inside(item["text"], cut, item["gold"])

        def hear(cut: str = cut) -> tuple[str, str]:
            wav = _speak(cut, voice)
            return _transcribe(wav, vocabulary=True), _transcribe(wav, vocabulary=False)

        heard = attempt(f"{item['id']} (round trip)", hear, failures)
        if heard is None:
            continue
        text, plain = heard
        errors.append(score("zh", cut, text))
        plain_errors.append(score("zh", cut, plain))
        heard_counts.append(_entity_counts(text, gold, item["source"]))
        plain_counts.append(_entity_counts(plain, gold, item["source"]))
        clean_counts.append(_entity_counts(cut, gold, item["source"]))
        rows.append(
            {
                "id": item["id"],
                "said": cut,
                "heard": text,
                "heard_without_vocabulary": plain,
                "cer": round(errors[-1].rate, 4),
                "cer_without_vocabulary": round(plain_errors[-1].rate, 4),
                "gold_entities": len(gold),
                "entity_f1": rounded(heard_counts[-1].f1),
                "clean_entity_f1": rounded(clean_counts[-1].f1),
            }
        )
    summary = {
        "round_trip_n": len(rows),
        "round_trip_voice": voice,
        "round_trip_cut_chars": CUT_CHARS,
        "round_trip_cer": rounded(total(errors).rate) if errors else None,
        "round_trip_cer_without_vocabulary": rounded(total(plain_errors).rate) if plain_errors else None,
        "round_trip_entity_f1": rounded(sum_counts(heard_counts).f1),
        "round_trip_entity_f1_without_vocabulary": rounded(sum_counts(plain_counts).f1),
        "clean_entity_f1_same_items": rounded(sum_counts(clean_counts).f1),
    }
    return summary, rows
