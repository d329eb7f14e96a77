"""Pieces join with the pause the text asks for: each piece's edge silence is trimmed, the gaps heard between
pieces are measured from the audio, and the engines can be warmed at start-up (``SHENGGU_PRELOAD``)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shenggu.audio.silence import sound_span, trim_silence
from shenggu.bench.tts import piece_gaps, playback_stall_s
from shenggu.config import Settings, get_settings
from shenggu.errors import InvalidOptionError
from shenggu.service import app as service_app
from shenggu.service.app import create_app
from shenggu.tts.synthesis import EDGE_KEEP_S, synthesize
from shenggu.tts.types import AudioChunk

RATE = 24000
SLACK_MS = 150  # the bound: no gap longer than the text's pause + 150 ms


def tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(round(RATE * seconds)) / RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def quiet(seconds: float, level: float = 0.0) -> np.ndarray:
    """Silence, or noise ``level`` in amplitude (Kokoro's padding sits 75-80 dB under its speech)."""
    return (np.random.default_rng(0).standard_normal(round(RATE * seconds)) * level).astype(np.float32)


def test_trim_keeps_the_sound_and_a_short_edge_of_silence():
    sound = tone(0.5)
    padded = np.concatenate([quiet(0.4, 3e-5), sound, quiet(0.8, 3e-5)])
    trimmed = trim_silence(padded, RATE, keep_s=0.03)
    assert 0.5 <= len(trimmed) / RATE <= 0.5 + 2 * 0.03 + 0.02  # ± one 10 ms block at each edge
    assert np.sum(trimmed**2) >= 0.999 * np.sum(sound**2)  # none of the sound is cut


def test_silence_is_left_as_it_is():
    assert sound_span(np.zeros(RATE, np.float32), RATE) is None
    assert len(trim_silence(np.zeros(RATE, np.float32), RATE, keep_s=0.03)) == RATE
    assert len(trim_silence(np.zeros(0, np.float32), RATE, keep_s=0.03)) == 0


def test_gaps_are_measured_between_pieces_with_the_pause_asked_for():
    chunks = [
        AudioChunk(np.concatenate([tone(0.4), quiet(0.1)]), RATE, "一", 100),
        AudioChunk(np.concatenate([quiet(0.02), tone(0.6), quiet(0.25)]), RATE, "二", 250),
        AudioChunk(quiet(0.3), RATE, "", 300),  # a <break> with nothing to say lies inside the next gap
        AudioChunk(tone(0.3), RATE, "三", 0),
    ]
    (first, pause1), (second, pause2) = piece_gaps(chunks)
    assert (pause1, pause2) == (100, 550)
    assert first == pytest.approx(120, abs=10) and second == pytest.approx(550, abs=10)


def test_a_player_stalls_when_a_piece_is_late():
    # The second piece arrives 0.5 s after the first one has finished playing; the third is early.
    assert playback_stall_s([0.5, 2.0, 2.1], [1.0, 1.0, 1.0]) == pytest.approx(0.5)
    assert playback_stall_s([0.5, 1.0], [1.0, 1.0]) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "voice", "pauses"),
    [
        ("春天来了，花都开了，我们一起去公园散步吧。明天见。", "zf_xiaoxiao", [100, 250]),  # a comma, a sentence end
        ('<speak>你好<break time="300ms"/>世界。</speak>', "zm_yunxi", [300]),
        ("The weather is nice today, so we will walk to the park. See you tomorrow.", "en_joe", [250]),
    ],
)
def test_pieces_join_with_the_texts_pause(text, voice, pauses):
    chunks = list(synthesize(text, voice, settings=get_settings()))
    for chunk in chunks:
        start, end = sound_span(chunk.samples, chunk.sample_rate) or (0, 0)
        lead_s = start / chunk.sample_rate
        tail_s = (len(chunk.samples) - end) / chunk.sample_rate - chunk.pause_ms / 1000
        assert lead_s <= EDGE_KEEP_S + 0.01 and tail_s <= EDGE_KEEP_S + 0.01, (chunk.text, lead_s, tail_s)
    gaps = piece_gaps(chunks)
    assert [pause for _, pause in gaps] == pauses
    for gap, pause in gaps:
        assert pause <= gap <= pause + SLACK_MS, (text, gaps)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("asr,tts", ["asr", "tts"]), (" TTS , asr,tts ", ["tts", "asr"]), ("none", []), ("", [])],
)
def test_preload_setting_parses(monkeypatch, value, expected):
    monkeypatch.setenv("SHENGGU_PRELOAD", value)
    assert Settings(_env_file=None).preload == expected


def test_preload_default_keeps_the_old_behaviour(monkeypatch):
    monkeypatch.delenv("SHENGGU_PRELOAD", raising=False)
    assert Settings(_env_file=None).preload == ["asr"]


def test_a_bad_preload_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SHENGGU_PRELOAD", "asr,llm")
    with pytest.raises(ValidationError, match="cannot preload 'llm'"):
        Settings(_env_file=None)
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidOptionError, match=r"^SHENGGU_PRELOAD: cannot preload 'llm': name any of asr, tts"):
            get_settings()
    finally:
        get_settings.cache_clear()  # the next caller reads the restored environment


def test_the_cli_reports_a_bad_preload_value_in_one_line(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from shenggu.cli.main import app as cli

    monkeypatch.setenv("SHENGGU_PRELOAD", "stt")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["speak", "你好。", "--out", str(tmp_path / "hello.wav")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "SHENGGU_PRELOAD: cannot preload 'stt'" in result.output
    assert not (tmp_path / "hello.wav").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("preload_models", "preload", "warmed"), [(True, ["tts"], ["tts"]), (False, ["tts"], [])])
def test_start_up_warms_what_preload_names(monkeypatch, tmp_path, preload_models, preload, warmed):
    calls: list[str] = []
    for name, warm in list(service_app._WARM_UPS.items()):
        monkeypatch.setitem(service_app._WARM_UPS, name, lambda engines, n=name, w=warm: (calls.append(n), w(engines)))
    settings = Settings(preload_models=preload_models, preload=preload, job_workers=0, data_dir=tmp_path)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/ready").status_code == 200
    assert calls == warmed
