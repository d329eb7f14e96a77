"""Finding rule phrases in a call's utterances: by words, by sound (:mod:`shenggu.solutions.qa.sounds`) and by
meaning (sentence embeddings).

Meaning compares each phrase with each sentence of an utterance (and the whole utterance when it has several)
by cosine similarity of their embeddings; the bundled embedder is the multilingual Universal Sentence Encoder of
FAQ retrieval (:mod:`shenggu.nlp.faq.embedder`), loaded only when a rule asks for meaning. A phrase that a
recognizer split over two utterances of one party is found in the two joined (the match must cross the join)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from shenggu.solutions.qa.record import Call
from shenggu.solutions.qa.sounds import GAP, Sounded, find_gapped, is_negated, sounded

# texts → one row per text; rows are L2-normalized here, so any sentence embedder fits
Embedder = Callable[[Sequence[str]], np.ndarray]
_SENTENCE = re.compile(r"[^。！？!?；;\n]+")


@dataclass(frozen=True)
class PhraseHit:
    """A phrase found: the utterances it spans (one, or two joined), which phrase, how (words, sound, meaning),
    a score (1 for words, 1 − errors/syllables for sound, the cosine similarity for meaning), the matched text,
    and whether a denial precedes it (不能保证收益)."""

    utterances: tuple[int, ...]
    phrase: str
    method: str
    score: float
    text: str
    negated: bool = False

    def describe(self) -> str:
        """Words for evidence: 'said 保证收益 (by sound)'."""
        how = f"meaning {self.score:.2f}" if self.method == "meaning" else self.method
        if self.method == "sound" and self.score < 1:
            how = f"sound, {self.score:.2f}"
        said = f"「{self.phrase}」" if self.method == "words" else f"「{self.text}」 for 「{self.phrase}」"
        return f"{said} (by {how}{', denied' if self.negated else ''})"


def default_embedder() -> Embedder:
    """The bundled multilingual sentence encoder (loads on first call, about 2 s)."""
    from shenggu.nlp.faq.embedder import encode

    return encode


class CallText:
    """A call's utterances ready to be searched: sounded once, sentence embeddings cached across rules."""

    def __init__(self, call: Call, embed: Embedder | None = None) -> None:
        self.call = call
        self._embed = embed
        self._sounded = [sounded(u.text) for u in call.utterances]
        self._vectors: dict[str, np.ndarray] = {}

    def find(
        self,
        phrases: Sequence[str],
        indexes: Sequence[int],
        *,
        sound_tolerance: float,
        meaning_threshold: float | None = None,
    ) -> list[PhraseHit]:
        """Every utterance among ``indexes`` (ascending) that says one of ``phrases``: one hit per utterance (or
        joined pair), the best by words or sound, else by meaning where ``meaning_threshold`` is given; in call
        order."""
        hits: list[PhraseHit] = []
        found: set[int] = set()
        for position, index in enumerate(indexes):
            hit = self._by_sound(phrases, (index,), self._sounded[index], sound_tolerance)
            if hit is None and position + 1 < len(indexes) and self._same_party(index, indexes[position + 1]):
                pair = (index, indexes[position + 1])
                joined = self._sounded[index] + self._sounded[pair[1]]
                hit = self._by_sound(phrases, pair, joined, sound_tolerance, across=len(self._sounded[index].chars))
            if hit is not None:
                hits.append(hit)
                found.update(hit.utterances)
        if meaning_threshold is not None:
            for hit in self.by_meaning(phrases, [i for i in indexes if i not in found]):
                if hit.score >= meaning_threshold:
                    hits.append(hit)
        return sorted(hits, key=lambda h: h.utterances)

    def by_meaning(self, phrases: Sequence[str], indexes: Sequence[int]) -> list[PhraseHit]:
        """For each utterance among ``indexes``, its sentence closest in meaning to one of ``phrases`` (any
        similarity), in call order."""
        if not indexes or not phrases:
            return []
        pieces = {i: self._pieces(self.call.utterances[i].text) for i in indexes}
        plain = [GAP.sub("", phrase) for phrase in phrases]  # 请问…本人 means 请问本人 to an embedder
        self._embed_missing([*plain, *(p for ps in pieces.values() for p in ps)])
        phrase_rows = np.stack([self._vectors[p] for p in plain])
        out = []
        for index, texts in pieces.items():
            if not texts:
                continue
            similarity = np.stack([self._vectors[t] for t in texts]) @ phrase_rows.T
            piece, phrase = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
            out.append(PhraseHit((index,), phrases[phrase], "meaning", float(similarity[piece, phrase]), texts[piece]))
        return out

    def _same_party(self, first: int, second: int) -> bool:
        return self.call.utterances[first].role == self.call.utterances[second].role

    def _by_sound(
        self,
        phrases: Sequence[str],
        utterances: tuple[int, ...],
        text: Sounded,
        tolerance: float,
        across: int | None = None,
    ) -> PhraseHit | None:
        best: PhraseHit | None = None
        for phrase in phrases:
            parts = [sounded(part) for part in GAP.split(phrase) if part.strip()]
            match = find_gapped(parts, text, tolerance) if parts else None
            if match is None or (across is not None and not match.start < across < match.end):
                continue
            score = 1.0 - match.errors / max(sum(len(part.chars) for part in parts), 1)
            hit = PhraseHit(
                utterances,
                phrase,
                match.method,
                score,
                text.chars[match.start : match.end],
                is_negated(text, match.start),
            )
            # prefer an affirmed hit, then words over sound, then fewer errors
            rank = (not hit.negated, hit.method == "words", hit.score)
            if best is None or rank > (not best.negated, best.method == "words", best.score):
                best = hit
        return best

    @staticmethod
    def _pieces(text: str) -> list[str]:
        sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
        return [*sentences, text.strip()] if len(sentences) > 1 else sentences

    def _embed_missing(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if not missing:
            return
        if self._embed is None:
            self._embed = default_embedder()
        rows = np.asarray(self._embed(missing), dtype=np.float32).reshape(len(missing), -1)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows / np.where(norms > 0, norms, 1.0)
        self._vectors.update(zip(missing, rows, strict=True))
