"""The console's Transcribe page in real headless Chromium against a live server: a Mandarin recording
transcribed (words close to the manifest's reference), a word clicked seeks the audio, the playing word lights
up, the waveform seeks by keyboard, a corrected word is saved (then saved over), comes back from the API and in
the SRT export, and the saved transcript re-opens after a reload; a long recording as a background job with its
progress bar (at tablet width); a file that is not audio gives a readable error and leaves the options as set.
Also: ``verbose_json`` carries a segment's translation, as the page shows it under the segment."""

from __future__ import annotations

import time

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from shenggu.asr.types import Segment, Transcript, Word
from shenggu.bench.scoring import score
from shenggu.service.routers.audio import _verbose
from tests.conftest import locate_entry
from tests.console_browser import Browser, console_server, draws_chinese

ZH_CLIP = "zh_firered_BAC009S0764W0121"
EN_CLIP = "en_mfa_acoustic_corpus"
CORRECTION = "更正"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from console_server(tmp_path_factory)


def page_data(browser: Browser) -> dict:
    """The page's state as its data-* attributes (status, words, transcriptId, revision, dirty, editing...)."""
    return browser.driver.execute_script("return {...document.getElementById('transcribe-page').dataset}")


def words(browser: Browser) -> list[str]:
    return browser.driver.execute_script(
        "return [...document.querySelectorAll('#transcript button.word')].map((w) => w.textContent)"
    )


def transcribe(browser: Browser, path, language: str, mode: str = "auto") -> None:
    """Choose the file and options, press Transcribe."""
    browser.driver.find_element(By.ID, "transcribe-file").send_keys(str(path))
    Select(browser.driver.find_element(By.ID, "transcribe-language")).select_by_value(language)
    Select(browser.driver.find_element(By.ID, "transcribe-mode")).select_by_value(mode)
    browser.driver.find_element(By.ID, "transcribe-start").click()


def audio_time(browser: Browser) -> float:
    return browser.driver.execute_script("return document.getElementById('transcribe-audio').currentTime")


def test_transcribe_play_along_edit_save_and_export(server, browser_factory, clip_path, recognizer, tmp_path):
    browser = browser_factory(server)
    browser.sign_in(server.key, "transcribe")
    transcribe(browser, clip_path(ZH_CLIP), "zh")
    browser.wait(lambda d: page_data(browser).get("status") == "done", what="the transcript")
    reference = locate_entry(ZH_CLIP).reference_text
    hypothesis = "".join(words(browser))
    assert score("zh", reference, hypothesis).rate <= 0.3, hypothesis
    assert int(page_data(browser)["words"]) == len(words(browser)) > 3
    assert draws_chinese(browser.driver)
    driver = browser.driver
    browser.wait(lambda d: d.execute_script("return document.getElementById('transcribe-audio').readyState") >= 1)
    driver.execute_script("document.getElementById('transcribe-result').scrollIntoView()")
    browser.screenshot("transcribe-result-zh")

    # A click on a word seeks the audio to the word's start.
    third = driver.find_elements(By.CSS_SELECTOR, "#transcript button.word")[3]
    third.click()
    assert audio_time(browser) == pytest.approx(float(third.get_attribute("data-start")), abs=0.02)
    # Arrow keys on the waveform seek by a second; playing lights up the word being spoken.
    before = audio_time(browser)
    driver.find_element(By.CSS_SELECTOR, "canvas.waveform").send_keys(Keys.ARROW_RIGHT)
    assert audio_time(browser) == pytest.approx(before + 1, abs=0.02)
    driver.execute_script("const a = document.getElementById('transcribe-audio'); a.currentTime = 0; a.play();")
    browser.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcript .word.current"), 20, "a lit word")
    driver.execute_script("document.getElementById('transcribe-audio').pause()")

    # Edit mode: the second word corrected in place (Enter keeps it), marked as edited, then saved.
    driver.find_element(By.ID, "transcribe-edit").click()
    assert page_data(browser)["editing"] == "true"
    driver.find_elements(By.CSS_SELECTOR, "#transcript button.word")[1].click()
    editor = driver.switch_to.active_element
    assert editor.get_attribute("class") == "word-edit"
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys(CORRECTION + Keys.ENTER)
    edited = driver.find_elements(By.CSS_SELECTOR, "#transcript .word.edited")
    assert [w.text for w in edited] == [CORRECTION] and page_data(browser)["dirty"] == "true"
    # Escape leaves a word as it was.
    driver.find_elements(By.CSS_SELECTOR, "#transcript button.word")[2].click()
    driver.switch_to.active_element.send_keys("X" + Keys.ESCAPE)
    assert "X" not in "".join(words(browser))
    driver.execute_script("document.getElementById('transcribe-result').scrollIntoView()")
    browser.screenshot("transcribe-edit")
    driver.find_element(By.ID, "transcribe-save").click()
    browser.wait(lambda d: page_data(browser).get("revision") == "1", 30, "the first save")
    transcript_id = page_data(browser)["transcriptId"]
    api = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {server.key}"}, timeout=30)
    stored = api.get(f"/v1/transcripts/{transcript_id}").json()
    assert CORRECTION in stored["segments"][0]["text"]
    assert CORRECTION in [w["word"] for s in stored["segments"] for w in s["words"]]
    assert stored["source"]["file"] == f"{ZH_CLIP}.wav" and stored["language"] == "zh"

    # A second correction is saved over it (revision 2); the SRT export has the corrections.
    driver.find_elements(By.CSS_SELECTOR, "#transcript button.word")[0].click()
    driver.switch_to.active_element.send_keys(Keys.CONTROL, "a")
    driver.switch_to.active_element.send_keys("那么" + Keys.ENTER)
    driver.find_element(By.CSS_SELECTOR, "button[data-format=srt]").click()
    browser.wait(lambda d: page_data(browser).get("revision") == "2", 30, "the save before the export")
    srt = wait_for_download(tmp_path / "downloads", ".srt")
    assert CORRECTION in srt and "那么" in srt and "-->" in srt
    assert "那么" in api.get(f"/v1/transcripts/{transcript_id}/export", params={"format": "srt"}).text

    # A language switch re-renders the page: the result, its corrections and its audio are still there.
    Select(driver.find_element(By.ID, "lang")).select_by_value("en")
    browser.wait(lambda d: d.find_element(By.ID, "transcribe-result-title").text == "Transcript", 10, "English")
    assert CORRECTION in words(browser) and driver.find_element(By.ID, "transcribe-audio")
    Select(driver.find_element(By.ID, "lang")).select_by_value("zh")

    # After a reload (the page's memory gone) the saved transcript is listed and re-opens with the corrections.
    driver.refresh()
    browser.wait(lambda d: d.execute_script("return document.body.dataset.page") == "transcribe", 30, "the reload")
    opener = browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, f"button[data-open='{transcript_id}']"), 30)
    opener.click()
    browser.wait(lambda d: page_data(browser).get("transcriptId") == transcript_id, 30, "the saved transcript")
    assert CORRECTION in words(browser) and page_data(browser)["revision"] == "2"
    assert not driver.find_elements(By.ID, "transcribe-audio")  # audio is not stored with a transcript


def wait_for_download(folder, suffix: str, timeout: float = 30.0) -> str:
    """The text of the first file with ``suffix`` the browser finished downloading into ``folder``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}")] if folder.is_dir() else []
        if done:
            return done[0].read_text(encoding="utf-8")
        time.sleep(0.2)
    pytest.fail(f"no {suffix} file was downloaded into {folder}")


def test_a_long_recording_runs_as_a_job_with_progress(server, browser_factory, clip_path, recognizer):
    api = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {server.key}"}, timeout=30)
    assert api.put("/v1/hotwords/corpus-terms", json={"words": ["acoustic corpus"]}).status_code == 200
    browser = browser_factory(server, width=768, height=1024)
    browser.sign_in(server.key, "transcribe")
    # The tenant's stored list is offered as a checkbox; free hotwords go with it.
    browser.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#transcribe-lists input[value=corpus-terms]"), 30)
    browser.driver.find_element(By.CSS_SELECTOR, "#transcribe-lists input[value=corpus-terms]").click()
    browser.driver.find_element(By.ID, "transcribe-hotwords").send_keys("Montreal")
    transcribe(browser, clip_path(EN_CLIP), "en", mode="job")
    browser.wait(lambda d: page_data(browser).get("status") == "job", 30, "the job to be queued")
    assert browser.driver.find_element(By.CSS_SELECTOR, "#transcribe-progress progress").is_displayed()
    assert browser.driver.find_element(By.ID, "transcribe-start").get_attribute("disabled") is not None
    seen = set()

    def finished(_) -> bool:
        data = page_data(browser)
        if "progress" in data:
            seen.add(float(data["progress"]))
        return data.get("status") == "done"

    browser.wait(finished, what="the job's result")
    assert seen and all(0.0 <= p <= 1.0 for p in seen)
    assert page_data(browser)["mode"] == "job"
    hypothesis = " ".join(words(browser))
    assert score("en", locate_entry(EN_CLIP).reference_text, hypothesis).rate <= 0.5, hypothesis
    job = api.get("/v1/jobs").json()["data"][0]
    assert job["status"] == "succeeded" and job["task"] == "transcribe" and job["options"]["language"] == "en"
    assert {"acoustic corpus", "Montreal"} <= set(job["options"]["hotwords"])
    overflow = browser.driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 768 px"
    browser.driver.execute_script("document.getElementById('transcribe-result').scrollIntoView()")
    browser.screenshot("transcribe-job-tablet")


@pytest.mark.slow
def test_a_file_that_is_not_audio_is_refused_in_words(server, browser_factory, tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("这不是录音 / not a recording\n" * 50, encoding="utf-8")
    browser = browser_factory(server)
    browser.sign_in(server.key, "transcribe")
    driver = browser.driver
    driver.find_element(By.ID, "transcribe-diarize").click()
    driver.find_element(By.ID, "transcribe-hotwords").send_keys("太乙真人")
    transcribe(browser, notes, "en", mode="now")
    browser.wait(lambda d: browser.alert(), 60, "the refusal")
    assert "出错了" in browser.alert() and "audio" in browser.alert().lower()
    # The options stay as set, the file stays chosen, and the button can be pressed again.
    assert driver.find_element(By.ID, "transcribe-language").get_attribute("value") == "en"
    assert driver.find_element(By.ID, "transcribe-diarize").is_selected()
    assert driver.find_element(By.ID, "transcribe-hotwords").get_attribute("value") == "太乙真人"
    assert "notes.wav" in driver.find_element(By.ID, "transcribe-chosen").text
    assert driver.find_element(By.ID, "transcribe-start").is_enabled()
    assert page_data(browser)["status"] == "idle"


HEARING = {
    "name": "庭审片段",
    "language": "zh",
    "duration": 4.0,
    "segments": [
        {"start": 0.0, "end": 1.5, "text": "请坐下。", "speaker": "审判长", "words": [
            {"start": 0.0, "end": 0.5, "word": "请"}, {"start": 0.5, "end": 1.0, "word": "坐"},
            {"start": 1.0, "end": 1.5, "word": "下。"}]},
        {"start": 1.6, "end": 3.0, "text": "好的", "speaker": "原告", "words": [
            {"start": 1.6, "end": 2.2, "word": "好"}, {"start": 2.2, "end": 3.0, "word": "的"}]},
        {"start": 3.1, "end": 4.0, "text": "开庭。", "speaker": "审判长", "words": []},
    ],
}  # fmt: skip


@pytest.mark.slow
def test_keyboard_editing_of_a_saved_transcript_with_speakers(server, browser_factory):
    api = httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {server.key}"}, timeout=30)
    transcript_id = api.post("/v1/transcripts", json=HEARING).json()["id"]
    browser = browser_factory(server)
    browser.sign_in(server.key, "transcribe")
    driver = browser.driver
    # A file dropped on the drop zone is chosen.
    driver.execute_script(
        """const data = new DataTransfer();
        data.items.add(new File(["RIFF"], "dropped.wav", {type: "audio/wav"}));
        document.querySelector("[data-test=drop]").dispatchEvent(new DragEvent("drop", {dataTransfer: data}));"""
    )
    assert "dropped.wav" in driver.find_element(By.ID, "transcribe-chosen").text
    browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, f"button[data-open='{transcript_id}']"), 30).click()
    browser.wait(lambda d: page_data(browser).get("transcriptId") == transcript_id, 30, "the saved transcript")

    # Speakers are labelled and coloured in order of first appearance.
    segments = driver.find_elements(By.CSS_SELECTOR, "#transcript .segment")
    assert [s.get_attribute("class").split()[-1] for s in segments] == ["speaker-0", "speaker-1", "speaker-0"]
    assert [s.find_element(By.CLASS_NAME, "speaker").text for s in segments] == ["审判长", "原告", "审判长"]

    # One tab stop: the arrow keys, Home and End move word by word; Enter edits in edit mode.
    def key(*keys) -> str:
        driver.switch_to.active_element.send_keys(*keys)
        return driver.switch_to.active_element.text

    driver.find_element(By.ID, "transcribe-edit").click()
    driver.execute_script("document.querySelector('#transcript button.word[tabindex=\"0\"]').focus()")
    assert key(Keys.ARROW_RIGHT) == "坐" and key(Keys.END) == "开庭。" and key(Keys.HOME) == "请"
    key(Keys.ARROW_RIGHT, Keys.ENTER)
    assert key(Keys.CONTROL, "a") == "" and key("站", Keys.ENTER) == "站"  # the editor, then the word again
    key(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ENTER)  # 的: emptied, so removed
    key(Keys.CONTROL, "a")
    key(Keys.BACKSPACE, Keys.ENTER)
    key(Keys.END, Keys.ENTER)  # a segment without word times is corrected as a whole
    key(Keys.CONTROL, "a")
    key("现在开庭。", Keys.ENTER)
    assert words(browser) == ["请", "站", "下。", "好", "现在开庭。"]
    assert page_data(browser)["dirty"] == "true"
    driver.find_element(By.ID, "transcribe-save").click()
    browser.wait(lambda d: page_data(browser).get("revision") == "2", 30, "the save")
    stored = api.get(f"/v1/transcripts/{transcript_id}").json()["segments"]
    assert [s["text"] for s in stored] == ["请站下。", "好", "现在开庭。"]  # segment texts follow their words
    assert [w["word"] for w in stored[1]["words"]] == ["好"] and stored[1]["speaker"] == "原告"

    # Saved meanwhile by someone else: the save is refused in words and the correction stays on the page.
    assert api.put(f"/v1/transcripts/{transcript_id}", json={"name": "另一处修改", "revision": 2}).status_code == 200
    driver.find_elements(By.CSS_SELECTOR, "#transcript button.word")[3].click()
    key(Keys.CONTROL, "a")
    key("对", Keys.ENTER)
    driver.find_element(By.ID, "transcribe-save").click()
    browser.wait(lambda d: "出错了" in browser.alert(), 30, "the refusal")
    assert "changed since you loaded it" in browser.alert()
    assert page_data(browser)["dirty"] == "true" and "对" in words(browser)
    assert api.get(f"/v1/transcripts/{transcript_id}").json()["segments"][1]["text"] == "好"


def test_verbose_json_carries_the_translation_of_a_segment():
    words = [Word(0.0, 0.5, "你好", 0.9)]
    segment = Segment(0.0, 0.5, "你好", words=words, translation="Hello", translation_problems=["number 3 missing"])
    body = _verbose(Transcript("你好", "zh", 0.5, [segment, Segment(0.5, 1.0, "再见")]), {"segment"})
    first, second = body["segments"]
    assert first["translation"] == "Hello" and first["translation_needs_review"] is True
    assert first["translation_problems"] == ["number 3 missing"] and "translation" not in second
