"""File ASR on the real recordings of shared/eval: accuracy thresholds, timestamps, script, formats.

Thresholds are set a little worse than measured with the bundled Whisper-base (zh CER 0.083, en WER 0.099 on
quality A+B), so a regression in decoding or post-processing fails here.
"""

from __future__ import annotations

import json

import pytest

from shenggu.asr.formats import render
from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.bench.manifest import load_manifest
from shenggu.bench.scoring import score, total
from shenggu.nlp.chinese import to_simplified

ZH_CER_MAX = 0.10
EN_WER_MAX = 0.12


@pytest.fixture(scope="module")
def results(eval_dir, recognizer):
    entries = [e for e in load_manifest(eval_dir / "manifest.tsv") if e.ref_quality in ("A", "B")]
    return [(e, transcribe(e.path, recognizer, TranscribeOptions(language=e.language), name=e.id)) for e in entries]


@pytest.mark.parametrize(("language", "limit"), [("zh", ZH_CER_MAX), ("en", EN_WER_MAX)])
def test_corpus_error_rate(results, language, limit):
    counts = total(score(e.language, e.reference_text, t.text) for e, t in results if e.language == language)
    assert counts.ref_len > 0
    assert counts.rate <= limit, f"{language} error rate {counts.rate:.3f} above {limit}"


def test_timestamps_are_monotonic_and_inside_the_audio(results):
    for entry, transcript in results:
        assert transcript.segments, entry.id
        assert transcript.duration == pytest.approx(entry.duration_s, abs=0.05)
        previous_end = 0.0
        for seg in transcript.segments:
            assert 0.0 <= seg.start <= seg.end <= transcript.duration + 0.01, entry.id
            assert seg.start >= previous_end - 0.01, entry.id
            previous_end = seg.end
            for w in seg.words:
                assert seg.start - 0.01 <= w.start <= w.end <= seg.end + 0.01, entry.id
                assert 0.0 <= w.probability <= 1.0


def test_mandarin_output_is_simplified_and_punctuated(results):
    for entry, transcript in results:
        if entry.language != "zh":
            continue
        assert to_simplified(transcript.text) == transcript.text, transcript.text
        assert transcript.text[-1] in "。？！", transcript.text
        assert "," not in transcript.text, "ASCII commas must become full-width in Chinese"
        assert transcript.language == "zh"


def test_language_detection(eval_dir, recognizer):
    zh = transcribe(eval_dir / "asr" / "zh_wenet_BAC009S0724W0121.wav", recognizer, TranscribeOptions())
    en = transcribe(eval_dir / "asr" / "en_higgs_en_woman.wav", recognizer, TranscribeOptions(language="auto"))
    assert (zh.language, en.language) == ("zh", "en")
    assert "广州" in zh.text and "sunlight" in en.text


def test_output_formats(results):
    _, transcript = results[0]
    data = json.loads(render(transcript, "json"))
    assert set(data) == {"text", "language", "duration", "segments"}
    assert set(data["segments"][0]) == {"start", "end", "text", "words"}
    assert set(data["segments"][0]["words"][0]) == {"start", "end", "word", "probability"}
    srt = render(transcript, "srt")
    assert srt.startswith("1\n00:00:") and " --> " in srt
    vtt = render(transcript, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:")
    assert render(transcript, "txt").strip() == transcript.text


def test_long_recording_keeps_order_and_all_clips(eval_dir, recognizer, tmp_path):
    """Several clips with long silences between them: every clip is recognized, in order, at the right time."""
    import numpy as np

    from shenggu.audio import decode_audio, encode_wav

    names = ["zh_firered_BAC009S0764W0121", "zh_wenet_BAC009S0724W0121", "zh_f5tts_basic_ref_zh"]
    clips = [decode_audio(eval_dir / "asr" / f"{n}.wav") for n in names]
    silence = np.zeros(16000 * 5, dtype=np.float32)
    audio = np.concatenate([silence, clips[0], silence, clips[1], silence, clips[2], silence])
    path = tmp_path / "long.wav"
    path.write_bytes(encode_wav(audio))
    transcript = transcribe(path, recognizer, TranscribeOptions(language="zh"))
    text = transcript.text
    assert text.index("交易") < text.index("广州") < text.index("真人")
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    assert any(abs(s.start - (5 + len(clips[0]) / 16000 + 5)) < 1.0 for s in transcript.segments)
