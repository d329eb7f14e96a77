"""Hotwords on real recordings: listed names and terms are recognized, other speech is not disturbed."""

from __future__ import annotations

import pytest

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.bench.scoring import score
from tests.conftest import locate_clip

HOTWORDS = ["太乙真人", "敬仰", "房地产", "中介"]
CLIPS = {
    "zh_f5tts_basic_ref_zh": ["太乙真人", "敬仰"],
    "zh_wenet_BAC009S0724W0121": ["房地产", "中介"],
}


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_hotwords_raise_recall_of_listed_terms(clip_path, recognizer, clip):
    path = clip_path(clip)
    plain = transcribe(path, recognizer, TranscribeOptions(language="zh")).text
    boosted = transcribe(path, recognizer, TranscribeOptions(language="zh", hotwords=HOTWORDS)).text
    terms = CLIPS[clip]
    # Without help Whisper-base mishears these terms; with the list (which includes other clips' terms as
    # distractors) every one of them is recognized.
    assert sum(t in plain for t in terms) < len(terms), plain
    assert all(t in boosted for t in terms), boosted


@pytest.mark.parametrize("clip", ["zh_mindaudio_BAC009S0002W0123", "zh_mossttsd_zh_spk2_moon"])
def test_hotwords_do_not_hurt_unrelated_speech(clip_path, recognizer, clip):
    from shenggu.bench.manifest import load_manifest

    path = clip_path(clip)
    entry = next(e for e in load_manifest(path.parents[1] / "manifest.tsv") if e.id == clip)
    plain = transcribe(entry.path, recognizer, TranscribeOptions(language="zh")).text
    boosted = transcribe(entry.path, recognizer, TranscribeOptions(language="zh", hotwords=HOTWORDS)).text
    assert score("zh", entry.reference_text, boosted).errors <= score("zh", entry.reference_text, plain).errors


def stream_text(recognizer, path, hotwords=()) -> str:
    """A clip's finals through a streaming session, fed in 100 ms pieces as a live stream would be."""
    import numpy as np

    from shenggu.asr.streaming import StreamingSession, StreamOptions
    from shenggu.audio import decode_audio

    audio = np.concatenate([decode_audio(path), np.zeros(16000, np.float32)])
    session = StreamingSession(recognizer, StreamOptions(language="zh", hotwords=list(hotwords)))
    events = [e for i in range(0, len(audio), 1600) for e in session.accept(audio[i : i + 1600])]
    return "".join(e.segment.text for e in [*events, *session.finish()] if hasattr(e, "segment"))


def test_hotwords_raise_recall_in_streaming_too(recognizer):
    found, listed = {"plain": 0, "boosted": 0}, 0
    for clip, terms in CLIPS.items():
        if not (path := locate_clip(clip)):
            continue
        listed += len(terms)
        found["plain"] += sum(t in stream_text(recognizer, path) for t in terms)
        boosted = stream_text(recognizer, path, HOTWORDS)
        found["boosted"] += sum(t in boosted for t in terms)
        assert all(t in boosted for t in terms), boosted
    assert found["plain"] < found["boosted"] == listed, found
