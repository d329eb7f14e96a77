"""`shenggu bench faq`: FAQ retrieval accuracy on a knowledge base and labelled queries, typed and spoken.

Inputs (tab-separated, header row; see ``shared/eval/faq/``): the knowledge base ``kb_id, question[, answer]``
and the queries ``query_id, query, gold_kb_id`` (other columns are ignored). A question with Chinese characters
is the entry's ``zh`` text, any other its ``en`` text.

Each query goes through ``FaqIndex.answer`` (fused ranking, calibrated confidence, clarifying questions) and,
on the same knowledge base, through the embedding-only baseline (raw USE cosine, always answers). A query that
is not answered (a clarifying question or no match) counts as a miss in ``top1``, ``top3`` and ``mrr``.

Summary (``results.json``): ``top1`` (answered with the gold entry), ``top3`` (answered, and the gold entry
among the first three candidates), ``mrr`` (mean reciprocal rank of the gold entry, 0 when not answered),
``abstain_rate``, ``top1_when_answered``; ``rank_top1`` / ``rank_top3`` / ``rank_mrr``: the ranking alone,
never abstaining; ``baseline_top1``, ``baseline_top3``, ``baseline_mrr``, ``baseline_abstain_rate``,
``baseline_top1_when_answered`` for the embedding-only ranker; ``n``, ``ms_per_query``.
With ``spoken``: each query is synthesized with shenggu's TTS, transcribed with shenggu's ASR, and the transcript
is retrieved: ``spoken_top1``, ``spoken_top3``, ``spoken_mrr``, ``spoken_abstain_rate``, ``spoken_cer``
(character error rate of the transcripts; word error rate for English queries), ``spoken_baseline_top1``,
``spoken_baseline_top3`` and ``spoken_baseline_mrr``: what recognition errors cost.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from shenggu.bench.resources import peak_rss_mb
from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq.retrieval import FaqAnswer, FaqIndex
from shenggu.nlp.faq.types import EntryText, KbEntry, KnowledgeBase
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, histogram_plot
from shenggu.reports.results import write_results
from shenggu.text.script import text_language

KB_COLUMNS = ("kb_id", "question")
QUERY_COLUMNS = ("query_id", "query", "gold_kb_id")


@dataclass
class FaqBenchConfig:
    """The two TSVs, where to write, and what to run."""

    kb: Path
    queries: Path
    out: Path
    spoken: bool = False
    voice: str | None = None  # default: shenggu's default voice of each query's language
    embedding_only: bool = False  # only the baseline (headline keys are then the baseline's)
    limit: int | None = None


def _read_tsv(path: Path, required: tuple[str, ...]) -> list[dict]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as exc:
        raise InvalidOptionError(f"cannot read {path}: {exc}") from None
    if not rows or any(c not in rows[0] for c in required):
        raise InvalidOptionError(f"{path}: a TSV with a header row and columns {', '.join(required)} is needed")
    return rows


def load_kb(path: Path) -> KnowledgeBase:
    """A knowledge base from a TSV with ``kb_id, question[, answer]``."""
    entries, seen = [], set()
    for row in _read_tsv(path, KB_COLUMNS):
        entry_id, question = (row["kb_id"] or "").strip(), (row["question"] or "").strip()
        if not entry_id or not question:
            continue
        if entry_id in seen:
            raise InvalidOptionError(f"{path}: kb_id '{entry_id[:40]}' appears twice")
        seen.add(entry_id)
        language = text_language(question)
        entries.append(KbEntry(entry_id, {language: EntryText(question, [], (row.get("answer") or "").strip())}))
    if not entries:
        raise InvalidOptionError(f"{path}: no entries")
    return KnowledgeBase(entries)


def load_queries(path: Path, kb: KnowledgeBase) -> list[dict]:
    """Query rows (``query_id, query, gold_kb_id``); every gold id must be in the knowledge base."""
    ids = kb.by_id()
    rows = [r for r in _read_tsv(path, QUERY_COLUMNS) if (r["query"] or "").strip()]
    missing = sorted({r["gold_kb_id"] for r in rows} - ids.keys())
    if missing:
        raise InvalidOptionError(f"{path}: gold_kb_id not in the knowledge base: {', '.join(missing[:5])}")
    return rows


def run_faq_bench(config: FaqBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    kb = load_kb(config.kb)
    queries = load_queries(config.queries, kb)[: config.limit]
    baseline = FaqIndex(kb, embedding_only=True)
    index = baseline if config.embedding_only else FaqIndex(kb)
    n_entries = len(kb.entries)

    rows = []
    start = time.perf_counter()
    for q in tqdm(queries, desc="faq typed", unit="query", file=sys.stderr, disable=not sys.stderr.isatty()):
        rows.append(_judge(q["query_id"], q["query"], q["gold_kb_id"], index, n_entries))
    seconds = time.perf_counter() - start
    baseline_rows = [_judge(q["query_id"], q["query"], q["gold_kb_id"], baseline, n_entries) for q in queries]

    summary: dict = {"n": len(rows), **_metrics(rows)}
    summary.update({f"baseline_{k}": v for k, v in _metrics(baseline_rows).items() if not k.startswith("rank_")})
    summary["ms_per_query"] = round(1000 * seconds / len(rows), 1) if rows else None
    for row, base in zip(rows, baseline_rows, strict=True):
        row["baseline_rank"], row["baseline_top"] = base["rank"], base["top"]
    if config.spoken:
        _spoken(config, queries, rows, index, baseline, n_entries, summary)
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows)
    write_html_report(config.out, "shenggu bench faq", summary, _figures(summary, rows), _tables(rows))
    return summary


def _judge(query_id: str, query: str, gold: str, index: FaqIndex, n_entries: int) -> dict:
    result: FaqAnswer = index.answer(query, k=n_entries)  # every entry ranked, for the gold entry's rank
    ranking = [c.entry_id for c in result.candidates]
    rank = ranking.index(gold) + 1 if gold in ranking else None
    return {
        "query_id": query_id,
        "query": query,
        "gold": gold,
        "status": result.status,
        "answered": result.entry_id if result.status == "answer" else None,
        "correct": result.status == "answer" and result.entry_id == gold,
        "rank": rank,
        "confidence": result.confidence,
        "top": [c.entry_id for c in result.candidates[:3]],
        "top_question": result.candidates[0].matched_text if result.candidates else "",
        "reason": result.reason,
    }


def _metrics(rows: list[dict], prefix: str = "") -> dict:
    if not rows:
        return {}
    n = len(rows)
    answered = [r for r in rows if r["status"] == "answer"]

    def rr(r: dict) -> float:
        return 1.0 / r["rank"] if r["rank"] else 0.0

    out = {
        "top1": sum(r["correct"] for r in rows) / n,
        "top3": sum(r["status"] == "answer" and (r["rank"] or 99) <= 3 for r in rows) / n,
        "mrr": sum(rr(r) for r in answered) / n,
        "abstain_rate": 1 - len(answered) / n,
        "top1_when_answered": sum(r["correct"] for r in answered) / len(answered) if answered else None,
        "rank_top1": sum(r["rank"] == 1 for r in rows) / n,
        "rank_top3": sum((r["rank"] or 99) <= 3 for r in rows) / n,
        "rank_mrr": sum(rr(r) for r in rows) / n,
    }
    return {f"{prefix}{k}": (round(v, 4) if v is not None else None) for k, v in out.items()}


def _spoken(
    config: FaqBenchConfig,
    queries: list[dict],
    rows: list[dict],
    index: FaqIndex,
    baseline: FaqIndex,
    n_entries: int,
    summary: dict,
) -> None:
    """Speak every query, transcribe it, retrieve the transcript; add ``spoken_*`` keys and row columns."""
    import numpy as np

    from shenggu.asr.pipeline import TranscribeOptions, transcribe
    from shenggu.asr.registry import get_recognizer
    from shenggu.audio.encode import StreamingEncoder
    from shenggu.bench.scoring import score, total
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize
    from shenggu.tts.voices import DEFAULT_VOICES, get_voice

    settings = get_settings()
    recognizer = get_recognizer(settings=settings)
    spoken_rows, baseline_rows, counts = [], [], []
    for q, row in tqdm(
        list(zip(queries, rows, strict=True)), desc="faq spoken", unit="query", file=sys.stderr,
        disable=not sys.stderr.isatty(),
    ):  # fmt: skip
        text = " ".join(re.sub(r"[*#]{2,}", " ", q["query"]).split())  # anonymization masks are not read aloud
        language = text_language(text)
        voice = get_voice(config.voice).id if config.voice else DEFAULT_VOICES[language]
        chunks = list(synthesize(text, voice, settings=settings))
        samples = np.concatenate([c.samples for c in chunks])
        encoder = StreamingEncoder("wav", chunks[0].sample_rate)
        wav = encoder.encode(samples) + encoder.finish()
        try:
            options = TranscribeOptions(language=language).batched_as(settings)
            heard = transcribe(io.BytesIO(wav), recognizer, options).text
        except Exception as exc:  # a clip the recognizer rejects (no speech found) is an empty transcript
            heard = ""
            row["spoken_error"] = str(exc)[:200]
        counts.append(score(language, text, heard))
        spoken = _judge(q["query_id"], heard, q["gold_kb_id"], index, n_entries) if heard else _unanswered(q)
        base = _judge(q["query_id"], heard, q["gold_kb_id"], baseline, n_entries) if heard else _unanswered(q)
        spoken_rows.append(spoken)
        baseline_rows.append(base)
        row.update(
            heard=heard,
            voice=voice,
            cer=round(counts[-1].rate, 4),
            spoken_status=spoken["status"],
            spoken_correct=spoken["correct"],
            spoken_rank=spoken["rank"],
            spoken_baseline_rank=base["rank"],
        )
    metrics = _metrics(spoken_rows)
    for key in ("top1", "top3", "mrr", "abstain_rate", "top1_when_answered", "rank_top1", "rank_mrr"):
        summary[f"spoken_{key}"] = metrics.get(key)
    summary["spoken_cer"] = round(total(counts).rate, 4) if counts else None
    base_metrics = _metrics(baseline_rows)
    for key in ("top1", "top3", "mrr"):
        summary[f"spoken_baseline_{key}"] = base_metrics.get(key)


def _unanswered(q: dict) -> dict:
    return {"status": "no_match", "correct": False, "rank": None}


def _figures(summary: dict, rows: list[dict]):
    keys = ["top1", "top3", "mrr", "abstain_rate"]
    labels, values = [], []
    for prefix, name in (("", "fused"), ("baseline_", "embedding-only"), ("spoken_", "spoken")):
        for k in keys:
            if summary.get(f"{prefix}{k}") is not None:
                labels.append(f"{name}:{k}")
                values.append(summary[f"{prefix}{k}"])
    figures = [bar_plot(labels, values, "Retrieval: fused vs embedding-only (and spoken)", "share of queries")]
    answered = [r["confidence"] for r in rows if r["status"] != "no_match"]
    if answered:
        right = [r["confidence"] for r in rows if r["rank"] == 1 and r["status"] != "no_match"]
        wrong = [r["confidence"] for r in rows if r["rank"] != 1 and r["status"] != "no_match"]
        bins = [i / 10 for i in range(11)]
        if right:
            figures.append(histogram_plot(right, "Confidence when the first candidate is right", "confidence", bins))
        if wrong:
            figures.append(histogram_plot(wrong, "Confidence when the first candidate is wrong", "confidence", bins))
    return figures


_COLUMNS = (
    "query_id", "query", "gold", "status", "answered", "correct", "rank", "baseline_rank", "confidence",
    "top_question", "reason",
)  # fmt: skip
_SPOKEN_COLUMNS = ("query_id", "query", "heard", "cer", "spoken_status", "spoken_correct", "spoken_rank")


def _tables(rows: list[dict]):
    tables = [("Queries (typed)", _COLUMNS, [[r.get(c) for c in _COLUMNS] for r in rows])]
    if rows and "heard" in rows[0]:
        tables.append(("Queries (spoken)", _SPOKEN_COLUMNS, [[r.get(c) for c in _SPOKEN_COLUMNS] for r in rows]))
    return tables
