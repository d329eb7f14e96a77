"""GE2E speaker encoder (Resemblyzer's weights in numpy) on real recordings from shared/eval."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from shenggu.audio.decode import decode_audio
from shenggu.diarize import ge2e
from shenggu.errors import InvalidOptionError, ModelError

SR = 16000
LONG_ZH = "zh_higgs_zh_man_sichuan"  # 12.9 s, one Sichuan-accented male speaker
# Clips of speakers other than LONG_ZH's and of each other. (zh_f5tts_basic_ref_zh is left out: it is the same
# voice as LONG_ZH, cosine 0.99.)
OTHER_SPEAKERS = [
    "zh_mossttsd_zh_spk2_moon",
    "zh_stepaudio_prompt_wav_yuqian",
    "zh_fireredtts2_chat_S2",
    "zh_firered_BAC009S0764W0121",
    "zh_wenet_BAC009S0724W0121",
    "en_mossttsd_m2",
]


@pytest.fixture(scope="module")
def encoder() -> ge2e.Ge2eEncoder:
    return ge2e.get_encoder()


@pytest.fixture(scope="module")
def clips(eval_dir) -> dict[str, np.ndarray]:
    return {name: decode_audio(eval_dir / "asr" / f"{name}.wav") for name in [LONG_ZH, *OTHER_SPEAKERS]}


def test_same_speaker_closer_than_different_speakers(encoder, clips) -> None:
    # Measured: halves 0.94; different speakers 0.47-0.65 (vs the long clip) and at most 0.65 among themselves.
    long = clips[LONG_ZH]
    half = len(long) // 2
    first, second = encoder.embed(long[:half]), encoder.embed(long[half:])
    same = float(first @ second)
    others = {name: encoder.embed(clips[name]) for name in OTHER_SPEAKERS}
    different = [float(first @ e) for e in others.values()] + [float(second @ e) for e in others.values()]
    different += [float(a @ b) for a, b in itertools.combinations(others.values(), 2)]
    assert same > 0.85
    assert max(different) < 0.75
    assert same - max(different) > 0.15


def test_embedding_is_unit_float32_and_deterministic(encoder, clips) -> None:
    samples = clips["zh_firered_BAC009S0764W0121"]
    emb = encoder.embed(samples)
    assert emb.shape == (encoder.dim,) == (256,)
    assert emb.dtype == np.float32
    assert abs(float(np.linalg.norm(emb)) - 1.0) < 1e-5
    assert (emb >= 0).all()  # ReLU before the normalisation
    np.testing.assert_array_equal(emb, encoder.embed(samples.copy()))
    short = encoder.embed(samples[: SR // 2])  # shorter than one 1.6 s partial: padded to one
    assert short.shape == (256,) and abs(float(np.linalg.norm(short)) - 1.0) < 1e-5


def test_embed_windows_of_a_10s_clip(encoder, eval_dir, monkeypatch) -> None:
    samples = decode_audio(eval_dir / "asr" / "en_mfa_acoustic_corpus.wav")[: 10 * SR]
    starts, embs = encoder.embed_windows(samples, 1.5, 0.75)
    # Full windows every 0.75 s up to 8.25 s, then one more ending exactly at 10 s.
    np.testing.assert_allclose(starts, [*(np.arange(12) * 0.75), 8.5], atol=1e-9)
    assert embs.shape == (13, 256) and embs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embs, axis=1), 1.0, atol=1e-5)
    # Each window is embedded on its own: splitting the batch differently gives the same embeddings.
    monkeypatch.setattr(ge2e, "_BATCH", 5)
    _, rebatched = encoder.embed_windows(samples, 1.5, 0.75)
    np.testing.assert_allclose(rebatched, embs, atol=1e-5)


def test_embed_windows_of_a_clip_shorter_than_one_window(encoder, clips) -> None:
    starts, embs = encoder.embed_windows(clips["zh_firered_BAC009S0764W0121"][:SR], 1.5, 0.75)
    np.testing.assert_array_equal(starts, [0.0])
    assert embs.shape == (1, 256)
    assert abs(float(np.linalg.norm(embs[0])) - 1.0) < 1e-5
    with pytest.raises(InvalidOptionError):
        encoder.embed_windows(clips["zh_firered_BAC009S0764W0121"], 1.5, 0.0)


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
