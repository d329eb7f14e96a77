"""Whisper's failure modes and bad input: silence, noise, engines and model directories, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.postprocess import collapse_loops, is_hallucination
from shenggu.asr.registry import get_recognizer
from shenggu.asr.types import Segment, Word
from shenggu.audio import SilentAudioError, encode_wav
from shenggu.config import get_settings
from shenggu.errors import InvalidOptionError, ModelError


def test_silence_raises_no_speech(recognizer, tmp_path):
    path = tmp_path / "silence.wav"
    path.write_bytes(encode_wav(np.zeros(16000 * 8, dtype=np.float32)))
    with pytest.raises(SilentAudioError) as err:
        transcribe(path, recognizer, TranscribeOptions(language="zh"))
    assert err.value.code == "no_speech" and "\n" not in str(err.value)


def test_noise_produces_no_hallucinated_sentences(recognizer, tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "noise.wav"
    path.write_bytes(encode_wav((rng.standard_normal(16000 * 10) * 0.05).astype(np.float32)))
    try:
        text = transcribe(path, recognizer, TranscribeOptions(language="zh")).text
    except SilentAudioError:
        return
    assert len(text) <= 4, f"hallucinated on noise: {text!r}"


def test_known_hallucination_lines_are_dropped():
    assert is_hallucination(Segment(0, 1, "字幕由Amara.org社区提供"))
    assert is_hallucination(Segment(0, 1, "Thanks for watching!"))
    assert not is_hallucination(Segment(0, 1, "谢谢大家的支持"))
    assert is_hallucination(Segment(0, 1, "嗯", no_speech_prob=0.9, avg_logprob=-1.5))


def test_repetition_loops_are_collapsed():
    words = [Word(i, i + 1, w, 0.9) for i, w in enumerate(["我"] + ["好的"] * 12 + ["再见"])]
    assert [w.word for w in collapse_loops(words)] == ["我", "好的", "再见"]
    legit = [Word(i, i + 1, w, 0.9) for i, w in enumerate([" words"] * 4)]
    assert len(collapse_loops(legit)) == 4  # a few real repeats stay


def test_unknown_engine_and_language():
    with pytest.raises(InvalidOptionError, match="unknown ASR engine 'nope'"):
        get_recognizer("nope", settings=get_settings())
    with pytest.raises(InvalidOptionError, match="unsupported language 'fr'"):
        TranscribeOptions(language="fr")


def test_user_model_directories_give_clear_errors(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        get_recognizer("faster-whisper", tmp_path / "missing", settings=get_settings())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"missing model\.bin"):
        get_recognizer("faster-whisper", tmp_path / "empty", settings=get_settings())
    with pytest.raises(ModelError, match=r"sherpa-onnx SenseVoice/Paraformer"):
        get_recognizer("sherpa-onnx", tmp_path / "empty", settings=get_settings())
    with pytest.raises(ModelError, match="does not exist"):
        get_recognizer("sherpa-onnx", tmp_path / "missing", settings=get_settings())
    with pytest.raises(ModelError, match="needs --model-dir"):
        get_recognizer("sherpa-onnx", settings=get_settings())


def test_user_ctranslate2_directory_is_loaded(recognizer):
    """A user-supplied faster-whisper directory loads through the same engine (here: the bundled one's dir)."""
    user = get_recognizer("faster-whisper", recognizer.model_dir, settings=get_settings())
    assert user.name == "faster-whisper" and user is not recognizer


@pytest.mark.slow
def test_english_only_engine(clip_path):
    tiny = get_recognizer("whisper-tiny.en", settings=get_settings())
    text = transcribe(clip_path("en_speechbrain_spk1_snt1"), tiny, TranscribeOptions(language="en")).text
    assert "child" in text.lower() and "dog" in text.lower()
    with pytest.raises(InvalidOptionError, match="cannot transcribe language 'zh'"):
        transcribe(clip_path("zh_wenet_BAC009S0724W0121"), tiny, TranscribeOptions(language="zh"))


def test_model_assembly_is_verified(tmp_path):
    from shenggu.asr.models import WHISPER_BASE_SIZE, whisper_base_dir

    path = whisper_base_dir(tmp_path)
    assert (path / "model.bin").stat().st_size == WHISPER_BASE_SIZE
    assert not [p for p in path.iterdir() if p.name.startswith(".")], "temporary files left behind"
    assert whisper_base_dir(tmp_path) == path  # second call reuses it
