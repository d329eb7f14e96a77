"""The console's Live page in real headless Chromium against a live server: the browser's microphone plays a
Mandarin recording, the page streams it to /v1/audio/stream, partials show while it is spoken and finals close to
the manifest's reference are listed with their times; Stop ends the stream cleanly and releases the microphone.
Faults are said in words: a refused microphone, a server at its stream limit. The shared microphone module's
``recordWav`` (used by the Assess page) records a 16 kHz WAV until stopped or its time is up."""

from __future__ import annotations

import base64
import io
import json
import wave
from contextlib import ExitStack

import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from websockets.sync.client import connect

from shenggu.audio import decode_audio
from shenggu.bench.scoring import score
from tests.conftest import locate_entry
from tests.console_browser import Browser, console_server, write_wav

ZH_CLIP = "zh_firered_BAC009S0764W0121"
MAX_STREAMS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from console_server(tmp_path_factory, max_streams=MAX_STREAMS)


def page_data(browser: Browser) -> dict:
    """The page's state: status, finals and partials (counts), mic (on/off)."""
    return browser.driver.execute_script("return {...document.getElementById('live-page').dataset}")


def finals(browser: Browser) -> list[str]:
    return browser.driver.execute_script(
        "return [...document.querySelectorAll('#live-finals li .text')].map((f) => f.textContent)"
    )


def start(browser: Browser, language: str = "zh") -> None:
    Select(browser.driver.find_element(By.ID, "live-language")).select_by_value(language)
    browser.driver.find_element(By.ID, "live-start").click()


def test_live_recognition_from_the_microphone(server, browser_factory, clip_path, recognizer, tmp_path):
    silence = np.zeros(16000, np.float32)
    speech = decode_audio(clip_path(ZH_CLIP))
    microphone = write_wav(tmp_path / "microphone.wav", np.concatenate([silence, speech, *[silence] * 4]))
    browser = browser_factory(server, microphone=microphone)
    browser.sign_in(server.key, "live")
    start(browser)
    browser.wait(lambda d: page_data(browser)["status"] == "listening", 60, "the stream to open")
    assert page_data(browser)["mic"] == "on"
    browser.wait(lambda d: int(page_data(browser)["finals"]) >= 1, 120, "a final")
    assert int(page_data(browser)["partials"]) >= 1  # partials were shown while the sentence was spoken
    reference = locate_entry(ZH_CLIP).reference_text
    best = min(score("zh", reference, text).rate for text in finals(browser))
    assert best <= 0.35, finals(browser)
    times = browser.driver.find_element(By.CSS_SELECTOR, "#live-finals li .time").text
    assert "–" in times and times.startswith("0:")
    browser.screenshot("live-session")

    browser.driver.find_element(By.ID, "live-stop").click()
    browser.wait(lambda d: page_data(browser)["status"] == "stopped", 60, "the stream to end")
    assert page_data(browser)["mic"] == "off"
    # No error (a slow machine may have been told the server fell behind: an information, not an error).
    error_shown = "const f = document.getElementById('flash'); return !f.hidden && f.classList.contains('error')"
    assert not browser.driver.execute_script(error_shown), browser.alert()
    kept = finals(browser)
    # Another page and back: the finals are still there, and nothing is listening.
    browser.go("transcribe")
    browser.go("live")
    assert finals(browser) == kept and page_data(browser)["status"] == "stopped"
    assert browser.driver.find_element(By.ID, "live-start").is_enabled()


def test_live_faults_are_said_in_words(server, browser_factory, recognizer):
    browser = browser_factory(server)
    browser.sign_in(server.key, "live")
    driver = browser.driver
    # A refused microphone.
    driver.execute_script(
        "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'))"
    )
    start(browser)
    browser.wait(lambda d: "麦克风权限被拒绝" in browser.alert(), 20, "the refusal")
    assert page_data(browser)["status"] == "error" and driver.find_element(By.ID, "live-start").is_enabled()

    # The server at its stream limit: every slot is taken by streams of another client.
    driver.refresh()
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "live", 30)
    url = f"{server.base.replace('http', 'ws')}/v1/audio/stream?api_key={server.other_key}"
    with ExitStack() as streams:
        for _ in range(MAX_STREAMS):
            streams.enter_context(connect(url))
        with connect(url) as one_more:  # refused once the others hold their slots
            assert json.loads(one_more.recv(timeout=60))["code"] == "too_many_streams"
        start(browser)
        browser.wait(lambda d: page_data(browser)["status"] == "error", 60, "the refusal")
        assert "路数已满" in browser.alert(), browser.alert()
        assert page_data(browser)["mic"] == "off"


def test_record_wav_gives_a_16k_mono_wav(server, browser_factory, clip_path):
    browser = browser_factory(server, microphone=clip_path(ZH_CLIP))
    browser.sign_in(server.key, "live")
    record = """const done = arguments[arguments.length - 1];
        import("/console/assets/microphone.js").then(async ({ recordWav }) => {
          const bytes = async (blob) => btoa(String.fromCharCode(...new Uint8Array(await blob.arrayBuffer())));
          const timed = await recordWav({ maxSeconds: 1 });
          const untilStopped = await recordWav();
          await new Promise((resolve) => setTimeout(resolve, 700));
          done([await bytes(await timed.finished), await bytes(await untilStopped.stop())]);
        }).catch((error) => done(String(error)));"""
    browser.driver.set_script_timeout(30)
    recordings = browser.driver.execute_async_script(record)
    assert isinstance(recordings, list), recordings
    for data, (low, high) in zip(recordings, [(1.0, 1.1), (0.5, 1.5)], strict=True):
        with wave.open(io.BytesIO(base64.b64decode(data))) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            seconds = wav.getnframes() / 16000
            samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        assert low <= seconds <= high and np.abs(samples).max() > 1000  # the recording, not silence
