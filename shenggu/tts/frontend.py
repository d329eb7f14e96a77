"""The TTS text front-end's planner: plain text or SSML in, short spoken-form pieces out, in reading order.

    plan_speech("今天是2023年3月5日，下午3:15开会，电话13812345678。")
    → [TextPiece("今天是二零二三年三月五日，", "zh", pause_after_ms=100),
       TextPiece("下午三点十五分开会，电话幺三八 幺二三四 五六七八。", "zh", pause_after_ms=250)]

Pipeline (:func:`plan_speech`):

1. SSML (a document starting with ``<speak``) becomes text runs with a rate, ``<say-as>`` readings and
   pauses (:mod:`shenggu.tts.ssml`); plain text is one run, whose newlines end sentences.
2. Sentences end at 。！？；!?; and newlines, and at ``.`` unless it follows a title (Dr. Smith), an initial
   (J. Smith) or comes before a lowercase word or a digit. Each sentence is read as Mandarin when it has a
   Chinese character, as English when it has Latin letters but no Chinese, and in the document's language
   otherwise (a bare phone number).
3. Clauses end at ，、：and at ``,`` ``:`` followed by a space, the end or Chinese (1,000, 3:15 and https://
   stay whole). Every cut point comes from the *written* text, so no number, time or phone number is ever
   split, and commas the normalizer inserts (``five five five, one two three``) are never cut at.
4. Each clause is normalized (TN, written → spoken) by :func:`shenggu.tts.normalize.normalize_clause`: wetext's
   WFSTs behind small regex pre-passes for what wetext gets wrong (:mod:`shenggu.tts.normalize_zh`,
   :mod:`shenggu.tts.normalize_en`). A ``<say-as>`` is read by :mod:`shenggu.tts.say_as`.
5. Clauses are packed into pieces of at most ``max_chars`` spoken characters (default 40 for Mandarin, 200 for
   English). The text's first piece is short so the first audio comes fast: when the first sentence is longer
   than :data:`FIRST_PIECE_CHARS`, its first clause alone, and of a longer clause its first words.
   A clause longer than the limit is cut at a word boundary (jieba's for Mandarin, a space for English) that
   is not inside a number or a Latin word. Pauses: 250 ms after a sentence, 500 ms after a paragraph (blank
   line, ``</p>``), 100 ms after a clause cut, none where no punctuation ends the text or a rate change cuts a
   sentence; a ``<break>`` replaces them.

Each piece's phonemes for Kokoro come from :mod:`shenggu.tts.phonemes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shenggu.errors import InvalidOptionError
from shenggu.text.chinese import load_jieba
from shenggu.text.numbers_en import EN_NUMBER_WORDS
from shenggu.text.script import HAN, has_han
from shenggu.tts import ssml
from shenggu.tts.normalize import normalize_clause
from shenggu.tts.normalize_en import EN_TITLES
from shenggu.tts.pieces import TextPiece
from shenggu.tts.say_as import say_as

DEFAULT_MAX_CHARS = {"zh": 40, "en": 200}
# The text's first piece is at most this long (Kokoro needs ~0.27 s per second of speech; 8 characters are ~2.3 s
# of Mandarin), so the first audio of a request is ready after ~0.65 s whatever its length.
FIRST_PIECE_CHARS = {"zh": 8, "en": 80}
# ...but a clause only this much longer stays whole: cutting off its last word or two costs a seam for nothing.
FIRST_PIECE_SLACK = {"zh": 3, "en": 20}
MIN_MAX_CHARS = 8
SENTENCE_PAUSE_MS = 250
PARAGRAPH_PAUSE_MS = 500
CLAUSE_PAUSE_MS = 100


# --------------------------------------------------------------------------------------------------------
# Characters
# --------------------------------------------------------------------------------------------------------

# Han characters plus CJK and full-width punctuation: no space is needed next to these when joining text.
_CJK_TEXT = re.compile(f"[{HAN}\u3000-\u303f\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")
_SPEAKABLE = re.compile(r"[^\W_]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2060\ufeff]")
_CLOSERS = "”’」』）)》】\"'"


def _join(left: str, right: str) -> str:
    """Concatenate spoken text: a space between two Latin/English sides, none next to Chinese."""
    if not left or not right:
        return left + right
    if _CJK_TEXT.match(left[-1]) or _CJK_TEXT.match(right[0]) or left[-1].isspace() or right[0].isspace():
        return left + right
    return f"{left} {right}"


# --------------------------------------------------------------------------------------------------------
# Sentences and clauses
# --------------------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(
    rf"\n[^\S\n]*\n\s*|\n"
    rf"|[。！？；]+[{_CLOSERS}]*"
    rf"|[!?;]+[{_CLOSERS}]*(?=\s|$|[{HAN}])"
    rf"|\.+[{_CLOSERS}]*(?=\s|$|[{HAN}])"
)
# An ASCII comma or colon cuts only before a space, the end or Chinese: not in 1,000, 3:15, https://, a,b.
_CLAUSE_MARK = re.compile(rf"[，、：]+[{_CLOSERS}]*|[,:][{_CLOSERS}]*(?=\s|$|[{HAN}])")
_WORD_BEFORE_STOP = re.compile(r"([A-Za-z]+)\.+$")


def _ends_sentence(text: str, match: re.Match[str]) -> bool:
    """Whether a full stop is a sentence end, not "Dr. Smith", "J. Smith", "e.g. this" or "3. 5"."""
    if not match.group(0).startswith("."):
        return True
    following = text[match.end() :].lstrip()
    if following[:1].islower() or following[:1].isdigit():
        return False
    word = _WORD_BEFORE_STOP.search(text[: match.end()].rstrip(_CLOSERS))
    if word is None:
        return True
    name = word.group(1)
    return not ((len(name) == 1 and name.isupper()) or name in EN_TITLES)


def _sentences(text: str) -> list[tuple[str, str]]:
    """``(sentence, end)`` pairs; ``end`` is "sentence", "paragraph", or "open" for a trailing fragment."""
    out, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if not _ends_sentence(text, match):
            continue
        mark = match.group(0)
        end = "paragraph" if mark.count("\n") > 1 else "sentence"
        out.append((text[start : match.start()] + mark.strip(), end))
        start = match.end()
    out.append((text[start:], "open"))
    return [(s.strip(), end) for s, end in out if s.strip() or end == "paragraph"]


def finished_sentences(text: str) -> tuple[list[str], str]:
    """For text that arrives in pieces (a language model's answer): the sentences of ``text`` that more text cannot
    change, and the rest, as it is, to continue. A sentence is finished once something follows its end mark: the
    text after a full stop tells "Dr. Smith" and "3.5" from a sentence end."""
    done, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if not text[match.end() :].strip() or not _ends_sentence(text, match):
            continue
        sentence = (text[start : match.start()] + match.group(0).strip()).strip()
        if sentence:
            done.append(sentence)
        start = match.end()
    return done, text[start:]


def _clauses(sentence: str) -> list[str]:
    """Clauses of a sentence, each ending with its mark."""
    out, start = [], 0
    for match in _CLAUSE_MARK.finditer(sentence):
        out.append(sentence[start : match.end()])
        start = match.end()
    out.append(sentence[start:])
    return [c.strip() for c in out if c.strip()]


def _script_language(text: str, default: str) -> str:
    if has_han(text):
        return "zh"
    return "en" if _LATIN.search(text) else default


# --------------------------------------------------------------------------------------------------------
# Units: spoken clauses with what follows them
# --------------------------------------------------------------------------------------------------------

# What ends a unit, weakest first. "open": nothing, the next unit continues it; "cut": a piece must end here
# without a pause of its own (the rate changes mid-sentence, or a <break> gives the pause).
_ENDS = ("open", "clause", "cut", "sentence", "paragraph", "final")
_PAUSES = {"clause": CLAUSE_PAUSE_MS, "sentence": SENTENCE_PAUSE_MS, "paragraph": PARAGRAPH_PAUSE_MS}


@dataclass(frozen=True)
class _Unit:
    """A spoken clause (or ``<say-as>`` reading) and the boundary after it."""

    text: str
    language: str
    rate: float
    end: str
    pause_ms: int | None = None  # from <break>: replaces the boundary's own pause


def _stronger(a: str, b: str) -> str:
    return a if _ENDS.index(a) >= _ENDS.index(b) else b


def _text_units(text: str, rate: float, language: str, collapse: bool) -> list[_Unit]:
    """Units of a run of text: sentences → clauses → spoken form."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if collapse:  # SSML: line breaks are layout, and spaces between Chinese characters are too
        text = re.sub(r"\s+", " ", text)
        text = re.sub(f"(?<=[{HAN}\u3000-\u303f\uff00-\uffef]) (?=[{HAN}\u3000-\u303f\uff00-\uffef])", "", text)
    else:
        text = re.sub(r"[^\S\n]+", " ", text)
    units = []
    for sentence, end in _sentences(text):
        sentence_language = _script_language(sentence, language)
        clauses = _clauses(sentence)
        for i, clause in enumerate(clauses):
            spoken = normalize_clause(clause, sentence_language)
            units.append(_Unit(spoken, sentence_language, rate, end if i == len(clauses) - 1 else "clause"))
        if not clauses and end == "paragraph" and units:
            units[-1] = replace(units[-1], end="paragraph")
    return units


def _event_units(events: list[ssml.Event], language: str, collapse: bool) -> tuple[int, list[_Unit]]:
    """Leading silence (a ``<break>`` before any text) and the units of the events, boundaries applied."""
    lead_ms, units = 0, []
    for event in events:
        if isinstance(event, ssml.Break):
            if units:
                last = units[-1]
                end = "cut" if last.end in ("open", "clause") else last.end
                units[-1] = replace(last, end=end, pause_ms=(last.pause_ms or 0) + event.ms)
            else:
                lead_ms += event.ms
        elif isinstance(event, ssml.Boundary):
            if units:
                units[-1] = replace(
                    units[-1], end=_stronger(units[-1].end, "paragraph" if event.paragraph else "sentence")
                )
        elif event.say_as:
            units.append(_Unit(say_as(event, language), language, event.rate, "open"))
        else:
            units.extend(_text_units(event.text, event.rate, language, collapse))
    if units and units[-1].end == "open":
        units[-1] = replace(units[-1], end="final")
    return lead_ms, units


def _merge_units(units: list[_Unit]) -> list[_Unit]:
    """Glue "open" units to the next one (same rate), and fold units with nothing to say into their neighbour."""
    merged: list[_Unit] = []
    for unit in units:
        if merged and not _SPEAKABLE.search(unit.text):  # punctuation only ("……", a lone "!")
            last = merged[-1]
            pause_ms = unit.pause_ms if unit.pause_ms is not None else last.pause_ms
            merged[-1] = replace(last, text=last.text + unit.text, end=_stronger(last.end, unit.end), pause_ms=pause_ms)
            continue
        if merged and merged[-1].end == "open":
            last = merged[-1]
            if last.rate == unit.rate:
                language = "zh" if "zh" in (last.language, unit.language) else unit.language
                merged[-1] = replace(unit, text=_join(last.text, unit.text), language=language)
                continue
            merged[-1] = replace(last, end="cut")  # the rate changes mid-sentence: a piece ends here
        if _SPEAKABLE.search(unit.text):
            merged.append(unit)
    if merged and merged[-1].end == "open":
        merged[-1] = replace(merged[-1], end="final")
    return merged


# --------------------------------------------------------------------------------------------------------
# Packing units into pieces
# --------------------------------------------------------------------------------------------------------

_ZH_NUMERALS = "零〇一二三四五六七八九十百千万亿幺两点负"
_ZH_PROTECTED = re.compile(
    rf"[{_ZH_NUMERALS}](?:[{_ZH_NUMERALS} ]|分之)*[{_ZH_NUMERALS}]|[A-Za-z0-9](?:[A-Za-z0-9'’.\-]*[A-Za-z0-9])?"
)


# Particles lean on the word before them: a cut before one is heard as a stumble (达到 | 了).
_ZH_PARTICLES = frozenset("了的地得着过吗呢吧啊呀嘛么们")


def _zh_cut_points(text: str) -> list[int]:
    """Where Mandarin text may be cut: between jieba words, not inside a number or a Latin word, not before a
    particle."""
    protected = [(m.start(), m.end()) for m in _ZH_PROTECTED.finditer(text)]
    points, position = [], 0
    for word in load_jieba().lcut(text):
        position += len(word)
        if (
            position < len(text)
            and text[position] not in _ZH_PARTICLES
            and not any(start < position < end for start, end in protected)
        ):
            points.append(position)
    return points


def _en_cut_points(text: str) -> list[int]:
    """Where English text may be cut: at spaces, but not between two number words (twenty | three)."""
    points = []
    for match in re.finditer(r" +", text):
        before = text[: match.start()].rsplit(" ", 1)[-1].strip(",.;:").lower()
        after = text[match.end() :].split(" ", 1)[0].strip(",.;:").lower()
        if not (before in EN_NUMBER_WORDS and after in EN_NUMBER_WORDS):
            points.append(match.end())
    return points


def _split_long(text: str, language: str, limit: int) -> list[str]:
    """Cut text longer than ``limit`` at allowed points, else at a space; a hard cut only when there is none."""
    parts = []
    while len(text) > limit:
        cut = _cut_point(text, language, limit)
        if cut is None:  # a number longer than the limit: cut between its words rather than inside one
            spaces = [m.end() for m in re.finditer(r" +", text) if 0 < m.end() <= limit and text[: m.start()].strip()]
            cut = spaces[-1] if spaces else limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*parts, text] if text else parts


def _cut_point(text: str, language: str, limit: int) -> int | None:
    """The last allowed cut point of ``text`` within ``limit`` characters, if any."""
    points = _zh_cut_points(text) if language == "zh" else _en_cut_points(text)
    fitting = [p for p in points if 0 < p <= limit and text[:p].strip()]
    return fitting[-1] if fitting else None


def _limit(language: str, max_chars: int | None) -> int:
    return max_chars or DEFAULT_MAX_CHARS[language]


def _pause(unit: _Unit) -> int:
    """The pause after a unit: its ``<break>``, else its boundary's."""
    return unit.pause_ms if unit.pause_ms is not None else _PAUSES.get(unit.end, 0)


def _emit(unit: _Unit, max_chars: int | None) -> list[TextPiece]:
    """The pieces of one (packed) unit: cut if over-long; the boundary's pause goes after the last."""
    parts = _split_long(unit.text, unit.language, _limit(unit.language, max_chars))
    return [
        TextPiece(part, unit.language, unit.rate, _pause(unit) if i == len(parts) - 1 else 0)
        for i, part in enumerate(parts)
    ]


def _first_piece(units: list[_Unit], max_chars: int | None) -> tuple[TextPiece | None, list[_Unit]]:
    """The text's first piece, short for a fast first audio, and the units left to pack.

    A sentence within the first-piece limit (plus slack) stays whole (no first piece of its own); else the first
    piece is its first clause, or of a longer first clause its first words."""
    head = units[0]
    limit = _first_limit(head.language, max_chars)
    whole = min(limit + FIRST_PIECE_SLACK[head.language], _limit(head.language, max_chars))
    if len("".join(u.text for u in units)) <= whole:
        return None, units
    if len(head.text) > whole and (cut := _cut_point(head.text, head.language, limit)) is not None:
        rest = replace(head, text=head.text[cut:].strip())  # no pause: the clause goes on
        return TextPiece(head.text[:cut].strip(), head.language, head.rate, 0), [rest, *units[1:]]
    if len(units) > 1 and len(head.text) <= whole:
        return TextPiece(head.text, head.language, head.rate, _pause(head)), units[1:]
    return None, units


def _first_limit(language: str, max_chars: int | None) -> int:
    return min(FIRST_PIECE_CHARS[language], _limit(language, max_chars))


def _sentence_groups(units: list[_Unit]) -> list[list[_Unit]]:
    """Units grouped into sentences: each group's units but the last end at a clause mark."""
    groups: list[list[_Unit]] = [[]]
    for unit in units:
        groups[-1].append(unit)
        if unit.end != "clause":
            groups.append([])
    return [g for g in groups if g]


def _pack_sentence(units: list[_Unit], max_chars: int | None, first: bool) -> list[TextPiece]:
    """Clauses packed greedily up to the limit, after the text's short first piece (see :func:`_first_piece`)."""
    pieces: list[TextPiece] = []
    if first:
        head, units = _first_piece(units, max_chars)
        pieces += [head] if head else []
    current = units[0]
    for unit in units[1:]:
        joined = _join(current.text, unit.text)
        same_voice = current.rate == unit.rate and current.language == unit.language
        if same_voice and len(joined) <= _limit(current.language, max_chars):
            current = replace(unit, text=joined)
        else:
            pieces += _emit(current, max_chars)
            current = unit
    return pieces + _emit(current, max_chars)


def _pack(units: list[_Unit], max_chars: int | None) -> list[TextPiece]:
    pieces: list[TextPiece] = []
    for group in _sentence_groups(units):
        pieces += _pack_sentence(group, max_chars, first=not pieces)
    return pieces


# --------------------------------------------------------------------------------------------------------
# plan_speech
# --------------------------------------------------------------------------------------------------------


def _check_language(language: str | None) -> str | None:
    """The front-end's language code for a request's: zh-CN, cmn → zh; en-US → en; ``None`` means detect."""
    if language is None:
        return None
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    if primary in ("zh", "cmn"):
        return "zh"
    if primary == "en":
        return "en"
    raise InvalidOptionError(f"language '{language[:20]}' is not supported for speech (use zh or en)")


def plan_speech(text: str, language: str | None = None, max_chars: int | None = None) -> list[TextPiece]:
    """Cut plain text or SSML into spoken-form pieces ready to synthesize, in reading order.

    ``language`` is "zh", "en" or ``None`` (detect: Chinese if the text has any Chinese character; SSML's
    ``xml:lang`` counts too). Sentences are still read by their script: a Chinese sentence in an English
    text becomes a "zh" piece, an English-only sentence in a Chinese text an "en" one, while Latin words inside
    a Chinese sentence stay in its piece. ``max_chars`` bounds every piece's length (default
    :data:`DEFAULT_MAX_CHARS` per language; at least :data:`MIN_MAX_CHARS`). Raises
    :class:`~shenggu.errors.InvalidOptionError` for malformed or unsupported SSML, an unknown language or a
    too small ``max_chars``.
    """
    requested = _check_language(language)
    if max_chars is not None and max_chars < MIN_MAX_CHARS:
        raise InvalidOptionError(f"max_chars must be at least {MIN_MAX_CHARS}, not {max_chars}")
    if ssml.is_ssml(text):
        document = ssml.parse(text)
        events, collapse = document.events, True
        if requested is None and document.language:
            requested = _check_language(document.language)
    else:
        events, collapse = [ssml.Text(text)], False
    detected = requested or ("zh" if any(has_han(e.text) for e in events if isinstance(e, ssml.Text)) else "en")
    lead_ms, units = _event_units(events, detected, collapse)
    pieces = _pack(_merge_units(units), max_chars)
    return [TextPiece("", detected, 1.0, lead_ms), *pieces] if lead_ms else pieces


__all__ = ["DEFAULT_MAX_CHARS", "plan_speech"]
