"""`shenggu bench assistant`: the voice loop's latency, end of a spoken question → first answer audio.

Inputs (as ``bench faq``, see ``shared/eval/faq/``): the knowledge base (``kb_id, question[, answer]`` or any
format ``shenggu.nlp.faq.files`` reads) and the queries TSV (``query_id, query, gold_kb_id``).

A server is started in this process on loopback (a temporary database; the base is imported as ``bench``),
every query is synthesized with shenggu's TTS (the default voice of its language) before any is sent, and then,
one at a time, each is streamed over ``/v1/assistant`` as a microphone would: ``LEAD_SILENCE_S`` of silence,
the speech, then silence, in 100 ms frames, each sent when a microphone would have finished recording it,
until the answer audio has ended (or ``MAX_TRAILING_S``). Every query has its own connection, opened (and
the index built) before its clock starts.

End of question is the moment the last frame holding speech was sent (speech: 10 ms blocks within 30 dB of
the query's loudest); the endpointing silence the VAD waits for before closing the question is part of the
latency, as it is for a person at a kiosk. Times are taken on the client as the messages arrive.

Summary (``results.json``): ``latency_ms_p50`` / ``_p95`` / ``_max`` (end of question → first answer audio
frame), ``within_target`` (share ≤ ``TARGET_MS``), and the breakdown medians: ``asr_final_ms_p50`` (end of
question → ``question`` message: the endpointing silence and the final decode), ``after_question_ms_p50``
(``question`` → first audio frame: what the early answer did not hide), ``retrieval_ms_p50`` and
``tts_first_audio_ms_p50`` (the server's time to retrieve, and to synthesize the first audio chunk, from the
``answer`` and ``audio_start`` messages: done during the pause for an early answer), ``early_answers`` (share of
answers prepared during the pause); ``top1`` (the first answer is the gold entry), ``abstain_rate`` (clarify or
no match), ``spoken_cer`` (recognized question vs the query text; WER for English), ``n``, ``errors``
(queries without an answer audio), ``end_silence_ms`` and the machine's ``cpu_count``.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from shenggu.audio.encode import pcm16
from shenggu.bench.scoring import score, total
from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq.files import read_kb
from shenggu.nlp.faq.types import KnowledgeBase
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import Figure, histogram_plot
from shenggu.reports.results import write_results
from shenggu.text.script import text_language

TARGET_MS = 1500.0
SAMPLE_RATE = 16000
LEAD_SILENCE_S = 0.5
MAX_TRAILING_S = 20.0
SPEECH_DB = 30.0  # a 10 ms block within this many dB of the loudest one is speech
MAX_PAUSE_S = 0.3  # longest pause inside a synthesized question (see tighten)
EDGE_S = 0.05
KB_NAME = "bench"
QUERY_COLUMNS = ("query_id", "query", "gold_kb_id")


@dataclass
class AssistantBenchConfig:
    """The two files, where to write, and how to listen."""

    kb: Path
    queries: Path
    out: Path
    limit: int | None = None
    end_silence_ms: int | None = None  # default: the assistant's own (shenggu.solutions.assistant.listening)
    chunk_ms: int = 100
    ready_timeout_s: float = 600.0


@dataclass(frozen=True)
class Query:
    """A labelled query and its synthesized audio (16 kHz float32)."""

    id: str
    text: str
    gold: str
    language: str
    audio: np.ndarray

    @property
    def speech_end(self) -> int:
        """The sample after the last one of speech."""
        return speech_end(self.audio)


def speech_end(audio: np.ndarray, block: int = SAMPLE_RATE // 100) -> int:
    """The end of the last 10 ms block within ``SPEECH_DB`` of the loudest one (0 for silence)."""
    blocks = len(audio) // block
    if not blocks:
        return 0
    rms = np.sqrt(np.mean(np.square(audio[: blocks * block].reshape(blocks, block)), axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (-SPEECH_DB / 20)) if rms.max() > 0 else []
    return int((loud[-1] + 1) * block) if len(loud) else 0


def read_queries(path: Path, kb: KnowledgeBase) -> list[dict]:
    """The query rows (``query_id, query, gold_kb_id``); every gold id must be in the base."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as exc:
        raise InvalidOptionError(f"cannot read {path}: {exc}") from None
    if not rows or any(c not in rows[0] for c in QUERY_COLUMNS):
        raise InvalidOptionError(f"{path}: a TSV with a header row and columns {', '.join(QUERY_COLUMNS)} is needed")
    rows = [r for r in rows if (r["query"] or "").strip()]
    missing = sorted({r["gold_kb_id"] for r in rows} - kb.by_id().keys())
    if missing:
        raise InvalidOptionError(f"{path}: gold_kb_id not in the knowledge base: {', '.join(missing[:5])}")
    return rows


def synthesize_queries(rows: list[dict]) -> list[Query]:
    """Each query spoken by the default voice of its language, at 16 kHz."""
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize
    from shenggu.tts.voices import DEFAULT_VOICES

    settings = get_settings()
    queries = []
    for row in tqdm(rows, desc="synthesizing queries", unit="query", file=sys.stderr):
        text, language = row["query"].strip(), text_language(row["query"])
        voice = DEFAULT_VOICES[language]
        chunks = [c.samples for c in synthesize(text, voice, sample_rate=SAMPLE_RATE, settings=settings)]
        audio = tighten(np.concatenate(chunks))
        queries.append(Query(row["query_id"], text, row["gold_kb_id"], language, audio))
    return queries


def tighten(audio: np.ndarray, block: int = SAMPLE_RATE // 100) -> np.ndarray:
    """Synthesized speech as a person says it: pauses inside longer than ``MAX_PAUSE_S`` shortened to it (the TTS
    leaves over a second between its first, short piece and the rest, which no speaker does before the end of
    a question), silence before and after cut to ``EDGE_S``."""
    blocks = len(audio) // block
    if not blocks:
        return audio
    rms = np.sqrt(np.mean(np.square(audio[: blocks * block].reshape(blocks, block)), axis=1))
    speech = rms >= rms.max() * 10 ** (-SPEECH_DB / 20) if rms.max() > 0 else np.zeros(blocks, bool)
    loud = np.flatnonzero(speech)
    if not len(loud):
        return audio
    edge, pause = round(EDGE_S * 100), round(MAX_PAUSE_S * 100)
    keep = np.zeros(blocks, bool)
    keep[max(0, loud[0] - edge) : loud[-1] + 1 + edge] = True
    for before, after in itertools.pairwise(loud):
        if after - before - 1 > pause:  # a long gap: keep its first and last halves of MAX_PAUSE_S
            keep[before + 1 + pause // 2 : after - (pause - pause // 2)] = False
    return audio[: blocks * block].reshape(blocks, block)[keep].reshape(-1)


def run_assistant_bench(config: AssistantBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    if config.chunk_ms <= 0:
        raise InvalidOptionError(f"chunk_ms must be positive, not {config.chunk_ms}")
    kb = read_kb(config.kb)
    queries = synthesize_queries(read_queries(config.queries, kb)[: config.limit])
    rows = []
    with _server(kb, config) as url:
        _warm_up(url, queries[0], config)
        for query in tqdm(queries, desc="bench assistant", unit="query", file=sys.stderr):
            rows.append(measure_query(url, query, config))
    from shenggu.solutions.assistant import END_SILENCE_MS

    summary = summarize(rows, config.end_silence_ms or END_SILENCE_MS)
    config.out.mkdir(parents=True, exist_ok=True)
    settings = {"kb": config.kb, "queries": config.queries, "chunk_ms": config.chunk_ms, "target_ms": TARGET_MS}
    write_results(config.out, summary, rows, extra={"config": settings})
    write_html_report(config.out, "shenggu bench assistant", summary, _figures(rows), _tables(rows))
    return summary


@contextmanager
def _server(kb: KnowledgeBase, config: AssistantBenchConfig) -> Iterator[str]:
    """A server in this process, the base imported for its development tenant; yields its ws:// base URL."""
    from shenggu.bench.local_server import serving
    from shenggu.config import Settings
    from shenggu.service.app import create_app
    from shenggu.service.storage import knowledge

    with tempfile.TemporaryDirectory(prefix="shenggu-bench-assistant-") as data_dir:
        # database_url=None: a SHENGGU_DATABASE_URL in the environment must not point the run at a real database.
        settings = Settings(
            dev_mode=True, job_workers=0, data_dir=Path(data_dir), database_url=None, preload_models=True
        )
        app = create_app(settings)
        with app.state.db.session() as session:
            knowledge.create_version(session, app.state.dev_principal.tenant_id, KB_NAME, kb, "bench")
        with serving(app, "/ready", config.ready_timeout_s) as base:
            yield base.replace("http://", "ws://")


def _url(base: str, query: Query, config: AssistantBenchConfig) -> str:
    url = f"{base}/v1/assistant?kb={KB_NAME}&language={query.language}&sample_rate={SAMPLE_RATE}"
    return url + (f"&end_silence_ms={config.end_silence_ms}" if config.end_silence_ms else "")


def _warm_up(base: str, query: Query, config: AssistantBenchConfig) -> None:
    """Build the index and load every model (ASR, TTS, embedder) before any clock runs: one typed and one spoken
    question, not recorded."""
    from websockets.sync.client import connect

    with connect(_url(base, query, config), open_timeout=60, max_size=None) as ws:
        _expect_ready(ws, config.ready_timeout_s)
        ws.send(json.dumps({"type": "text", "text": query.text}))
        _drain_until(ws, "audio_end", 300)
    measure_query(base, query, config)


def _expect_ready(ws, timeout: float) -> None:
    message = json.loads(ws.recv(timeout=timeout))
    if message.get("type") != "ready":
        raise InvalidOptionError(f"the assistant refused the connection: {message}")


def _drain_until(ws, kind: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, str) and json.loads(message).get("type") in (kind, "error"):
            return


def measure_query(base: str, query: Query, config: AssistantBenchConfig) -> dict:
    """Stream one query as a microphone would and time the reply (see the module docstring)."""
    from websockets.sync.client import connect

    chunk = SAMPLE_RATE * config.chunk_ms // 1000
    speech_end_sample = int(SAMPLE_RATE * LEAD_SILENCE_S) + query.speech_end
    audio = np.concatenate([np.zeros(int(SAMPLE_RATE * LEAD_SILENCE_S), np.float32), query.audio])
    pcm = np.frombuffer(pcm16(audio), "<i2")
    silence = np.zeros(chunk, "<i2").tobytes()
    stop = threading.Event()
    marks: dict[str, float] = {}
    events: list[dict] = []
    error = None

    def microphone(ws) -> None:
        start = time.monotonic()
        sent = 0
        while not stop.is_set():
            if sent < len(pcm):
                frame = pcm[sent : sent + chunk].tobytes()
            elif sent - speech_end_sample < MAX_TRAILING_S * SAMPLE_RATE:
                frame = silence
            else:
                break
            time.sleep(max(0.0, start + (sent + chunk) / SAMPLE_RATE - time.monotonic()))  # recorded, then sent
            ws.send(frame)
            sent += len(frame) // 2
            if "speech_end" not in marks and sent >= speech_end_sample:
                marks["speech_end"] = time.monotonic()

    with connect(_url(base, query, config), open_timeout=60, max_size=None) as ws:
        _expect_ready(ws, config.ready_timeout_s)
        sender = threading.Thread(target=microphone, args=(ws,), name="microphone", daemon=True)
        sender.start()
        try:
            while "audio_end" not in marks:
                message = ws.recv(timeout=MAX_TRAILING_S + 10)
                now = time.monotonic()
                if isinstance(message, bytes):
                    marks.setdefault("first_audio", now)
                    continue
                event = json.loads(message)
                kind = event.get("type")
                if kind == "error":
                    error = f"{event.get('code')}: {event.get('message')}"
                    break
                if kind == "question" and "first_audio" not in marks:
                    marks["question"] = now  # the last question before the answer audio
                    events.append(event)
                elif kind == "answer" and "answer" not in marks:
                    marks["answer"] = now
                    events.append(event)
                elif kind == "audio_start" and "audio_start" not in marks:
                    marks["audio_start"] = now
                    events.append(event)
                elif kind == "audio_end":
                    marks["audio_end"] = now
        except TimeoutError:
            error = "no answer audio (timed out)"
        finally:
            stop.set()
            sender.join()
        if error is None:
            ws.send(json.dumps({"type": "end"}))
            _drain_until(ws, "done", 60)
    return query_row(query, marks, events, error)


def query_row(query: Query, marks: dict[str, float], events: list[dict], error: str | None) -> dict:
    """The results row of one query."""
    questions = [e["text"] for e in events if e["type"] == "question"]
    answer = next((e for e in events if e["type"] == "answer"), None)
    audio_start = next((e for e in events if e["type"] == "audio_start"), None)
    heard = "".join(questions) if query.language == "zh" else " ".join(questions)
    counts = score(query.language, query.text, heard)
    if error is None and "first_audio" not in marks:
        error = "no answer audio"
    return {
        "id": query.id,
        "query": query.text,
        "gold": query.gold,
        "heard": heard,
        "questions": len(questions),
        "counts": counts,
        "status": answer["status"] if answer else None,
        "entry_id": answer["entry_id"] if answer else None,
        "correct": bool(answer and answer["status"] == "answer" and answer["entry_id"] == query.gold),
        "speech_s": round(query.speech_end / SAMPLE_RATE, 3),
        "latency_ms": _between(marks, "speech_end", "first_audio"),
        "asr_final_ms": _between(marks, "speech_end", "question"),
        "after_question_ms": _between(marks, "question", "first_audio"),
        "retrieval_ms": answer["retrieval_ms"] if answer else None,
        "tts_first_audio_ms": audio_start["first_chunk_ms"] if audio_start else None,
        "early": bool(answer and answer.get("early")),
        "error": error,
    }


def _between(marks: dict[str, float], start: str, end: str) -> float | None:
    if start not in marks or end not in marks:
        return None
    return round((marks[end] - marks[start]) * 1000, 1)


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def summarize(rows: list[dict], end_silence_ms: int) -> dict:
    """The summary of the query rows (see the module docstring for each key)."""

    def values(key: str) -> list[float]:
        return [r[key] for r in rows if r[key] is not None and r["error"] is None]

    latencies = values("latency_ms")
    answered = [r for r in rows if r["status"] is not None]
    return {
        "n": len(rows),
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
        "latency_ms_max": round(max(latencies), 1) if latencies else None,
        "within_target": round(sum(ms <= TARGET_MS for ms in latencies) / len(rows), 4) if rows else None,
        "target_ms": TARGET_MS,
        "asr_final_ms_p50": _percentile(values("asr_final_ms"), 50),
        "retrieval_ms_p50": _percentile(values("retrieval_ms"), 50),
        "tts_first_audio_ms_p50": _percentile(values("tts_first_audio_ms"), 50),
        "after_question_ms_p50": _percentile(values("after_question_ms"), 50),
        "early_answers": round(sum(r["early"] for r in answered) / len(answered), 4) if answered else None,
        "top1": round(sum(r["correct"] for r in rows) / len(rows), 4) if rows else None,
        "abstain_rate": round(sum(r["status"] != "answer" for r in answered) / len(answered), 4) if answered else None,
        "spoken_cer": round(total(r["counts"] for r in rows).rate, 4) if rows else None,
        "split_questions": sum(r["questions"] > 1 for r in rows),
        "errors": sum(r["error"] is not None for r in rows),
        "end_silence_ms": end_silence_ms,
        "cpu_count": os.cpu_count(),
    }


def _figures(rows: list[dict]) -> list[Figure]:
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    if not latencies:
        return []
    bins = np.arange(0, max(max(latencies), TARGET_MS) + 250, 100)
    return [histogram_plot(latencies, "End of question to first answer audio", "latency (ms)", bins=list(bins))]


def _tables(rows: list[dict]) -> list:
    headers = ("id", "latency ms", "ASR final ms", "after question ms", "retrieval ms", "TTS first ms", "early")
    headers += ("status", "correct", "heard")
    return [
        (
            "Queries",
            headers,
            [
                (
                    r["id"],
                    r["latency_ms"],
                    r["asr_final_ms"],
                    r["after_question_ms"],
                    r["retrieval_ms"],
                    r["tts_first_audio_ms"],
                    r["early"],
                    r["status"] or r["error"],
                    r["correct"],
                    r["heard"],
                )
                for r in rows
            ],
        )
    ]
