"""How the assistant listens: streaming ASR tuned for one spoken question at a time, and early answers.

The end of a question is found by the stream's VAD endpointing: a sentence closes after ``END_SILENCE_MS`` of
silence, and that wait is part of what the caller waits for (end of question → first answer audio). Too short
an endpoint cuts questions at a comma's pause (people pause 300-500 ms there); too long a one is dead air.

Early answers hide most of the wait. The stream already decodes the open sentence at final quality once it has
been silent ``SPECULATE_MS`` (``StreamingSession``'s speculative final). When that decode is ready and the pause
has lasted ``EARLY_ANSWER_MS``, the assistant retrieves the answer and synthesizes its first audio right away,
and holds it. If the endpoint then closes the sentence with that very text (it does whenever the speaker stays
silent: the final *is* the speculative decode), the prepared answer goes out at once; if speech resumes, it is
dropped. So the caller waits for about ``max(END_SILENCE_MS, speculative decode + retrieval + first audio)``
rather than their sum.
"""

from __future__ import annotations

from dataclasses import dataclass

from shenggu.asr.streaming import StreamingSession, StreamOptions

# Silence after which a spoken question is complete (the streaming default is 400 ms): long enough not to cut
# a question at a comma, and no longer than an early answer needs anyway to be ready.
END_SILENCE_MS = 600
# Speculative final decode after this much silence (the streaming default).
SPECULATE_MS = 100
# An early answer is prepared after this much silence, once the speculative decode is ready: pauses between
# words are shorter, so little work is thrown away when the speaker goes on.
EARLY_ANSWER_MS = 200
# Questions with less speech than this wait SHORT_SILENCE_MS (a lone "嗯" or a cough must not become a question
# too eagerly, and Whisper misreads fragments); a real question ("几点开门") has more than 600 ms of speech.
SHORT_SENTENCE_MS = 600
SHORT_SILENCE_MS = 800
# Encoder context of a question's final (at least twice the question; the streaming default is 15 s): a spoken
# question is a few seconds long, and a shorter context readies the speculative decode sooner. On the 57 spoken
# banking questions of `bench assistant` (2-core CPU): 15 s gave a 1.55 s median latency with 51 % early answers,
# 10 s 1.41-1.53 s with 67-86 % at the same CER (0.185 → 0.176); 6 s gained nothing more and lost accuracy.
FINAL_CONTEXT_S = 10.0


def listen_options(language: str | None = None, end_silence_ms: int | None = None) -> StreamOptions:
    """Streaming options for spoken questions (``language``: zh, en, or None to detect)."""
    end = end_silence_ms or END_SILENCE_MS
    return StreamOptions(
        language=language,
        end_silence_ms=end,
        speculate_ms=min(SPECULATE_MS, end // 2),
        short_sentence_ms=SHORT_SENTENCE_MS,
        short_silence_ms=max(SHORT_SILENCE_MS, end),
        final_context_s=FINAL_CONTEXT_S,
    )


@dataclass(frozen=True)
class Settled:
    """The open sentence's text, decoded at final quality during the pause it is in now (``key`` names the
    sentence and the pause: the same key means the same text)."""

    key: tuple[float, float]
    text: str


def join_texts(texts: list[str], language: str | None) -> str:
    """Finals' texts as one question (Mandarin without spaces)."""
    parts = [t.strip() for t in texts if t.strip()]
    return ("" if (language or "zh") == "zh" else " ").join(parts)


class QuestionListener(StreamingSession):
    """A ``StreamingSession`` that also says when the open sentence is settled: silent for a while and
    decoded at final quality for this pause, so that the final to come (if the silence lasts) has this text."""

    def settled(self, min_silence_ms: int = EARLY_ANSWER_MS) -> Settled | None:
        """The open sentence's settled text, or None (in speech, pause too short, decode not ready)."""
        final = self.speculative_final
        if final is None or self.audio_seconds - final.silence_start < min_silence_ms / 1000:
            return None
        text = join_texts([s.text for s in final.segments], self.language or final.language)
        return Settled((final.start, final.silence_start), text)
