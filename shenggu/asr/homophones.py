"""Pinyin-aware correction of Whisper's same-sounding character substitutions (停制 → 停滞).

Most of Whisper-base's remaining Mandarin errors are homophones. A span of recognized characters is replaced by a
dictionary word (or a caller's hotword) that sounds the same when:
- the characters to change were recognized with low confidence (Whisper's own token probability),
- they read the same in toneless pinyin (or nearly: common fuzzy pairs such as in/ing, z/zh, n/l, at a cost),
- the word language model scores the corrected sentence clearly higher.
Only same-length character substitutions are ever made: the correction cannot add, drop or reorder words.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from shenggu.asr.types import TextScorer, Word
from shenggu.lazy import once
from shenggu.nlp.lm import get_word_lm
from shenggu.text.pinyin import dictionary_readings, syllables
from shenggu.text.script import is_han

LOW_CONFIDENCE = 0.8  # only characters Whisper was less sure of than this may change
HOTWORD_CONFIDENCE = 0.95  # hotwords may override more confident characters
MIN_GAIN = 3.0  # nats the LM must gain (≈ 20× more likely) to accept a change
TONE_COST = 1.0  # extra nats per character that sounds the same but in another tone
FUZZY_COST = 3.0  # extra nats per character that only nearly sounds the same
MIN_WORD_FREQ = 20  # dictionary words rarer than this are never introduced
# A two-character word may change one character; a longer one two, so a kept character always anchors the
# sound match (changing both characters of a pair turned 起泄 into 器械 on real output).
# When the recognizer verifies each change against the audio, both characters of a pair may change.
_MAX_CHANGED = {2: 1, 3: 2, 4: 2}
_MAX_CHANGED_VERIFIED = {2: 2, 3: 2, 4: 2}
LM_WEIGHT = 1.0  # shallow-fusion weight of the word LM against the recognizer's own score
MIN_SHORTLIST_GAIN = 1.0  # LM gain (minus sound cost) a change needs to be worth scoring
SHORTLIST = 4  # changes scored against the audio per round (each costs ~70 ms of Whisper alignment)
MIN_FUSED = 0.5  # fused score a change must reach
_SPAN_LENGTHS = (2, 3, 4)


def _fuzzy(syllable: str) -> str:
    """Collapse the sound pairs Mandarin speakers (and Whisper) commonly confuse."""
    for retroflex, plain in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(retroflex):
            syllable = plain + syllable[2:]
    if syllable.startswith("n"):
        syllable = "l" + syllable[1:]
    if syllable.endswith(("ang", "eng", "ing")):
        syllable = syllable[:-1]
    return syllable


@dataclass
class _Index:
    readings: dict[str, frozenset[str]]  # char → readings as toneless syllable + tone digit ("fei2")
    by_sound: dict[str, list[str]]  # toneless syllable → common chars
    by_fuzzy: dict[str, list[str]]  # fuzzy syllable → common chars
    successors: dict[str, frozenset[str]]  # char → chars that follow it as the 2nd character of a dictionary word


@once
def _get_index() -> _Index:
    freq = get_word_lm().freq
    readings: dict[str, frozenset[str]] = {}
    by_sound: dict[str, list[str]] = defaultdict(list)
    by_fuzzy: dict[str, list[str]] = defaultdict(list)
    for char, char_readings in dictionary_readings():
        if not is_han(char):
            continue
        readings[char] = frozenset(char_readings)
        if freq.get(char, 0) <= 0:
            continue  # rare characters are never proposed
        for s in {r[:-1] for r in readings[char]}:
            by_sound[s].append(char)
            by_fuzzy[_fuzzy(s)].append(char)
    following: dict[str, set[str]] = defaultdict(set)
    for word in freq:
        if len(word) >= 2:
            following[word[0]].add(word[1])
    successors = {c: frozenset(nexts) for c, nexts in following.items()}
    return _Index(readings, dict(by_sound), dict(by_fuzzy), successors)


def _sound_cost(heard: str, char: str, index: _Index) -> float | None:
    """Cost of writing ``char`` for the heard syllable (e.g. "er3"): 0 same, tone or fuzzy cost, None unlike."""
    readings = index.readings.get(char, frozenset())
    if heard in readings:
        return 0.0
    if heard[:-1] in {r[:-1] for r in readings}:
        return TONE_COST
    if _fuzzy(heard[:-1]) in {_fuzzy(r[:-1]) for r in readings}:
        return FUZZY_COST
    return None


def _replacements(heard: str, char: str, index: _Index) -> list[tuple[str, float]]:
    pool = set(index.by_sound.get(heard[:-1], ())) | set(index.by_fuzzy.get(_fuzzy(heard[:-1]), ()))
    pool.discard(char)
    return [(c, cost) for c in pool if (cost := _sound_cost(heard, c, index)) is not None]


def _heard_syllables(text: str) -> list[str]:
    """The reading of each character in context (pypinyin picks heteronyms by the surrounding words)."""
    heard = syllables(text, "numbers", unreadable="drop")
    return heard if len(heard) == len(text) else []


def correct_text(
    text: str,
    confidences: Sequence[float],
    hotwords: Sequence[str] = (),
    scorer: TextScorer | None = None,
) -> str:
    """Return ``text`` (CJK characters, same length out) with confident homophone corrections applied.

    Without ``scorer`` a change must raise the word LM by ``MIN_GAIN``. With one (the recognizer's log-probability
    of a text given the audio), the LM proposes a shortlist and the change must win under shallow fusion:
    Whisper's score difference plus ``LM_WEIGHT`` times the LM gain, minus the sound cost, above ``MIN_FUSED``.
    """
    if len(text) < 2 or len(confidences) != len(text):
        return text
    lm, index = get_word_lm(), _get_index()
    heard = _heard_syllables(text)
    if not heard:
        return text
    hot = frozenset(h for h in hotwords if h and all(is_han(c) for c in h))
    scorer = _memoized(scorer) if scorer else None
    conf = list(confidences)
    current, base = text, lm.score(text, hot)
    for _ in range(len(text)):  # each accepted change locks its characters, so this ends
        proposals = []
        for i, candidate, cost in _candidates(current, heard, conf, hot, index, lm.freq, scorer is not None):
            trial = current[:i] + candidate + current[i + len(candidate) :]
            proposals.append((lm.score(trial, hot) - base, cost, i, candidate, trial))
        best = _choose(current, proposals, scorer)
        if best is None:
            break
        i, candidate, current = best
        base = lm.score(current, hot)
        for k in range(i, i + len(candidate)):
            conf[k] = 1.0
    return current


def _memoized(scorer: TextScorer) -> TextScorer:
    """Score each distinct text once (an accepted change's text is the next round's baseline)."""
    seen: dict[str, float] = {}

    def score(texts: Sequence[str]) -> list[float]:
        new = [t for t in dict.fromkeys(texts) if t not in seen]
        if new:
            seen.update(zip(new, scorer(new), strict=True))
        return [seen[t] for t in texts]

    return score


def _choose(current: str, proposals: list, scorer: TextScorer | None) -> tuple[int, str, str] | None:
    """The accepted proposal ``(position, word, new text)``, or None."""
    if scorer is None:
        gain, cost, i, word, trial = max(proposals, default=(0.0, 0.0, 0, "", ""), key=lambda p: p[0] - p[1])
        return (i, word, trial) if gain - cost >= MIN_GAIN else None
    shortlist = sorted((p for p in proposals if p[0] - p[1] >= MIN_SHORTLIST_GAIN), key=lambda p: p[1] - p[0])
    shortlist = shortlist[:SHORTLIST]
    if not shortlist:
        return None
    scores = scorer([current, *(p[4] for p in shortlist)])
    fused = [s - scores[0] + LM_WEIGHT * p[0] - p[1] for p, s in zip(shortlist, scores[1:], strict=True)]
    k = max(range(len(fused)), key=fused.__getitem__)
    return (shortlist[k][2], shortlist[k][3], shortlist[k][4]) if fused[k] >= MIN_FUSED else None


def _candidates(
    text: str,
    heard: list[str],
    conf: list[float],
    hot: frozenset[str],
    index: _Index,
    freq: dict[str, int],
    verified: bool,
):
    """Yield ``(position, replacement word, sound cost)`` for every plausible same-sounding word."""
    max_changed = _MAX_CHANGED_VERIFIED if verified else _MAX_CHANGED
    for hotword in hot:
        for i in range(len(text) - len(hotword) + 1):
            span = text[i : i + len(hotword)]
            if span == hotword or any(
                a != b and conf[i + k] >= HOTWORD_CONFIDENCE for k, (a, b) in enumerate(zip(span, hotword, strict=True))
            ):
                continue
            costs = [
                0.0 if a == b else _sound_cost(heard[i + k], b, index)
                for k, (a, b) in enumerate(zip(span, hotword, strict=True))
            ]
            if None not in costs:
                yield i, hotword, sum(costs)
    # Per position: the heard character (no cost) and, if it was unsure, its same-sounding replacements.
    choices = [
        {ch: 0.0, **(dict(_replacements(heard[k], ch, index)) if conf[k] < LOW_CONFIDENCE and is_han(ch) else {})}
        for k, ch in enumerate(text)
    ]
    for i in range(len(text) - 1):
        if any(len(c) > 1 for c in choices[i : i + _SPAN_LENGTHS[-1]]):
            yield from _words_from(text, i, choices, index.successors, freq, max_changed)


def _words_from(
    text: str,
    i: int,
    choices: list[dict[str, float]],
    successors: dict[str, frozenset[str]],
    freq: dict[str, int],
    max_changed: dict[int, int],
):
    """Depth-first walk over the dictionary's prefixes from position ``i``: every word of 2–4 characters that
    changes at least one character yields ``(i, word, cost)``. Prefixes that start no dictionary word are cut
    at once, so the walk never enumerates the full product of replacement sets."""
    limit = max(max_changed.values())
    stack = [(c, cost, int(c != text[i])) for c, cost in choices[i].items() if c in successors]
    while stack:
        prefix, cost, changed = stack.pop()
        length = len(prefix)
        if length >= _SPAN_LENGTHS[0] and 0 < changed <= max_changed[length]:
            word_freq = freq.get(prefix) or 0
            if word_freq >= MIN_WORD_FREQ and word_freq >= 10 * max(freq.get(text[i : i + length]) or 0, 1):
                yield i, prefix, cost
        k = i + length
        if length == _SPAN_LENGTHS[-1] or k >= len(text):
            continue
        nexts = choices[k]
        keys = successors.get(prefix[0], frozenset()) & nexts.keys() if length == 1 else nexts
        for c in keys:
            extra = int(c != text[k])
            if changed + extra <= limit and prefix + c in freq:
                stack.append((prefix + c, cost + nexts[c], changed + extra))


def correct_words(words: list[Word], hotwords: Sequence[str] = (), scorer: TextScorer | None = None) -> None:
    """Correct homophones in recognized Mandarin words in place (each character keeps its word's timing).

    Runs of CJK characters are corrected separately (a word never spans punctuation or Latin text); ``scorer``,
    when given, scores whole texts, so each run's candidates are scored inside the full sentence.
    """
    # One memo for all runs: a run's baseline is the whole sentence as the previous run left it, often a text that
    # run already scored (5 of 53 scored texts on 3 minutes of Mandarin; each costs ~0.25 s of Whisper alignment).
    scorer = _memoized(scorer) if scorer else None
    runs: list[list[tuple[int, int]]] = [[]]  # (word index, char index) of each CJK character, by run
    for wi, w in enumerate(words):
        for ci, ch in enumerate(w.word):
            if is_han(ch):
                runs[-1].append((wi, ci))
            elif runs[-1]:
                runs.append([])
    for run in runs:
        if len(run) < 2:
            continue
        run_scorer = _in_context(words, run, scorer) if scorer else None
        text = "".join(words[wi].word[ci] for wi, ci in run)
        corrected = correct_text(text, [words[wi].probability for wi, _ in run], hotwords, run_scorer)
        for (wi, ci), new in zip(run, corrected, strict=True):
            w = words[wi]
            if w.word[ci] != new:
                w.word = w.word[:ci] + new + w.word[ci + 1 :]


def _in_context(words: list[Word], run: list[tuple[int, int]], scorer: TextScorer) -> TextScorer:
    """A scorer of replacement texts for one run that scores the whole sentence around it."""
    flat = "".join(w.word for w in words)
    offsets = list(itertools.accumulate((len(w.word) for w in words), initial=0))
    start = offsets[run[0][0]] + run[0][1]
    end = offsets[run[-1][0]] + run[-1][1] + 1
    return lambda texts: scorer([flat[:start] + t + flat[end:] for t in texts])
