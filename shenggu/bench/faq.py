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
``spoken_baseline_top3`` and ``spoken_baseline_mrr``: what recognition errors cost. Recognition is the voice
assistant's: with the knowledge base's vocabulary (``FaqIndex.vocabulary``; ``vocabulary=False`` leaves it out),
and each query is also transcribed without it, for the embedding-only baseline (a system without shenggu's
stages) and for the vocabulary's own effect: ``spoken_plain_cer``, ``spoken_plain_top1`` and ``spoken_plain_mrr``
(shenggu's ranking on those transcripts), ``spoken_vocabulary_errors_saved`` (characters, summed over queries)
with its interval, ``spoken_vocabulary_mrr_gain`` and ``spoken_vocabulary_mrr_gain_ci`` (paired, over queries).
``transcripts`` caches the transcripts in a JSON file, so that repeated runs decode each query once.

With ``cv`` = K (``faq_cv``): fusion weights and the confidence model are chosen on K-1 folds of the queries
(grouped by gold entry; typed and, with ``spoken``, spoken queries together) and scored on the held-out fold:
``cv_top1``, ``cv_mrr``, ``cv_rank_top1``, ``cv_rank_mrr``, ``cv_abstain_rate``, the embedding-only baseline's
``cv_baseline_*`` on the same queries and the paired ``cv_*_gain``, each with a bootstrap 95 % interval
(``*_ci``); ``cv_spoken_*`` the same over the spoken queries; ``cv_fold_fusions`` (each fold's choice) and
``cv_chosen_on_all`` (the choice made on every query, which the shipped constants must equal). With ``rerank``
too, the language-model re-ranker's weight is cross-validated the same way: ``cv_rerank_*`` (see
``faq_cv.cross_validate_rerank``).

With ``off_topic`` (questions the knowledge base cannot answer, e.g. ``shared/eval/callcentre/dialogues.jsonl``'s
customer turns for the banking base): ``off_topic_answered`` (share answered anyway: lower is better; the
embedding-only ranker always answers), ``off_topic_answered_ci``, ``off_topic_n``. Thresholds chosen on answerable
queries alone favour answering; this is the other side of that trade.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from shenggu.bench.faq_cv import Item, cross_validate, cross_validate_rerank
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.scoring import ErrorCounts, score, total
from shenggu.bench.stats import bootstrap_mean_interval
from shenggu.errors import InvalidOptionError
from shenggu.nlp.faq.rerank import LlmJudge
from shenggu.nlp.faq.retrieval import FaqAnswer, FaqIndex
from shenggu.nlp.faq.types import EntryText, KbEntry, KnowledgeBase
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot, histogram_plot
from shenggu.reports.results import write_results, write_text_atomically
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
    transcripts: Path | None = None  # JSON cache of the spoken queries' transcripts (see ``hear_queries``)
    cv: int = 0  # folds of cross-validation (0: none)
    rerank: bool = False  # with cv: also cross-validate the language-model re-ranker (slow)
    off_topic: Path | None = None  # questions the knowledge base cannot answer (see ``load_off_topic``)
    vocabulary: bool = True  # spoken queries are recognized with the knowledge base's vocabulary, as the assistant does


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
    heard = _spoken(config, queries, rows, index, baseline, n_entries, summary) if config.spoken else []
    if config.cv and not config.embedding_only:
        items = _cv_items(index, queries, heard)
        summary.update(cross_validate(index, baseline, items, config.cv))
        if config.rerank:
            summary.update(cross_validate_rerank(index, items, config.cv, _judge_model()))
    if config.off_topic is not None:
        summary.update(_off_topic(index, load_off_topic(config.off_topic)))
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows)
    write_html_report(config.out, "shenggu bench faq", summary, _figures(summary, rows), _tables(rows))
    return summary


OFF_TOPIC_SAMPLE = 150
_MIN_OFF_TOPIC_CHARS = 6  # shorter turns are mostly 好的 / 嗯 / 谢谢, not questions


def load_off_topic(path: Path) -> list[str]:
    """Questions no entry answers: a text file (one a line), or dialogues in the ``shared/eval/callcentre``
    JSONL shape, whose customer turns count; at most ``OFF_TOPIC_SAMPLE``, drawn with a fixed seed."""
    import random

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidOptionError(f"cannot read {path}: {exc}") from None
    if path.suffix == ".jsonl":
        try:
            dialogues = [json.loads(line) for line in text.splitlines() if line.strip()]
            lines = [t["text"] for d in dialogues for t in d["turns"] if t.get("speaker") == "customer"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidOptionError(f"{path}: not dialogues with turns of speaker and text ({exc})") from None
    else:
        lines = text.splitlines()
    questions = [q.strip() for q in lines if len(q.strip()) >= _MIN_OFF_TOPIC_CHARS]
    if not questions:
        raise InvalidOptionError(f"{path} has no off-topic questions")
    return random.Random(0).sample(questions, min(OFF_TOPIC_SAMPLE, len(questions)))


def _off_topic(index: FaqIndex, questions: list[str]) -> dict:
    """How often questions the knowledge base cannot answer are answered anyway (lower is better)."""
    answered = [float(index.answer(q).status == "answer") for q in questions]
    return {
        "off_topic_n": len(answered),
        "off_topic_answered": round(sum(answered) / len(answered), 4),
        "off_topic_answered_ci": [round(v, 4) for v in bootstrap_mean_interval(answered)],
    }


def _cv_items(index: FaqIndex, queries: list[dict], heard: list[str]) -> list[Item]:
    """The typed queries, and their transcripts when spoken (an empty one is a miss for both rankers), as
    cross-validation items."""
    position = {e.id: i for i, e in enumerate(index.entries)}
    said = [(q, q["query"], False) for q in queries] + [
        (q, text, True) for q, text in zip(queries, heard, strict=False)
    ]
    return [
        Item(text, position[q["gold_kb_id"]], q["gold_kb_id"], spoken, index.text_scores(text))
        for q, text, spoken in said
    ]


def _judge_model() -> LlmJudge:
    from shenggu.config import get_settings
    from shenggu.llm.llama import get_language_model

    return LlmJudge(get_language_model(get_settings()))


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
) -> list[str]:
    """Retrieve every query's transcript (``hear_queries``); add ``spoken_*`` keys and row columns. Returns the
    transcripts shenggu retrieved, in query order."""
    if config.vocabulary:
        plain, heard_all = hear_queries(config, queries, [[], index.vocabulary])
    else:
        [plain] = hear_queries(config, queries, [[]])
        heard_all = plain
    spoken_rows, plain_rows, baseline_rows = [], [], []
    for q, row, heard, unaided in zip(queries, rows, heard_all, plain, strict=True):
        spoken_rows.append(_judge_heard(q, heard, index, n_entries))
        plain_rows.append(_judge_heard(q, unaided, index, n_entries))
        baseline_rows.append(_judge_heard(q, unaided, baseline, n_entries))
        if heard.error:
            row["spoken_error"] = heard.error
        row.update(
            heard=heard.text,
            voice=heard.voice,
            cer=round(heard.errors.rate, 4),
            spoken_status=spoken_rows[-1]["status"],
            spoken_correct=spoken_rows[-1]["correct"],
            spoken_rank=spoken_rows[-1]["rank"],
            spoken_baseline_rank=baseline_rows[-1]["rank"],
        )
    metrics = _metrics(spoken_rows)
    for key in ("top1", "top3", "mrr", "abstain_rate", "top1_when_answered", "rank_top1", "rank_mrr"):
        summary[f"spoken_{key}"] = metrics.get(key)
    summary["spoken_cer"] = _cer(heard_all)
    base_metrics = _metrics(baseline_rows)
    for key in ("top1", "top3", "mrr"):
        summary[f"spoken_baseline_{key}"] = base_metrics.get(key)
    if config.vocabulary:
        summary.update(_vocabulary_effect(plain, heard_all, plain_rows, spoken_rows))
    return [heard.text for heard in heard_all]


def _judge_heard(q: dict, heard: Heard, index: FaqIndex, n_entries: int) -> dict:
    """A spoken query's row: its transcript retrieved (an empty transcript is a miss)."""
    return _judge(q["query_id"], heard.text, q["gold_kb_id"], index, n_entries) if heard.text else _unanswered(q)


def _cer(heard: list[Heard]) -> float | None:
    return round(total(h.errors for h in heard).rate, 4) if heard else None


def _vocabulary_effect(plain: list[Heard], aided: list[Heard], plain_rows: list[dict], rows: list[dict]) -> dict:
    """``spoken_plain_*`` (recognition without the base's vocabulary, shenggu's ranking) and the vocabulary's
    paired effect on recognition errors and MRR, with intervals over queries."""
    plain_metrics = _metrics(plain_rows)
    saved = [p.errors.errors - a.errors.errors for p, a in zip(plain, aided, strict=True)]
    gain = [_reciprocal_rank(r) - _reciprocal_rank(p) for p, r in zip(plain_rows, rows, strict=True)]
    n = len(saved)
    return {
        "spoken_plain_cer": _cer(plain),
        "spoken_plain_top1": plain_metrics.get("top1"),
        "spoken_plain_mrr": plain_metrics.get("mrr"),
        "spoken_vocabulary_errors_saved": sum(saved),
        "spoken_vocabulary_errors_saved_ci": [round(n * v, 1) for v in bootstrap_mean_interval(saved)],
        "spoken_vocabulary_mrr_gain": round(sum(gain) / n, 4),
        "spoken_vocabulary_mrr_gain_ci": [round(v, 4) for v in bootstrap_mean_interval(gain)],
    }


def _reciprocal_rank(row: dict) -> float:
    """The row's reciprocal rank when it was answered (as ``mrr`` counts it), else 0."""
    return 1.0 / row["rank"] if row["status"] == "answer" and row["rank"] else 0.0


@dataclass
class Heard:
    """A query as spoken (``said``: masks removed) and as recognized (``text``; empty with ``error`` when the
    recognizer rejected the clip)."""

    said: str
    language: str
    voice: str
    text: str
    error: str = ""

    @functools.cached_property
    def errors(self) -> ErrorCounts:
        """The transcript's recognition errors against what was said (characters, or words for English; scored
        once: the row, the corpus rate and the vocabulary's effect all read it)."""
        return score(self.language, self.said, self.text)


def hear_queries(
    config: FaqBenchConfig, queries: list[dict], vocabularies: Sequence[Sequence[str]]
) -> list[list[Heard]]:
    """Speak every query with shenggu's TTS and transcribe it with shenggu's ASR, once per vocabulary
    (``TranscribeOptions.vocabulary``): one list of transcripts per vocabulary, in query order.

    With ``config.transcripts`` (a JSON file) transcripts already there, keyed by voice, text and vocabulary, are
    reused and new ones are added, so repeated runs (cross-validation, experiments) decode each query once. The
    cache does not know the recognizer's settings: delete it after changing them."""
    cache = _read_transcripts(config.transcripts) if config.transcripts is not None else {}
    heard: list[list[Heard]] = [[] for _ in vocabularies]
    for q in tqdm(queries, desc="faq spoken", unit="query", file=sys.stderr, disable=not sys.stderr.isatty()):
        said = " ".join(re.sub(r"[*#]{2,}", " ", q["query"]).split())  # anonymization masks are not read aloud
        language = text_language(said)
        voice = _voice_id(config.voice, language)
        wav = None
        for vocabulary, out in zip(vocabularies, heard, strict=True):
            key = f"{voice}\t{said}" + (f"\tvocabulary {_digest(vocabulary)}" if vocabulary else "")
            if key not in cache:
                wav = wav or _speak(said, voice)
                cache[key] = _transcribe(wav, language, vocabulary)
                if config.transcripts is not None:  # saved at once: an interrupted run keeps what it decoded
                    write_text_atomically(config.transcripts, json.dumps(cache, ensure_ascii=False, indent=1))
            out.append(Heard(said, language, voice, cache[key]["text"], cache[key]["error"]))
    return heard


def _digest(words: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(words).encode()).hexdigest()[:12]


def _read_transcripts(path: Path) -> dict[str, dict]:
    """The transcript cache at ``path`` (empty when there is none yet)."""
    if not path.is_file():
        return {}
    try:
        cache = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = None
    entries = cache.values() if isinstance(cache, dict) else [None]
    if not all(
        isinstance(e, dict) and isinstance(e.get("text"), str) and isinstance(e.get("error"), str) for e in entries
    ):
        raise InvalidOptionError(f"{path}: not a transcript cache written by bench faq")
    return cache


def _voice_id(voice: str | None, language: str) -> str:
    from shenggu.tts.voices import DEFAULT_VOICES, get_voice

    return get_voice(voice).id if voice else DEFAULT_VOICES[language]


def _speak(text: str, voice: str) -> bytes:
    """``text`` spoken by ``voice``, as a WAV file."""
    import numpy as np

    from shenggu.audio.encode import StreamingEncoder
    from shenggu.config import get_settings
    from shenggu.tts.synthesis import synthesize

    chunks = list(synthesize(text, voice, settings=get_settings()))
    samples = np.concatenate([c.samples for c in chunks])
    encoder = StreamingEncoder("wav", chunks[0].sample_rate)
    return encoder.encode(samples) + encoder.finish()


def _transcribe(wav: bytes, language: str, vocabulary: Sequence[str]) -> dict:
    """``{"text": transcript, "error": why it is empty}``."""
    from shenggu.asr.pipeline import TranscribeOptions, transcribe
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings

    settings = get_settings()
    try:
        options = TranscribeOptions(language=language, vocabulary=list(vocabulary)).batched_as(settings)
        return {"text": transcribe(io.BytesIO(wav), get_recognizer(settings=settings), options).text, "error": ""}
    except Exception as exc:  # a clip the recognizer rejects (no speech found) is an empty transcript
        return {"text": "", "error": str(exc)[:200]}


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
