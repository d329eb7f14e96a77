"""`shenggu bench medical`: the medical solution's entity extraction and drafted consultation records measured on
real clinical text (``shared/eval/medical/records.jsonl``; format in ``shared/eval/README.md``), against the
bundled language model asked plainly (:mod:`shenggu.bench.medical_baseline`).

Items: ``ner`` (``text`` with gold ``entities`` ``{type, text, start, end}``, ``source`` ccks2019 or cmeee-v2)
and ``dialogue_to_report`` (``dialogue[]`` of ``{speaker: doctor|patient, text}`` and the doctor's ``sections``).
Items of other tasks are ignored. ``limit`` takes the first N items of each task, so a short run has both.

Entities (``extract_entities`` on each passage as written): our types are mapped to the set's
(``medical_scoring.TYPE_MAP``; symptom, vital_sign and allergy are not scored on CCKS, vital_sign and allergy
not on CMeEE: such predictions are neither hits nor false positives). Gold types we have no mapping for (CMeEE's
equ, mic, dep) stay in the gold list and count as misses (recall). A prediction matches a gold entity of the same
type when their spans overlap, each gold and each predicted entity matched at most once (a maximum matching):
``entity_f1`` (micro over all entities), ``entity_precision``, ``entity_recall``; ``entity_f1_exact`` with exact
spans; ``entity_f1_by_type`` by the set's type; ``entity_f1_ci`` a bootstrap 95 % interval over items;
``entity_f1_ccks2019`` and ``entity_f1_cmeee`` per source; ``entity_counts`` (tp, fp, fn).

Baseline entities: the model lists ``{type, text}`` with the set's type names; each text is located in the
passage at its first occurrence not already taken by an earlier answer of the same type and text (a text not in
the passage, or listed more often than the passage holds it, is a false positive). Same items, same scoring:
``baseline_entity_f1`` (``_precision``, ``_recall``, ``_exact``, ``_by_type``, ``_ci``, per source).

Reports (``draft_consultation`` on the dialogue's turns with their roles): our sections mapped to the reference's
(``medical_scoring.OUR_SECTIONS``: 主诉, 现病史, 辅助检查, 既往史 + 过敏史, 初步诊断 → 诊断, 处理意见 + 医嘱 → 建议),
character ROUGE-L F1 per section after removing punctuation and spaces, averaged over the six sections, then over
items: ``report_rouge_l`` (``_ci`` over items, ``_by_section``). An empty section scores 0 unless the reference's
is empty too (1). The reports' doctors write 暂缺 / 暂无 / 不详 / 无 where the dialogue says nothing; such a text,
on either side, counts as an empty section. ``report_rouge_l_literal`` scores those placeholders as text.
``baseline_report_rouge_l`` (``_ci``, ``_by_section``, ``_literal``): the model writing the six sections itself.

Invented values: every number, unit and drug name our outputs state (entities' texts, values and attributes;
the drafted statements' texts) is looked up in the item's input with ``grounding.ungrounded_values``:
``invented_value_rate`` (invented / values checked, distinct values per item), ``invented_values`` (which),
``invented_values_checked``; ``baseline_invented_value_rate`` and ``baseline_invented_values`` for the model's
reports (its entity texts are located in the input, so they are false positives when invented, not values).

Vitals and doses on clean text: every vital sign and every drug dose our extraction reports on the inputs (each
``ner`` passage as written; each dialogue turn in clinical written form, as the drafter reads it) is checked
against the text itself (``medical_scoring.vital_sign_exact``, ``dose_exact``): a vital sign's span must be the
entity's text, its last number the value and what follows it a written form of the unit; a drug's dose must be
the first quantity written after its name within its clause, number for number and unit for unit (units in
records' form: MG = mg): ``vitals_doses_exact`` (share exact), ``vitals_doses_checked``,
``vitals_doses_mismatches``; ``doses_unread`` lists drugs whose name is followed right away by a quantity the
extraction did not read as their dose.

Speed and size: ``records_per_minute`` (our extraction and drafting only, lexicon loaded first), ``peak_rss_mb``,
``n_ner``, ``n_reports``, ``baseline_seconds`` (the model's calls, loaded first; as many at once as it has
slots; with ``answers``, a JSON file of the model's answers, those already there are reused and
``baseline_reused`` says how many), ``failed`` (items that failed, each recorded under ``failures`` in
results.json and left out of the scores). ``baseline_failed``: items the model failed on (an error, or an answer
cut at the token limit), left out of the baseline's scores; when there are any, ``entity_f1_on_baseline_items``
and ``report_rouge_l_on_baseline_items`` score ours on the items the model answered.

``llm_fill``: our drafts again, with the model's grounded fill-in of the sections they left empty (the API's and
CLI's ``llm_fill`` option): ``llm_fill_report_rouge_l`` (``_ci``, ``_by_section``, ``_literal``) and
``llm_fill_invented_value_rate`` (``_values``, ``_values_checked``).

``round_trip`` = N: the first N ``ner`` passages, cut at a sentence end to ~150 characters, spoken and recognized
(:mod:`shenggu.bench.medical_round_trip`): ``round_trip_cer``, ``round_trip_entity_f1``,
``clean_entity_f1_same_items``, ``round_trip_cer_without_vocabulary``, ``round_trip_voice``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from shenggu.bench.failures import attempt
from shenggu.bench.medical_report import report_figures, report_tables
from shenggu.bench.medical_scoring import (
    CCKS,
    CMEEE,
    REPORT_SECTIONS,
    SET_TYPES,
    Span,
    checked_values,
    counts_by_type,
    entity_claims,
    entity_counts,
    locate_texts,
    mapped_spans,
    overlapping,
    record_sections,
    rounded,
    same_span,
    section_scores,
    total_counts,
    vital_dose_checks,
)
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.stats import bootstrap_mean_interval, bootstrap_ratio_interval
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.results import write_results
from shenggu.solutions.medical.consultation import draft_consultation
from shenggu.solutions.medical.entities import extract_entities
from shenggu.solutions.medical.lexicon import medical_lexicon
from shenggu.solutions.medical.numbers import normalize_clinical
from shenggu.solutions.medical.record import MedicalRecord, SourceUtterance

NER, REPORT = "ner", "dialogue_to_report"
SOURCE_KEYS = {CCKS: "ccks2019", CMEEE: "cmeee"}  # summary key suffix of each source


@dataclass
class MedicalBenchConfig:
    """The records file, where to write, and what to run."""

    records: Path
    out: Path
    limit: int | None = None  # first N items of each task
    baseline: bool = True
    round_trip: int = 0  # first N ner passages spoken and recognized (0: none)
    voice: str | None = None  # round-trip voice (default: shenggu's default Mandarin voice)
    answers: Path | None = None  # JSON file of the model's answers, reused and extended (see AnswerCache)
    llm_fill: bool = False  # also score our drafts with the model's grounded fill-in of their empty sections


def load_records(path: Path) -> list[dict]:
    """The ``ner`` and ``dialogue_to_report`` items of a records JSONL (other tasks are left out); an item that
    lacks what its task needs is an error naming its line."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InvalidOptionError(f"cannot read records file {path}: {exc}") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if item["task"] == NER:
                _check_ner(item)
            elif item["task"] == REPORT:
                _check_report(item)
            else:
                continue
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidOptionError(f"{path}:{number}: not a medical record item ({exc})") from None
        items.append(item)
    if not items:
        raise InvalidOptionError(f"{path}: no ner or dialogue_to_report items")
    return items


_REQUIRED = {NER: ("id", "source", "text", "entities"), REPORT: ("id", "dialogue", "sections")}


def _check_ner(item: dict) -> None:
    _check_keys(item)
    if item["source"] not in SET_TYPES:
        raise ValueError(f"unknown ner source {item['source']!r} (known: {', '.join(SET_TYPES)})")
    for e in item["entities"]:
        if item["text"][e["start"] : e["end"]] != e["text"]:
            raise ValueError(f"entity {e['text']!r} is not at {e['start']}:{e['end']} of the text")


def _check_report(item: dict) -> None:
    _check_keys(item)
    if not all(isinstance(turn["text"], str) for turn in item["dialogue"]):
        raise TypeError("a dialogue turn's text must be a string")
    if not isinstance(item["sections"], dict):
        raise TypeError("sections must be an object")


def _check_keys(item: dict) -> None:
    missing = [key for key in _REQUIRED[item["task"]] if key not in item]
    if missing:
        raise KeyError(f"{item['task']} item without {', '.join(missing)}")


def _first_of_each_task(items: list[dict], limit: int | None) -> list[dict]:
    if limit is None:
        return items
    seen = {NER: 0, REPORT: 0}
    kept = []
    for item in items:
        seen[item["task"]] += 1
        if seen[item["task"]] <= limit:
            kept.append(item)
    return kept


def gold_spans(item: dict) -> list[Span]:
    """The item's gold entities as spans."""
    return [Span(e["type"], e["text"], e["start"], e["end"]) for e in item["entities"]]


def turns_of(item: dict) -> list[SourceUtterance]:
    """The dialogue's turns as the drafter takes them (role doctor or patient)."""
    return [SourceUtterance(t["text"], t.get("speaker", "")) for t in item["dialogue"]]


def dialogue_text(item: dict) -> str:
    """The dialogue's turns, one a line: the input every value of its report must come from."""
    return "\n".join(t["text"] for t in item["dialogue"])


def run_medical_bench(config: MedicalBenchConfig) -> dict:
    """Run the benchmark; write ``results.json`` and ``report.html``; return the summary."""
    items = _first_of_each_task(load_records(config.records), config.limit)
    ner = [i for i in items if i["task"] == NER]
    reports = [i for i in items if i["task"] == REPORT]
    failures: list[dict] = []
    medical_lexicon()  # loaded once before the clock starts: throughput is per record, not per process
    ner_rows, report_rows, seconds = _ours(ner, reports, failures)
    summary: dict = {"n_ner": len(ner_rows), "n_reports": len(report_rows)}
    summary.update(_entity_summary(ner_rows, "ours", ""))
    summary.update(_report_summary(report_rows, "ours", ""))
    summary.update(_invented_summary(ner_rows + report_rows, "ours", ""))
    summary.update(_vitals_doses_summary(ner_rows + report_rows))
    done = len(ner_rows) + len(report_rows)
    summary["records_per_minute"] = round(60 * done / seconds, 1) if seconds else None
    if config.baseline:
        seconds, reused = _baseline(ner_rows, report_rows, failures, config.answers)
        summary["baseline_seconds"], summary["baseline_reused"] = round(seconds, 1), reused
        summary.update(_entity_summary(ner_rows, "baseline", "baseline_"))
        summary.update(_report_summary(report_rows, "baseline", "baseline_"))
        summary.update(_invented_summary(report_rows, "baseline", "baseline_"))
        summary["baseline_failed"] = sum(r.get("baseline_failed", False) for r in ner_rows + report_rows)
        if summary["baseline_failed"]:  # ours on the same items as the model's scores
            answered = [r for r in ner_rows + report_rows if "baseline" in r]
            summary["entity_f1_on_baseline_items"] = _entity_summary(answered, "ours", "").get("entity_f1")
            summary["report_rouge_l_on_baseline_items"] = _report_summary(answered, "ours", "").get("report_rouge_l")
    if config.llm_fill:
        _fill_empty_sections(report_rows, {i["id"]: i for i in reports}, failures)
        summary.update(_report_summary(report_rows, "llm_fill", "llm_fill_"))
        summary.update(_invented_summary(report_rows, "llm_fill", "llm_fill_"))
    round_trip_rows: list[dict] = []
    if config.round_trip:
        round_trip_summary, round_trip_rows = _round_trip(ner[: config.round_trip], config.voice, failures)
        summary.update(round_trip_summary)
    summary["failed"] = len(failures)
    summary["peak_rss_mb"] = round(peak_rss_mb(), 1)
    config.out.mkdir(parents=True, exist_ok=True)
    extra = {"failures": failures, "round_trip": round_trip_rows}
    write_results(config.out, summary, ner_rows + report_rows, extra)
    tables = report_tables(ner_rows, report_rows, round_trip_rows, failures, summary)
    write_html_report(config.out, "shenggu bench medical", summary, report_figures(summary, report_rows), tables)
    return summary


def _progress(total: int, label: str) -> tqdm:
    return tqdm(total=total, desc=label, unit="item", file=sys.stderr, disable=not sys.stderr.isatty())


# -- our system ---------------------------------------------------------------------------------------------


def _ours(ner: list[dict], reports: list[dict], failures: list[dict]) -> tuple[list[dict], list[dict], float]:
    """Extract every passage's entities and draft every dialogue's record (timed), then score them."""
    progress = _progress(len(ner) + len(reports), "medical (shenggu)")
    seconds = 0.0
    extracted: list[tuple[dict, list]] = []
    drafted: list[tuple[dict, MedicalRecord]] = []
    for item in ner:
        started = time.perf_counter()
        entities = attempt(item["id"], lambda item=item: extract_entities(item["text"]), failures)
        seconds += time.perf_counter() - started
        if entities is not None:
            extracted.append((item, entities))
        progress.update()
    for item in reports:
        started = time.perf_counter()
        record = attempt(item["id"], lambda item=item: draft_consultation(turns_of(item)), failures)
        seconds += time.perf_counter() - started
        if record is not None:
            drafted.append((item, record))
        progress.update()
    progress.close()
    ner_rows = [_ner_row(item, entities) for item, entities in extracted]
    report_rows = [_report_row(item, record) for item, record in drafted]
    return ner_rows, report_rows, seconds


def _scored_entities(gold: list[Span], predicted: list[Span]) -> dict:
    return {
        "predicted": predicted,
        "overlap": entity_counts(gold, predicted, overlapping),
        "exact": entity_counts(gold, predicted, same_span),
    }


def _ner_row(item: dict, entities: list) -> dict:
    text, gold = item["text"], gold_spans(item)
    claims = [claim for e in entities for claim in entity_claims(e)]
    values, invented = checked_values(claims, text)
    return {
        "id": item["id"],
        "source": item["source"],
        "task": NER,
        "text": text,
        "gold": gold,
        "ours": {**_scored_entities(gold, mapped_spans(entities, item["source"])), "values": values},
        "invented": invented,
        "vitals_doses": vital_dose_checks(text, entities),
    }


def _claims(record: MedicalRecord) -> list[str]:
    """What a drafted record claims: its statements' texts and its entities' values."""
    statements = [st for s in record.sections for st in s.statements]
    return [st.text for st in statements] + [c for st in statements for e in st.entities for c in entity_claims(e)]


def _report_row(item: dict, record: MedicalRecord) -> dict:
    values, invented = checked_values(_claims(record), dialogue_text(item))
    checks = []
    for turn in item["dialogue"]:
        written = normalize_clinical(turn["text"])
        checks += vital_dose_checks(written, extract_entities(written))
    return {
        "id": item["id"],
        "source": item["source"],
        "task": REPORT,
        "dialogue": item["dialogue"],
        "reference": {s: item["sections"].get(s, "") for s in REPORT_SECTIONS},
        "ours": {**_scored_report(item, record_sections(record)), "values": values},
        "invented": invented,
        "vitals_doses": checks,
    }


def _scored_report(item: dict, sections: dict[str, str]) -> dict:
    scores = section_scores(item["sections"], sections)
    literal = section_scores(item["sections"], sections, frozenset())
    return {
        "sections": sections,
        "scores": scores,
        "rouge_l": sum(scores.values()) / len(scores),
        "rouge_l_literal": sum(literal.values()) / len(literal),
    }


def _fill_empty_sections(report_rows: list[dict], items: dict[str, dict], failures: list[dict]) -> None:
    """Our drafts with the model's grounded fill-in of the sections they left empty (``llm_fill`` on each row;
    the option ``llm_fill`` of the API and CLI), as many at once as the model has slots."""
    from functools import partial

    from shenggu.bench.medical_baseline import TENANT
    from shenggu.config import get_settings
    from shenggu.llm.chat_queue import get_chat_queue
    from shenggu.solutions.medical.llm_fill import fill_empty_sections

    queue = get_chat_queue(get_settings())
    chat = partial(queue.chat, TENANT)
    progress = _progress(len(report_rows), "medical (shenggu + model fill-in)")

    def fill(row: dict) -> None:
        item = items[row["id"]]
        record = draft_consultation(turns_of(item))
        if attempt(f"{row['id']} (fill-in)", lambda: fill_empty_sections(record, chat), failures) is not None:
            values, invented = checked_values(_claims(record), dialogue_text(item))
            row["llm_fill"] = {**_scored_report(item, record_sections(record)), "values": values}
            row["llm_fill_invented"] = invented
        progress.update()

    with ThreadPoolExecutor(max_workers=queue.slots) as pool:
        list(pool.map(fill, report_rows))
    progress.close()


# -- the baseline -------------------------------------------------------------------------------------------


def _baseline(
    ner_rows: list[dict], report_rows: list[dict], failures: list[dict], answers: Path | None
) -> tuple[float, int]:
    """Ask the model for every passage's entities and every dialogue's report (as many at once as it has slots),
    adding ``baseline`` to each row; returns the seconds the calls took (the model is loaded first) and how many
    answers came from the ``answers`` file instead."""
    from shenggu.bench.medical_baseline import AnswerCache, llm_entities, llm_report
    from shenggu.config import get_settings
    from shenggu.llm.chat_queue import get_chat_queue

    cache = AnswerCache(answers)
    queue = get_chat_queue(get_settings())

    def entities(row: dict) -> dict:
        returned = llm_entities(queue, row["text"], row["source"], cache)
        row["baseline"] = {**_scored_entities(row["gold"], locate_texts(row["text"], returned)), "returned": returned}
        return row

    def report(row: dict) -> dict:
        written = llm_report(queue, row["dialogue"], cache)
        values, invented = checked_values(list(written.values()), dialogue_text(row))
        row["baseline"] = {**_scored_report({"sections": row["reference"]}, written), "values": values}
        row["baseline_invented"] = invented
        return row

    jobs = [(row, entities) for row in ner_rows] + [(row, report) for row in report_rows]
    progress = _progress(len(jobs), "medical (language model)")

    def run(job: tuple[dict, Callable[[dict], dict]]) -> None:
        row, ask = job
        if attempt(f"{row['id']} (baseline)", lambda: ask(row), failures) is None:
            row["baseline_failed"] = True
        progress.update()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=queue.slots) as pool:
        list(pool.map(run, jobs))
    progress.close()
    return time.perf_counter() - started, cache.reused


# -- summaries ----------------------------------------------------------------------------------------------


def _entity_summary(rows: list[dict], system: str, prefix: str) -> dict:
    scored = [r for r in rows if r["task"] == NER and system in r]
    if not scored:
        return {}
    overlap = total_counts(r[system]["overlap"] for r in scored)
    exact = total_counts(r[system]["exact"] for r in scored)
    per_item = [total_counts([r[system]["overlap"]]) for r in scored]
    low, high = bootstrap_ratio_interval([2 * c.tp for c in per_item], [2 * c.tp + c.fp + c.fn for c in per_item])
    by_type = counts_by_type(r[system]["overlap"] for r in scored)
    order = [t for types in SET_TYPES.values() for t in types]
    summary = {
        f"{prefix}entity_f1": rounded(overlap.f1),
        f"{prefix}entity_precision": rounded(overlap.precision),
        f"{prefix}entity_recall": rounded(overlap.recall),
        f"{prefix}entity_f1_exact": rounded(exact.f1),
        f"{prefix}entity_f1_by_type": {
            t: rounded(by_type[t].f1) for t in sorted(by_type, key=lambda t: order.index(t) if t in order else 99)
        },
        f"{prefix}entity_f1_ci": [round(low, 4), round(high, 4)],
        f"{prefix}entity_counts": {"tp": overlap.tp, "fp": overlap.fp, "fn": overlap.fn},
    }
    for source, key in SOURCE_KEYS.items():
        part = [r[system]["overlap"] for r in scored if r["source"] == source]
        summary[f"{prefix}entity_f1_{key}"] = rounded(total_counts(part).f1) if part else None
    return summary


def _report_summary(rows: list[dict], system: str, prefix: str) -> dict:
    scored = [r[system] for r in rows if r["task"] == REPORT and system in r]
    if not scored:
        return {}
    means = [s["rouge_l"] for s in scored]
    low, high = bootstrap_mean_interval(means)
    return {
        f"{prefix}report_rouge_l": rounded(sum(means) / len(means)),
        f"{prefix}report_rouge_l_ci": [round(low, 4), round(high, 4)],
        f"{prefix}report_rouge_l_by_section": {
            section: rounded(sum(s["scores"][section] for s in scored) / len(scored)) for section in REPORT_SECTIONS
        },
        f"{prefix}report_rouge_l_literal": rounded(sum(s["rouge_l_literal"] for s in scored) / len(scored)),
    }


def _invented_summary(rows: list[dict], system: str, prefix: str) -> dict:
    invented_key = "invented" if system == "ours" else f"{system}_invented"
    scored = [r for r in rows if system in r and "values" in r[system]]
    checked = sum(len(r[system]["values"]) for r in scored)
    invented = [{"id": r["id"], "value": v} for r in scored for v in r.get(invented_key, [])]
    return {
        f"{prefix}invented_value_rate": rounded(len(invented) / checked) if checked else None,
        f"{prefix}invented_values": invented,
        f"{prefix}invented_values_checked": checked,
    }


def _vitals_doses_summary(rows: list[dict]) -> dict:
    checks = [(r["id"], c) for r in rows for c in r["vitals_doses"] if c["exact"] is not None]
    unread = [{"id": r["id"], **c} for r in rows for c in r["vitals_doses"] if c["exact"] is None]
    exact = sum(c["exact"] for _, c in checks)
    return {
        "vitals_doses_exact": rounded(exact / len(checks)) if checks else None,
        "vitals_doses_checked": len(checks),
        "vitals_doses_mismatches": [{"id": i, **c} for i, c in checks if not c["exact"]],
        "doses_unread": unread,
    }


def _round_trip(ner: list[dict], voice: str | None, failures: list[dict]) -> tuple[dict, list[dict]]:
    from shenggu.bench.medical_round_trip import round_trip
    from shenggu.tts.voices import DEFAULT_VOICES, get_voice

    items = [{"id": i["id"], "source": i["source"], "text": i["text"], "gold": gold_spans(i)} for i in ner]
    return round_trip(items, get_voice(voice).id if voice else DEFAULT_VOICES["zh"], failures)
