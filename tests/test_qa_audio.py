"""Tests of call recordings → calls → inspection (shenggu/solutions/qa/audio.py) on a short two-voice call spoken by
shenggu's own TTS (tests/qa_speech.py): stereo with the agent on either side, a fixed agent channel, mono by
diarization, and bad recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shenggu.audio.decode import encode_wav
from shenggu.audio.errors import CorruptAudioError, SilentAudioError
from shenggu.errors import InvalidOptionError
from shenggu.solutions.qa import CallAudioOptions, bundled_ruleset, call_from_audio, default_sentiment, inspect
from tests.qa_speech import LINES, call_channels, mono_wav, stereo_wav

pytestmark = pytest.mark.slow


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _roles_line_by_line(call) -> list[str]:
    """The role of the utterance that overlaps each spoken line most."""
    _, spans = call_channels()
    roles = []
    for _, start, end in spans:
        overlap = [max(0.0, min(end, u.end) - max(start, u.start)) for u in call.utterances]
        roles.append(call.utterances[int(np.argmax(overlap))].role)
    return roles


SPOKEN_ROLES = [party for party, _ in LINES]


@pytest.mark.parametrize("swap", [False, True])
def test_a_stereo_call_takes_roles_from_the_channels_and_the_agent_from_the_greeting(recognizer, tmp_path, swap):
    call = call_from_audio(_file(tmp_path, "call.wav", stereo_wav(swap)), recognizer, call_id="c1")
    assert call.id == "c1" and len(call.utterances) == len(LINES)
    assert [u.role for u in call.utterances] == SPOKEN_ROLES
    agent_side = 1 if swap else 0
    assert {u.channel for u in call.utterances if u.role == "agent"} == {agent_side}
    assert {u.channel for u in call.utterances if u.role == "customer"} == {1 - agent_side}
    _, spans = call_channels()
    for utterance, (_, start, end) in zip(call.utterances, spans, strict=True):
        assert abs(utterance.start - start) < 0.6 and abs(utterance.end - end) < 0.6
    assert call.duration == pytest.approx(call_channels()[0].shape[1] / 16000)


def test_the_operator_can_name_the_agent_channel(recognizer, tmp_path):
    path = _file(tmp_path, "call.wav", stereo_wav())
    call = call_from_audio(path, recognizer, CallAudioOptions(agent_channel="right"))
    assert [u.role for u in call.utterances] == ["customer" if r == "agent" else "agent" for r in SPOKEN_ROLES]


def test_a_stereo_call_is_inspected_with_evidence(recognizer, tmp_path):
    call = call_from_audio(_file(tmp_path, "call.wav", stereo_wav()), recognizer)
    result = inspect(call, bundled_ruleset(), sentiment=default_sentiment)
    verdicts = {r.rule_id: r for r in result.rules}
    assert verdicts["greeting"].passed and verdicts["identity_check"].passed  # 请问您是账户本人吗: a gapped phrase
    promise = verdicts["no_promises"]
    assert not promise.passed and promise.evidence[0].utterance == len(LINES) - 1
    assert "保证收益" in promise.evidence[0].detail and promise.evidence[0].time == call.utterances[-1].start
    assert not verdicts["risk_disclosure"].passed  # 理财 was said, no disclosure was
    assert result.tags == ["投诉"] and 0 < result.score < 100
    assert set(result.sentiment_curve) == {"agent", "customer"}
    customer_starts = [u.start for u in call.utterances if u.role == "customer"]
    assert [t for t, _ in result.sentiment_curve["customer"]] == customer_starts


def test_a_mono_call_is_diarized_and_the_greeter_is_the_agent(recognizer, tmp_path):
    call = call_from_audio(_file(tmp_path, "mono.wav", mono_wav()), recognizer)
    assert {u.channel for u in call.utterances} == {None}
    assert _roles_line_by_line(call) == SPOKEN_ROLES


def test_a_stereo_file_with_the_same_signal_twice_is_a_mono_call(recognizer, tmp_path):
    mixed = call_channels()[0].sum(axis=0)
    call = call_from_audio(_file(tmp_path, "dual.wav", encode_wav(np.stack([mixed, mixed]))), recognizer)
    assert len(call.utterances) == len(LINES) and {u.channel for u in call.utterances} == {None}


def test_a_party_that_never_speaks_leaves_its_channel_empty(recognizer, tmp_path):
    sides = call_channels()[0].copy()
    sides[1] = 0.0  # the customer's side is silent
    path = _file(tmp_path, "one.wav", encode_wav(sides))
    call = call_from_audio(path, recognizer, CallAudioOptions(channels="stereo"))
    assert [u.role for u in call.utterances] == ["agent"] * SPOKEN_ROLES.count("agent")


def test_bad_recordings_are_clear_errors(recognizer, tmp_path):
    with pytest.raises(InvalidOptionError, match="has one channel; channels=stereo needs two"):
        call_from_audio(_file(tmp_path, "mono.wav", mono_wav()), recognizer, CallAudioOptions(channels="stereo"))
    with pytest.raises(CorruptAudioError):
        call_from_audio(_file(tmp_path, "bad.wav", b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 50), recognizer)
    with pytest.raises(SilentAudioError):
        call_from_audio(_file(tmp_path, "quiet.wav", encode_wav(np.zeros(32000, np.float32))), recognizer)
