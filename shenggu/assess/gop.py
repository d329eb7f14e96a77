"""Goodness of pronunciation (GOP) with PocketSphinx: forced alignment of the expected words against a free phone
loop over the same audio.

Three passes over one utterance, all with the bundled US-English model and cmudict:

1. a finite-state grammar of the reference words, with an optional pause before, between and after them, picks
   the pronunciation variants and the word boundaries;
2. a state-level forced alignment of that word sequence gives each phone its frames and acoustic score;
3. a phone loop (all context-independent phones, weighted by the bundled phone n-gram ``en-us-phone.lm.bin``)
   gives the best score any phone sequence reaches on the same frames.

GOP of a phone = (aligned score − phone-loop score over the same frames) / frames, the loop's segment scores shared
out by frame overlap. It is a log-likelihood ratio per frame in nats: 0 when the expected phone is as likely as
anything else the model can hear there, negative when something else fits better. It is capped at 0: the loop is
pruned and LM-weighted (and PocketSphinx's loop segment scores keep a trace of the LM score), so the forced path
can come out a little ahead.

Long readings are aligned in pieces cut in pauses (see ``_pieces``). Calls run in parallel on a pool of decoders
(PocketSphinx decoders are not thread-safe): one per concurrent call, up to one per CPU core and at most four,
about 30 MB and 0.1 s to build each.

Score units: PocketSphinx keeps scores as integer logarithms in base ``logbase`` (1.0001) shifted right by
``SENSCR_SHIFT`` (10) bits, normalised per frame by the best evaluated senone. ``compallsen`` evaluates every
senone in every pass, so the alignment and the loop share the same per-frame reference and their difference is a
true likelihood ratio.
"""

from __future__ import annotations

import math
import os
import queue
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from shenggu.audio.encode import pcm16

if TYPE_CHECKING:
    from pocketsphinx import FsgModel

_SENSCR_SHIFT = 10  # PocketSphinx's acoustic score shift (bits), fixed at compile time
_SILENCE = "<sil>"
_FILLER_PHONES = frozenset({"+NSN+", "+SPN+"})  # the model's noise and non-speech phones: filled pauses
_PAUSE_PROB = 0.3  # grammar probability of an optional pause at each word boundary
_LOOP_LM_WEIGHT = 1.0  # light: the loop stays close to a free phone loop, the classic GOP denominator
_WIDE_BEAM = 1e-200  # the grammar is one path, cheap to search wide; narrow beams lose poor readings
_VARIANT = re.compile(r"\(\d+\)$")  # cmudict's alternative pronunciations: "to(3)"
# Long readings are aligned in pieces of about this many frames (100 a second), cut in pauses: the state alignment
# keeps a backpointer per HMM state per frame, so its memory grows with duration × text length.
_PIECE_FRAMES = 2000
_FRAME_BYTES = 320  # 16-bit samples per 10 ms frame at 16 kHz
_MAX_DECODERS = 4  # decoders kept for concurrent calls (about 30 MB each); the work is CPU-bound


@dataclass(frozen=True)
class PhoneGop:
    """One aligned phone: its frames and goodness of pronunciation (nats per frame, ≤ 0)."""

    phone: str
    start: int
    frames: int
    gop: float


@dataclass(frozen=True)
class AlignedWord:
    """One reference word as aligned (frames), with its phones."""

    word: str
    start: int
    frames: int
    phones: tuple[PhoneGop, ...]


@dataclass(frozen=True)
class Alignment:
    """The reference words of one utterance aligned to its audio.

    ``pauses`` are the silences the aligner placed between words (``(start, frames)``); ``filled_pause_frames``
    counts frames between the first and the last word that the phone loop heard as noise or non-speech (an "uh")
    outside those pauses.
    """

    words: tuple[AlignedWord, ...]
    pauses: tuple[tuple[int, int], ...]
    filled_pause_frames: int
    frame_rate: int


_Entries = list[tuple[str, int, int, list[tuple[str, int, int, int]]]]
"""Aligned words ``(word, start, frames, phones)``, each phone ``(phone, start, frames, score)``."""
_Loop = list[tuple[str, int, int, float]]
"""Phone-loop segments ``(phone, start, end, density)``, ``end`` excluded, density = ``logbase ** score``."""


class _Decoder:
    """One PocketSphinx decoder with the searches GOP needs; not thread-safe (``PocketSphinxGop`` pools them)."""

    def __init__(self, root: Path) -> None:
        import pocketsphinx

        self._ps = pocketsphinx.Decoder(
            hmm=str(root / "en-us"),
            dict=str(root / "cmudict-en-us.dict"),
            lm=None,
            loglevel="FATAL",  # alignment failures are reported to the caller, not printed
            # Every senone scored in every pass, so that all passes share the per-frame normalisation.
            compallsen=True,
            # The lattice best path adds 1-frame <s>/</s> words that make the second (state) pass fail.
            bestpath=False,
            fsgusefiller=False,  # the grammar has its own optional pauses
            beam=_WIDE_BEAM,
            wbeam=_WIDE_BEAM,
            pbeam=_WIDE_BEAM,
            maxhmmpf=-1,
            lw=_LOOP_LM_WEIGHT,
        )
        self._ps.add_allphone_file("_loop", str(root / "en-us-phone.lm.bin"))
        self.frame_rate = int(self._ps.config["frate"])
        self.log_base = math.log(float(self._ps.config["logbase"]))

    def lookup(self, word: str) -> str | None:
        """The dictionary's first pronunciation of ``word`` (space-separated phones), or ``None``."""
        return self._ps.lookup_word(word)

    def align(
        self, pcm: bytes, words: Sequence[str], pronunciations: Mapping[str, Sequence[str]]
    ) -> tuple[_Entries, _Loop, int] | None:
        """Aligned words, phone-loop segments and the frame count of 16-bit ``pcm``; ``None`` without alignment."""
        ps = self._ps
        for word, phones in pronunciations.items():
            if ps.lookup_word(word) is None:
                ps.add_word(word, " ".join(phones), True)
        segments = self._word_pass(pcm, words)
        if segments is None:
            return None
        pieces = _pieces(segments)
        try:
            if len(pieces) == 1:  # the word pass just run is the piece's: go straight to the state pass
                aligned = self._state_pass(pcm)
            else:
                aligned = [entry for piece in pieces for entry in self._align_piece(pcm, *piece)]
        except RuntimeError:  # a state alignment could not reach the end of its audio
            return None
        ps.activate_search("_loop")
        self._decode(pcm)
        loop = [(seg.word, seg.start_frame, seg.end_frame + 1, seg.ascore) for seg in ps.seg()]
        return aligned, loop, ps.n_frames()

    def _word_pass(self, pcm: bytes, words: Sequence[str]) -> list[tuple[str, int, int]] | None:
        """Decode ``pcm`` with the grammar of ``words``: ``(word or <sil>, start, end)`` frames (end excluded) of
        the best path, ``None`` when no path reaches the end of the grammar."""
        self._ps.add_fsg("_reference", self._grammar(words))
        self._ps.activate_search("_reference")
        self._decode(pcm)
        segments = self._ps.seg()
        return None if segments is None else [(s.word, s.start_frame, s.end_frame + 1) for s in segments]

    def _state_pass(self, pcm: bytes) -> _Entries:
        """Phone-level alignment of the word pass just run on ``pcm``; raises ``RuntimeError`` when it fails."""
        self._ps.set_alignment()
        self._decode(pcm)
        # Plain tuples: alignment entries point into decoder memory that the next pass reuses.
        return [
            (word.name, word.start, word.duration, [(p.name, p.start, p.duration, p.score) for p in word])
            for word in self._ps.get_alignment()
        ]

    def _align_piece(self, pcm: bytes, start: int, end: int, words: Sequence[str]) -> _Entries:
        """Word and state passes over frames ``[start, end)`` of a long reading, entries moved to its frames."""
        piece = pcm[start * _FRAME_BYTES : end * _FRAME_BYTES]
        if self._word_pass(piece, words) is None:
            raise RuntimeError("no alignment for a piece of the reading")
        return [
            (name, s + start, frames, [(phone, ps + start, pf, score) for phone, ps, pf, score in phones])
            for name, s, frames, phones in self._state_pass(piece)
        ]

    def _decode(self, pcm: bytes) -> None:
        # Fresh noise statistics per pass: they otherwise carry over from the previous utterance and make passes
        # over the same audio disagree (and alignments fail).
        self._ps.reinit_feat()
        self._ps.start_utt()
        self._ps.process_raw(pcm, full_utt=True)
        self._ps.end_utt()

    def _grammar(self, words: Sequence[str]) -> FsgModel:
        """Words in order with an optional pause before each word and after the last, built without empty (null)
        transitions: PocketSphinx reports those as words without a pronunciation, which cannot be aligned.

        State 2i is "before word i", 2i+1 "before word i, after a pause"; 2n is "after the last word, before a
        final pause" and 2n+1 the end."""
        n = len(words)
        transitions = []
        for i, word in enumerate(words):
            transitions.append((2 * i, 2 * i + 1, _PAUSE_PROB, _SILENCE))
            for state in (2 * i, 2 * i + 1):
                if i < n - 1:
                    transitions.append((state, 2 * i + 2, 1.0, word))
                else:
                    transitions.append((state, 2 * n + 1, 1.0 - _PAUSE_PROB, word))
                    transitions.append((state, 2 * n, _PAUSE_PROB, word))
        transitions.append((2 * n, 2 * n + 1, 1.0, _SILENCE))
        return self._ps.create_fsg("_reference", 0, 2 * n + 1, transitions)


class PocketSphinxGop:
    """Forced alignment and phone-loop GOP over the PocketSphinx US-English model; thread-safe.

    Each call borrows a decoder from a pool that grows on demand up to ``max_decoders`` (default: the number of
    CPU cores, at most ``_MAX_DECODERS``); more callers wait."""

    def __init__(self, model_dir: Path | None = None, max_decoders: int | None = None) -> None:
        import pocketsphinx

        self._root = Path(model_dir or pocketsphinx.get_model_path()) / "en-us"
        first = _Decoder(self._root)  # built now: a broken model fails here, not in the first request
        self._frame_rate, self._log_base = first.frame_rate, first.log_base
        self._idle: queue.SimpleQueue[_Decoder] = queue.SimpleQueue()
        self._idle.put(first)
        self._slots = threading.BoundedSemaphore(max_decoders or min(os.cpu_count() or 1, _MAX_DECODERS))

    @contextmanager
    def _decoder(self) -> Iterator[_Decoder]:
        with self._slots:
            try:
                decoder = self._idle.get_nowait()
            except queue.Empty:
                decoder = _Decoder(self._root)
            try:
                yield decoder
            finally:
                self._idle.put(decoder)

    def lookup(self, word: str) -> list[str] | None:
        """The dictionary's (first) pronunciation of a lower-case word, or ``None`` if it has none."""
        with self._decoder() as decoder:
            phones = decoder.lookup(word)
        return phones.split() if phones else None

    def align(
        self, samples: np.ndarray, words: Sequence[str], pronunciations: Mapping[str, Sequence[str]]
    ) -> Alignment | None:
        """Align ``words`` (dictionary keys; ``pronunciations`` supplies phones for those the dictionary lacks) to
        16 kHz mono float32 ``samples`` and score every phone; ``None`` when no alignment exists (audio too short
        for the text, or nothing like it)."""
        with self._decoder() as decoder:
            raw = decoder.align(pcm16(samples), words, pronunciations)
        return None if raw is None else self._score(*raw)

    def _score(self, aligned: _Entries, loop: _Loop, n_frames: int) -> Alignment:
        """Per-phone GOP, pauses and filled pauses from aligned words and phone-loop segments."""
        nats_per_unit = self._log_base * (1 << _SENSCR_SHIFT)
        per_frame = np.zeros(n_frames)
        filler = np.zeros(n_frames, dtype=bool)
        for phone, start, end, density in loop:
            # Segment scores come back as probabilities (base ** score): recover the integer score, shared out
            # evenly over the segment's frames.
            per_frame[start:end] = math.log(max(density, 1e-300)) / self._log_base / (end - start)
            filler[start:end] = phone in _FILLER_PHONES
        loop_cumulative = np.concatenate([[0.0], np.cumsum(per_frame)])

        words: list[AlignedWord] = []
        pauses: list[tuple[int, int]] = []
        for name, start, frames, phones in aligned:
            if name == _SILENCE:
                pauses.append((start, frames))
                continue
            scored = []
            for phone, p_start, p_frames, score in phones:
                loop_score = loop_cumulative[p_start + p_frames] - loop_cumulative[p_start]
                gop = min(0.0, float(score - loop_score) / p_frames * nats_per_unit)
                scored.append(PhoneGop(phone, p_start, p_frames, gop))
            words.append(AlignedWord(_VARIANT.sub("", name), start, frames, tuple(scored)))

        first, last = words[0].start, words[-1].start + words[-1].frames
        inner_pauses = tuple((s, f) for s, f in pauses if first <= s < last)
        in_pause = np.zeros(n_frames, dtype=bool)
        for s, f in inner_pauses:
            in_pause[s : s + f] = True
        filled = int(np.count_nonzero(filler[first:last] & ~in_pause[first:last]))
        return Alignment(tuple(words), inner_pauses, filled, self._frame_rate)


def _pieces(segments: list[tuple[str, int, int]]) -> list[tuple[int, int, list[str]]]:
    """Cut a word pass into pieces ``(start, end, words)`` of about ``_PIECE_FRAMES``: in the middle of the first
    pause past half that length, or at a word boundary past the full length when there is no pause."""
    pieces: list[tuple[int, int, list[str]]] = []
    start, words = 0, []
    last_word = max(i for i, (name, _, _) in enumerate(segments) if name != _SILENCE)
    for i, (name, s, e) in enumerate(segments):
        more_words = i < last_word
        if name != _SILENCE:
            words.append(name)
            if e - start >= _PIECE_FRAMES and more_words:
                pieces.append((start, e, words))
                start, words = e, []
        elif words and more_words and (s + e) // 2 - start >= _PIECE_FRAMES // 2:
            cut = (s + e) // 2
            pieces.append((start, cut, words))
            start, words = cut, []
    pieces.append((start, segments[-1][2], words))
    return pieces
