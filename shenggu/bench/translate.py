"""`shenggu bench translate`: translation quality (chrF, BLEU), fact preservation, review rate and speed on a TSV
of sentence pairs (``id, direction, source, reference``; see ``shared/eval/translation/pairs.tsv``).

Three runs on identical input: shenggu's translation with its self-checks (retry once, else flagged: the headline
keys), the same prompt without checks (``unchecked``), and with ``baseline`` the raw model with one plain
translator prompt and no checks (``baseline``). ``preservation_rate`` is the share of sentences whose output
keeps every checked fact of the source (numbers, units, dates, amounts, drug names, codes), counted the same way
for every run.

Summary: ``chrf_zh_en``, ``chrf_en_zh``, ``bleu_zh_en``, ``bleu_en_zh``, ``preservation_rate``,
``needs_review_rate``, ``sentences_per_s``, ``n``; ``unchecked`` and ``baseline`` hold the same keys.
"""

from __future__ import annotations

import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from shenggu.bench.resources import peak_rss_mb
from shenggu.config import get_settings
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import bar_plot
from shenggu.reports.results import write_results
from shenggu.translate.checks import check_translation
from shenggu.translate.llm_engine import LlmTranslator
from shenggu.translate.pipeline import check_direction, translate_texts
from shenggu.translate.registry import get_translator
from shenggu.translate.types import DIRECTIONS, Translator

REQUIRED = ("id", "direction", "source", "reference")
BATCH_PAIRS = 8  # pairs per call: enough to keep every slot busy, small enough for a steady progress bar


@dataclass
class TranslateBenchConfig:
    """The pairs file, where to write, whether to also run the unchecked baseline, and an optional limit."""

    pairs: Path
    out: Path
    baseline: bool = False
    limit: int | None = None


def load_pairs(path: Path) -> list[dict]:
    """Rows of a pairs TSV (header row; columns ``id, direction, source, reference`` at least)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except OSError as exc:
        raise InvalidOptionError(f"cannot read pairs file {path}: {exc}") from None
    if not rows or any(c not in rows[0] for c in REQUIRED):
        raise InvalidOptionError(f"{path}: a TSV with columns {', '.join(REQUIRED)} is needed")
    for row in rows:
        check_direction(row["direction"])
    return rows


def run_translate_bench(config: TranslateBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    pairs = load_pairs(config.pairs)[: config.limit]
    settings = get_settings()
    rows, seconds = _run(pairs, get_translator(settings), checks=True)
    summary = _summarize(rows, seconds)
    baseline = {"baseline": LlmTranslator(settings, plain=True)} if config.baseline else {}
    others = {"unchecked": get_translator(settings), **baseline}
    for name, engine in others.items():
        other_rows, other_seconds = _run(pairs, engine, checks=False)
        summary[name] = _summarize(other_rows, other_seconds)
        for row, other in zip(rows, other_rows, strict=True):
            row[name] = other["hypothesis"]
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, rows)
    write_html_report(config.out, "shenggu bench translate", summary, _figures(summary), _tables(rows))
    return summary


def _run(pairs: list[dict], engine: Translator, checks: bool) -> tuple[list[dict], float]:
    """Translate every pair as a platform user would send a document: all sentences of one direction in
    batches, so the model's parallel slots are busy. Returns the rows and the wall time."""
    rows = []
    label = f"translate ({engine.name}{', checked' if checks else ''})"
    progress = tqdm(total=len(pairs), desc=label, unit="pair", file=sys.stderr)
    start = time.perf_counter()
    for direction in DIRECTIONS:
        chosen = [p for p in pairs if p["direction"] == direction]
        for first in range(0, len(chosen), BATCH_PAIRS):
            batch = chosen[first : first + BATCH_PAIRS]
            results = translate_texts([p["source"] for p in batch], direction, engine, checks=checks)
            for pair, result in zip(batch, results, strict=True):
                problems = [p.detail for s in result.sentences for p in check_translation(s.source, s.text, direction)]
                rows.append(
                    {
                        "id": pair["id"],
                        "direction": direction,
                        "source": pair["source"],
                        "reference": pair["reference"],
                        "hypothesis": result.text,
                        "needs_review": result.needs_review,
                        "preserved": not problems,
                        "problems": problems,
                        "sentences": len(result.sentences),
                    }
                )
            progress.update(len(batch))
    progress.close()
    order = {p["id"]: i for i, p in enumerate(pairs)}
    return sorted(rows, key=lambda r: order[r["id"]]), time.perf_counter() - start


def _summarize(rows: list[dict], seconds: float) -> dict:
    import sacrebleu

    summary: dict = {"n": len(rows)}
    for direction, tokenize in (("zh-en", "13a"), ("en-zh", "zh")):
        part = [r for r in rows if r["direction"] == direction]
        key = direction.replace("-", "_")
        if not part:
            summary[f"chrf_{key}"] = summary[f"bleu_{key}"] = None
            continue
        hyps, refs = [r["hypothesis"] for r in part], [[r["reference"] for r in part]]
        summary[f"chrf_{key}"] = round(sacrebleu.corpus_chrf(hyps, refs).score, 2)
        summary[f"bleu_{key}"] = round(sacrebleu.corpus_bleu(hyps, refs, tokenize=tokenize).score, 2)
    summary["preservation_rate"] = round(sum(r["preserved"] for r in rows) / len(rows), 4) if rows else None
    summary["needs_review_rate"] = round(sum(r["needs_review"] for r in rows) / len(rows), 4) if rows else None
    summary["sentences_per_s"] = round(sum(r["sentences"] for r in rows) / seconds, 3) if seconds else None
    return summary


def _figures(summary: dict):
    keys = ["chrf_zh_en", "chrf_en_zh", "bleu_zh_en", "bleu_en_zh"]
    figures = [bar_plot(keys, [summary[k] or 0.0 for k in keys], "Checked translation", "score")]
    for name in ("unchecked", "baseline"):
        if name in summary:
            figures.append(bar_plot(keys, [summary[name][k] or 0.0 for k in keys], f"{name} (no checks)", "score"))
    return figures


_COLUMNS = ("id", "direction", "source", "reference", "hypothesis", "needs_review", "problems")


def _tables(rows: list[dict]):
    return [("Sentences", _COLUMNS, [[r[c] for c in _COLUMNS] for r in rows])]
