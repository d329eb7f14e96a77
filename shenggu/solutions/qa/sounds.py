"""Phrase search that survives recognition errors: by the written characters, then by sound.

Text is normalized as FAQ retrieval normalizes it (NFKC, lower case, traditional → simplified), then only Chinese
characters, letters and digits are kept (one token each), remembering where punctuation was cut out (a clause
boundary). Each Chinese character gets its tone-numbered syllable (read by word, :mod:`shenggu.text.pinyin`)
and a looser *sound key*: toneless, with the pairs that Mandarin speakers and recognizers confuse merged (zh/z,
ch/c, sh/s, n/l, eng/en, ing/in, ang/an).

A phrase of fewer than :data:`SHORT_PHRASE` syllables matches by sound only when every syllable is the same with
its tone (a true homophone: 销户 is not 小胡); longer phrases match by sound keys and tolerate
``floor(len × tolerance)`` syllables inserted, dropped or changed (one per 8 syllables by default, so a 16-syllable
risk disclosure survives two recognition slips while 肯定没问题 must sound alike in full and 肯定有问题 does not
match it)."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass

from shenggu.nlp.faq.lexical import normalize
from shenggu.text.pinyin import syllables
from shenggu.text.script import is_han

SHORT_PHRASE = 4
# A rule phrase written 请问…本人 says its parts in order with other words between (请问您是账户本人吗): agents
# rarely say a script word for word. The gap is bounded so that parts far apart in a long utterance do not join.
GAP = re.compile(r"…+|\.{3,}")
MAX_GAP = 12  # syllables between two parts at most
_KEPT = re.compile(r"\w")  # letters, digits and Chinese characters; punctuation and spaces are cut out
_INITIAL_MERGES = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINAL_MERGES = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))
# Words that make a following phrase a denial (不能保证收益, 无法向您保证收益): as written, after the objects an
# agent puts between them and the verb.
NEGATIONS = ("不", "没", "没有", "无法", "没法", "不能", "不会", "不可", "不可能", "不可以", "不得", "不敢", "未", "别",
             "勿", "禁止", "严禁")  # fmt: skip
_OBJECT_BEFORE_VERB = re.compile("(?:给|向|为|跟|对|帮|和|与)(?:您|你)(?:们)?$")


@dataclass(frozen=True)
class Sounded:
    """A normalized text: kept characters, whether a clause boundary comes before each, and the tone-numbered
    syllable and sound key of each (a letter or digit stands for itself)."""

    chars: str
    boundary: tuple[bool, ...]
    tones: tuple[str, ...]
    keys: tuple[str, ...]

    def __add__(self, other: Sounded) -> Sounded:
        """Two texts one after the other, with a clause boundary between them."""
        return Sounded(
            self.chars + other.chars,
            self.boundary + tuple(i == 0 for i in range(len(other.chars))),
            self.tones + other.tones,
            self.keys + other.keys,
        )


@dataclass(frozen=True)
class SoundMatch:
    """Where a phrase was found in a :class:`Sounded` text: token span [start, end), how, and the errors."""

    start: int
    end: int
    method: str  # "words" or "sound"
    errors: int = 0


def sound_key(syllable: str) -> str:
    """A toneless syllable with commonly confused initials and finals merged: zhong1 → zon, ning2 → lin."""
    base = syllable.rstrip("012345")
    for long, short in _INITIAL_MERGES:
        if base.startswith(long) and base != long:
            base = short + base[len(long) :]
            break
    for long, short in _FINAL_MERGES:
        if base.endswith(long):
            return base[: -len(long)] + short
    return base


@functools.lru_cache(maxsize=4096)
def sounded(text: str) -> Sounded:
    """The normalized, sounded form of ``text`` (cached: phrases and utterances are sounded once)."""
    norm = normalize(text)
    chars, boundary, cut = [], [], True
    for ch in norm:
        if _KEPT.match(ch):
            chars.append(ch)
            boundary.append(cut)
            cut = False
        else:
            cut = True
    kept = "".join(chars)
    tones = syllables(kept, "numbers", unreadable="each") if kept else []
    if len(tones) != len(kept):  # a reading that does not give one item per character: sound by the characters
        tones = [syllables(c, "numbers", unreadable="each")[0] if is_han(c) else c for c in kept]
    keys = [sound_key(t) if is_han(c) else c for c, t in zip(kept, tones, strict=True)]
    return Sounded(kept, tuple(boundary), tuple(tones), tuple(keys))


def find_phrase(phrase: Sounded, text: Sounded, tolerance: float) -> SoundMatch | None:
    """The first place ``phrase`` occurs in ``text``: by its characters, else by sound (see the module's notes).
    None when the phrase has no characters or does not occur."""
    n = len(phrase.chars)
    if not n:
        return None
    at = text.chars.find(phrase.chars)
    if at >= 0:
        return SoundMatch(at, at + n, "words")
    if n < SHORT_PHRASE:
        at = _find_run(phrase.tones, text.tones)
        return SoundMatch(at, at + n, "sound") if at >= 0 else None
    at = _find_run(phrase.keys, text.keys)
    if at >= 0:
        return SoundMatch(at, at + n, "sound")
    allowed = math.floor(n * tolerance)
    if not allowed or _shared(phrase.keys, text.keys) < n - allowed:  # each edit spoils one syllable at most
        return None
    return _approximate(phrase.keys, text.keys, allowed)


def find_gapped(parts: list[Sounded], text: Sounded, tolerance: float) -> SoundMatch | None:
    """The first place the ``parts`` of a gapped phrase occur in ``text`` in order, each found like
    :func:`find_phrase` and each within :data:`MAX_GAP` syllables of the one before: the span from the first part's
    start to the last part's end, by words when every part was, with the parts' errors summed."""
    if len(parts) == 1:
        return find_phrase(parts[0], text, tolerance)
    offset = 0
    while True:
        first = find_phrase(parts[0], _tail(text, offset), tolerance)
        if first is None:
            return None
        start, end, errors, methods = offset + first.start, offset + first.end, first.errors, {first.method}
        for part in parts[1:]:
            window = _tail(text, end, end + MAX_GAP + len(part.chars) + math.floor(len(part.chars) * tolerance))
            found = find_phrase(part, window, tolerance)
            if found is None or found.start > MAX_GAP:
                break
            end, errors = end + found.end, errors + found.errors
            methods.add(found.method)
        else:
            return SoundMatch(start, end, "words" if methods == {"words"} else "sound", errors)
        offset = start + 1


def _tail(text: Sounded, start: int, end: int | None = None) -> Sounded:
    """Tokens ``[start, end)`` of ``text`` as a text of their own."""
    return Sounded(text.chars[start:end], text.boundary[start:end], text.tones[start:end], text.keys[start:end])


def is_negated(text: Sounded, start: int) -> bool:
    """Whether a denial comes right before token ``start`` of ``text`` in the same clause (不能给您保证收益)."""
    begin = start
    while begin > 0 and not text.boundary[begin]:
        begin -= 1
    before = _OBJECT_BEFORE_VERB.sub("", text.chars[begin:start])
    return before.endswith(NEGATIONS)


def _shared(needle: tuple[str, ...], hay: tuple[str, ...]) -> int:
    """How many of ``needle``'s tokens (with repeats) occur in ``hay``."""
    return sum((Counter(needle) & Counter(hay)).values())


def _find_run(needle: tuple[str, ...], hay: tuple[str, ...]) -> int:
    n = len(needle)
    for i in range(len(hay) - n + 1):
        if hay[i : i + n] == needle:
            return i
    return -1


def _approximate(needle: tuple[str, ...], hay: tuple[str, ...], allowed: int) -> SoundMatch | None:
    """The first, then cheapest, span of ``hay`` within ``allowed`` edits of ``needle`` (Sellers' algorithm:
    edit distance with a free start and end in ``hay``), or None."""
    n = len(needle)
    # column j of the table: cost[i] = edits to turn needle[:i] into some hay[s:j]; origin[i] = that s
    cost = list(range(n + 1))
    origin = [0] * (n + 1)
    best: SoundMatch | None = None
    for j, token in enumerate(hay, start=1):
        new_cost, new_origin = [0] * (n + 1), [j] * (n + 1)
        for i in range(1, n + 1):
            options = (
                (cost[i - 1] + (needle[i - 1] != token), origin[i - 1]),  # match or change
                (cost[i] + 1, origin[i]),  # an extra syllable in hay
                (new_cost[i - 1] + 1, new_origin[i - 1]),  # a syllable of the phrase missing
            )
            new_cost[i], new_origin[i] = min(options)
        cost, origin = new_cost, new_origin
        if cost[n] <= allowed and (best is None or cost[n] < best.errors):
            best = SoundMatch(origin[n], j, "sound", cost[n])
        elif best is not None:  # the first span found, widened only while that lowers its errors
            return best
    return best
