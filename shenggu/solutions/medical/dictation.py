"""Dictation: a doctor speaks the record. Spoken section names start sections (主诉…, 查体 = 体格检查), spoken
commands edit it (下一项, 换行, 删除上一句, 撤销; 句号/逗号/问号… as punctuation when said as commands).

:class:`DictationBuilder` takes recognized text piece by piece (a file's segments, or a live stream's finals)
and can give the record at any moment, so the live WebSocket and the file path share it."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.lexicon import MedicalLexicon
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.record import SECTIONS, MedicalRecord, Statement
from shenggu.text.pinyin import syllables
from shenggu.text.script import is_han

# Spoken names of each section. Names of two characters that are also ordinary words (诊断, 处理, 体检) start
# a section only when a pause or colon follows them (see _HEADER).
SECTION_NAMES: dict[str, tuple[str, ...]] = {
    "主诉": ("主诉",),
    "现病史": ("现病史",),
    "既往史": ("既往史", "既往病史", "过去史"),
    "过敏史": ("过敏史", "药物过敏史"),
    "个人史": ("个人史", "个人生活史"),
    "体格检查": ("体格检查", "查体", "体检"),
    "辅助检查": ("辅助检查", "实验室检查", "检查结果", "辅检"),
    "初步诊断": ("初步诊断", "门诊诊断", "临床诊断", "诊断"),
    "处理意见": ("处理意见", "治疗意见", "诊疗意见", "诊疗计划", "治疗计划", "处理", "处置"),
    "医嘱": ("医嘱", "用药医嘱"),
}
_NAME_TO_SECTION = {name: section for section, names in SECTION_NAMES.items() for name in names}
_WEAK_NAMES = {name for name in _NAME_TO_SECTION if len(name) == 2 and name not in SECTIONS}
PUNCTUATION_COMMANDS = {"句号": "。", "逗号": "，", "问号": "？", "冒号": "：", "分号": "；", "顿号": "、"}
EDIT_COMMANDS = ("删除上一句", "下一项", "换行", "撤销")
# Words that make a punctuation name part of the text (这个逗号, 打句号, 用分号): no command.
_TEXT_BEFORE_PUNCTUATION_NAME = "个的这那打加用写画标是一"
_SENTENCE_END = "。？！"
_MARKS = "，,。.？?！!：:；;、 "

_COMMAND = re.compile(
    "|".join(
        [
            *EDIT_COMMANDS,
            *(f"(?<![{_TEXT_BEFORE_PUNCTUATION_NAME}]){name}" for name in PUNCTUATION_COMMANDS),
        ]
    )
)
_NAMES = "|".join(sorted(_NAME_TO_SECTION, key=len, reverse=True))
# A section name at the start of a sentence: strong names may run straight into their text (主诉发热三天);
# weak ones need a colon, comma or the end of the piece after them.
_HEADER = re.compile(rf"^[{_MARKS}]*({_NAMES})(?:[：:，,。 ]+|是|为)?")

# Recognition often writes a pause before a section name as a comma (咳嗽两天，既往史高血压): a full section
# name after a comma still starts a section; the weak two-character names do not (他的诊断，…).
_STRONG_AFTER_COMMA = re.compile(
    "[，,]\\s*(?=(?:{}))".format(
        "|".join(sorted((n for n in _NAME_TO_SECTION if n not in _WEAK_NAMES), key=len, reverse=True))
    )
)

# Words that dictation vocabulary must get right: section names and commands (added to recognition's list).
DICTATION_WORDS = [*_NAME_TO_SECTION, *EDIT_COMMANDS, *PUNCTUATION_COMMANDS]


@dataclass
class _State:
    current: str = SECTIONS[0]
    closed: dict[str, list[Statement]] = field(default_factory=dict)
    open: Statement | None = None
    headers: int = 0  # section names heard: a dictation with none and no medical entity is not a record


class DictationBuilder:
    """Builds a record from dictated text. ``feed`` each recognized piece in order (with its times); ``record``
    gives the record so far."""

    def __init__(self, lexicon: MedicalLexicon | None = None) -> None:
        self._lexicon = lexicon
        self._state = _State()
        self._undo: list[_State] = []
        self._heard: list[str] = []

    def feed(self, text: str, start: float | None = None, end: float | None = None) -> None:
        """Apply one recognized piece: text, section names and commands, left to right."""
        self._heard.append(text)
        text = _STRONG_AFTER_COMMA.sub("。", text)
        pos = 0
        for m in _COMMAND.finditer(text):
            self._text(text[pos : m.start()], start, end)
            self._command(m.group(0))
            pos = m.end()
        self._text(text[pos:], start, end)

    def record(self) -> MedicalRecord:
        """The record so far (statements in clinical written form, with their entities)."""
        state = self._state
        record = MedicalRecord(mode="dictation", transcript=normalize_clinical("".join(self._heard)))
        statements = {name: list(items) for name, items in state.closed.items()}
        if state.open is not None and state.open.text.strip(_MARKS):
            statements.setdefault(state.current, []).append(state.open)
        for name in SECTIONS:
            for raw in statements.get(name, []):
                text = normalize_clinical(raw.text.strip(" "))
                if text.strip(_MARKS + "\n"):
                    statement = Statement(text, [], raw.start, raw.end, source="dictation")
                    statement.entities = extract_entities(text, self._lexicon)
                    record.section(name).statements.append(statement)
        if not state.headers and not record.entities():
            has_speech = bool(record.transcript.strip(_MARKS))
            record.sections = []
            record.reason = (
                "no section name and no medical term was recognized: not a clinical dictation"
                if has_speech
                else "no speech was recognized"
            )
        return record

    # -- editing ------------------------------------------------------------------------------------------

    def _snapshot(self) -> None:
        self._undo.append(copy.deepcopy(self._state))

    def _text(self, text: str, start: float | None, end: float | None) -> None:
        while text.strip(_MARKS):
            section, rest = self._header(text) if self._at_sentence_start() else (None, text)
            if section is not None:
                self._snapshot()
                self._switch(section)
                self._state.headers += 1
                text = rest
                continue
            cut = _first_sentence_end(text)
            self._snapshot()
            self._append(text[:cut], start, end)
            if cut < len(text) or text[-1] in _SENTENCE_END:
                self._close()
            text = text[cut:]

    @staticmethod
    def _header(text: str) -> tuple[str | None, str]:
        """The section a sentence starts with, and the text after its name: a spoken name (weak names only
        before a pause), or a canonical name misheard as a word that sounds the same without tones (主诉 as
        住宿); ``(None, text)`` when the sentence starts with no section name."""
        header = _HEADER.match(text)
        if header is not None:
            name, pause = header.group(1), header.group(0)[len(header.group(1)) :]
            if name not in _WEAK_NAMES or pause.strip(" ") or header.end() == len(text):
                return _NAME_TO_SECTION[name], text[header.end() :]
        body = text.lstrip(_MARKS)
        for name, sound in _SECTION_SOUNDS.items():
            if len(body) >= len(name) and _all_han(body[: len(name)]) and _toneless(body[: len(name)]) == sound:
                return name, body[len(name) :].lstrip("：:，, ")
        return None, text

    def _at_sentence_start(self) -> bool:
        current = self._state.open
        return current is None or not current.text.strip(_MARKS) or current.text.rstrip()[-1] in _SENTENCE_END

    def _append(self, text: str, start: float | None, end: float | None) -> None:
        state = self._state
        if state.open is None:
            text = text.lstrip(_MARKS)
            state.open = Statement("", start=start, end=end)
        state.open.text += text
        state.open.start = start if state.open.start is None else state.open.start
        state.open.end = end if end is not None else state.open.end

    def _close(self) -> None:
        state = self._state
        if state.open is not None and state.open.text.strip(_MARKS):
            state.closed.setdefault(state.current, []).append(state.open)
        state.open = None

    def _switch(self, section: str) -> None:
        self._close()
        self._state.current = section

    def _command(self, word: str) -> None:
        if word == "撤销":
            if self._undo:
                self._state = self._undo.pop()
            return
        self._snapshot()
        state = self._state
        if word in PUNCTUATION_COMMANDS:
            if state.open is not None:
                state.open.text = state.open.text.rstrip(_MARKS) + PUNCTUATION_COMMANDS[word]
                if PUNCTUATION_COMMANDS[word] in _SENTENCE_END:
                    self._close()
        elif word == "换行":
            if state.open is not None and state.open.text.strip(_MARKS):
                state.open.text = state.open.text.rstrip(" ") + "\n"
                self._close()
            elif state.closed.get(state.current):
                last = state.closed[state.current][-1]
                last.text = last.text.rstrip("\n") + "\n"
        elif word == "下一项":
            following = SECTIONS.index(state.current) + 1
            self._switch(SECTIONS[min(following, len(SECTIONS) - 1)])
        elif word == "删除上一句":
            if state.open is not None and state.open.text.strip(_MARKS):
                state.open = None
            elif state.closed.get(state.current):
                state.closed[state.current].pop()


def _toneless(text: str) -> str:
    return "".join(s.rstrip("012345") for s in syllables(text))


def _all_han(text: str) -> bool:
    return all(is_han(c) for c in text)


_SECTION_SOUNDS = {name: _toneless(name) for name in SECTIONS}


def _first_sentence_end(text: str) -> int:
    """Index just past the first sentence end of ``text`` (its length when it has none)."""
    ends = [i for i, ch in enumerate(text) if ch in _SENTENCE_END]
    return ends[0] + 1 if ends else len(text)


def dictate_text(
    pieces: list[tuple[str, float | None, float | None]], lexicon: MedicalLexicon | None = None
) -> MedicalRecord:
    """The record of dictated pieces ``(text, start, end)``."""
    builder = DictationBuilder(lexicon)
    for text, start, end in pieces:
        builder.feed(text, start, end)
    return builder.record()
