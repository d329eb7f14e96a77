"""`shenggu bench tts`: speech synthesis judged by ear — shenggu's own ASR transcribes every sentence back.

A fixed set of Mandarin and English sentences (numbers, dates, times, money, phone numbers, polyphones, mixed
Chinese–English, a long paragraph) is spoken by each voice of its language; the audio is transcribed by the default
ASR engine and scored against the written sentence with the same normalization as ``bench asr`` (digits and
spelled-out numbers compare equal). Timing is per sentence, in this process, models warmed up first.

Summary (``results.json``): ``rtf`` (synthesis seconds / audio seconds over all sentences), ``rtf_zh``,
``rtf_en``, ``first_audio_ms_p50`` / ``_p95`` (request to first chunk, one-sentence requests only),
``first_audio_ms_p50_zh`` / ``_en``, ``roundtrip_cer_zh``, ``roundtrip_wer_en``, ``gap_ms_p50`` / ``gap_ms_max``
(the silence heard between consecutive pieces), ``gap_over_pause_ms_max`` (the most a gap exceeds the pause the
text asks for there), ``stall_ms_max`` (the longest a live player starting at the first chunk waits for a later
one, summed over one request), ``by_voice`` (the same per voice), ``peak_rss_mb``.

Gaps are measured on the joined output as a listener gets it: 10 ms blocks within 45 dB of the output's loudest
block are sound (:mod:`shenggu.audio.silence`), and a gap is the run of quiet blocks from a piece's last sound to
the next piece's first.
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.registry import get_recognizer
from shenggu.audio.encode import StreamingEncoder
from shenggu.audio.silence import block_energy, block_size, is_sound
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.scoring import ErrorCounts, score, total
from shenggu.bench.stream import percentile
from shenggu.config import Settings, get_settings
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, scatter_plot
from shenggu.reports.results import write_results
from shenggu.tts.synthesis import WARM_UP_TEXT, AudioChunk, synthesize
from shenggu.tts.voices import VOICES

SENTENCES: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("plain", "欢迎来到声谷智能语音开放平台。"),
        ("date", "会议定于2024年3月15日下午3点举行。"),
        ("money", "这件商品打八折以后只要128.5元。"),
        ("percent", "今年的增长率达到了12.5%，超过了预期。"),
        ("phone", "如有疑问，请拨打客服电话13812345678。"),
        ("polyphone", "银行行长说，他长大以后要去重庆工作。"),
        ("polyphone", "这个音乐会的乐队非常快乐。"),
        ("mixed", "我昨天买了一部iPhone，还下载了WeChat。"),
        ("mixed", "请打开Wi-Fi，然后登录App。"),
        (
            "long",
            "各位旅客请注意，由北京开往上海的G101次列车即将检票。请您带好随身物品，"
            "按照顺序排队，出示车票和身份证件，在第三检票口检票上车。祝您旅途愉快。",
        ),
    ],
    "en": [
        ("plain", "Welcome to the open speech platform."),
        ("date", "The hearing is scheduled for March 15, 2024 at 3:30 pm."),
        ("money", "The total comes to $128.50 including tax."),
        ("percent", "Sales grew by 12.5% compared with last year."),
        ("phone", "Please call us at 555-0123 if you have any questions."),
        ("names", "Doctor Smith will see you on the second floor."),
        (
            "long",
            "Thank you for calling. Your call is important to us. Please stay on the line and the next available "
            "agent will be with you shortly. You can also visit our website to check the status of your order.",
        ),
    ],
}


@dataclass
class TtsBenchConfig:
    """Which voices (default: all) and where to write the results."""

    out: Path
    voices: list[str] | None = None


def run_tts_bench(config: TtsBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    voices = [VOICES[v] for v in config.voices] if config.voices else list(VOICES.values())
    settings = get_settings()
    recognizer = get_recognizer(settings=settings)
    rows = []
    total_sentences = sum(len(SENTENCES[v.language]) for v in voices)
    with tqdm(total=total_sentences, desc="bench tts", unit="sentence", file=sys.stderr) as bar:
        for voice in voices:
            list(synthesize(WARM_UP_TEXT[voice.language], voice.id, settings=settings))  # load, not timed
            for kind, text in SENTENCES[voice.language]:
                rows.append(_row(voice.id, voice.language, kind, text, recognizer, settings))
                bar.update()
    summary = summarize(rows)
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows)
    write_html_report(config.out, "shenggu bench tts", summary, _figures(rows), _tables(rows))
    return summary


def _row(voice: str, language: str, kind: str, text: str, recognizer, settings: Settings) -> dict:
    start = time.perf_counter()
    arrivals, chunks = [], []
    for chunk in synthesize(text, voice, settings=settings):
        arrivals.append(time.perf_counter() - start)
        chunks.append(chunk)
    synth_s = time.perf_counter() - start
    samples = np.concatenate([c.samples for c in chunks])
    rate = chunks[0].sample_rate
    encoder = StreamingEncoder("wav", rate)
    wav = encoder.encode(samples) + encoder.finish()
    heard = transcribe(io.BytesIO(wav), recognizer, TranscribeOptions(language=language).batched_as(settings)).text
    counts = score(language, text, heard)
    audio_s = len(samples) / rate
    gaps = piece_gaps(chunks)
    return {
        "voice": voice,
        "language": language,
        "kind": kind,
        "text": text,
        "heard": heard,
        "counts": counts,
        "rate": round(counts.rate, 4),
        "audio_s": round(audio_s, 3),
        "synth_s": round(synth_s, 3),
        "rtf": round(synth_s / audio_s, 4),
        "first_audio_ms": round(arrivals[0] * 1000, 1),
        "stall_ms": round(playback_stall_s(arrivals, [c.seconds for c in chunks]) * 1000, 1),
        "one_sentence": kind != "long",
        "gaps_ms": [gap for gap, _ in gaps],
        "pauses_ms": [pause for _, pause in gaps],
    }


def playback_stall_s(arrivals_s: list[float], seconds: list[float]) -> float:
    """How long a player that starts with the first chunk waits for later ones: the silence a live listener hears
    beyond the text's pauses when a piece takes longer to make than the one before it takes to play."""
    stall, played_until = 0.0, arrivals_s[0]
    for arrival, duration in zip(arrivals_s, seconds, strict=True):
        stall += max(0.0, arrival - played_until)
        played_until = max(played_until, arrival) + duration
    return stall


def piece_gaps(chunks: list[AudioChunk]) -> list[tuple[float, int]]:
    """``(heard gap ms, pause ms the text asks for)`` between each two consecutive pieces with sound (see the
    module docstring); a piece without sound (a lone ``<break>``) lies inside a gap and adds its pause to it."""
    rate = chunks[0].sample_rate
    block = block_size(rate)
    energies = [block_energy(c.samples, rate) for c in chunks]  # per piece, so no block straddles a join
    loudest = max((float(e.max()) for e in energies if len(e)), default=0.0)
    gaps: list[tuple[float, int]] = []
    quiet: int | None = None  # samples since the last piece's last sound, None before the first sound
    pause = 0
    for chunk, energy in zip(chunks, energies, strict=True):
        loud = np.flatnonzero(is_sound(energy, loudest))
        if len(loud):
            if quiet is not None:
                gaps.append((round((quiet + int(loud[0]) * block) / rate * 1000, 1), pause))
            quiet, pause = len(chunk.samples) - (int(loud[-1]) + 1) * block, chunk.pause_ms
        elif quiet is not None:
            quiet, pause = quiet + len(chunk.samples), pause + chunk.pause_ms
    return gaps


def summarize(rows: list[dict]) -> dict:
    """Overall, per-language and per-voice figures (see the module docstring)."""
    summary = _figures_of(rows)
    for language in ("zh", "en"):
        part = [r for r in rows if r["language"] == language]
        if part:
            figures = _figures_of(part)
            summary[f"rtf_{language}"] = figures["rtf"]
            summary[f"first_audio_ms_p50_{language}"] = figures["first_audio_ms_p50"]
    summary["roundtrip_cer_zh"] = _rate([r for r in rows if r["language"] == "zh"])
    summary["roundtrip_wer_en"] = _rate([r for r in rows if r["language"] == "en"])
    summary["by_voice"] = {
        voice: {**_figures_of(part), "roundtrip_error": _rate(part)}
        for voice in dict.fromkeys(r["voice"] for r in rows)
        if (part := [r for r in rows if r["voice"] == voice])
    }
    return summary


def _figures_of(rows: list[dict]) -> dict:
    firsts = [r["first_audio_ms"] for r in rows if r["one_sentence"]]
    audio = sum(r["audio_s"] for r in rows)
    gaps = [gap for r in rows for gap in r["gaps_ms"]]
    overs = [gap - pause for r in rows for gap, pause in zip(r["gaps_ms"], r["pauses_ms"], strict=True)]
    return {
        "rtf": round(sum(r["synth_s"] for r in rows) / audio, 4) if audio else None,
        "first_audio_ms_p50": _round(percentile(firsts, 50)),
        "first_audio_ms_p95": _round(percentile(firsts, 95)),
        "gap_ms_p50": _round(percentile(gaps, 50)),
        "gap_ms_max": _round(max(gaps, default=None)),
        "gap_over_pause_ms_max": _round(max(overs, default=None)),
        "stall_ms_max": _round(max((r["stall_ms"] for r in rows), default=None)),
    }


def _rate(rows: list[dict]) -> float | None:
    counts: list[ErrorCounts] = [r["counts"] for r in rows]
    return round(total(counts).rate, 4) if counts else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _figures(rows: list[dict]):
    labels = [f"{r['voice']}:{r['kind']}" for r in rows]
    return [
        bar_plot(labels, [r["rate"] for r in rows], "Round-trip error per sentence (CER zh / WER en)", "error rate"),
        bar_plot(labels, [r["first_audio_ms"] for r in rows], "Time to first audio", "ms"),
        scatter_plot([r["audio_s"] for r in rows], [r["rtf"] for r in rows], "RTF by audio length", "audio (s)", "RTF"),
    ]


_COLUMNS = (
    "voice", "kind", "rate", "rtf", "first_audio_ms", "stall_ms", "audio_s", "gaps_ms", "pauses_ms", "text", "heard",
)  # fmt: skip


def _tables(rows: list[dict]):
    return [("Sentences", _COLUMNS, [[r[c] for c in _COLUMNS] for r in rows])]
