"""Mandarin tones: the tone a reader should say (dictionary tone after sandhi) and the tone a pitch contour shows.

Expected tones (:func:`spoken_tones`) apply the sandhi every reader follows, so a correct reading is not marked
wrong: 不 before a 4th tone is said in the 2nd; 一 is said in the 2nd before a 4th tone and in the 4th before
the others, but yi1 in numbers and ordinals (第一, 十一, 一二三) and at the end of a word (统一), and neutral in
看一看; in a run of 3rd tones all but the last are said in the 2nd (你好, 展览馆; across words too, a
simplification of the prosodic-phrase rule, so there the 3rd is accepted as well).

Detected tones (:func:`read_tone`): the syllable's pitch, in semitones, is put on Chao's five-level scale of the
speaker's own range over the utterance (1 = its 5th percentile, 5 = its 95th), averaged over five equal parts
of the syllable and compared with one prototype contour per tone, as tones are said in running speech (high
level; dipping then rising; low; falling). The closest prototype is the tone heard. A contour may sit a little
above or below a prototype (declination, emphasis) at a cost. A syllable is called wrong only when another tone
fits clearly better than the expected one (by ``_MARGIN``): the rules are simple and running speech blurs tones,
so they flag confident mismatches rather than every doubt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEUTRAL = 5
_NUMERALS = set("零〇一二两三四五六七八九十百千万亿第")
_MIN_FRAMES = 5  # fewer voiced 10 ms frames than this: no tone is measured
_MIN_RANGE_ST = 4.0  # a monotonous speaker's range is taken as at least this wide
# Chao tone letters (1 = bottom of the speaker's range, 5 = top) at five points of the syllable, as tones are said
# in running speech: a high level 1st, a 2nd that dips a little before it rises, a low (half-)3rd, a falling 4th.
_PROTOTYPES = {
    1: np.array([4.5, 4.5, 4.5, 4.5, 4.5]),
    2: np.array([3.0, 2.7, 3.0, 3.6, 4.2]),
    3: np.array([2.0, 1.6, 1.3, 1.2, 1.3]),
    4: np.array([4.5, 4.0, 3.2, 2.4, 1.6]),
}
_OFFSET_COST = 0.3
_MARGIN = 1.5  # how much better another tone must fit before the expected one is called wrong


def tone_of(pinyin: str) -> int:
    """The tone digit of a tone-numbered pinyin syllable (``zhong1`` → 1); neutral (5) when it has none."""
    return int(pinyin[-1]) if pinyin[-1:].isdigit() else NEUTRAL


def spoken_tones(words: list[str], pinyins: list[str]) -> list[int]:
    """The tone each character is said in, after sandhi (see the module's description).

    ``words`` are the words of one clause (Chinese characters only, in order) and ``pinyins`` the tone-numbered
    readings of their characters.
    """
    characters = "".join(words)
    word_final = {len("".join(words[: i + 1])) - 1 for i, word in enumerate(words) if len(word) > 1}
    dictionary = [tone_of(p) for p in pinyins]
    tones = list(dictionary)
    for i, char in enumerate(characters[:-1]):
        following = dictionary[i + 1]
        if char == "不" and following == 4:
            tones[i] = 2
        elif char == "一" and i and characters[i - 1] == characters[i + 1]:
            tones[i] = NEUTRAL  # 看一看
        elif char == "一" and _in_number(characters, i):
            tones[i] = 1
        elif char == "一" and i not in word_final and following != NEUTRAL:
            tones[i] = 2 if following == 4 else 4
    for i in range(len(tones) - 1):
        if dictionary[i] == 3 and dictionary[i + 1] == 3:
            tones[i] = 2
    return tones


def _in_number(characters: str, i: int) -> bool:
    """Whether the 一 at ``i`` is part of a number or an ordinal (said yi1)."""
    before = characters[i - 1] if i else ""
    after = characters[i + 1] if i + 1 < len(characters) else ""
    return before in _NUMERALS or (after in _NUMERALS and after != "一")


@dataclass(frozen=True)
class ToneReading:
    """The tone a syllable's pitch contour is closest to, and how far it is from each tone's shape."""

    tone: int  # 1-4
    distances: dict[int, float]  # mean squared distance to each tone's prototype, in tone-letter units squared

    def matches(self, accepted: frozenset[int]) -> bool:
        """Whether the contour is (about) as close to one of the ``accepted`` tones as to the tone it is closest to:
        a wrong tone is flagged only when another tone fits clearly better."""
        return min(self.distances[t] for t in accepted if t in self.distances) - self.distances[self.tone] <= _MARGIN


def read_tone(semitones: np.ndarray, bottom: float, top: float) -> ToneReading | None:
    """The tone (1–4) of one syllable's pitch: its voiced frames in semitones, in time order, and the speaker's range
    ``bottom``–``top`` (semitones) over the utterance; None when too few frames were voiced."""
    if len(semitones) < _MIN_FRAMES:
        return None
    letters = 1 + 4 * (semitones - bottom) / max(top - bottom, _MIN_RANGE_ST)
    points = np.array([part.mean() for part in np.array_split(letters, len(_PROTOTYPES[1]))])
    distances = {}
    for tone, prototype in _PROTOTYPES.items():
        diff = points - prototype
        # The contour may sit a little higher or lower than the prototype (declination, emphasis), at a cost.
        offset = diff.mean() / (1 + _OFFSET_COST)
        distances[tone] = float(np.mean((diff - offset) ** 2) + _OFFSET_COST * offset**2)
    return ToneReading(min(distances, key=distances.__getitem__), distances)


__all__ = ["NEUTRAL", "ToneReading", "read_tone", "spoken_tones", "tone_of"]
