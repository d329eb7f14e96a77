"""Whisper engine on faster-whisper / CTranslate2: batched decoding of VAD chunks with n-best hypotheses.

faster-whisper's own ``transcribe`` decodes one 30 s window at a time and returns only the best hypothesis. Here
the encoder runs once per batch of speech chunks, hotwords get a second, prompted decoding pass whose text is
used only where it recognizes more of them (see ``shenggu.asr.hotwords``), and word timings come
from cross-attention alignment of the chosen hypothesis.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shenggu.asr.hotwords import choose_hypothesis
from shenggu.asr.slots import DecodeSlots, SlottedEngine
from shenggu.asr.types import ChunkResult, DecodeOptions, EngineTiming, Segment, TextScorer, Word
from shenggu.errors import InvalidOptionError

_PREPEND_PUNCT = "\"'“¿([{-"
_APPEND_PUNCT = "\"'.。,，!！?？:：”)]}、"
# Above this zlib compression ratio a text is almost surely a repetition loop (Whisper's own heuristic).
_LOOP_COMPRESSION_RATIO = 2.4
# Candidate texts scored per CTranslate2 call. Each call holds attention over every text's tokens (a 28 s Mandarin
# window reads ~200) against 1500 frames, so peak memory grew with the longest window a recording happened to
# have: 8 texts a call raised the peak ~190 MB over 20 minutes of audio, 2 texts ~70 MB, at the same speed.
_SCORE_BATCH = 2
# MKL's per-thread buffer cache (CTranslate2 on x86) grows with each worker thread: off, it saves ~35 MB per
# worker at the same speed. Must be set before ctranslate2 is first imported.
os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")


def compression_ratio(text: str) -> float:
    """How well ``text`` compresses: loops like 'the the the the' compress far better than speech does."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class WhisperRecognizer(SlottedEngine):
    """A Whisper model in CTranslate2 format (int8 on CPU), loaded once and shared by threads.

    ``threads`` single-threaded workers, not one worker with ``threads`` threads: the decoder's small per-token
    matrix products lose more to thread synchronisation than they gain (measured on 2 cores: beam search 2x
    faster on one thread), and two workers decode two batches or two streams' sentences at once (a file's
    batches 35 % faster in all).
    """

    def __init__(self, name: str, model_dir: Path, threads: int, compute_type: str = "int8") -> None:
        from faster_whisper import WhisperModel

        self.name = name
        self.model_dir = model_dir
        self.workers = max(1, threads)
        self._model = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=1,
            num_workers=self.workers,
            local_files_only=True,
        )
        self.multilingual = self._model.model.is_multilingual
        self._slots = DecodeSlots(self.workers)

    @property
    def languages(self) -> list[str]:
        """Language codes this model can transcribe."""
        return list(self._model.supported_languages) if self.multilingual else ["en"]

    def translate_speech(self, audio: np.ndarray, language: str | None = None) -> list[Segment]:
        """Whisper's own translate task: the speech (any language it knows) as English text, segment by segment
        with times. No hotwords, corrections or checks: the comparison point for shenggu's checked translation."""
        if not self.multilingual:
            raise InvalidOptionError(f"{self.name} is an English-only model: it cannot translate speech")
        with self._slots.hold():
            pieces, _ = self._model.transcribe(
                audio, task="translate", language=language, beam_size=5, vad_filter=True,
                condition_on_previous_text=False,
            )  # fmt: skip
            return [Segment(p.start, p.end, p.text.strip(), avg_logprob=p.avg_logprob) for p in pieces if p.text]

    def _tokenizer(self, language: str):
        from faster_whisper.tokenizer import Tokenizer

        if self.multilingual:
            return Tokenizer(self._model.hf_tokenizer, True, task="transcribe", language=language)
        return Tokenizer(self._model.hf_tokenizer, False)

    def _features(
        self, chunks: Sequence[np.ndarray], context_s: float = 30.0, pad_with_silence: bool = True
    ) -> np.ndarray:
        # At least the longest chunk plus a second, in whole seconds (100 frames each).
        needed = int(max(len(c) for c in chunks) / 16000) + 2
        frames = min(3000, 100 * max(needed, int(context_s)))
        return np.stack([self._padded_features(chunk, frames, pad_with_silence) for chunk in chunks]).astype(np.float32)

    def _padded_features(self, chunk: np.ndarray, frames: int, pad_with_silence: bool = True) -> np.ndarray:
        """Log-mel features of ``chunk`` padded with digital silence to ``frames``, as in Whisper's training.

        Padding the *features* with zeros (as faster-whisper's batched mode does) is not silence: a normalized 0 is
        quiet noise 4 log10 units above the floor. Silence is the floor itself, 2 below the chunk's maximum."""
        features = self._model.feature_extractor(chunk)[..., :-1][:, :frames]
        if features.shape[-1] == frames:
            return features
        floor = (features.max() - 2.0 if features.size else -1.5) if pad_with_silence else 0.0
        return np.pad(features, ((0, 0), (0, frames - features.shape[-1])), constant_values=floor)

    def _check_language(self, language: str | None) -> None:
        if language is not None and language not in self.languages:
            raise InvalidOptionError(f"engine '{self.name}' cannot transcribe language '{language}'")

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """Most likely language of (the first 30 s of) ``audio``."""
        if not self.multilingual:
            return "en", 1.0
        with self._slots.hold():
            encoder_output = self._model.encode(self._features([audio[: 30 * 16000]]))
            ranked = self._model.model.detect_language(encoder_output)[0]
        token, prob = ranked[0]
        return token[2:-2], float(prob)

    def decode_chunks(self, chunks: Sequence[np.ndarray], options: DecodeOptions) -> list[ChunkResult]:
        """Decode a batch of speech chunks (each ≤ 30 s); times in the results are relative to each chunk."""
        if not chunks:
            return []
        self._check_language(options.language)
        queued = time.perf_counter()
        with self._slots.hold(options.urgent):
            started = time.perf_counter()
            encoder_output = self._model.encode(self._features(chunks, options.context_s, options.pad_with_silence))
            encoded = time.perf_counter()
            languages = self._languages_for(encoder_output, len(chunks), options.language)
            prompts = [self._prompt(lang[0], options.initial_prompt) for lang in languages]
            decoded = self._generate(encoder_output, prompts, options)
            hypotheses = [(hyps[0], no_speech) for hyps, no_speech in decoded]
            if options.hotwords:
                context = " ".join([*options.hotwords, options.initial_prompt or ""])
                boosted_prompts = [self._prompt(lang[0], context) for lang in languages]
                prompted = self._generate(encoder_output, boosted_prompts, options)
                hypotheses = [
                    (choose_hypothesis(plain, hot, options.hotwords, self._tokenizer(lang[0]).decode), no_speech)
                    for lang, (plain, no_speech), (hot, _) in zip(languages, decoded, prompted, strict=True)
                ]
            chosen: list[list[int]] = []
            results: list[ChunkResult] = []
            for lang, (best, no_speech) in zip(languages, hypotheses, strict=True):
                text = self._tokenizer(lang[0]).decode(best[0]).strip()
                chosen.append(best[0])
                results.append(
                    ChunkResult(
                        segments=[Segment(0.0, 0.0, text, [], best[1], no_speech)],
                        language=lang[0],
                        language_probability=lang[1],
                    )
                )
            if options.break_loops:
                chosen = self._break_loops(encoder_output, prompts, chosen, results, options)
            if options.word_timestamps:
                self._add_words(encoder_output, chunks, languages, chosen, results)
            generated = time.perf_counter()
            if options.refine:
                encoder_array = np.asarray(encoder_output)
                for i, (chunk, lang, result) in enumerate(zip(chunks, languages, results, strict=True)):
                    options.refine(result, self._scorer(encoder_array[i], lang[0], min(len(chunk) // 160, 3000)))
        timing = EngineTiming(started - queued, encoded - started, generated - encoded, time.perf_counter() - generated)
        for chunk, result in zip(chunks, results, strict=True):
            result.timing = timing
            seg = result.segments[0]
            seg.end = len(chunk) / 16000
            if seg.words:
                seg.start, seg.end = seg.words[0].start, seg.words[-1].end
        return results

    def align_texts(
        self, audio: np.ndarray, texts: Sequence[str], language: str, context_s: float = 30.0
    ) -> list[list[Word]]:
        """Force each of ``texts`` (non-empty) onto ``audio`` (≤ 30 s) with one encoder pass: its pieces with their
        time spans and the probability Whisper gives each piece when it is made to read that text.

        Pieces are Whisper's word units: characters (or a multi-character token) in Mandarin, words otherwise; a
        text's pieces concatenate back to the text. Used by pronunciation assessment (reading a known text)."""
        import ctranslate2

        self._check_language(language)
        tokenizer = self._tokenizer(language)
        tokens = [tokenizer.encode(text) for text in texts]
        num_frames = min(len(audio) // 160, 3000)
        with self._slots.hold():
            encoded = np.asarray(self._model.encode(self._features([audio], context_s)))
            copies = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(encoded, len(texts), 0)))
            alignments = self._model.find_alignment(tokenizer, tokens, copies, [num_frames] * len(texts))
        return [_to_words(alignment, len(audio) / 16000) for alignment in alignments]

    def _scorer(self, encoded: np.ndarray, language: str, num_frames: int) -> TextScorer:
        """Teacher-forced log-probability of candidate texts for one chunk (Whisper as acoustic + context LM)."""
        import ctranslate2

        tokenizer = self._tokenizer(language)

        def score(texts: Sequence[str]) -> list[float]:
            scores: list[float] = []
            # A few texts at a time (see _SCORE_BATCH): each needs its own copy of the encoder output.
            for i in range(0, len(texts), _SCORE_BATCH):
                group = texts[i : i + _SCORE_BATCH]
                tokens = [tokenizer.encode(t) or [tokenizer.eot] for t in group]
                copies = np.ascontiguousarray(np.repeat(encoded[None], len(group), 0))
                batch = ctranslate2.StorageView.from_array(copies)
                results = self._model.model.align(batch, tokenizer.sot_sequence, tokens, [num_frames] * len(group))
                scores += [float(np.log(np.maximum(np.asarray(r.text_token_probs), 1e-12)).sum()) for r in results]
            return scores

        return score

    def _languages_for(self, encoder_output, n: int, language: str | None) -> list[tuple[str, float]]:
        if language is not None or not self.multilingual:
            return [(language or "en", 1.0)] * n
        return [
            (ranked[0][0][2:-2], float(ranked[0][1])) for ranked in self._model.model.detect_language(encoder_output)
        ]

    def _prompt(self, language: str, context: str | None) -> list[int]:
        tokenizer = self._tokenizer(language)
        prompt: list[int] = []
        if context and context.strip():
            # Whisper conditions on "previous text": terms there bias the spelling of names and terms.
            prompt = [tokenizer.sot_prev, *tokenizer.encode(" " + context.strip())[-(448 // 2 - 1) :]]
        return [*prompt, *tokenizer.sot_sequence]

    def _generate(self, encoder_output, prompts, options: DecodeOptions, **overrides):
        from faster_whisper.transcribe import get_suppressed_tokens

        tokenizer = self._tokenizer(self.languages[0] if not self.multilingual else "en")
        results = self._model.model.generate(
            encoder_output,
            prompts,
            beam_size=options.beam_size,
            num_hypotheses=options.beam_size if options.hotwords else 1,
            length_penalty=1.0,
            max_length=448,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
            **overrides,
        )
        return [(list(zip(r.sequences_ids, r.scores, strict=True)), float(r.no_speech_prob)) for r in results]

    def _break_loops(self, encoder_output, prompts, chosen, results, options: DecodeOptions) -> list[list[int]]:
        """Re-decode chunks whose text is a repetition loop with a repetition penalty; keep the better text."""
        looping = [i for i, r in enumerate(results) if compression_ratio(r.segments[0].text) > _LOOP_COMPRESSION_RATIO]
        for i in looping:
            retry = self._generate(
                _select(encoder_output, i),
                [prompts[i]],
                DecodeOptions(beam_size=options.beam_size),
                repetition_penalty=1.3,
                no_repeat_ngram_size=4,
            )[0][0][0]
            text = self._tokenizer(results[i].language).decode(retry[0]).strip()
            if compression_ratio(text) < compression_ratio(results[i].segments[0].text):
                chosen[i] = retry[0]
                results[i].segments[0].text = text
                results[i].segments[0].avg_logprob = retry[1]
        return chosen

    def _add_words(self, encoder_output, chunks, languages, chosen, results) -> None:
        from faster_whisper.transcribe import merge_punctuations

        tokenizer = self._tokenizer(languages[0][0])
        eot = tokenizer.eot
        text_tokens = [[t for t in ids if t < eot] or [tokenizer.encode(" ")[0]] for ids in chosen]
        num_frames = [min(len(c) // 160, 3000) for c in chunks]
        alignments = self._model.find_alignment(tokenizer, text_tokens, encoder_output, num_frames)
        for chunk, alignment, result, ids in zip(chunks, alignments, results, chosen, strict=True):
            if not [t for t in ids if t < eot]:
                continue
            merge_punctuations(alignment, _PREPEND_PUNCT, _APPEND_PUNCT)
            result.segments[0].words = _to_words(alignment, len(chunk) / 16000)


def _to_words(alignment: list[dict], limit: float) -> list[Word]:
    """faster-whisper's aligned words as ``Word`` objects, ends clipped to the audio's length ``limit``."""
    return [
        Word(
            start=min(float(w["start"]), limit),
            end=min(float(w["end"]), limit),
            word=w["word"],
            probability=float(w["probability"]),
        )
        for w in alignment
        if w["word"]
    ]


def _select(storage, index: int):
    """One item of a batched CTranslate2 encoder output, as a batch of one."""
    import ctranslate2

    array = np.asarray(storage)[index : index + 1]
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(array))
