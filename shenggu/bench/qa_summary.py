"""Summary faithfulness of quality inspection: the bundled language model summarizes the first N dialogues, and
every fact of a summary (numbers, named things: :func:`shenggu.solutions.qa.summary.summary_facts`) is looked up
in its dialogue.

``summary_faithfulness``: share of the facts of the summaries as shipped (after the grounding check) that the
dialogues hold; ``summary_faithfulness_raw``: the same for the model's drafts before the check (what the check
protects against); ``summary_facts`` / ``summary_facts_raw``: how many facts were checked;
``summary_sentences_dropped``: sentences the check removed; ``summary_empty``: summaries left empty;
``summary_seconds``: the model's time per summary (mean); ``summary_failed``: dialogues the model failed on."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from tqdm import tqdm

from shenggu.bench.qa_rules import timed_call
from shenggu.solutions.qa.summary import CallFacts, draft_summary, ground_summary, summary_facts

TENANT = "bench-qa"


def _held(text: str, facts: CallFacts) -> tuple[int, int]:
    found = summary_facts(text)
    return sum(facts.holds(f) for f in found), len(found)


def summarize_dialogues(dialogues: Sequence[dict], errors: list[dict]) -> tuple[list[dict], dict]:
    """Summaries of ``dialogues`` (rows for the report) and the summary keys; a failing dialogue is an error
    entry and the others go on."""
    from shenggu.config import get_settings
    from shenggu.llm.chat_queue import get_chat_queue

    queue = get_chat_queue(get_settings())

    def chat(messages, options):
        return queue.chat(TENANT, messages, options)

    rows, seconds = [], []
    for d in tqdm(dialogues, desc="qa summaries", unit="call", file=sys.stderr, disable=not sys.stderr.isatty()):
        call = timed_call(d["turns"], d["id"])
        started = time.perf_counter()
        try:
            draft = draft_summary(call, chat)
        except Exception as exc:  # the model failing on one dialogue is reported; the others go on
            errors.append({"kind": "summary", "where": d["id"], "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        seconds.append(time.perf_counter() - started)
        kept = ground_summary(draft, call)
        facts = CallFacts(call)
        rows.append(
            {
                "id": d["id"],
                "draft": draft,
                "summary": kept.text,
                "dropped": kept.dropped,
                "held": _held(kept.text, facts),
                "held_raw": _held(draft, facts),
            }
        )
    return rows, _summary_keys(rows, seconds, len(dialogues))


def _summary_keys(rows: list[dict], seconds: list[float], asked: int) -> dict:
    held, total = sum(r["held"][0] for r in rows), sum(r["held"][1] for r in rows)
    held_raw, total_raw = sum(r["held_raw"][0] for r in rows), sum(r["held_raw"][1] for r in rows)
    return {
        "n_summaries": len(rows),
        "summary_failed": asked - len(rows),
        "summary_faithfulness": round(held / total, 4) if total else None,
        "summary_facts": total,
        "summary_faithfulness_raw": round(held_raw / total_raw, 4) if total_raw else None,
        "summary_facts_raw": total_raw,
        "summary_sentences_dropped": sum(len(r["dropped"]) for r in rows),
        "summary_empty": sum(not r["summary"] for r in rows),
        "summary_seconds": round(sum(seconds) / len(seconds), 1) if seconds else None,
    }
