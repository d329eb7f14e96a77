"""Transcript normalization and error rates: CER for Mandarin, WER for English.

Conventions (``shared/eval/README.md``), applied identically to reference and hypothesis so that only
recognition errors count, never writing-style differences:

Mandarin (``normalize_zh``)
    NFKC (full-width → half-width), traditional → simplified (OpenCC ``t2s``), Latin letters lower-cased,
    Arabic numbers rewritten as they are read in Chinese (``2023年`` → ``二零二三年``,
    ``12.5%`` → ``百分之十二点五``, ``1234`` → ``一千二百三十四``, ``3:15`` → ``三点十五分``,
    ``七点半`` → ``七点三十分``, ``〇`` → ``零``, ``两`` → ``二``), then every character that is not a letter
    or a digit (punctuation, symbols, whitespace) removed. Scored by characters.

English (``normalize_en``)
    NFKC, lower case, apostrophes removed (``y'know`` → ``yknow``, ``I'm`` → ``im``), hyphens and other
    punctuation turned into spaces (``fire-fox`` → ``fire fox``), hesitations (uh, um, hmm, mm...) dropped,
    a few spelling variants unified (``mr`` → ``mister``, ``ok`` → ``okay``, British → American), and every
    number, in digits or in words, rewritten as single digits: ``2648``, ``two six four eight`` and
    ``two thousand six hundred forty-eight`` all become ``2 6 4 8``. Ordinals keep a ``th`` on the last digit
    (``21st`` / ``twenty-first`` → ``2 1th``), decimals read ``point`` (``3.5`` → ``3 point 5``).
    Compounds are not guessed: ``firefox`` and ``fire fox`` differ (one substitution and one deletion).
    Scored by words.

Counts are kept (not only rates) so that a corpus rate is ``sum(errors) / sum(ref_len)`` over utterances.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import jiwer

from shenggu.errors import InvalidOptionError
from shenggu.text.chinese import to_simplified
from shenggu.text.numbers_en_parse import NumberReader, NumberWord, number_word
from shenggu.text.numbers_zh import zh_digits

# --------------------------------------------------------------------------------------------------------
# Error counts
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCounts:
    """Edit-distance counts of one hypothesis against one reference (or of a whole corpus, once summed)."""

    errors: int
    ref_len: int
    substitutions: int
    deletions: int
    insertions: int

    @classmethod
    def of(cls, ref_len: int, substitutions: int, deletions: int, insertions: int) -> ErrorCounts:
        """Build counts from the three edit kinds (``errors`` is their sum)."""
        return cls(substitutions + deletions + insertions, ref_len, substitutions, deletions, insertions)

    @property
    def rate(self) -> float:
        """``errors / ref_len``; with an empty reference 0.0 if the hypothesis is empty too, else 1.0."""
        if self.ref_len == 0:
            # Keep the rate finite (JSON has no infinity); corpus rates come from summed counts anyway.
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.ref_len

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts.of(
            self.ref_len + other.ref_len,
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
        )

    def to_dict(self) -> dict[str, float | int]:
        """The counts plus ``rate``, for results files."""
        return {**asdict(self), "rate": self.rate}


def total(counts: Iterable[ErrorCounts]) -> ErrorCounts:
    """Sum per-utterance counts into corpus counts (whose ``rate`` is the corpus error rate)."""
    result = ErrorCounts.of(0, 0, 0, 0)
    for c in counts:
        result = result + c
    return result


def cer(ref: str, hyp: str) -> ErrorCounts:
    """Character edit counts of ``hyp`` against ``ref`` taken as given, every character (spaces too)
    counting; normalize first, or use ``score``."""
    return _char_edits(ref, hyp)[0]


def wer(ref: str, hyp: str) -> ErrorCounts:
    """Word edit counts (words split on whitespace) of ``hyp`` against ``ref`` taken as given."""
    return _word_edits(ref, hyp)[0]


Alignment = list[dict[str, str]]
"""Runs of one edit operation, in order: ``{"op": "equal" | "substitute" | "insert" | "delete", "ref", "hyp"}``,
``ref`` and ``hyp`` being the run's tokens (characters joined as they are, words joined by one space); an insertion
has an empty ``ref``, a deletion an empty ``hyp``."""

# Explicit transforms: jiwer's defaults strip text, which would make its lengths differ from ours.
_CHARS = jiwer.ReduceToListOfListOfChars()
_WORDS = jiwer.ReduceToListOfListOfWords()


def _char_edits(ref: str, hyp: str) -> tuple[ErrorCounts, Alignment]:
    return _edits(list(ref), list(hyp), "", jiwer.process_characters, _CHARS)


def _word_edits(ref: str, hyp: str) -> tuple[ErrorCounts, Alignment]:
    return _edits(ref.split(), hyp.split(), " ", jiwer.process_words, _WORDS)


def _edits(
    ref: list[str], hyp: list[str], joiner: str, process: Callable, transform: jiwer.AbstractTransform
) -> tuple[ErrorCounts, Alignment]:
    """Edit counts and the alignment they count, from jiwer; the empty cases are answered here (jiwer rejects an
    empty reference)."""
    if not ref or not hyp:
        runs = [("delete", ref, []), ("insert", [], hyp)]
        return ErrorCounts.of(len(ref), 0, len(ref), len(hyp)), [_run(*run, joiner) for run in runs if run[1] or run[2]]
    out = process(joiner.join(ref), joiner.join(hyp), reference_transform=transform, hypothesis_transform=transform)
    counts = ErrorCounts.of(len(ref), out.substitutions, out.deletions, out.insertions)
    ref_tokens, hyp_tokens = out.references[0], out.hypotheses[0]
    alignment = [
        _run(c.type, ref_tokens[c.ref_start_idx : c.ref_end_idx], hyp_tokens[c.hyp_start_idx : c.hyp_end_idx], joiner)
        for c in out.alignments[0]
    ]
    return counts, alignment


def _run(op: str, ref: list[str], hyp: list[str], joiner: str) -> dict[str, str]:
    return {"op": op, "ref": joiner.join(ref), "hyp": joiner.join(hyp)}


# --------------------------------------------------------------------------------------------------------
# Language dispatch
# --------------------------------------------------------------------------------------------------------


def _base_language(language: str) -> str:
    """``"zh-CN"`` → ``"zh"``; raise ``InvalidOptionError`` for a language we cannot score."""
    base = language.strip().lower().replace("_", "-").split("-")[0]
    if base not in _LANGUAGES:
        raise InvalidOptionError(f"cannot score language {language!r} (known: {', '.join(_LANGUAGES)})")
    return base


def metric_name(language: str) -> str:
    """``"cer"`` for Mandarin, ``"wer"`` for English."""
    return _LANGUAGES[_base_language(language)][0]


def normalize(language: str, text: str) -> str:
    """Normalize ``text`` with the conventions of ``language`` (``zh`` or ``en``)."""
    return _LANGUAGES[_base_language(language)][1](text)


def score(language: str, ref: str, hyp: str) -> ErrorCounts:
    """Normalize both texts for ``language``, then count errors: CER for ``zh``, WER for ``en``."""
    return align(language, ref, hyp)[0]


def align(language: str, ref: str, hyp: str) -> tuple[ErrorCounts, Alignment]:
    """``score`` and the alignment it counted: the normalized texts' characters (``zh``) or words (``en``) in runs
    of equal, substituted, inserted and deleted tokens (see :data:`Alignment`)."""
    _, norm, edits = _LANGUAGES[_base_language(language)]
    return edits(norm(ref), norm(hyp))


def _keep_letters_digits(text: str, replacement: str) -> str:
    """Replace every character that is not a letter, digit or combining mark (punctuation, symbols,
    whitespace, controls) with ``replacement``."""
    return "".join(ch if unicodedata.category(ch)[0] in "LNM" else replacement for ch in text)


# --------------------------------------------------------------------------------------------------------
# Mandarin
# --------------------------------------------------------------------------------------------------------

_ZH_NUMERAL_CHARS = "零一二三四五六七八九十百千万亿点"
# Beyond this many digits an integer is an identifier (phone, account...) and is read digit by digit.
_ZH_MAX_CARDINAL_DIGITS = 9


def _zh_below_10000(n: int) -> str:
    """Reading of 0 < n < 10000, without leading 零 (the caller adds the one between groups)."""
    out: list[str] = []
    pending_zero = False
    for digit, unit in zip(f"{n:04d}", ("千", "百", "十", ""), strict=True):
        if digit == "0":
            pending_zero = bool(out)  # a zero is only read between non-zero digits: 1005 → 一千零五
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(zh_digits(digit) + unit)
    return "".join(out)


def _zh_integer(digits: str) -> str:
    """Chinese reading of an integer written in Arabic digits: ``1234`` → ``一千二百三十四``."""
    if len(digits) > _ZH_MAX_CARDINAL_DIGITS or (len(digits) > 1 and digits[0] == "0"):
        return zh_digits(digits)
    n = int(digits)
    if n == 0:
        return "零"
    parts: list[str] = []
    for scale, unit in ((10**8, "亿"), (10**4, "万"), (1, "")):
        group = n // scale % 10**4
        if group == 0:
            continue
        if parts and group < 1000:
            parts.append("零")  # 10005 → 一万零五, 100010000 → 一亿零一万
        parts.append(_zh_below_10000(group) + unit)
    text = "".join(parts)
    # Spoken Mandarin says 十五, 十万, not 一十五 (but keeps 一十 inside: 110 → 一百一十).
    return text[1:] if text.startswith("一十") else text


def _zh_decimal(match: re.Match[str]) -> str:
    return _zh_integer(match[1]) + "点" + zh_digits(match[2])


def _zh_time(match: re.Match[str]) -> str:
    """``3:15`` → ``三点十五分``, ``3:05`` → ``三点零五分``, ``3:00`` → ``三点``,
    ``1:02:03`` → ``一点零二分零三秒``."""
    text = _zh_integer(str(int(match[1]))) + "点"
    for value, unit in ((match[2], "分"), (match[3], "秒")):
        if value and int(value):
            text += ("零" if value[0] == "0" else "") + _zh_integer(value.lstrip("0")) + unit
    return text


# Order matters: the specific shapes (years, times, fractions, decimals) before plain integers, and the
# percent rule last because it applies to the Chinese numerals the earlier rules produce (so 12.5% and
# 十二点五% both become 百分之十二点五).
_ZH_NUMBER_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),  # thousands separators: 1,234 → 1234
    (re.compile(r"〇"), "零"),
    (re.compile(r"两"), "二"),  # 两千 / 两个 vs 2000 / 2个: the two spellings of the same spoken digit
    # Years are read digit by digit: 2023年 → 二零二三年.
    (re.compile(r"(?<!\d)(\d{4})\s*年"), lambda m: zh_digits(m[1]) + "年"),
    (re.compile(r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?!\d)"), _zh_time),
    (re.compile(r"(?<![\d/])(\d+)/(\d+)(?![\d/])"), lambda m: _zh_integer(m[2]) + "分之" + _zh_integer(m[1])),
    (re.compile(r"(\d+)\.(\d+)"), _zh_decimal),
    (re.compile(r"\d+"), lambda m: _zh_integer(m[0])),
    # Half past: 七点半 and 7:30 (read 七点三十分) are the same time.
    (re.compile(r"(?<=[零一二三四五六七八九十])点半"), "点三十分"),
    (re.compile(rf"([{_ZH_NUMERAL_CHARS}]+)\s*%"), r"百分之\1"),
)


def _zh_numbers(text: str) -> str:
    for pattern, replacement in _ZH_NUMBER_RULES:
        text = pattern.sub(replacement, text)
    return text


def normalize_zh(text: str) -> str:
    """Normalize Mandarin text for CER (see the module docstring); returns a string without spaces."""
    text = to_simplified(unicodedata.normalize("NFKC", text)).lower()
    return _keep_letters_digits(_zh_numbers(text), "")


# --------------------------------------------------------------------------------------------------------
# English
# --------------------------------------------------------------------------------------------------------

# Token → replacement (one or more words). Both spellings are common in references and in ASR output.
_SPELLING = {
    "mr": "mister", "mrs": "missus", "ok": "okay", "alright": "all right",
    "colour": "color", "favour": "favor", "favourite": "favorite", "flavour": "flavor", "honour": "honor",
    "labour": "labor", "neighbour": "neighbor", "centre": "center", "theatre": "theater", "metre": "meter",
    "grey": "gray", "realise": "realize", "organise": "organize", "travelled": "traveled",
}  # fmt: skip
# Hesitations: references disagree on whether to transcribe them and ASR systems usually drop them.
_FILLER = re.compile(r"u+h+|u+m+|h+m+|m+h*m+|erm")
_APOSTROPHES = re.compile(r"['’‘ʼ`´]")
_CURRENCY = {"$": "dollar", "£": "pound", "€": "euro"}

_EN_DIGIT_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),  # thousands separators
    # $5 / $5 million → 5 dollars / 5 million dollars, as spoken
    (
        re.compile(r"([$£€])\s*(\d+(?:\.\d+)?)(\s+(?:thousand|million|billion|trillion))?"),
        lambda m: f"{m[2]}{m[3] or ''} {_CURRENCY[m[1]]}{'' if m[2] == '1' and not m[3] else 's'}",
    ),
    (re.compile(r"(?<=\d)\s*%"), " percent"),
    (re.compile(r"(?<=\d)\.(?=\d)"), " point "),
    (re.compile(r"(?<=\d):(?=\d)"), " "),  # times: 3:15 → 3 15, as in "three fifteen"
    (re.compile(r"&"), " and "),
)


def _digit_tokens(digits: str, ordinal: bool = False) -> list[str]:
    """``"2648"`` → ``["2", "6", "4", "8"]``; an ordinal keeps a ``th`` on its last digit."""
    tokens = list(digits)
    if ordinal:
        tokens[-1] += "th"
    return tokens


def _classify(tokens: list[str], i: int) -> NumberWord | None:
    """Number-word reading of ``tokens[i]`` in context (``a``, ``and``, ``oh`` and digits need neighbours)."""
    word = tokens[i]
    nxt = number_word(tokens[i + 1]) if i + 1 < len(tokens) else None
    if word.isdigit() and (word == "0" or not word.startswith("0")):
        # Digits only join a following scale ("5 million"); otherwise they are kept as written.
        return NumberWord("digits", int(word), False) if nxt and nxt.kind in ("hundred", "scale") else None
    if word == "a" and nxt and nxt.kind in ("hundred", "scale"):
        return NumberWord("unit", 1, False)  # "a hundred" = "one hundred"
    if word == "and":
        return NumberWord("and", 0, False) if nxt and nxt.kind in ("unit", "teen", "tens") else None
    if word in ("oh", "o") and i > 0 and number_word(tokens[i - 1]) and nxt and nxt.kind == "unit":
        return NumberWord("unit", 0, False)  # "nineteen oh five"
    return number_word(word)


def _numbers_to_digits(tokens: list[str]) -> list[str]:
    """Rewrite numbers (in words or digits) as single-digit tokens; other tokens are kept."""
    out: list[str] = []
    number = NumberReader()

    def flush(ordinal: bool = False) -> None:
        nonlocal number
        if number.last:
            out.extend(_digit_tokens(str(number.value), ordinal))
        number = NumberReader()

    for i, token in enumerate(tokens):
        reading = _classify(tokens, i)
        if reading is not None and not number.accepts(reading):
            flush()
            if not number.accepts(reading):
                reading = None  # "hundred", "thousand", "and" with no number before them are plain words
        if reading is None:
            flush()
            out.extend(_split_token_digits(token))
            continue
        number.add(reading)
        if reading.ordinal:
            flush(ordinal=True)
    flush()
    return out


def _split_token_digits(token: str) -> list[str]:
    """Digits in a token that is not a number word: ``21st`` → ``2 1th``, ``mp3`` → ``mp 3``."""
    if not any(ch.isdigit() for ch in token):
        return [token]
    ordinal = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", token)
    if ordinal:
        return _digit_tokens(ordinal[1], ordinal=True)
    return [part for run in re.findall(r"\d+|\D+", token) for part in (list(run) if run.isdigit() else [run])]


def _en_words(text: str) -> list[str]:
    """Lower-cased words without punctuation, apostrophes, hesitations or spelling variants."""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).lower())
    for pattern, replacement in _EN_DIGIT_RULES:
        text = pattern.sub(replacement, text)
    words: list[str] = []
    for word in _keep_letters_digits(text, " ").split():
        if not _FILLER.fullmatch(word):
            words.extend(_SPELLING.get(word, word).split())
    return words


def normalize_en(text: str) -> str:
    """Normalize English text for WER (see the module docstring); words separated by single spaces."""
    return " ".join(_numbers_to_digits(_en_words(text)))


# metric name, normalizer, the metric's edits (counts and alignment)
_LANGUAGES: dict[str, tuple[str, Callable[[str], str], Callable[[str, str], tuple[ErrorCounts, Alignment]]]] = {
    "zh": ("cer", normalize_zh, _char_edits),
    "en": ("wer", normalize_en, _word_edits),
}
