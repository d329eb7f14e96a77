"""The console's Speak, Assess, Jobs, Usage, Keys and Lists pages in real headless Chromium against a live server:
speech synthesized, played and downloaded; real readings scored and coloured word by word; jobs listed, opened
and cancelled; the metered day charted; keys created, used, revoked; hotword lists, glossaries and knowledge-base
versions edited, imported, exported and activated; every page without sideways scrolling at 768 px."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from shenggu.audio import decode_audio
from tests.conftest import locate_entry
from tests.console_browser import Browser, ConsoleServer, console_server, draws_chinese, write_wav
from tests.servers import call_as

pytestmark = pytest.mark.slow  # a live server, a browser and the speech models

READING = "so762_029810235"  # an L1-Mandarin speaker reading an English prompt, with its prompt as reference
MANDARIN = "zh_firered_BAC009S0764W0121"
TALL = 1100  # window height for the screenshots (the README's)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from console_server(tmp_path_factory)


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory):
    """A server whose jobs are never taken (no workers), so a job stays queued until it is cancelled."""
    yield from console_server(tmp_path_factory, job_workers=0)


# ------------------------------------------------------------------------------------------------ helpers


def js(browser: Browser, script: str, *args):
    return browser.driver.execute_script(script, *args)


def page_state(browser: Browser, name: str) -> str | None:
    """A data-* attribute of the page's root (the pages mirror their state there)."""
    return js(browser, "return document.getElementById('page').dataset[arguments[0]]", name)


def find(browser: Browser, css: str, timeout: float = 30):
    return browser.wait(lambda d: d.find_element(By.CSS_SELECTOR, css), timeout, css)


def type_into(browser: Browser, css: str, text: str) -> None:
    """Replace a control's text as a user would (the page's input events fire)."""
    control = find(browser, css)
    control.clear()
    control.send_keys(text)


def choose(browser: Browser, css: str, value: str) -> None:
    """Pick an option of a <select> by value (a change event, as from the keyboard)."""
    js(
        browser,
        "const s = document.querySelector(arguments[0]); s.value = arguments[1];"
        "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));",
        css,
        value,
    )


def accept_confirmation(browser: Browser) -> str:
    """Accept the page's confirm() dialog; its question."""
    alert = WebDriverWait(browser.driver, 10).until(expected_conditions.alert_is_present())
    question = alert.text
    alert.accept()
    return question


def downloaded(folder: Path, name: str, timeout: float = 30) -> Path:
    """The file the browser saved as ``name`` in ``folder`` (waits until it is complete)."""
    path = folder / name
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.stat().st_size and not (folder / f"{name}.crdownload").exists():
            return path
        time.sleep(0.2)
    pytest.fail(f"{name} was not downloaded to {folder}: {sorted(p.name for p in folder.glob('*'))}")


def audio_duration(browser: Browser) -> float:
    """The duration of the Speak page's player (0 until it knows it)."""
    return js(browser, "const a = document.getElementById('speak-audio'); return a && a.duration || 0")


def shoot(browser: Browser, name: str, css: str | None = None) -> None:
    """A screenshot with ``css`` (the part worth seeing) scrolled to the top of the window."""
    if css:
        js(browser, "document.querySelector(arguments[0]).scrollIntoView({block: 'start'})", css)
    browser.screenshot(name)


def sideways(browser: Browser) -> list[str]:
    """The elements that stick out of the window on the right (empty when the page does not scroll sideways)."""
    return js(
        browser,
        """const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        return [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > width + 1)
          .map(e => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)
          .slice(-8);""",
    )


def page_errors(browser: Browser) -> list[dict]:
    """Script errors in the page's console (failed requests the test provoked are logged as network errors)."""
    return [e for e in browser.log() if e["level"] == "SEVERE" and "console/assets" in e["message"]]


def wait_job(server: ConsoleServer, key: str, job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = call_as(server.base, key, "GET", f"/v1/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish")


def assess_job(server: ConsoleServer, key: str) -> str:
    """A short assessment job made through the API (the way a client program would); its id."""
    entry = locate_entry(READING)
    with entry.path.open("rb") as f:
        response = call_as(
            server.base,
            key,
            "POST",
            "/v1/jobs",
            files={"file": (entry.path.name, f, "audio/wav")},
            data={"task": "assess", "language": "en", "text": entry.reference_text},
        )
    assert response.status_code == 202, response.text
    return response.json()["id"]


# ------------------------------------------------------------------------------------------------ Speak


def test_speak_plays_and_downloads_mandarin_and_english(server, browser_factory, tmp_path):
    browser = browser_factory(server, height=TALL)
    browser.sign_in(server.key, "speak")
    assert draws_chinese(browser.driver)
    voices = js(browser, "return [...document.querySelectorAll('#speak-voice optgroup')].map(g => g.label)")
    assert voices == ["中文", "英文"]  # grouped by language

    type_into(browser, "#speak-text", "今天天气很好，我们去公园散步吧。")
    choose(browser, "#speak-voice", "zf_xiaoxiao")
    choose(browser, "#speak-format", "mp3")
    find(browser, "#speak-submit").click()
    browser.wait(lambda d: audio_duration(browser) > 0.5, what="a playable MP3 longer than half a second")
    browser.screenshot("speak-zh")
    find(browser, "#speak-download").click()
    mp3 = downloaded(tmp_path / "downloads", "speech-zf_xiaoxiao.mp3").read_bytes()
    assert mp3[:3] == b"ID3" or (mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0), mp3[:4]

    # English, as WAV: the streamed "unknown length" header is made exact, so players know its duration.
    type_into(browser, "#speak-text", "Good morning. Your appointment is at ten thirty.")
    choose(browser, "#speak-voice", "en_joe")
    choose(browser, "#speak-format", "wav")
    find(browser, "#speak-submit").click()
    browser.wait(lambda d: find(browser, "#speak-result").get_attribute("data-format") == "wav", what="the WAV")
    browser.wait(lambda d: audio_duration(browser) > 0.5, 20, "its duration")
    find(browser, "#speak-download").click()
    wav = downloaded(tmp_path / "downloads", "speech-en_joe.wav").read_bytes()
    assert wav[:4] == b"RIFF" and int.from_bytes(wav[4:8], "little") == len(wav) - 8
    duration = audio_duration(browser)
    assert abs(duration - len(decode_audio(tmp_path / "downloads" / "speech-en_joe.wav")) / 16000) < 0.1

    # The text, the voice and the result survive the language switch's re-render.
    find(browser, "#lang").send_keys("English")
    browser.wait(lambda d: find(browser, "h1").text == "Speak", 10, "the English page")
    assert find(browser, "#speak-text").get_attribute("value").startswith("Good morning")
    assert js(browser, "return document.getElementById('speak-voice').value") == "en_joe"
    assert audio_duration(browser) > 0.5
    browser.screenshot("speak-en")

    # SSML: a fragment gets its <speak> root; bad SSML is refused in words and the text stays.
    find(browser, "#lang").send_keys("中文")
    choose(browser, "#speak-mode", "ssml")
    choose(browser, "#speak-voice", "zm_yunxi")
    choose(browser, "#speak-format", "mp3")
    type_into(browser, "#speak-text", '你好<break time="800ms"/>世界')
    find(browser, "#speak-submit").click()
    browser.wait(lambda d: find(browser, "#speak-result").get_attribute("data-format") == "mp3", 60, "the SSML")
    browser.wait(lambda d: audio_duration(browser) > 1.2, 20, "the audio with its pause")
    type_into(browser, "#speak-text", '<speak>你好<emphasis level="strong">世界</emphasis></speak>')
    find(browser, "#speak-submit").click()
    browser.wait(lambda d: "emphasis" in browser.alert(), 60, "the SSML refusal")
    assert "emphasis" in find(browser, "#speak-text").get_attribute("value")
    assert not page_errors(browser)


# ------------------------------------------------------------------------------------------------ Assess


def assessed_words(browser: Browser) -> list[dict]:
    return js(
        browser,
        """return [...document.querySelectorAll('#assess-words .assessed-word')].map(w => ({
            text: w.querySelector('.text').textContent, accuracy: +w.dataset.accuracy, error: w.dataset.error,
            classes: [...w.classList].filter(c => c.startsWith('score-')), label: w.getAttribute('aria-label'),
            parts: [...w.querySelectorAll('.part')].map(p => p.textContent)}))""",
    )


def check_colours(words: list[dict]) -> None:
    """Each word is coloured by its own score, with the numbers in its accessible name."""
    for word in words:
        expected = "score-good" if word["accuracy"] >= 80 else "score-fair" if word["accuracy"] >= 60 else "score-poor"
        assert word["classes"] == [expected], word
        assert str(round(word["accuracy"])) in word["label"] and word["text"] in word["label"], word


def test_assess_scores_a_real_reading_word_by_word(server, browser_factory, tmp_path):
    reading, mandarin = locate_entry(READING), locate_entry(MANDARIN)
    browser = browser_factory(server, height=TALL)
    browser.sign_in(server.key, "assess")
    type_into(browser, "#assess-text", reading.reference_text)
    choose(browser, "#assess-language", "en")
    find(browser, "#assess-file").send_keys(str(reading.path))
    find(browser, "#assess-submit").click()
    browser.wait(lambda d: page_state(browser, "status") == "done", what="the assessment")
    words = assessed_words(browser)
    assert [w["text"] for w in words] == reading.reference_text.split()
    check_colours(words)
    assert all(w["parts"] for w in words)  # English words show their phones
    scores = js(browser, "return [...document.querySelectorAll('.score-card[data-score]')].map(c => c.dataset.score)")
    assert scores == ["total", "accuracy", "fluency", "completeness", "prosodic"]
    assert len(js(browser, "return document.querySelectorAll('#assess-result .legend li')")) == 5
    shoot(browser, "assess-en", "#assess-result")

    # Clicking a word plays the reading from it.
    find(browser, "#assess-words button.assessed-word").click()
    browser.wait(
        lambda d: js(browser, "return document.getElementById('assess-audio').currentTime") > 0,
        20,
        "playback from the word",
    )

    # Mandarin: characters with their pinyin syllables; the problems table lists what was wrong, if anything.
    type_into(browser, "#assess-text", mandarin.reference_text)
    choose(browser, "#assess-language", "zh")
    find(browser, "#assess-file").send_keys(str(mandarin.path))
    find(browser, "#assess-submit").click()
    browser.wait(
        lambda d: js(browser, "return document.getElementById('assess-words').lang") == "zh-CN",
        what="the Mandarin assessment",
    )
    words = assessed_words(browser)
    assert "".join(w["text"] for w in words) == mandarin.reference_text
    check_colours(words)
    assert all(part[-1].isdigit() for w in words for part in w["parts"])  # tone-numbered pinyin
    problems = js(browser, "return document.querySelectorAll('#assess-problems tbody tr').length")
    flagged = sum(w["error"] != "none" or w["accuracy"] < 60 for w in words)
    assert problems >= flagged
    shoot(browser, "assess-zh", "#assess-result")
    assert not page_errors(browser)


def test_assess_records_with_the_microphone(server, browser_factory, tmp_path):
    reading = locate_entry(READING)
    audio = decode_audio(reading.path)
    silence = np.zeros(8000, np.float32)
    microphone = write_wav(tmp_path / "reading.wav", np.concatenate([silence, audio, silence, silence]))
    browser = browser_factory(server, microphone=microphone)
    browser.sign_in(server.key, "assess")
    type_into(browser, "#assess-text", reading.reference_text)
    choose(browser, "#assess-language", "en")
    find(browser, "#assess-record").click()
    browser.wait(lambda d: find(browser, "#assess-record").get_attribute("aria-pressed") == "true", 20, "recording")
    time.sleep(len(audio) / 16000 + 1.2)
    find(browser, "#assess-record").click()
    browser.wait(lambda d: js(browser, "return !!document.querySelector('#assess-chosen audio')"), 20, "the recording")
    find(browser, "#assess-submit").click()
    browser.wait(lambda d: page_state(browser, "status") == "done", what="the assessment of the recording")
    words = assessed_words(browser)
    assert [w["text"] for w in words] == reading.reference_text.split()
    check_colours(words)
    # The fake microphone played the reading: most of its words are found in it (not all omitted).
    assert sum(w["error"] != "omission" for w in words) >= len(words) // 2, words


# ------------------------------------------------------------------------------------------------ Jobs


def test_jobs_are_listed_opened_and_cancelled(server, idle_server, browser_factory):
    job_id = assess_job(server, server.key)
    assert wait_job(server, server.key, job_id)["status"] == "succeeded"
    browser = browser_factory(server, height=TALL)
    browser.sign_in(server.key, "jobs")
    find(browser, f"[data-open='{job_id}']").click()
    detail = find(browser, f"#job-detail[data-job='{job_id}']")
    assert detail.get_attribute("data-status") == "succeeded"
    result = json.loads(find(browser, "#job-detail pre.json").text)
    assert result["reference"] == locate_entry(READING).reference_text and len(result["words"]) == 8
    choose(browser, "#jobs-status", "failed")
    browser.wait(lambda d: page_state(browser, "shown") == "0", 10, "filter")
    choose(browser, "#jobs-status", "")
    type_into(browser, "#jobs-search", job_id[:8])
    browser.wait(lambda d: page_state(browser, "shown") == "1", 10, "search")
    shoot(browser, "jobs", "h1")

    # A queued job (no worker takes it here): refreshed automatically, cancelled after a confirmation.
    queued = assess_job(idle_server, idle_server.key)
    idle = browser_factory(idle_server)
    idle.sign_in(idle_server.key, "jobs")
    assert page_state(idle, "active") == "true"
    find(idle, f"button[data-cancel='{queued}']").click()
    assert queued in accept_confirmation(idle)
    idle.wait(lambda d: page_state(idle, "active") == "false", 20, "cancel")
    assert call_as(idle_server.base, idle_server.key, "GET", f"/v1/jobs/{queued}").json()["status"] == "cancelled"
    assert "已取消" in find(idle, "#jobs-table").text
    assert not page_errors(browser) and not page_errors(idle)


# ------------------------------------------------------------------------------------------------ Usage


def test_usage_charts_the_metered_day(server, browser_factory):
    created = call_as(
        server.base, server.admin_key, "POST", "/v1/admin/keys",
        json={"tenant": "metered", "quota_seconds_per_day": 600.0, "quota_characters_per_day": 5000},
    ).json()  # fmt: skip
    reading = locate_entry(READING)
    with reading.path.open("rb") as f:
        files = {"file": (reading.path.name, f, "audio/wav")}
        data = {"language": "en", "text": reading.reference_text}
        scored = call_as(server.base, created["key"], "POST", "/v1/assessments", files=files, data=data)
        assert scored.status_code == 200, scored.text
    speech = {"input": "你好，世界。", "voice": "zf_xiaoxiao", "response_format": "wav"}
    assert call_as(server.base, created["key"], "POST", "/v1/audio/speech", json=speech).status_code == 200
    report = call_as(server.base, created["key"], "GET", "/v1/usage", params={"days": 7}).json()
    assert report["characters_today"] == len(speech["input"])
    today = report["data"][0]["day"]

    browser = browser_factory(server, height=TALL)
    browser.sign_in(created["key"], "usage")
    choose(browser, "#usage-days", "7")
    browser.wait(
        lambda d: (
            js(browser, "return document.querySelectorAll('figure.chart[data-metric=requests] g.bar').length") == 7
        ),
        20,
        "seven days",
    )
    bars = js(
        browser,
        "return [...document.querySelectorAll('figure.chart rect')].filter(r => +r.dataset.value > 0).map(r => "
        "({metric: r.closest('figure').dataset.metric, day: r.dataset.category, series: r.dataset.series,"
        " value: +r.dataset.value}))",
    )
    expected = [
        {"metric": metric, "day": row["day"], "series": row["capability"], "value": pytest.approx(row[metric])}
        for row in report["data"]
        for metric in ("requests", "audio_seconds", "characters")
        if row[metric] > 0
    ]
    assert sorted(bars, key=str) == sorted(expected, key=str) and all(bar["day"] == today for bar in bars)
    assert js(browser, "return document.querySelectorAll('#usage-rows tbody tr').length") == len(report["data"])
    limits = find(browser, "dl.facts").text
    assert "600" in limits and "5000" in limits
    assert len(js(browser, "return document.querySelectorAll('main .progress progress')")) == 2
    shoot(browser, "usage", "#usage-charts")


# ------------------------------------------------------------------------------------------------ Keys


def test_keys_created_used_and_revoked(server, browser_factory):
    admin = browser_factory(server, height=TALL)
    admin.sign_in(server.admin_key, "keys")
    type_into(admin, "#key-tenant", "newcomer")
    type_into(admin, "#key-rate_per_minute", "30")
    find(admin, "#key-submit").click()
    key = find(admin, "#created-key").get_attribute("value")
    key_id = find(admin, "#created").get_attribute("data-key-id")
    me = httpx.get(f"{server.base}/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
    assert me["tenant"] == "newcomer" and not me["admin"] and me["key_id"] == key_id
    row = find(admin, f"button[data-revoke='{key_id}']").find_element(By.XPATH, "./ancestor::tr").text
    assert "newcomer" in row and "30" in row
    admin.screenshot("keys")

    # The new key signs in elsewhere; a user sees no Keys page.
    user = browser_factory(server)
    user.sign_in(key, "jobs")
    assert "密钥" not in find(user, "#nav").text and "newcomer" in find(user, "#who").text
    user.go("keys")
    assert "管理员" in find(user, "h1").text

    # Revoked: the key stops working, and the console signs its user out with a message.
    find(admin, f"button[data-revoke='{key_id}']").click()
    assert key_id in accept_confirmation(admin)
    admin.wait(lambda d: key_id in admin.alert(), 20, "the revocation")
    # The list is drawn again after the revocation: read it afresh until it shows the key revoked.
    admin.wait(lambda d: "已吊销" in js(admin, "return document.querySelector('#keys-table')?.textContent || ''"), 20)
    assert httpx.get(f"{server.base}/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    user.driver.execute_script("location.hash = '#/usage'")
    user.wait(lambda d: js(user, "return document.body.dataset.page") == "signin", 20, "the sign-out")
    assert "吊销" in user.alert()
    assert js(user, "return sessionStorage.getItem('shenggu.console.key')") is None


# ------------------------------------------------------------------------------------------------ Lists


def test_hotwords_glossaries_and_knowledge_base_versions(server, browser_factory, tmp_path):
    browser = browser_factory(server, height=TALL)
    browser.sign_in(server.other_key, "lists")
    call = lambda method, path, **kw: call_as(server.base, server.other_key, method, path, **kw)  # noqa: E731

    # A hotword list: created, edited, exported.
    find(browser, "#hotwords-new").click()
    type_into(browser, "#hotwords-name", "court")
    type_into(browser, "#hotwords-text", "太乙真人\n房地产")
    find(browser, "#hotwords-save").click()
    find(browser, "#hotwords-table [data-edit='court']")
    assert call("GET", "/v1/hotwords/court").json()["words"] == ["太乙真人", "房地产"]
    find(browser, "#hotwords-editor").find_element(By.XPATH, ".//button[@type='button']").click()  # close
    find(browser, "#hotwords-table [data-edit='court']").click()
    find(browser, "#hotwords-text").send_keys("\nCTranslate2")
    find(browser, "#hotwords-save").click()
    browser.wait(lambda d: len(call("GET", "/v1/hotwords/court").json()["words"]) == 3, 20, "the edit")
    browser.screenshot("lists-hotwords")
    find(browser, "#hotwords-table [data-export='court']").click()
    exported = json.loads(downloaded(tmp_path / "downloads", "hotwords-court.json").read_text("utf-8"))
    assert exported == {"words": ["太乙真人", "房地产", "CTranslate2"]}

    # A glossary imported from a spreadsheet's TSV (read in the browser), then saved.
    find(browser, "#tab-glossaries").click()
    find(browser, "#glossaries-new").click()
    type_into(browser, "#glossaries-name", "legal")
    terms = tmp_path / "terms.tsv"
    terms.write_text("原告\tplaintiff\n被告\tdefendant\n", "utf-8")
    find(browser, "#glossaries-import").send_keys(str(terms))
    browser.wait(lambda d: "被告 = defendant" in find(browser, "#glossaries-text").get_attribute("value"), 10, "import")
    find(browser, "#glossaries-save").click()
    browser.wait(lambda d: call("GET", "/v1/glossaries/legal").status_code == 200, 20, "the glossary")
    assert call("GET", "/v1/glossaries/legal").json()["terms"] == {"原告": "plaintiff", "被告": "defendant"}
    type_into(browser, "#glossaries-text", "原告 plaintiff")  # no "=": refused in words, the text stays
    find(browser, "#glossaries-save").click()
    browser.wait(lambda d: "第 1 行" in browser.alert(), 10, "the bad line")
    assert find(browser, "#glossaries-text").get_attribute("value") == "原告 plaintiff"

    # A knowledge base: a file imported, a second version edited here, the first made active again.
    find(browser, "#tab-kb").click()
    faq = tmp_path / "faq.csv"
    faq.write_text("question,answer\n怎么开通微粒贷？,目前采用邀请制。\n营业时间是几点？,早九点到晚五点。\n", "utf-8")
    type_into(browser, "#kb-name", "hall")
    find(browser, "#kb-file").send_keys(str(faq))
    find(browser, "#kb-import").click()
    find(browser, "#kb-detail[data-kb='hall']")
    text = find(browser, "#kb-text")
    assert "## 怎么开通微粒贷？" in text.get_attribute("value")
    text.send_keys("\n\n## 在哪里停车？\n\n地下一层。\n")
    find(browser, "#kb-save").click()
    browser.wait(lambda d: js(browser, "return document.getElementById('kb').dataset.versions") == "2", 20, "v2")
    assert call("GET", "/v1/knowledge-bases/hall").json()["entry_count"] == 3
    find(browser, "#kb-versions [data-activate='1']").click()
    assert "1" in accept_confirmation(browser)
    browser.wait(lambda d: js(browser, "return document.getElementById('kb').dataset.versions") == "3", 20, "v3")
    active = call("GET", "/v1/knowledge-bases/hall").json()
    assert (active["version"], active["restored_from"], active["entry_count"]) == (3, 1, 2)
    assert "在哪里停车" not in find(browser, "#kb-text").get_attribute("value")  # the editor shows v3 = v1
    choose(browser, "#kb-format", "md")
    find(browser, "#kb-versions [data-export-version='2']").click()
    assert "在哪里停车" in downloaded(tmp_path / "downloads", "hall-v2.md").read_text("utf-8")
    shoot(browser, "lists-kb", "#kb-detail")
    assert not page_errors(browser)


# ------------------------------------------------------------------------------------------------ tablets


def test_pages_with_content_fit_a_tablet(server, browser_factory):
    """At 768 px every page, with its content shown (results, open job, open base), scrolls only downwards."""
    job_id = assess_job(server, server.admin_key)
    wait_job(server, server.admin_key, job_id)
    call_as(server.base, server.admin_key, "PUT", "/v1/hotwords/default", json={"words": ["声谷", "热词"]})
    entries = {"entries": [{"question": "怎么开通微粒贷？" * 8, "answer": "目前采用邀请制。" * 30}]}
    call_as(server.base, server.admin_key, "PUT", "/v1/knowledge-bases/hall", json=entries)
    reading = locate_entry(READING)
    browser = browser_factory(server, width=768, height=1024)
    browser.sign_in(server.admin_key, "speak")

    type_into(browser, "#speak-text", "你好。")
    find(browser, "#speak-submit").click()
    find(browser, "#speak-result")
    assert not sideways(browser), "speak"
    browser.go("assess")
    type_into(browser, "#assess-text", reading.reference_text)
    choose(browser, "#assess-language", "en")
    find(browser, "#assess-file").send_keys(str(reading.path))
    find(browser, "#assess-submit").click()
    find(browser, "#assess-result")
    assert not sideways(browser), "assess"
    shoot(browser, "tablet-assess", "#assess-result")
    browser.go("jobs")
    find(browser, f"[data-open='{job_id}']").click()
    find(browser, "#job-detail pre.json")
    assert not sideways(browser), "jobs"
    browser.screenshot("tablet-jobs")
    for page in ("usage", "keys"):
        browser.go(page)
        find(browser, "table")
        assert not sideways(browser), page
    browser.go("lists")
    find(browser, "#hotwords-table [data-edit='default']").click()
    find(browser, "#tab-kb").click()
    find(browser, "#kb-table [data-open='hall']").click()
    find(browser, "#kb-detail")
    assert not sideways(browser), "lists"
    shoot(browser, "tablet-lists", "#kb-detail")
    assert not page_errors(browser)
