"""GE2E speaker encoder (Resemblyzer's weights in numpy) on real recordings."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from shenggu.audio.decode import decode_audio
from shenggu.diarize import ge2e
from shenggu.errors import InvalidOptionError, ModelError

SR = 16000
# A long clip of one speaker, and clips of other speakers (other than it and each other). Measured: halves of the
# long clip 0.90 / 0.94; different speakers at most 0.65 / 0.65. (zh_f5tts_basic_ref_zh is left out of the second
# set: it is the same voice as zh_higgs_zh_man_sichuan, cosine 0.99.)
SPEAKER_SETS = {
    "bundled": ("en_mfa_acoustic_corpus", ["zh_firered_BAC009S0764W0121", "zh_wenet_BAC009S0724W0121",
                "en_wenet_librispeech_1995-1837-0001", "en_qwenaudio_librispeech_1272-128104-0000",
                "en_speechbrain_spk1_snt1", "en_speechbrain_spk2_snt4"]),
    "evaluation set": ("zh_higgs_zh_man_sichuan", ["zh_mossttsd_zh_spk2_moon", "zh_stepaudio_prompt_wav_yuqian",
                       "zh_fireredtts2_chat_S2", "zh_firered_BAC009S0764W0121", "zh_wenet_BAC009S0724W0121",
                       "en_mossttsd_m2"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def encoder() -> ge2e.Ge2eEncoder:
    return ge2e.get_encoder()


@pytest.fixture(scope="module")
def sentence(clip_path) -> np.ndarray:
    """4.2 s of one speaker."""
    return decode_audio(clip_path("zh_firered_BAC009S0764W0121"))


@pytest.mark.slow
@pytest.mark.parametrize("speakers", sorted(SPEAKER_SETS))
def test_same_speaker_closer_than_different_speakers(encoder, clip_path, speakers) -> None:
    long_id, other_ids = SPEAKER_SETS[speakers]
    long = decode_audio(clip_path(long_id))
    half = len(long) // 2
    first, second = encoder.embed(long[:half]), encoder.embed(long[half:])
    same = float(first @ second)
    others = {name: encoder.embed(decode_audio(clip_path(name))) for name in other_ids}
    different = [float(first @ e) for e in others.values()] + [float(second @ e) for e in others.values()]
    different += [float(a @ b) for a, b in itertools.combinations(others.values(), 2)]
    assert same > 0.85
    assert max(different) < 0.75
    assert same - max(different) > 0.15


@pytest.mark.slow
def test_embedding_is_unit_float32_and_deterministic(encoder, sentence) -> None:
    samples = sentence
    emb = encoder.embed(samples)
    assert emb.shape == (encoder.dim,) == (256,)
    assert emb.dtype == np.float32
    assert abs(float(np.linalg.norm(emb)) - 1.0) < 1e-5
    assert (emb >= 0).all()  # ReLU before the normalisation
    np.testing.assert_array_equal(emb, encoder.embed(samples.copy()))
    short = encoder.embed(samples[: SR // 2])  # shorter than one 1.6 s partial: padded to one
    assert short.shape == (256,) and abs(float(np.linalg.norm(short)) - 1.0) < 1e-5


@pytest.mark.slow
def test_embed_windows_of_a_10s_clip(encoder, clip_path, monkeypatch) -> None:
    samples = decode_audio(clip_path("en_mfa_acoustic_corpus"))[: 10 * SR]
    starts, embs = encoder.embed_windows(samples, 1.5, 0.75)
    # Full windows every 0.75 s up to 8.25 s, then one more ending exactly at 10 s.
    np.testing.assert_allclose(starts, [*(np.arange(12) * 0.75), 8.5], atol=1e-9)
    assert embs.shape == (13, 256) and embs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embs, axis=1), 1.0, atol=1e-5)
    # Each window is embedded on its own: splitting the batch differently gives the same embeddings.
    monkeypatch.setattr(ge2e, "_BATCH", 5)
    _, rebatched = encoder.embed_windows(samples, 1.5, 0.75)
    np.testing.assert_allclose(rebatched, embs, atol=1e-5)


@pytest.mark.slow
def test_embed_windows_of_a_clip_shorter_than_one_window(encoder, sentence) -> None:
    starts, embs = encoder.embed_windows(sentence[:SR], 1.5, 0.75)
    np.testing.assert_array_equal(starts, [0.0])
    assert embs.shape == (1, 256)
    assert abs(float(np.linalg.norm(embs[0])) - 1.0) < 1e-5
    with pytest.raises(InvalidOptionError):
        encoder.embed_windows(sentence, 1.5, 0.0)


def test_mel_matches_librosa() -> None:
    # Reference values from librosa 0.11 (filters.mel and feature.melspectrogram with Resemblyzer's settings).
    bank = ge2e.mel_filterbank()
    assert bank.shape == (40, 201) and bank.dtype == np.float32
    sums = [0.02480904, 0.02480904, 0.02521975, 0.02497876]
    np.testing.assert_allclose(bank.sum(axis=1)[[0, 10, 20, 39]], sums, 1e-5)
    np.testing.assert_array_equal(bank.argmax(axis=1)[[0, 10, 20, 39]], [2, 20, 44, 185])
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t) + 0.1 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    mel = ge2e.mel_frames(tone)
    assert mel.shape == (101, 40) and mel.dtype == np.float32
    np.testing.assert_allclose(mel[[0, 1, 50, 100]].sum(axis=1), [25.292614, 51.028893, 51.056137, 25.292614], 1e-5)
    np.testing.assert_allclose(mel[50, [13, 12, 3, 14]], [26.130142, 22.105026, 1.4407278, 0.7820976], 1e-5)
    np.testing.assert_allclose(mel[0, 13], 10.068241, 1e-5)


def test_missing_package_is_a_model_error(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "resemblyzer" else real(name, *a))
    with pytest.raises(ModelError, match="make install"):
        ge2e.Ge2eEncoder()
