"""`shenggu bench llm`: the language model's speed and memory as the platform runs it — load time, generated
tokens per second and resident memory with 1 and with 4 concurrent requests (from different tenants, through the
fair queue and llama.cpp's parallel slots), and time to the first streamed token.

Summary: ``load_s``, ``rss_mb_loaded``, then per concurrency c in (1, 4): ``tokens_per_s_{c}`` (all generated
tokens / wall time), ``tokens_per_s_per_request_{c}``, ``first_token_ms_p50_{c}``, ``latency_s_p50_{c}``,
``rss_mb_{c}`` (peak RSS while running), plus ``model``, ``slots``, ``threads``.
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

from shenggu.config import get_settings
from shenggu.llm.types import ChatMessage, ChatOptions
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot
from shenggu.reports.results import write_results

# Mixed work like the platform's: translations both ways, a summary, a structured extraction.
PROMPTS = (
    "把下面这句话翻译成英文：会议定于明天上午九点在三楼会议室举行，请各部门负责人准时参加。",
    "Translate into Simplified Chinese: The patient was given 500 mg of amoxicillin three times a day for a week.",
    "用两三句话总结：原告称被告于2023年3月借款5万元，约定半年内归还，至今未还，请求法院判令被告还款并支付利息。",
    "List three things a citizen needs to bring to renew a passport, as a short numbered list.",
)


@dataclass
class LlmBenchConfig:
    """Where to write, how many requests per concurrency level, and the generation length."""

    out: Path
    requests: int = 8
    max_tokens: int = 96
    concurrency: tuple[int, ...] = (1, 4)


class _RssSampler:
    """Peak RSS of this process while a block runs (sampled every 50 ms)."""

    def __enter__(self) -> _RssSampler:
        self.peak, self._stop = psutil.Process().memory_info().rss, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            self._stop.wait(0.05)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, psutil.Process().memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


def run_llm_bench(config: LlmBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    from shenggu.llm.chat_queue import get_chat_queue
    from shenggu.llm.llama import get_language_model, llm_threads

    settings = get_settings()
    started = time.perf_counter()
    with _RssSampler() as loading:
        model = get_language_model(settings)
        queue = get_chat_queue(settings)
    summary: dict = {
        "model": settings.llm_model_path.name if settings.llm_model_path else settings.llm_model,
        "slots": queue.slots,
        "threads": llm_threads(settings),
        "load_s": round(time.perf_counter() - started, 2),
        "rss_mb_loaded": loading.peak_mb,
    }
    del model
    rows: list[dict] = []
    for concurrency in config.concurrency:
        with _RssSampler() as running:
            level_rows, wall = _run_level(queue, concurrency, config)
        tokens = sum(r["completion_tokens"] for r in level_rows)
        summary[f"tokens_per_s_{concurrency}"] = round(tokens / wall, 2)
        summary[f"tokens_per_s_per_request_{concurrency}"] = round(
            float(np.mean([r["completion_tokens"] / r["seconds"] for r in level_rows])), 2
        )
        first_tokens = [r["first_token_ms"] for r in level_rows]
        summary[f"first_token_ms_p50_{concurrency}"] = round(float(np.median(first_tokens)))
        summary[f"latency_s_p50_{concurrency}"] = round(float(np.median([r["seconds"] for r in level_rows])), 2)
        summary[f"rss_mb_{concurrency}"] = running.peak_mb
        rows += level_rows
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows)
    levels = [str(c) for c in config.concurrency]
    figures = [
        bar_plot(levels, [summary[f"tokens_per_s_{c}"] for c in config.concurrency], "Generated tokens/s (all "
                 "requests)", "tokens/s"),
        bar_plot(levels, [summary[f"rss_mb_{c}"] for c in config.concurrency], "Peak RSS by concurrency", "MB"),
    ]  # fmt: skip
    columns = ("concurrency", "tenant", "prompt", "completion_tokens", "first_token_ms", "seconds")
    table = ("Requests", columns, [[r[c] for c in columns] for r in rows])
    write_html_report(config.out, "shenggu bench llm", summary, figures, [table])
    return summary


def _run_level(queue, concurrency: int, config: LlmBenchConfig) -> tuple[list[dict], float]:
    options = ChatOptions(max_tokens=config.max_tokens, temperature=0.0)
    progress = tqdm(total=config.requests, desc=f"llm ({concurrency} concurrent)", unit="request", file=sys.stderr)

    def one(i: int) -> dict:
        prompt = PROMPTS[i % len(PROMPTS)]
        tenant = f"tenant-{i % concurrency}"
        start = time.perf_counter()
        first_token_ms, completion_tokens = None, 0
        for chunk in queue.stream(tenant, [ChatMessage("user", prompt)], options):
            if chunk.text and first_token_ms is None:
                first_token_ms = (time.perf_counter() - start) * 1000
            if chunk.completion_tokens is not None:
                completion_tokens = chunk.completion_tokens
        seconds = time.perf_counter() - start
        progress.update()
        return {
            "concurrency": concurrency,
            "tenant": tenant,
            "prompt": prompt[:40],
            "completion_tokens": completion_tokens,
            "first_token_ms": round(first_token_ms or seconds * 1000),
            "seconds": round(seconds, 3),
        }

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        rows = list(pool.map(one, range(config.requests)))
    progress.close()
    return rows, time.perf_counter() - start
