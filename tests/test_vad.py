"""Silero VAD: real speech is found with pre-roll, silence is not, and streaming equals one-shot."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from shenggu.audio import decode_audio
from shenggu.audio.vad import StreamingVad, VadOptions, detect_speech


@pytest.fixture(scope="module", params=["en_mfa_acoustic_corpus", "zh_higgs_zh_man_sichuan"])
def speech(request, clip_path):
    """Talk with short pauses: 27 s of fast English, and 13 s of accented Mandarin (evaluation set)."""
    return decode_audio(clip_path(request.param))


def test_finds_speech_with_pre_roll(speech):
    padded = np.concatenate([np.zeros(32000, np.float32), speech, np.zeros(32000, np.float32)])
    segments = detect_speech(padded)
    assert segments, "no speech found in a real recording"
    covered = sum(s.duration for s in segments)
    assert covered > 0.7 * len(speech) / 16000
    # Speech starts after the 2 s of silence (plus the clip's own lead-in); the segment must open at least 300 ms
    # before the first frame the model called speech, so it may not start later than that + a little.
    lead_in = detect_speech(speech, VadOptions(speech_pad_ms=0))[0].start
    assert 1.5 <= segments[0].start - lead_in <= 2.3
    assert segments[-1].end <= len(padded) / 16000
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))


def test_pre_roll_is_applied(speech):
    no_pad = detect_speech(np.concatenate([np.zeros(32000, np.float32), speech]), VadOptions(speech_pad_ms=0))
    padded = detect_speech(np.concatenate([np.zeros(32000, np.float32), speech]), VadOptions(speech_pad_ms=300))
    assert padded[0].start == pytest.approx(no_pad[0].start - 0.3, abs=0.04)


def test_silence_and_low_noise_have_no_speech():
    rng = np.random.default_rng(0)
    assert detect_speech(np.zeros(16000 * 5, np.float32)) == []
    assert detect_speech((rng.standard_normal(16000 * 5) * 0.001).astype(np.float32)) == []


def test_streaming_in_odd_pieces_matches_one_shot(speech):
    whole = detect_speech(speech)
    vad = StreamingVad()
    pieces = []
    for start in range(0, len(speech), 7777):
        pieces += vad.accept(speech[start : start + 7777])
    pieces += vad.flush()
    assert [round(s.start, 3) for s in pieces] == [round(s.start, 3) for s in whole]


def test_long_segments_are_cut_to_max_length(speech):
    long = np.tile(speech, 6)  # over a minute of talk with only short pauses
    segments = detect_speech(long, VadOptions(max_speech_s=10.0, min_silence_ms=2000))
    assert segments and max(s.duration for s in segments) <= 10.0 + 0.05


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError):
        VadOptions(threshold=1.5)


def test_short_fragment_waits_for_a_longer_silence(clip_path):
    # 对 (0.4 s), a 0.9 s pause, then the sentence: alone, the fragment is its own segment; with the short-speech
    # rule (as streams use it) it joins the sentence, because the pause is shorter than short_silence_ms.
    audio = decode_audio(clip_path("zh_f5tts_basic_ref_zh"))
    plain = detect_speech(audio, VadOptions(min_silence_ms=400))
    joined = detect_speech(audio, VadOptions(min_silence_ms=400, short_speech_ms=1000, short_silence_ms=1200))
    assert plain[0].duration < 1.2 and len(joined) == len(plain) - 1
    assert joined[0].start == plain[0].start and joined[0].end == plain[1].end


def test_long_speech_closes_at_a_short_pause(speech):
    long = np.tile(speech, 3)  # talk whose pauses are mostly under 1 s
    patient = detect_speech(long, VadOptions(min_silence_ms=1000))
    eager = detect_speech(long, VadOptions(min_silence_ms=1000, long_speech_s=4.0, long_silence_ms=200))
    assert len(eager) > len(patient)
    assert max(s.duration for s in eager) < max(s.duration for s in patient)
