"""Multi-speaker Mandarin test recordings built from single-speaker clips of ``shared/eval`` with known turns.

The evaluation set has Mandarin clips of one speaker each; diarization needs conversations. Each mix below
alternates clips (or halves of clips, cut at their longest pause near the middle) of different speakers with
short silences between them, and its reference RTTM says who speaks where (each part's span of speech, found
by VAD without padding). The recipes name clips, not audio, so nothing is redistributed: the mixes are built
from the evaluation folder on the machine that runs the benchmark or the tests.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from shenggu.audio.decode import SAMPLE_RATE, decode_audio, encode_wav
from shenggu.audio.vad import VadOptions, detect_speech
from shenggu.bench.manifest import ManifestEntry, load_manifest
from shenggu.diarize.rttm import format_rttm
from shenggu.diarize.types import Diarization, SpeakerTurn

# A part is "clip_id" (whole), "clip_id#1" (first half) or "clip_id#2" (second half); gaps in seconds.
MIXES: dict[str, tuple[list[str], list[float]]] = {
    "zh_mix_2spk_a": (
        ["zh_higgs_zh_man_sichuan#1", "zh_mossttsd_zh_spk2_moon#1", "zh_higgs_zh_man_sichuan#2",
         "zh_mossttsd_zh_spk2_moon#2"],
        [0.5, 0.3, 0.7],
    ),
    "zh_mix_2spk_b": (
        ["zh_stepaudio_prompt_wav_yuqian#1", "zh_f5tts_basic_ref_zh#1", "zh_stepaudio_prompt_wav_yuqian#2",
         "zh_f5tts_basic_ref_zh#2"],
        [0.4, 0.6, 0.3],
    ),
    "zh_mix_3spk": (
        ["zh_fireredtts2_chat_S2#1", "zh_firered_BAC009S0764W0121", "zh_wenet_BAC009S0724W0121",
         "zh_fireredtts2_chat_S2#2"],
        [0.5, 0.4, 0.6],
    ),
}  # fmt: skip
_TIGHT = VadOptions(speech_pad_ms=0, min_silence_ms=150)


def build_mixes(eval_manifest: Path, out_dir: Path) -> list[ManifestEntry]:
    """Write each mix's WAV and RTTM into ``out_dir``; return manifest entries (task "diarization")."""
    clips = {e.id: e for e in load_manifest(eval_manifest, task=None)}
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for mix_id, (parts, gaps) in MIXES.items():
        audio, turns = _mix(clips, parts, gaps)
        wav = out_dir / f"{mix_id}.wav"
        wav.write_bytes(encode_wav(audio))
        duration = len(audio) / SAMPLE_RATE
        (out_dir / f"{mix_id}.rttm").write_text(format_rttm(Diarization(turns, duration), mix_id), encoding="utf-8")
        entries.append(
            ManifestEntry(mix_id, "zh", "diarization", wav, duration, "", "A", f"built from {', '.join(parts)}")
        )
    return entries


def _mix(clips: dict[str, ManifestEntry], parts: list[str], gaps: list[float]) -> tuple[np.ndarray, list[SpeakerTurn]]:
    pieces, turns, offset = [], [], 0.0
    for i, part in enumerate(parts):
        clip_id, _, half = part.partition("#")
        samples = _part(decode_audio(clips[clip_id].path), half)
        speech = detect_speech(samples, _TIGHT)
        if speech:
            turns.append(SpeakerTurn(offset + speech[0].start, offset + speech[-1].end, clip_id))
        pieces.append(samples)
        offset += len(samples) / SAMPLE_RATE
        if i < len(gaps):
            pieces.append(np.zeros(int(gaps[i] * SAMPLE_RATE), np.float32))
            offset += gaps[i]
    return np.concatenate(pieces), turns


def _part(samples: np.ndarray, half: str) -> np.ndarray:
    """The whole clip, or one half cut in the middle of the pause nearest to its middle."""
    if not half:
        return samples
    speech = detect_speech(samples, _TIGHT)
    middle = len(samples) / SAMPLE_RATE / 2
    pauses = [(a.end + b.start) / 2 for a, b in itertools.pairwise(speech)]
    cut_s = min(pauses, key=lambda p: abs(p - middle)) if pauses else middle
    cut = int(cut_s * SAMPLE_RATE)
    return samples[:cut] if half == "1" else samples[cut:]
