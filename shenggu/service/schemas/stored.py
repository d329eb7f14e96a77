"""A tenant's named stored items: hotword lists (``/v1/hotwords``) and glossaries (``/v1/glossaries``)."""

from __future__ import annotations

from shenggu.service.schemas import ResponseBody


class HotwordList(ResponseBody):
    """A stored hotword list."""

    name: str
    words: list[str]
    updated_at: str


class HotwordLists(ResponseBody):
    """The caller's hotword lists."""

    data: list[HotwordList]


class Glossary(ResponseBody):
    """A stored glossary: {source term: required target term}."""

    name: str
    terms: dict[str, str]
    updated_at: str


class Glossaries(ResponseBody):
    """The caller's glossaries."""

    data: list[Glossary]
