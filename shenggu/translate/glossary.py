"""Glossaries: term pairs a translation must use (source term → required target term)."""

from __future__ import annotations

import json
from pathlib import Path

from shenggu.errors import InvalidOptionError

MAX_TERMS = 500
MAX_TERM_CHARS = 100


def check_glossary(terms: object) -> dict[str, str]:
    """A validated glossary: a mapping of non-empty strings, at most ``MAX_TERMS`` pairs."""
    if not isinstance(terms, dict):
        raise InvalidOptionError("a glossary is an object of term pairs: {source term: target term}")
    if len(terms) > MAX_TERMS:
        raise InvalidOptionError(f"a glossary holds at most {MAX_TERMS} terms")
    clean: dict[str, str] = {}
    for source, target in terms.items():
        if not isinstance(source, str) or not isinstance(target, str) or not source.strip() or not target.strip():
            raise InvalidOptionError("glossary terms must be non-empty strings")
        if max(len(source), len(target)) > MAX_TERM_CHARS:
            raise InvalidOptionError(f"glossary terms have at most {MAX_TERM_CHARS} characters")
        clean[source.strip()] = target.strip()
    return clean


def load_glossary(path: Path) -> dict[str, str]:
    """A glossary file: JSON ``{"原告": "plaintiff"}`` or tab-separated lines ``原告<TAB>plaintiff``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"cannot read glossary {path}: {exc}") from None
    if text.lstrip().startswith("{"):
        try:
            return check_glossary(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InvalidOptionError(f"glossary {path} is not valid JSON: {exc}") from None
    pairs = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        source, sep, target = line.partition("\t")
        if not sep:
            raise InvalidOptionError(f"glossary {path}: line {number} needs 'source<TAB>target'")
        pairs[source] = target
    return check_glossary(pairs)
