"""Translation you can trust: sentences drafted by an engine, every draft checked against its source (numbers,
units, dates, amounts, drug names, codes, glossary terms), failed ones retried once with a corrective hint, and
what still fails returned flagged ``needs_review`` with the reasons — never silently changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shenggu.errors import InvalidOptionError
from shenggu.translate.checks import check_translation, corrective_hint
from shenggu.translate.glossary import MAX_TERMS
from shenggu.translate.registry import EngineByDirection
from shenggu.translate.sentences import split_sentences
from shenggu.translate.types import DIRECTIONS, Direction, SentenceTranslation, Translation, Translator


def check_direction(direction: str) -> Direction:
    """A supported direction (``InvalidOptionError`` otherwise)."""
    if direction not in DIRECTIONS:
        raise InvalidOptionError(f"unsupported direction '{direction[:20]}' (choose zh-en or en-zh)")
    return direction  # type: ignore[return-value]


def translate(
    text: str,
    direction: str,
    engine: Translator,
    glossary: Mapping[str, str] | None = None,
    tenant: str = "",
    checks: bool = True,
) -> Translation:
    """Translate ``text``; with ``checks`` (the default) every sentence is verified, retried once, or flagged."""
    return translate_texts([text], direction, engine, glossary, tenant, checks)[0]


def translate_texts(
    texts: Sequence[str],
    direction: str,
    engine: Translator,
    glossary: Mapping[str, str] | None = None,
    tenant: str = "",
    checks: bool = True,
) -> list[Translation]:
    """Translate several texts (e.g. a transcript's segments) at once: all their sentences go to the engine
    together, so a model with parallel slots keeps them all busy."""
    chosen = check_direction(direction)
    terms = dict(glossary or {})
    if len(terms) > MAX_TERMS:
        raise InvalidOptionError(f"a glossary holds at most {MAX_TERMS} terms")
    if isinstance(engine, EngineByDirection):
        engine = engine.for_direction(chosen)
    groups = [split_sentences(text, chosen.split("-")[0]) for text in texts]
    sentences = _translate_sentences([s for group in groups for s in group], chosen, engine, terms, tenant, checks)
    translations, start = [], 0
    for group in groups:
        translations.append(Translation(chosen, sentences[start : start + len(group)]))
        start += len(group)
    return translations


def _translate_sentences(
    sources: list[str], direction: Direction, engine: Translator, terms: dict[str, str], tenant: str, checks: bool
) -> list[SentenceTranslation]:
    drafts = engine.draft(sources, direction, terms, tenant) if sources else []
    results = [SentenceTranslation(s, d, engine=engine.name) for s, d in zip(sources, drafts, strict=True)]
    if not checks:
        return results
    problems = [check_translation(r.source, r.text, direction, terms) for r in results]
    failed = [i for i, p in enumerate(problems) if p]
    if failed:
        hints = [f"Your previous translation was: {results[i].text} — {corrective_hint(problems[i])}" for i in failed]
        retried = engine.draft([sources[i] for i in failed], direction, terms, tenant, hints)
        for i, text_again in zip(failed, retried, strict=True):
            again = check_translation(sources[i], text_again, direction, terms)
            results[i].attempts = 2
            if len(again) <= len(problems[i]):
                results[i].text, problems[i] = text_again, again
    for result, found in zip(results, problems, strict=True):
        result.problems = [p.detail for p in found]
        result.needs_review = bool(found)
    return results
