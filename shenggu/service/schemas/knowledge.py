"""FAQ knowledge bases: ``/v1/knowledge-bases``. Times are ISO 8601; ``restored_from`` is the older version an
activated one was copied from."""

from __future__ import annotations

from shenggu.service.schemas import ResponseBody


class KnowledgeBaseSummary(ResponseBody):
    """A knowledge base and its active version."""

    name: str
    version: int
    entry_count: int
    created_at: str
    updated_at: str
    source: str
    note: str


class KnowledgeBases(ResponseBody):
    """The caller's knowledge bases."""

    data: list[KnowledgeBaseSummary]


class StoredVersion(ResponseBody):
    """A version of a base: how many entries, when and from what (a file's name, or "json") it was made."""

    name: str
    version: int
    entry_count: int
    created_at: str
    source: str
    note: str
    restored_from: int | None


class ImportedVersion(StoredVersion):
    """The version an import made (now active), and the version it replaced (null for a new base)."""

    previous_version: int | None


class MarkedVersion(StoredVersion):
    """A version and whether it is the active one."""

    active: bool


class ActivatedVersion(MarkedVersion):
    """The active version after an activation, and the version it replaced."""

    previous_version: int | None


class VersionInfo(ResponseBody):
    """One version of a base; ``active`` for the one in use."""

    version: int
    entry_count: int
    created_at: str
    source: str
    note: str
    restored_from: int | None
    active: bool


class KnowledgeBaseVersions(ResponseBody):
    """Every version of a base, newest (the active one) first."""

    name: str
    data: list[VersionInfo]


class EntryText(ResponseBody):
    """One language version of an entry."""

    question: str
    alternatives: list[str]
    answer: str


class KnowledgeEntry(ResponseBody):
    """An entry: its id, category and text by language (zh, en); it can be sent back as it is."""

    id: str
    category: str
    texts: dict[str, EntryText]


class KnowledgeBasePage(MarkedVersion):
    """A version's metadata and a page of its entries (``total`` entries in all)."""

    total: int
    limit: int
    offset: int
    entries: list[KnowledgeEntry]
