"""Consultation: a doctor–patient conversation → a drafted record of the same sections, each statement linked
to the utterances (and times) it came from, marked as a draft for the doctor to confirm.

The drafter is extractive: a statement is a clause of the conversation (or the entities it names), so it holds
only what was said. Which section a clause goes to follows from who said it and what it names: the patient's
symptoms → 主诉 (the first ones, with their duration) and 现病史; a doctor's question about a symptom answered
with a denial → 无<symptom>; history words with a diagnosis → 既往史; allergies → 过敏史; examinations and
results → 辅助检查; the doctor's diagnoses → 初步诊断; the doctor's drugs → 医嘱; the doctor's advice → 处理意见.

Roles: from an enrolled doctor voice when diarization had one, else the speaker who asks the most questions is
the doctor (:func:`doctor_by_questions`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shenggu.asr.types import Transcript
from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.lexicon import MedicalLexicon
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.patterns import CLAUSE_END, drug_details
from shenggu.solutions.medical.record import Entity, MedicalRecord, SourceUtterance, Statement

DOCTOR, PATIENT = "doctor", "patient"
_QUESTION = re.compile(r"[？?]$|吗|呢|么|多久|多长时间|几天|怎么样|有没有|是不是|什么|哪里|多少|几次")
_DENIAL = re.compile(r"^(?:没有|没|不|无|否|都没|也没)")
_HISTORY = re.compile(r"以前|之前|既往|曾经|病史|住过院|住院|做过|得过|有过|患过|以往")
_ADVICE = re.compile(
    r"建议|注意|需要|应该|避免|复查|复诊|观察|就医|就诊|去医院|到医院|多喝水|多饮水|清淡|休息|降温|热敷|按摩|揉|"
    r"忌口|少吃|别吃|不要吃|可以吃|可以用|可以服用|可以给|可以做|可以查|及时|随诊"
)
# 有没有药物过敏 / 对什么过敏吗: the substance asked about (药物, 食物, 青霉素) or nothing.
_ALLERGY_QUESTION = re.compile(r"(?:有没有|有无|对)?([^，,。？?吗呢有没对什么]{0,6}?)过敏")
_MAX_CHIEF_SYMPTOMS = 3
_CLAUSE = re.compile(f"[^{CLAUSE_END}]+[{CLAUSE_END}]*")


@dataclass
class _Clause:
    text: str  # without its trailing punctuation
    utterance: int
    role: str
    entities: list[Entity]

    @property
    def question(self) -> bool:
        return bool(_QUESTION.search(self.text))

    def named(self, *types: str, negated: bool | None = None) -> list[Entity]:
        return [e for e in self.entities if e.type in types and (negated is None or e.negated == negated)]


def doctor_by_questions(utterances: Sequence[SourceUtterance]) -> str | None:
    """The speaker label that asks the largest share of questions (the doctor, in a consultation)."""
    asked: dict[str, list[bool]] = {}
    for u in utterances:
        if u.speaker is not None:
            asked.setdefault(u.speaker, []).append(bool(_QUESTION.search(u.text)))
    if not asked:
        return None
    return max(asked, key=lambda s: (sum(asked[s]) / len(asked[s]), len(asked[s])))


def utterances_of(transcript: Transcript) -> list[SourceUtterance]:
    """A diarized transcript's segments as utterances with doctor/patient roles: the roles diarization gave
    (an enrolled doctor voice) where there are any, else the most questioning speaker is the doctor."""
    turns = [
        SourceUtterance(s.text.strip(), "", s.speaker, s.start, s.end) for s in transcript.segments if s.text.strip()
    ]
    roles = {label: role for label, role in transcript.speakers.items() if role in (DOCTOR, PATIENT)}
    if DOCTOR not in roles.values():
        doctor = doctor_by_questions(turns)
        roles = {u.speaker: DOCTOR if u.speaker == doctor else PATIENT for u in turns if u.speaker is not None}
    for turn in turns:
        turn.role = roles.get(turn.speaker, "") if turn.speaker is not None else ""
    return turns


def draft_consultation(utterances: Sequence[SourceUtterance], lexicon: MedicalLexicon | None = None) -> MedicalRecord:
    """The drafted record of a conversation (``role`` of each utterance: doctor, patient or empty)."""
    turns = [SourceUtterance(normalize_clinical(u.text), u.role, u.speaker, u.start, u.end) for u in utterances]
    record = MedicalRecord(mode="consultation", utterances=turns, draft=True)
    record.transcript = "\n".join(u.text for u in turns)
    clauses = [
        _Clause(m.group(0).rstrip(CLAUSE_END), i, turn.role, [])
        for i, turn in enumerate(turns)
        for m in _CLAUSE.finditer(turn.text)
        if m.group(0).strip(CLAUSE_END + " ")
    ]
    for clause in clauses:
        clause.entities = extract_entities(clause.text, lexicon)
    _Drafter(record, clauses, lexicon).draft()
    if record.empty:
        record.reason = "no medical content (symptom, finding, diagnosis, drug) was found in the conversation"
    return record


class _Drafter:
    def __init__(self, record: MedicalRecord, clauses: list[_Clause], lexicon: MedicalLexicon | None) -> None:
        self.record = record
        self.lexicon = lexicon
        self.clauses = clauses
        self.used: set[int] = set()  # clauses already placed (each goes to one section)

    def add(self, section: str, text: str, sources: Sequence[int]) -> None:
        if any(s.text == text for s in self.record.statements_of(section)):
            return  # said twice, recorded once
        turns = self.record.utterances
        indexes = sorted({self.clauses[c].utterance for c in sources})
        times = [t for i in indexes for t in (turns[i].start, turns[i].end) if t is not None]
        entities = extract_entities(text, self.lexicon)
        start, end = (min(times), max(times)) if times else (None, None)
        statement = Statement(text, entities, start, end, indexes, "consultation")
        self.record.section(section).statements.append(statement)

    def draft(self) -> None:
        self.chief_complaint()
        for index, clause in enumerate(self.clauses):
            if index not in self.used:
                self.place(index, clause)

    def chief_complaint(self) -> None:
        seen: dict[str, tuple[str, int]] = {}
        for index, clause in enumerate(self.clauses):
            if clause.role == DOCTOR:
                continue
            for symptom in clause.named("symptom", negated=False):
                if symptom.text not in seen and len(seen) < _MAX_CHIEF_SYMPTOMS:
                    seen[symptom.text] = (symptom.text + symptom.attributes.get("duration", ""), index)
        if seen:
            text = "，".join(phrase for phrase, _ in seen.values()) + "。"
            self.add("主诉", text, [index for _, index in seen.values()])

    def place(self, index: int, clause: _Clause) -> None:
        doctor = clause.role == DOCTOR
        if clause.named("allergy"):
            self.add("过敏史", clause.text + "。", [index])
        elif doctor and clause.question:
            self.denied_by_answer(index, clause)
        elif _HISTORY.search(clause.text) and clause.named("diagnosis", "procedure"):
            self.add("既往史", clause.text + "。", [index])
        elif clause.named("examination", "lab_test"):
            self.add("辅助检查", clause.text + "。", [index])
        elif doctor and clause.named("drug", negated=False):
            self.prescription(index)
        elif doctor and (diagnoses := clause.named("diagnosis", negated=False)):
            drafted = {e.text for s in self.record.statements_of("初步诊断") for e in s.entities}
            if names := list(dict.fromkeys(d.text for d in diagnoses if d.text not in drafted)):
                self.add("初步诊断", "、".join(names) + "。", [index])
        elif doctor and _ADVICE.search(clause.text):
            self.add("处理意见", clause.text + "。", [index])
        elif not doctor and clause.named("symptom", "vital_sign", "drug", "diagnosis", "procedure"):
            self.add("现病史", clause.text + "。", [index])

    def prescription(self, index: int) -> None:
        """A drug the doctor names, with the clauses of the same utterance that go on to say how to take it
        (给你开点阿莫西林，一次1粒，每日3次)."""
        parts = [index]
        for following in range(index + 1, len(self.clauses)):
            clause = self.clauses[following]
            if clause.utterance != self.clauses[index].utterance or clause.entities or not drug_details(clause.text):
                break
            parts.append(following)
        self.used.update(parts)
        self.add("医嘱", "，".join(self.clauses[i].text for i in parts) + "。", parts)

    def denied_by_answer(self, index: int, question: _Clause) -> None:
        """无<symptom> (or 无<substance>过敏史) when the patient's next clause denies what the doctor asked about."""
        answer = next(
            (j for j in range(index + 1, min(index + 4, len(self.clauses))) if self.clauses[j].role != DOCTOR), None
        )
        if answer is None or not _DENIAL.match(self.clauses[answer].text):
            return
        if allergy := _ALLERGY_QUESTION.search(question.text):
            self.add("过敏史", f"无{allergy.group(1)}过敏史。", [index, answer])
        elif symptoms := question.named("symptom", "diagnosis"):
            names = "、".join(dict.fromkeys(s.text for s in symptoms))
            section = "既往史" if _HISTORY.search(question.text) else "现病史"
            self.add(section, f"无{names}。", [index, answer])
        else:
            return
        self.used.add(answer)  # the denial is recorded here, not again as the patient's own clause
