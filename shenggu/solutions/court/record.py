"""The structured hearing record (庭审笔录): speaker turns with court roles, built from a diarized transcript."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

from shenggu.asr.types import Segment, Transcript
from shenggu.solutions.court.keywords import LEGAL_TERMS, KeywordHit, Mention, find_amounts, find_dates, index_keywords

# English role keys (as an integrator or a config file writes them) → the role's name in a Chinese record.
ROLE_NAMES: dict[str, str] = {
    "judge": "审判长",
    "presiding_judge": "审判长",
    "associate_judge": "审判员",
    "clerk": "书记员",
    "plaintiff": "原告",
    "defendant": "被告",
    "plaintiff_agent": "原告代理人",
    "defendant_agent": "被告代理人",
    "prosecutor": "公诉人",
    "lawyer": "辩护人",
    "defender": "辩护人",
    "witness": "证人",
    "appraiser": "鉴定人",
    "interpreter": "翻译",
}

MAX_GAP_S = 3.0  # a longer pause between two segments of one speaker starts a new utterance
MAX_CHARS = 300  # keeps paragraphs readable and timestamps useful for finding a passage in the audio
_LATIN_EDGE = re.compile(r"[A-Za-z0-9]")


@dataclass
class Participant:
    """A person present at the hearing, by role (审判长, 原告, ...) and optionally by name."""

    role: str
    name: str = ""


@dataclass
class HearingHeader:
    """What the record's heading states about the hearing."""

    case_number: str
    court: str = ""
    date: str = ""
    title: str = "庭审笔录"
    participants: list[Participant] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> HearingHeader:
        """Rebuild a header from its ``asdict`` form."""
        return cls(**{**data, "participants": [Participant(**p) for p in data.get("participants", [])]})


@dataclass
class Utterance:
    """One speaker's turn: merged consecutive segments, with times in seconds from the start of the audio."""

    start: float
    end: float
    speaker: str | None  # the diarization label (SPEAKER_00), None where diarization left a segment unlabelled
    role: str  # what the record shows: 审判长, 原告, 说话人1, ...
    text: str


@dataclass
class HearingRecord:
    """A hearing record: header, utterances and indexes of legal terms, money amounts and dates."""

    header: HearingHeader
    utterances: list[Utterance] = field(default_factory=list)
    keywords: list[KeywordHit] = field(default_factory=list)
    amounts: list[Mention] = field(default_factory=list)
    dates: list[Mention] = field(default_factory=list)
    duration: float = 0.0

    def to_dict(self) -> dict:
        """The JSON shape: ``{"header", "duration", "utterances", "keywords", "amounts", "dates"}``."""
        return {
            "header": asdict(self.header),
            "duration": round(self.duration, 3),
            "utterances": [{**asdict(u), "start": round(u.start, 3), "end": round(u.end, 3)} for u in self.utterances],
            "keywords": [asdict(k) for k in self.keywords],
            "amounts": [asdict(m) for m in self.amounts],
            "dates": [asdict(m) for m in self.dates],
        }

    @classmethod
    def from_dict(cls, data: dict) -> HearingRecord:
        """Rebuild a record from ``to_dict()`` output (for example a stored record.json a clerk has corrected)."""
        return cls(
            header=HearingHeader.from_dict(data["header"]),
            utterances=[Utterance(**u) for u in data.get("utterances", [])],
            keywords=[KeywordHit(**k) for k in data.get("keywords", [])],
            amounts=[Mention(**m) for m in data.get("amounts", [])],
            dates=[Mention(**m) for m in data.get("dates", [])],
            duration=float(data.get("duration", 0.0)),
        )


def role_label(role: str) -> str:
    """The Chinese name of a role: English keys are translated (``plaintiff_agent`` → 原告代理人), anything else
    (Chinese names, unknown roles) is shown as given."""
    key = role.strip().lower().replace("-", "_").replace(" ", "_")
    return ROLE_NAMES.get(key, role.strip())


def build_record(
    transcript: Transcript,
    header: HearingHeader,
    roles: Mapping[str, str],
    *,
    terms: Sequence[str] = LEGAL_TERMS,
) -> HearingRecord:
    """Turn a diarized transcript into a hearing record.

    ``roles`` maps diarization labels (``SPEAKER_00``) to roles (``judge`` or ``审判长``); a speaker without a role
    is shown as 说话人1, 说话人2, ... in order of first appearance. Consecutive segments of one speaker become one
    utterance unless the pause between them exceeds ``MAX_GAP_S`` or the text would grow past ``MAX_CHARS``.
    ``terms`` is the lexicon of the keyword index. The text is used as the recognizer wrote it (already inverse
    normalized: 2023年3月5日, 5万元).
    """
    labeller = _RoleLabeller(roles)
    utterances: list[Utterance] = []
    for segment in transcript.segments:
        text = segment.text.strip()
        if not text:
            continue
        last = utterances[-1] if utterances else None
        if last is not None and _continues(last, segment, text):
            last.text = _join(last.text, text)
            last.end = max(last.end, segment.end)
        else:
            utterances.append(
                Utterance(segment.start, segment.end, segment.speaker, labeller.label(segment.speaker), text)
            )
    texts = [u.text for u in utterances]
    return HearingRecord(
        # Participants' roles are shown like the utterances' roles (审判长, not judge).
        header=replace(header, participants=[replace(p, role=role_label(p.role)) for p in header.participants]),
        utterances=utterances,
        keywords=index_keywords(texts, terms),
        amounts=find_amounts(texts),
        dates=find_dates(texts),
        duration=transcript.duration,
    )


def _continues(last: Utterance, segment: Segment, text: str) -> bool:
    return (
        segment.speaker == last.speaker
        and segment.start - last.end <= MAX_GAP_S
        and len(last.text) + len(text) <= MAX_CHARS
    )


def _join(left: str, right: str) -> str:
    # Chinese runs on without spaces; a space only keeps two Latin words or numbers apart.
    if _LATIN_EDGE.match(left[-1]) and _LATIN_EDGE.match(right[0]):
        return f"{left} {right}"
    return left + right


class _RoleLabeller:
    """Role of each diarization label, numbering the speakers that have none in order of first appearance."""

    def __init__(self, roles: Mapping[str, str]) -> None:
        self._roles = {speaker: role_label(role) for speaker, role in roles.items() if role.strip()}
        self._unnamed: dict[str | None, str] = {}

    def label(self, speaker: str | None) -> str:
        if speaker in self._roles:
            return self._roles[speaker]
        if speaker not in self._unnamed:
            self._unnamed[speaker] = f"说话人{len(self._unnamed) + 1}"
        return self._unnamed[speaker]
