"""Multi-speaker test recordings (Mandarin, and one English) built from single-speaker clips with known turns.

The evaluation set has clips of one speaker each; diarization needs conversations. Each mix below
alternates clips (or halves of clips, cut at their longest pause near the middle) of different speakers with
short silences between them, and its reference RTTM says who speaks where (each part's span of speech, found
by VAD without padding). The recipes name clips, not audio, so nothing is redistributed: the mixes are built
from the evaluation folder on the machine that runs the benchmark or the tests. A recipe whose clips are not all
in the manifest (another team's test set) is skipped and reported, never an error.
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
Recipe = tuple[list[str], list[float]]
MIXES: dict[str, Recipe] = {
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
    # Two AISHELL-1 speakers in short turns (halves of 4 s sentences).
    "zh_mix_2spk_c": (
        ["zh_firered_BAC009S0764W0121#1", "zh_wenet_BAC009S0724W0121#1", "zh_firered_BAC009S0764W0121#2",
         "zh_wenet_BAC009S0724W0121#2"],
        [0.5, 0.3, 0.7],
    ),
    # English: a spontaneous talker between two LibriSpeech readers.
    "en_mix_3spk": (
        ["en_mfa_acoustic_corpus#1", "en_wenet_librispeech_1995-1837-0001", "en_mfa_acoustic_corpus#2",
         "en_qwenaudio_librispeech_1272-128104-0000"],
        [0.5, 0.3, 0.7],
    ),
}  # fmt: skip
_TIGHT = VadOptions(speech_pad_ms=0, min_silence_ms=150)


def build_mixes(
    eval_manifest: Path, out_dir: Path, recipes: dict[str, Recipe] | None = None
) -> tuple[list[ManifestEntry], dict[str, list[str]]]:
    """Write the WAV and RTTM of each recipe (default :data:`MIXES`) whose clips are all in the manifest.

    Returns the manifest entries of the mixes built (task "diarization") and, for each recipe skipped, the clip
    ids the manifest lacks.
    """
    clips = {e.id: e for e in load_manifest(eval_manifest, task=None)}
    entries, skipped = [], {}
    for mix_id, (parts, gaps) in (MIXES if recipes is None else recipes).items():
        missing = sorted({p.partition("#")[0] for p in parts} - clips.keys())
        if missing:
            skipped[mix_id] = missing
            continue
        audio, turns = _mix(clips, parts, gaps)
        out_dir.mkdir(parents=True, exist_ok=True)
        wav = out_dir / f"{mix_id}.wav"
        wav.write_bytes(encode_wav(audio))
        duration = len(audio) / SAMPLE_RATE
        (out_dir / f"{mix_id}.rttm").write_text(format_rttm(Diarization(turns, duration), mix_id), encoding="utf-8")
        language = clips[parts[0].partition("#")[0]].language
        entries.append(
            ManifestEntry(mix_id, language, "diarization", wav, duration, "", "A", f"built from {', '.join(parts)}")
        )
    return entries, skipped


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
