"""Tables. Times are timezone-aware UTC; ids of jobs are random so they cannot be guessed across tenants."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The largest value an Integer column holds (32-bit on PostgreSQL; SQLite overflows past 2**63): the bound of every
# integer a request may send to the database.
INT32_MAX = 2**31 - 1


def utcnow() -> dt.datetime:
    """The current time, UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of shenggu's tables."""


class Tenant(Base):
    """An organisation using the platform, with its limits and its callback-signing secret."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    quota_seconds_per_day: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_audio_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    quota_characters_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)  # speech synthesis
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``id`` is the public part shown in listings."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Usage(Base):
    """Metered use per tenant, capability and UTC day."""

    __tablename__ = "usage"
    __table_args__ = (UniqueConstraint("tenant_id", "day", "capability"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, UTC
    capability: Mapped[str] = mapped_column(String(40))
    requests: Mapped[int] = mapped_column(Integer, default=0)
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    characters: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # language-model tokens


class Job(Base):
    """An accepted asynchronous task. A worker holds it through a lease; an expired lease makes it claimable again."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    task: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|running|succeeded|failed|cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    upload_path: Mapped[str] = mapped_column(String(500))
    upload_sha256: Mapped[str] = mapped_column(String(64))
    upload_name: Mapped[str] = mapped_column(String(300), default="")
    audio_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)  # declared length, for quotas
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    callback_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # pending|delivered|failed|refused (refused: the URL or its address is not one callbacks may reach)
    callback_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    callback_next_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class HotwordList(Base):
    """A tenant's named list of terms to favour in recognition; the list named ``default`` applies to every
    request of the tenant, others when a request names them."""

    __tablename__ = "hotword_lists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    words: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Glossary(Base):
    """A tenant's named translation glossary: term pairs (source term → required target term) that translations
    naming it must use."""

    __tablename__ = "glossaries"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    terms: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Speaker(Base):
    """A tenant's enrolled voice: the mean speaker embedding of its enrollment clips (weighted by speech time)."""

    __tablename__ = "speakers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    clips: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StoredKnowledgeBase(Base):
    """A tenant's named FAQ knowledge base. Its versions are append-only; the newest is the active one.

    ``latest_version`` is the highest version number ever given: numbers are never reused, even after the base is
    deleted (``deleted_at`` set, versions removed) and imported again, so (tenant, name, version) names one content.
    """

    __tablename__ = "knowledge_bases"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class KnowledgeBaseVersion(Base):
    """One immutable version of a knowledge base: its entries (``KbEntry.to_dict`` shapes) and where they came from."""

    __tablename__ = "knowledge_base_versions"
    __table_args__ = (UniqueConstraint("base_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    base_id: Mapped[int] = mapped_column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    entries: Mapped[list] = mapped_column(JSON, default=list)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(300), default="")  # the imported file's name, or "json"
    note: Mapped[str] = mapped_column(String(300), default="")
    restored_from: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a copy of this older version
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredMedicalRecord(Base):
    """A tenant's clinical record (``MedicalRecord.to_dict`` in ``record``): made from text at once, from a live
    dictation, or by a ``medical_record`` job (``job_id``), whose status it carries until the job ends (then
    ``record`` is filled). ``version`` counts the doctor's corrections (1 before any)."""

    __tablename__ = "medical_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # dictation|consultation|text
    status: Mapped[str] = mapped_column(String(16))  # queued|running|succeeded|failed|cancelled
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    record: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StoredRuleset(Base):
    """A tenant's named quality-inspection ruleset (客服质检规则). Its versions are append-only; the newest is the
    active one. ``latest_version`` is never reused (as for knowledge bases), so (tenant, name, version) names one
    content, and an inspection that records it can always say which rules judged it."""

    __tablename__ = "qa_rulesets"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RulesetVersion(Base):
    """One immutable version of a ruleset: the rules text exactly as uploaded (YAML or JSON, validated on upload)
    and what the text says of itself (its title and version label), for listings."""

    __tablename__ = "qa_ruleset_versions"
    __table_args__ = (UniqueConstraint("ruleset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruleset_id: Mapped[int] = mapped_column(ForeignKey("qa_rulesets.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(8))  # yaml|json: how the text is written
    title: Mapped[str] = mapped_column(String(200), default="")  # the ruleset's own name field
    label: Mapped[str] = mapped_column(String(100), default="")  # the ruleset's own version field
    rule_count: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(300), default="")
    restored_from: Mapped[int | None] = mapped_column(Integer, nullable=True)  # a copy of this older version
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StoredInspection(Base):
    """A tenant's quality inspection of calls: judged at once (transcripts sent as JSON) or by a ``qa_inspection``
    job (``job_id``) on recordings, whose status it carries until the job ends. It records the ruleset and the
    version that judged it; ``results`` (each call with its ``CallResult.to_dict``), ``failures`` (items that could
    not be inspected) and ``batch`` (the aggregates: summary, scorecards, rule statistics...) are filled once done."""

    __tablename__ = "qa_inspections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # calls (JSON transcripts) | files (recordings)
    status: Mapped[str] = mapped_column(String(16))  # queued|running|succeeded|failed|cancelled
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    ruleset: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[int] = mapped_column(Integer)
    item_count: Mapped[int] = mapped_column(Integer, default=0)  # calls or files submitted
    results: Mapped[list | None] = mapped_column(JSON, nullable=True)
    failures: Mapped[list | None] = mapped_column(JSON, nullable=True)
    batch: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # the batch aggregates (batch.json less calls)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StoredTranscript(Base):
    """A tenant's saved transcript, as corrected in the console: its segments (``{"start", "end", "text",
    "speaker"?, "words"?}``) stored whole as JSON, and where it came from (``source``: a job, a file name).
    ``revision`` counts the saves (1 when created), so an editor can tell that another one saved meanwhile."""

    __tablename__ = "transcripts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(32), nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    segments: Mapped[list] = mapped_column(JSON, default=list)
    segment_count: Mapped[int] = mapped_column(Integer, default=0)  # for listings, without loading the segments
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StoredTestSet(Base):
    """A tenant's evaluation test set (the console's Evaluate page): its clips' audio and normalized
    ``manifest.tsv`` are in ``directory`` (relative to the data directory); ``items`` counts the clips by task and
    language (``{"asr": {"zh": 2, "en": 2}}``), ``audio_seconds`` is their decoded length."""

    __tablename__ = "evaluation_testsets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    items: Mapped[dict] = mapped_column(JSON, default=dict)
    clip_count: Mapped[int] = mapped_column(Integer, default=0)
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    directory: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class StoredEvaluationRun(Base):
    """A benchmark run on a test set, made by an ``evaluation`` job (``job_id``) whose status it carries until the
    job ends; ``options`` are what it was asked (tasks, engine, hotword list and its words, limit, the tasks it
    skips and why), ``summary`` each task's benchmark summary once it succeeded. Its files (results.json,
    report.html per task) are in the test set's folder, under ``runs/<id>/``."""

    __tablename__ = "evaluation_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    testset_id: Mapped[str] = mapped_column(ForeignKey("evaluation_testsets.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued|running|succeeded|failed|cancelled
    summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
