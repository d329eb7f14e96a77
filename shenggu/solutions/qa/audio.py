"""A call recording in, a :class:`~shenggu.solutions.qa.record.Call` out: who said what, when.

Stereo recordings (the common case in call centres: agent and customer on separate channels) are recognized one
channel at a time, so each utterance's party is known and overtalk is real overlap. Mono recordings are
recognized once and diarized into two speakers. Either way the agent is the enrolled agent voice when one is
given (mono), a fixed channel when the operator names it (stereo), or else the party that greets and offers
service at the start (您好，欢迎致电… / 有什么可以帮您), the first to speak when nobody does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.types import Recognizer, Segment, Transcript
from shenggu.audio.decode import SAMPLE_RATE, decode_channels, encode_wav
from shenggu.audio.errors import SilentAudioError
from shenggu.config import Settings
from shenggu.diarize.assign import diarize_transcript
from shenggu.diarize.pipeline import DiarizeOptions
from shenggu.diarize.types import SpeakerEncoder
from shenggu.errors import InvalidOptionError
from shenggu.solutions.qa.record import Call, Utterance
from shenggu.solutions.qa.sounds import find_phrase, sounded

Channels = Literal["auto", "stereo", "mono"]
AgentChannel = Literal["auto", "left", "right"]
CHANNEL_MODES: tuple[str, ...] = Channels.__args__  # type: ignore[attr-defined]
AGENT_CHANNELS: tuple[str, ...] = AgentChannel.__args__  # type: ignore[attr-defined]

# What an agent says when picking up, with how much each says "I am the agent": offering service is specific to
# the agent; a bare 您好 is also what customers say. Matched by sound, so 欢迎至电 still counts.
_GREETING_CUES: tuple[tuple[str, float], ...] = (
    ("欢迎致电", 2.0),
    ("很高兴为您服务", 2.0),
    ("有什么可以帮您", 2.0),
    ("工号", 2.0),
    ("客服", 1.0),
    ("您好", 1.0),
)
_GREETING_SECONDS = 20.0  # a pick-up greeting is said at the start
_CUE_TOLERANCE = 0.2  # share of a cue's syllables that may sound different (ASR homophones)
_CALL_SPEAKERS = DiarizeOptions(num_speakers=2)
# One channel of a stereo call: speech more than this apart is recognized in separate windows, so a party's turns
# before and after the other party's (a gap of a short answer plus two pauses, ~1.5 s) stay separate utterances.
_CHANNEL_WINDOW_GAP_S = 1.0


@dataclass
class CallAudioOptions:
    """How to read a call recording.

    ``channels``: ``stereo`` recognizes each channel apart (one party per channel), ``mono`` mixes and diarizes,
    ``auto`` picks stereo for two-channel files whose channels differ (a stereo file holding the same mix twice
    is mono). ``agent_channel`` (stereo): which side is the agent; ``auto`` = the side that greets.
    ``agent_voice`` (mono): an enrolled embedding of the agent's voice."""

    language: str = "zh"
    hotwords: list[str] = field(default_factory=list)
    channels: Channels = "auto"
    agent_channel: AgentChannel = "auto"
    agent_voice: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.channels not in CHANNEL_MODES:
            raise InvalidOptionError(f"channels must be one of {', '.join(CHANNEL_MODES)}, not {self.channels!r}")
        if self.agent_channel not in AGENT_CHANNELS:
            raise InvalidOptionError(
                f"agent_channel must be one of {', '.join(AGENT_CHANNELS)}, not {self.agent_channel!r}"
            )

    def transcribe_options(self, settings: Settings | None = None) -> TranscribeOptions:
        """Recognition options of the call's language and hotwords (with the batching ``settings`` configure)."""
        options = TranscribeOptions(language=self.language, hotwords=list(self.hotwords))
        return options.batched_as(settings) if settings is not None else options


def greeting_score(texts: Sequence[str]) -> float:
    """How much ``texts`` (one party's opening utterances) sound like an agent picking up a call."""
    heard = [sounded(text) for text in texts]
    return sum(
        weight
        for cue, weight in _GREETING_CUES
        if any(find_phrase(sounded(cue), h, _CUE_TOLERANCE) is not None for h in heard)
    )


def agent_of(openings: dict[Any, list[tuple[float, str]]]) -> Any:
    """The party (key of ``openings``: party → its ``(start, text)`` utterances) that greets at the start; on a
    tie the first to speak. ``openings`` must not be empty."""

    def first_time(party: Any) -> float:
        return min((start for start, _ in openings[party]), default=float("inf"))

    def score(party: Any) -> float:
        return greeting_score([text for start, text in openings[party] if start < _GREETING_SECONDS])

    return max(openings, key=lambda party: (score(party), -first_time(party)))


def _utterances(segments: Sequence[Segment], role: str, channel: int | None) -> list[Utterance]:
    return [Utterance(role, s.start, s.end, s.text, channel) for s in segments if s.text.strip()]  # type: ignore[arg-type]


def _channel_segments(samples: np.ndarray, recognizer: Recognizer, options: TranscribeOptions, name: str) -> list:
    """One channel's recognized segments; none for a channel without speech (a party that never spoke)."""
    try:
        return transcribe(encode_wav(samples), recognizer, options, name=name).segments
    except SilentAudioError:
        return []


def _stereo_call(
    sides: np.ndarray,
    recognizer: Recognizer,
    options: CallAudioOptions,
    recognition: TranscribeOptions,
    name: str,
    progress: Callable[[float], None] | None,
) -> list[Utterance]:
    segments = []
    recognition = replace(recognition, window_gap_s=min(recognition.window_gap_s, _CHANNEL_WINDOW_GAP_S))
    for index, samples in enumerate(sides):
        segments.append(_channel_segments(samples, recognizer, recognition, f"{name} channel {index}"))
        if progress:
            progress((index + 1) / len(sides))
    if not any(segments):
        raise SilentAudioError(f"no speech found on either channel of {name}", sides.shape[1] / SAMPLE_RATE)
    if options.agent_channel == "auto":
        agent = agent_of({i: [(s.start, s.text) for s in side] for i, side in enumerate(segments)})
    else:
        agent = AGENT_CHANNELS.index(options.agent_channel) - 1
    utterances = [u for i, side in enumerate(segments) for u in _utterances(side, _role(i == agent), i)]
    return sorted(utterances, key=lambda u: (u.start, u.end))


def _role(is_agent: bool) -> str:
    return "agent" if is_agent else "customer"


def _mono_call(
    samples: np.ndarray,
    recognizer: Recognizer,
    options: CallAudioOptions,
    recognition: TranscribeOptions,
    name: str,
    encoder: SpeakerEncoder | None,
    progress: Callable[[float], None] | None,
) -> list[Utterance]:
    transcript = transcribe(encode_wav(samples), recognizer, recognition, progress=progress, name=name)
    roles = ("agent", "customer") if options.agent_voice is not None else ()
    voices = {"agent": options.agent_voice} if options.agent_voice is not None else None
    labelled = diarize_transcript(transcript, samples, _CALL_SPEAKERS, roles, voices, encoder)
    agent = _agent_speaker(labelled)
    return [
        Utterance(_role(s.speaker == agent), s.start, s.end, s.text)  # type: ignore[arg-type]
        for s in labelled.segments
        if s.text.strip()
    ]


def _agent_speaker(transcript: Transcript) -> str | None:
    """The agent's speaker label: the one enrolled as agent, else the greeter."""
    enrolled = [speaker for speaker, role in transcript.speakers.items() if role == "agent"]
    if enrolled:
        return enrolled[0]
    openings: dict[str | None, list[tuple[float, str]]] = {}
    for segment in transcript.segments:
        openings.setdefault(segment.speaker, []).append((segment.start, segment.text))
    return agent_of(openings) if openings else None


def _is_stereo(sides: np.ndarray, mode: Channels) -> bool:
    if mode != "auto":
        return mode == "stereo"
    # The same signal on both sides is a mono call stored as stereo: recognizing it twice would double it.
    return sides.shape[0] == 2 and not np.allclose(sides[0], sides[1], atol=1e-3)


def call_from_audio(
    path: Path,
    recognizer: Recognizer,
    options: CallAudioOptions | None = None,
    *,
    encoder: SpeakerEncoder | None = None,
    call_id: str = "",
    metadata: dict[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
    settings: Settings | None = None,
) -> Call:
    """The call recorded in ``path``: utterances with roles and times, in time order (recognition batched as
    ``settings`` say, where given).

    Raises the audio errors of :func:`~shenggu.audio.decode.decode_audio` for a bad file,
    :class:`~shenggu.audio.errors.SilentAudioError` for a recording without speech, and
    :class:`~shenggu.errors.InvalidOptionError` for ``channels="stereo"`` on a mono file."""
    options = options or CallAudioOptions()
    sides = decode_channels(path, path.name)
    if options.channels == "stereo" and sides.shape[0] < 2:
        raise InvalidOptionError(f"{path.name} has one channel; channels=stereo needs two (agent and customer)")
    duration = sides.shape[1] / SAMPLE_RATE
    recognition = options.transcribe_options(settings)
    if _is_stereo(sides, options.channels):
        utterances = _stereo_call(sides, recognizer, options, recognition, path.name, progress)
    else:
        mixed = sides.mean(axis=0, dtype=np.float32) if sides.shape[0] > 1 else sides[0]
        utterances = _mono_call(mixed, recognizer, options, recognition, path.name, encoder, progress)
    return Call(utterances, duration, dict(metadata or {}), call_id or path.stem)
