"""Rules files: YAML (or JSON, which the YAML parser reads too) → :class:`~shenggu.solutions.qa.rules.Ruleset`,
with the line of every field kept so that an error says where to look; and the bundled example rulesets."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from shenggu.solutions.qa.rules import RulesError, Ruleset, parse_ruleset

BUNDLED = ("bank_default",)


class _Mapping(dict):
    """A mapping that remembers its line and the line of each key (1-based)."""

    line: int
    lines: dict[Any, int]


class _Sequence(list):
    """A list that remembers its line and the line of each item (1-based)."""

    line: int
    lines: dict[int, int]


class _LineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, building mappings and lists that know their lines."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    out = _Mapping()
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) or key is None:
            raise RulesError(f"line {key_node.start_mark.line + 1}: a key must be plain text, got {key!r}")
        if key in out:
            raise RulesError(f"line {key_node.start_mark.line + 1}: '{key}' is given twice in one mapping")
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    out = _Sequence(loader.construct_object(item, deep=True) for item in node.value)
    out.line = node.start_mark.line + 1
    out.lines = {i: item.start_mark.line + 1 for i, item in enumerate(node.value)}
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def parse_rules_text(text: str, source: str = "rules") -> Ruleset:
    """The ruleset written in ``text`` (YAML or JSON). Raises :class:`RulesError` naming ``source``, the line and
    the field of the first problem (YAML syntax errors included)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: builds no arbitrary objects
    except RulesError as exc:
        raise RulesError(f"{source}, {exc.message}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RulesError(f"{source}{where}: not valid YAML/JSON: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML/JSON: {exc}") from None
    return parse_ruleset(data, source)


def load_rules(path: str | Path) -> Ruleset:
    """The ruleset of the YAML or JSON file at ``path``. Raises :class:`RulesError` for an unreadable or bad
    file (naming the file, the line and the field)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file ({type(exc).__name__}: {exc})") from None
    return parse_rules_text(text, str(path))


def bundled_ruleset(name: str = "bank_default") -> Ruleset:
    """One of the example rulesets shipped in ``data/`` (:data:`BUNDLED`)."""
    if name not in BUNDLED:
        raise RulesError(f"no bundled ruleset '{name}' (choose {', '.join(BUNDLED)})")
    text = resources.files("shenggu.solutions.qa").joinpath("data", f"{name}.yaml").read_text(encoding="utf-8")
    return parse_rules_text(text, f"{name}.yaml")


def dump_rules(ruleset: Ruleset) -> str:
    """The ruleset as YAML (Chinese left readable); :func:`parse_rules_text` of it gives an equal ruleset."""
    return yaml.safe_dump(ruleset.to_data(), allow_unicode=True, sort_keys=False)
