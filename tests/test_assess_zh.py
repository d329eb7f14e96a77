"""Mandarin pronunciation assessment on real recordings (shared/eval) and on Kokoro speech with a tone changed on
purpose: character scores, omissions and insertions, text normalization, tones, the pitch tracker, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from shenggu.assess.mandarin import MandarinAssessor
from shenggu.assess.pitch import track_pitch
from shenggu.assess.tones import read_tone, spoken_tones
from shenggu.assess.types import Assessment, SyllableScore
from shenggu.assess.zh_reference import prepare_reference
from shenggu.audio import decode_audio
from shenggu.audio.errors import SilentAudioError
from shenggu.config import get_settings
from shenggu.errors import InvalidOptionError
from shenggu.text.script import is_han
from shenggu.tts.phonemes import kokoro_phonemes
from shenggu.tts.pieces import TextPiece
from shenggu.tts.synthesis import synthesize
from tests.conftest import NO_EVAL_SET, locate_entry

SR = 16000
# Characters replaced in a clip's reference, by the clip and the character's index among the Chinese characters,
# with characters that sound nothing like the ones read.
# Pinned readings (accented and dialect speech is not a "correct reading" of standard Mandarin).
READINGS = ["zh_firered_BAC009S0764W0121", "zh_wenet_BAC009S0724W0121", "zh_mindaudio_BAC009S0002W0123",
            "zh_mossttsd_zh_spk2_moon", "zh_f5tts_basic_ref_zh", "zh_fireredtts2_chat_S2",
            "zh_stepaudio_prompt_wav_yuqian", "zh_higgs_zh_man_sichuan"]  # fmt: skip
WRONG = {
    "zh_firered_BAC009S0764W0121": {2: "猫", 7: "鸭"},
    "zh_wenet_BAC009S0724W0121": {1: "猫", 9: "鸭"},
    "zh_mossttsd_zh_spk2_moon": {5: "猫", 30: "鸭"},
}


def syllables(assessment: Assessment) -> list[SyllableScore]:
    return [s for w in assessment.words for s in w.syllables]


@pytest.fixture(scope="module")
def assessor(recognizer) -> MandarinAssessor:
    return MandarinAssessor(recognizer)


@pytest.fixture(scope="module")
def clips() -> dict[str, tuple[np.ndarray, str]]:
    """Mandarin clips read correctly, id → (samples, reference text): the bundled AISHELL-1 sentences, and the
    other pinned readings when the evaluation set is here."""
    entries = [e for e in map(locate_entry, READINGS) if e is not None]
    return {e.id: (decode_audio(e.path), e.reference_text) for e in entries}


def reading(clips, clip_id: str) -> tuple[np.ndarray, str]:
    """One pinned reading; skips the test when it is only in the absent evaluation set."""
    if clip_id not in clips:
        pytest.skip(NO_EVAL_SET)
    return clips[clip_id]


@pytest.fixture(scope="module")
def correct(assessor, clips) -> dict[str, Assessment]:
    """Each clip assessed against its own transcript (speed is measured by ``shenggu bench assess``)."""
    return {cid: assessor.assess(samples, text) for cid, (samples, text) in clips.items()}


def test_correct_reading_scores_high(correct):
    for cid, result in correct.items():
        assert result.language == "zh"
        assert result.accuracy >= 80, (cid, result.accuracy)
        assert result.completeness >= 90, (cid, result.completeness)
        assert result.total >= 80, (cid, result.total)
        assert all(0 <= s.accuracy <= 100 for s in syllables(result))
        starts = [s.start for s in syllables(result)]
        assert starts == sorted(starts) and starts[-1] < result.duration


def test_words_are_jieba_words_with_pinyin_syllables(correct):
    result = correct["zh_wenet_BAC009S0724W0121"]
    assert [w.word for w in result.words] == ["广州市", "房地产", "中介", "协会", "分析"]
    first = result.words[0].syllables[0]
    assert (first.character, first.pinyin, first.expected_tone) == ("广", "guang3", 3)
    shape = result.to_dict()
    assert "phones" not in shape["words"][0] and shape["words"][0]["syllables"][0]["character"] == "广"


def test_tone_flags_on_correct_readings_are_rare_and_tones_beat_chance(correct):
    scored = [s for r in correct.values() for s in syllables(r) if s.expected_tone != 5 and s.detected_tone]
    share = np.mean([s.tone_correct for s in scored])
    assert share >= 0.7  # flags are conservative: a tone is called wrong only when another fits clearly better
    exact = np.mean([s.detected_tone == s.expected_tone for s in scored])
    assert exact >= 0.3  # four tones: chance is 0.25


def test_wrong_characters_score_low_and_the_rest_stay(assessor, clips, correct):
    for cid, replaced in WRONG.items():
        if cid not in clips:
            continue
        samples, text = clips[cid]
        han = [i for i, c in enumerate(text) if is_han(c)]
        wrong = list(text)
        for index, char in replaced.items():
            wrong[han[index]] = char
        result = assessor.assess(samples, "".join(wrong))
        right, read = syllables(correct[cid]), syllables(result)
        assert len(right) == len(read)
        for index, char in replaced.items():
            assert read[index].character == char
            assert read[index].accuracy <= 40 < right[index].accuracy - 30, (cid, index, read[index].accuracy)
        rest = [i for i in range(len(read)) if i not in replaced]
        before, after = (np.mean([s[i].accuracy for i in rest]) for s in (right, read))
        assert after >= before - 8, (cid, before, after)


def test_omitted_and_inserted_words(assessor, clips):
    samples, text = reading(clips, "zh_firered_BAC009S0764W0121")  # 甚至出现交易几乎停滞的情况
    longer = assessor.assess(samples, text + "我们今天很高兴")
    assert [w.error for w in longer.words if w.word in ("我们", "今天")] == ["omission", "omission"]
    assert longer.completeness < 80
    shorter = assessor.assess(samples, text.replace("几乎", ""))
    inserted = [w for w in shorter.words if w.error == "insertion"]
    assert [w.word for w in inserted] == ["几乎"] and inserted[0].start < inserted[0].end
    assert shorter.completeness == 100


def test_reference_is_normalized_before_alignment(assessor, clips):
    assert "".join(c.char for c in prepare_reference("2024年3月5日").chars) == "二零二四年三月五日"
    samples, _ = reading(clips, "zh_mossttsd_zh_spk2_moon")
    written = "如果大家想听到更丰富更及时的直播内容，记得在周1到周5准时进入直播间，和大家一起畅聊新消费新科技新趋势。"
    result = assessor.assess(samples, written)
    assert result.reference == written
    days = [w for w in result.words if w.word in ("周一", "周五")]
    assert len(days) == 2 and all(w.accuracy >= 60 for w in days)
    assert result.completeness == 100


def test_wrong_tone_from_tts_is_flagged(assessor, monkeypatch):
    # 他每天早上六点起床 (no neutral tones: one tone arrow per character); 每 is said in the 1st tone instead of
    # the 3rd by changing its arrow.
    text, index = "他每天早上六点起床", 1
    phonemes = kokoro_phonemes(TextPiece(text, "zh"))
    arrows = [i for i, p in enumerate(phonemes) if p in "→↗↓↘"]
    assert len(arrows) == len(text) and phonemes[arrows[index]] == "↓"
    wrong = phonemes[: arrows[index]] + "→" + phonemes[arrows[index] + 1 :]

    def speak(said: str) -> np.ndarray:
        monkeypatch.setattr("shenggu.tts.kokoro.kokoro_phonemes", lambda piece: said)
        chunks = synthesize(text, "zf_xiaoxiao", sample_rate=SR, settings=get_settings())
        return np.concatenate([c.samples for c in chunks])

    right_tone = syllables(assessor.assess(speak(phonemes), text))[index]
    wrong_tone = syllables(assessor.assess(speak(wrong), text))[index]
    assert right_tone.expected_tone == wrong_tone.expected_tone == 3
    assert right_tone.tone_correct is True
    assert wrong_tone.tone_correct is False and wrong_tone.detected_tone == 1
    assert wrong_tone.accuracy < right_tone.accuracy


def test_pitch_tracker_follows_a_sine_sweep():
    t = np.arange(SR) / SR
    f0 = 150 * 2**t  # one octave up in a second
    sweep = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / SR)
    audio = np.concatenate([np.zeros(SR // 4), sweep, np.zeros(SR // 4)])
    track = track_pitch(audio)
    inside = (track.times > 0.35) & (track.times < 1.15)
    expected = 150 * 2 ** (track.times[inside] - 0.25)
    assert np.all(np.abs(track.f0[inside] / expected - 1) < 0.02)
    assert np.isnan(track.f0[track.times < 0.2]).all() and np.isnan(track.f0[track.times > 1.3]).all()
    assert np.isnan(track_pitch(np.random.default_rng(0).normal(0, 0.1, SR)).f0).all()  # noise is unvoiced


def test_tone_shapes_and_sandhi():
    frames = np.linspace(0, 1, 20)
    bottom, top = 0.0, 10.0  # the speaker's range in semitones
    assert read_tone(np.full(20, 9.0), bottom, top).tone == 1
    assert read_tone(4 + 5 * frames**2, bottom, top).tone == 2
    assert read_tone(np.full(20, 1.0), bottom, top).tone == 3
    assert read_tone(9 - 8 * frames, bottom, top).tone == 4
    assert read_tone(np.full(3, 9.0), bottom, top) is None  # too short to tell
    assert spoken_tones(["你好"], ["ni3", "hao3"]) == [2, 3]
    assert spoken_tones(["不", "对"], ["bu4", "dui4"]) == [2, 4]
    assert spoken_tones(["一", "本书"], ["yi1", "ben3", "shu1"]) == [4, 3, 1]
    assert spoken_tones(["第一名"], ["di4", "yi4", "ming2"]) == [4, 1, 2]


def test_silence_and_unusable_references_are_refused(assessor, clips):
    with pytest.raises(SilentAudioError):
        assessor.assess(np.zeros(2 * SR, np.float32), "你好")
    samples, _ = reading(clips, "zh_firered_BAC009S0764W0121")
    for reference in ("", "  ", "，。！", "hello world"):
        with pytest.raises(InvalidOptionError):
            assessor.assess(samples, reference)
