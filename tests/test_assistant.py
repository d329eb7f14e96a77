"""The FAQ voice assistant end to end: the /v1/assistant protocol on a real server (typed and spoken questions,
clarification, faults, metering), POST /v1/assistant/ask, and the kiosk page in headless Chromium with a WAV
file as its microphone."""

from __future__ import annotations

import json
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from shenggu.config import Settings
from shenggu.service.app import create_app
from shenggu.service.storage import knowledge, tenants, usage
from shenggu.solutions.assistant import (
    NO_MATCH,
    IndexCache,
    QuestionListener,
    Voices,
    join_texts,
    listen_options,
    reply_for,
    spoken_part,
)
from shenggu.solutions.assistant.phrasing import grounding_problems
from tests.servers import running_server, tenant_keys
from tests.service_hall import HALL_KB, MARRIAGE_ANSWER, speak_question


@dataclass(frozen=True)
class Server:
    base: str
    ws: str
    key: str
    other_key: str
    app: object
    tenant_id: int


@pytest.fixture(scope="module")
def server(recognizer, tmp_path_factory):
    settings = Settings(
        preload_models=False,
        job_workers=0,
        max_streams=4,
        stream_idle_seconds=5.0,
        data_dir=tmp_path_factory.mktemp("data"),
    )
    app = create_app(settings)
    keys = tenant_keys(app, "hall", "elsewhere")
    with app.state.db.session() as session:
        tenant_id = tenants.get_or_create_tenant(session, "hall").id
        knowledge.create_version(session, tenant_id, "hall", HALL_KB)
    with running_server(app) as base:
        yield Server(base, base.replace("http://", "ws://"), keys["hall"], keys["elsewhere"], app, tenant_id)


@pytest.fixture(scope="module")
def spoken_question() -> np.ndarray:
    """The question spoken by a male Mandarin voice (the answers use a female one)."""
    return speak_question()


def open_assistant(server: Server, query: str = "kb=hall&language=zh", key: str | None = "", header: bool = True):
    key = server.key if key == "" else key
    headers = {"Authorization": f"Bearer {key}"} if key and header else {}
    if key and not header:
        query += f"&api_key={key}"
    return connect(f"{server.ws}/v1/assistant?{query}", additional_headers=headers, open_timeout=30, max_size=None)


def pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def receive_until(ws, kind: str, timeout: float = 180) -> tuple[list[dict], int]:
    """Messages until one of type ``kind`` (or an error); returns them and the audio bytes received."""
    events, audio_bytes = [], 0
    while True:
        message = ws.recv(timeout=timeout)
        if isinstance(message, bytes):
            audio_bytes += len(message)
            continue
        events.append(json.loads(message))
        if events[-1]["type"] in (kind, "error"):
            return events, audio_bytes


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]


def usage_row(server: Server, ok=lambda row: True, timeout: float = 10.0) -> dict:
    """Today's "assistant" usage row of the hall tenant once ``ok(row)`` (metered when a connection ends)."""
    deadline = time.monotonic() + timeout
    while True:
        with server.app.state.db.session() as session:
            rows = [r for r in usage.report(session, server.tenant_id, days=1) if r["capability"] == "assistant"]
        if (rows and ok(rows[0])) or time.monotonic() > deadline:
            assert rows, "no usage recorded"
            return rows[0]
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ protocol


def test_typed_question_is_answered_and_spoken(server):
    with open_assistant(server) as ws:
        ready = json.loads(ws.recv(timeout=120))
        assert ready["type"] == "ready" and ready["kb"] == "hall" and ready["kb_version"] == 1
        ws.send(json.dumps({"type": "text", "text": "结婚登记需要带什么材料？"}))
        events, audio_bytes = receive_until(ws, "audio_end")
        ws.send(json.dumps({"type": "end"}))
        done, _ = receive_until(ws, "done", 60)
    assert [e["type"] for e in events] == ["question", "answer", "audio_start", "audio_end"], events
    question, answer, start, end = events
    assert question == {"type": "question", "text": "结婚登记需要带什么材料？", "source": "text"}
    assert answer["status"] == "answer" and answer["entry_id"] == "marriage" and answer["text"] == MARRIAGE_ANSWER
    assert answer["candidates"][0]["entry_id"] == "marriage" and 0 < answer["confidence"] <= 1
    assert answer["voice"] == "zf_xiaoxiao" and not answer["early"]
    assert start["sample_rate"] == 24000 and start["voice"] == "zf_xiaoxiao" and start["first_chunk_ms"] > 0
    assert end["seconds"] > 3 and not end["interrupted"]
    assert audio_bytes == pytest.approx(end["seconds"] * 24000 * 2, abs=4)
    assert done[-1] == {"type": "done"}
    row = usage_row(server, lambda row: row["characters"] >= len(MARRIAGE_ANSWER))
    assert row["characters"] >= len(MARRIAGE_ANSWER) and row["requests"] >= 1


def test_spoken_question_is_recognized_and_answered(server, spoken_question):
    """Speech streamed at a microphone's pace: the question closes at the pause and is answered aloud."""
    audio = np.concatenate([np.zeros(4800, np.float32), spoken_question, np.zeros(32000, np.float32)])
    frames = [pcm(audio[i : i + 1600]) for i in range(0, len(audio), 1600)]
    with open_assistant(server, key=server.key, header=False) as ws:  # the key as a query parameter
        assert json.loads(ws.recv(timeout=120))["type"] == "ready"
        start = time.monotonic()

        def microphone():
            for i, frame in enumerate(frames):
                time.sleep(max(0.0, start + (i + 1) * 0.1 - time.monotonic()))
                ws.send(frame)

        sender = threading.Thread(target=microphone, daemon=True)
        sender.start()
        events, audio_bytes = receive_until(ws, "audio_end")
        sender.join()
        ws.send(json.dumps({"type": "end"}))
        receive_until(ws, "done", 60)
    questions = of_type(events, "question")
    assert len(questions) == 1 and questions[0]["source"] == "speech", events
    assert "结婚登记" in questions[0]["text"] and "材料" in questions[0]["text"]
    assert 0 <= questions[0]["start"] < questions[0]["end"] <= len(audio) / 16000
    answer = of_type(events, "answer")[0]
    assert answer["status"] == "answer" and answer["entry_id"] == "marriage", answer
    assert audio_bytes > 24000 * 2 * 2  # seconds of answer speech
    seconds = len(audio) / 16000 - 0.5
    assert usage_row(server, lambda row: row["audio_seconds"] >= seconds)["audio_seconds"] >= seconds


def test_the_early_answer_is_for_the_final_text(recognizer, spoken_question):
    """The text an early answer is prepared for is the text of the final that closes the same pause."""
    listener = QuestionListener(recognizer, listen_options("zh"))
    audio = np.concatenate([np.zeros(4800, np.float32), spoken_question])
    for i in range(0, len(audio), 1600):
        assert not [e for e in listener.accept(audio[i : i + 1600]) if hasattr(e, "segment")]
    for _ in range(3):  # 300 ms of silence: the speculative decode has started, the pause is long enough
        assert not [e for e in listener.accept(np.zeros(1600, np.float32)) if hasattr(e, "segment")]
    deadline = time.monotonic() + 60
    while (settled := listener.settled()) is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the decode runs in the background, whatever the machine's load ...
        listener.accept(np.zeros(0, np.float32))  # ... once started (not while a partial's decode runs)
    finals = []
    for _ in range(20):  # up to 2 s more silence: the endpoint closes the question
        finals += [e.segment for e in listener.accept(np.zeros(1600, np.float32)) if hasattr(e, "segment")]
        if finals:
            break
    assert settled is not None and finals
    assert settled.text == join_texts([s.text for s in finals], listener.language)
    assert "结婚登记" in settled.text


def test_an_ambiguous_question_asks_which_and_an_option_can_be_chosen(server):
    with open_assistant(server) as ws:
        assert json.loads(ws.recv(timeout=120))["type"] == "ready"
        ws.send(json.dumps({"type": "text", "text": "登记需要带什么材料"}))
        events, _ = receive_until(ws, "answer")
        ws.send(json.dumps({"type": "stop"}))  # the clarifying question need not be heard out
        receive_until(ws, "audio_end")
        clarify = events[-1]
        assert clarify["status"] == "clarify" and clarify["entry_id"] is None, clarify
        assert "结婚登记" in clarify["text"] and "离婚登记" in clarify["text"]
        assert sorted(clarify["options"]) == ["离婚登记需要带什么材料？", "结婚登记需要带什么材料？"]
        ws.send(json.dumps({"type": "text", "text": clarify["options"][0]}))  # the kiosk's option button
        events, _ = receive_until(ws, "answer")
        expected = "marriage" if clarify["options"][0].startswith("结婚") else "divorce"
        assert events[-1]["status"] == "answer" and events[-1]["entry_id"] == expected
        ws.send(json.dumps({"type": "stop"}))
        assert receive_until(ws, "audio_end")[0][-1]["interrupted"] in (True, False)
        ws.send(json.dumps({"type": "text", "text": "今天天气怎么样"}))
        events, _ = receive_until(ws, "answer")
        assert events[-1]["status"] == "no_match" and events[-1]["text"] == NO_MATCH["zh"]
        ws.send(json.dumps({"type": "end"}))
        assert receive_until(ws, "done")[0][-1]["type"] == "done"


@pytest.mark.parametrize(
    ("query", "key", "send", "code", "words"),
    [
        ("kb=hall", None, None, "unauthorized", "API key"),
        ("kb=nope", "", None, "not_found", "nope"),
        ("kb=hall", "other", None, "not_found", "hall"),  # another tenant's base is not visible
        ("language=zh", "", None, "bad_stream", "kb"),
        ("kb=hall&sample_rate=96000", "", None, "bad_stream", "sample_rate"),
        ("kb=hall&voice=nobody", "", None, "invalid_option", "voice"),
        ("kb=hall", "", b"\x01\x02\x03", "bad_stream", "16-bit"),
        ("kb=hall", "", "hello", "bad_stream", "JSON"),
        ("kb=hall", "", json.dumps({"type": "pause"}), "bad_stream", "text"),
        ("kb=hall", "", json.dumps({"type": "text", "text": " "}), "bad_stream", "text"),
    ],
)
def test_faults_end_with_a_clear_error(server, query, key, send, code, words):
    key = server.other_key if key == "other" else key
    with open_assistant(server, query, key=key) as ws:
        message = json.loads(ws.recv(timeout=120))
        if send is not None:
            assert message["type"] == "ready"
            ws.send(send)
            message = json.loads(ws.recv(timeout=60))
        assert message["type"] == "error" and message["code"] == code and words in message["message"], message
    assert ws.close_code in (1008, 1011, 1013)


def test_ask_over_http(server):
    def ask(body: dict, key: str | None = server.key) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(f"{server.base}/v1/assistant/ask", json=body, headers=headers, timeout=120)

    answer = ask({"kb": "hall", "text": "办结婚证要带什么"}).json()
    assert answer["status"] == "answer" and answer["entry_id"] == "marriage" and answer["answer"] == MARRIAGE_ANSWER
    assert answer["reply"] == MARRIAGE_ANSWER and answer["kb_version"] == 1 and answer["candidates"]
    english = ask({"kb": "hall", "text": "When is the service hall open?"}).json()
    assert english["entry_id"] == "hours" and english["answer_language"] == "en"
    assert english["voice"] == "en_joe" and english["reply"].startswith("The hall is open")
    clarify = ask({"kb": "hall", "text": "登记需要带什么材料"}).json()
    assert clarify["status"] == "clarify" and len(clarify["options"]) == 2
    assert ask({"kb": "missing", "text": "你好"}).status_code == 404
    assert ask({"kb": "hall", "text": "   "}).status_code == 422
    assert ask({"kb": "hall", "text": "你好"}, key=None).status_code == 401


def test_phrased_answers_are_used_only_when_grounded(server):
    body = {"kb": "hall", "text": "大厅周六开门吗？几点到几点？", "phrase": True}
    done = httpx.post(f"{server.base}/v1/assistant/ask", json=body, timeout=300,
                      headers={"Authorization": f"Bearer {server.key}"})  # fmt: skip
    assert done.status_code == 200, done.text
    answer = done.json()
    assert answer["entry_id"] == "hours"
    if answer["phrased"]:  # the model's wording states exactly the stored answer's facts
        assert grounding_problems(answer["answer"], answer["reply"], "zh") == []
    else:  # otherwise the stored answer is said, with the reasons
        assert answer["reply"] == answer["answer"] and answer["phrasing_problems"]


def test_the_grounding_check_fires_on_added_or_lost_facts():
    stored = "请携带身份证和户口本，工作日上午9点至下午5点办理，费用9元。"
    assert grounding_problems(stored, "您好，请带上身份证和户口本，在工作日9:00到17:00来办理，需交费9元。", "zh") == []
    changed = grounding_problems(stored, "您好，请带身份证，工作日上午9点至下午5点办理，费用10元。", "zh")
    assert "added number 10 CNY" in changed and "left out number 9 CNY" in changed
    hours_lost = grounding_problems(stored, "请带身份证和户口本，费用9元。", "zh")
    assert hours_lost == ["left out time 09:00", "left out time 17:00"]
    assert grounding_problems("Bring your ID card.", "Bring your ID card and 2 photos.", "en") == ["added number 2"]
    assert grounding_problems("Bring your ID card.", "Bring amoxicillin.", "en") == ["added drug amoxicillin"]
    assert grounding_problems("Bring your ID card.", "", "en") == ["the model gave no answer"]


def test_kiosk_page_and_assets(server):
    page = httpx.get(f"{server.base}/kiosk", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "kiosk/kiosk.js" in page.text and "智能问答" in page.text
    script = httpx.get(f"{server.base}/kiosk/kiosk.js", timeout=30)
    assert script.status_code == 200 and "v1/assistant" in script.text
    assert httpx.get(f"{server.base}/kiosk/kiosk.css", timeout=30).status_code == 200
    assert httpx.get(f"{server.base}/kiosk/..%2Fapp.py", timeout=30).status_code == 404


# ------------------------------------------------------------------------------------------------ pieces


def test_replies_and_voices():
    assert Voices.preferring("zm_yunxi") == Voices(zh="zm_yunxi", en="en_joe")
    assert Voices.preferring("en_joe").for_text("Open at 9") == "en_joe"
    assert Voices().for_text("The hall 九点 opens") == "zf_xiaoxiao"  # the English voice reads no Chinese
    long = "第一句很长。" * 300
    assert len(spoken_part(long)) <= 1000 and spoken_part(long).endswith("。")
    from shenggu.nlp.faq.retrieval import FaqAnswer

    found = reply_for(FaqAnswer("answer", "q", "zh", 0.9, "e1", question="社保卡怎么补办？", answer=""))
    assert found.text == "找到了相关问题：社保卡怎么补办？" and found.voice == "zf_xiaoxiao"
    none = reply_for(FaqAnswer("no_match", "What?", "en", 0.0))
    assert none.text == NO_MATCH["en"] and none.voice == "en_joe"


def test_index_cache_builds_once_per_version():
    built = []

    def build(kb):
        time.sleep(0.2)
        built.append(kb)
        return object()

    cache = IndexCache(size=2, build=build)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("db", 1, "hall", 1), HALL_KB))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len({id(r) for r in results}) == 1
    assert cache.get(("db", 1, "hall", 2), lambda: HALL_KB) is not results[0] and len(built) == 2
    cache.get(("db", 1, "other", 1), HALL_KB)
    assert len(cache) == 2  # the least recently used index is dropped


# ------------------------------------------------------------------------------------------------ the kiosk


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm(audio))
    return path


@pytest.fixture
def chromium(tmp_path, spoken_question):
    """Headless Debian Chromium whose microphone plays the spoken question, looped: 1 s of silence, the question,
    5 s of silence (the answer starts within them, so the microphone is muted before the question comes again)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    silence = np.zeros(16000, np.float32)
    wav = write_wav(tmp_path / "question.wav", np.concatenate([silence, spoken_question, *[silence] * 5]))
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_kiosk_answers_a_spoken_question_in_chromium(server, chromium):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chromium.get(f"{server.base}/kiosk?kb=hall&key={server.key}&language=zh")
    chromium.find_element(By.ID, "start").click()

    def snapshot(driver) -> dict:
        """The page's state read at one instant (the looped microphone asks again after each answer)."""
        return driver.execute_script(
            """const b = document.body.dataset, t = (id) => document.getElementById(id).textContent;
            return {question: t("question"), answer: t("answer"), status: t("status"), partial: t("partial"),
                    entry: document.querySelector(".card.answer").dataset.entryId || "", state: b.state,
                    answers: +b.answers, bytes: +b.audioBytes, played: +b.audioPlayed};"""
        )

    def answered(driver) -> dict | bool:
        page = snapshot(driver)
        done = "结婚登记" in page["question"] and page["entry"] == "marriage" and page["played"] >= 1
        return page if done else False

    try:
        page = WebDriverWait(chromium, 240, poll_frequency=0.25).until(answered)
    except TimeoutException:
        pytest.fail(f"the kiosk did not answer: {snapshot(chromium)} console={chromium.get_log('browser')}")
    assert page["answer"] == MARRIAGE_ANSWER, page
    assert page["bytes"] > 24000 * 2 and page["state"] != "error", page  # over a second of answer audio received
