"""`shenggu bench stream --ablation`: streaming finals against file mode on the same clips, and what each
difference between them costs. Accuracy only: no server, no clock.

Every asr clip of the manifest is decoded (a) in file mode (``transcribe`` with default options), (b) through a
``StreamingSession`` fed the clip in 100 ms chunks as fast as it takes them, with the default stream options, and
(c) once per ``SWITCHES`` entry, with that one difference set to file mode's choice. Speculative finals and
partials are off (``speculate_ms=0``): fed faster than real time, whether a speculation is ready at the endpoint
depends on thread timing, not on the audio, so runs would not repeat; a speculative final differs from the closed
sentence only in ending at the pause rather than after the VAD's post-roll.

Effects are counted as in ``asr_ablation``: errors the streaming choice saves on each clip against file mode's
choice (negative: file mode's choice is better), over reference length, with a bootstrap 95 % interval over clips
and the leave-one-clip-out share of folds that would keep the streaming choice. A default changes only where file
mode's choice wins with an interval that excludes harm. Groups: A+B per language; the conversational and
far-field clips (A+B whose manifest notes call them spontaneous, conversational, crosstalk, podcast, livestream or
far-field speech); each quality class apart (D: dialect).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from shenggu.asr.pipeline import TranscribeOptions, default_front, transcribe
from shenggu.asr.registry import get_recognizer
from shenggu.asr.streaming import Final, Shedding, StreamingSession, StreamOptions
from shenggu.asr.types import Recognizer
from shenggu.audio import SAMPLE_RATE, decode_audio
from shenggu.bench.asr import ablation_table, quality_groups, run_clips
from shenggu.bench.asr_ablation import stage_effects
from shenggu.bench.manifest import ManifestEntry, load_manifest
from shenggu.bench.scoring import ErrorCounts, metric_name, total
from shenggu.bench.stats import bootstrap_ratio_interval
from shenggu.client.stream import join_texts
from shenggu.config import get_settings
from shenggu.reports.page import Table, write_html_report
from shenggu.reports.plots import Figure, bar_plot
from shenggu.reports.results import flat_summary, write_results

CHUNK_S = 0.1  # as `bench stream` sends it
CONVERSATIONAL_NOTES = re.compile(r"spontaneous|conversation|crosstalk|podcast|livestream|far-field", re.IGNORECASE)
HEADLINE_GROUPS = ("zh_AB", "zh_conversational", "en_AB", "zh_D")


@dataclass(frozen=True)
class StreamSwitch:
    """A difference between a streaming final and file mode; ``to_file`` sets it to file mode's choice."""

    name: str
    description: str
    to_file: Callable[[StreamOptions], StreamOptions]
    differs: Callable[[str], bool] = lambda language: True  # whether file mode chooses otherwise in the language

    def on_by_default(self, language: str) -> bool:
        """The streaming choice is the default: its effect is the errors it saves against file mode's."""
        return True


_STREAM = StreamOptions()
SWITCHES: tuple[StreamSwitch, ...] = (
    StreamSwitch(
        "prompt",
        f"the stream's previous {_STREAM.prompt_chars} characters as Whisper's prompt (file: none)",
        lambda o: replace(o, prompt_chars=0),
    ),
    StreamSwitch(
        "leading_context",
        f"{_STREAM.final_lead_s:g} s of audio before a sentence (file: the language's front)",
        lambda o: replace(o, final_lead_s=None),
        lambda language: default_front(language).lead_seconds != _STREAM.final_lead_s,
    ),
    StreamSwitch(
        "silence_padding",
        "features padded with silence (file: the language's front)",
        lambda o: replace(o, final_pad_with_silence=None),
        lambda language: default_front(language).pad_with_silence != _STREAM.final_pad_with_silence,
    ),
    StreamSwitch(
        "encoder_context",
        f"{_STREAM.final_context_s:g} s of encoder context (file: 30 s)",
        lambda o: replace(o, final_context_s=30.0),
    ),
    StreamSwitch(
        "long_sentence_cut",
        f"sentences past {_STREAM.long_sentence_s:g} s close at a 200 ms pause (switched: no such cut)",
        lambda o: replace(o, long_sentence_s=0.0),
    ),
    StreamSwitch(
        "end_silence",
        f"a sentence closes after {_STREAM.end_silence_ms} ms of silence (switched: 800 ms)",
        lambda o: replace(o, end_silence_ms=800),
    ),
    StreamSwitch(  # a diagnostic, not a candidate default: finals would wait for the end of the talk
        "sentence_windows",
        "a window per sentence (switched: closed only after 5 s of silence or at 28 s, as file mode packs windows)",
        lambda o: replace(o, end_silence_ms=5000, long_sentence_s=0.0, max_sentence_s=28.0),
    ),
    StreamSwitch(
        "all_but_windows",
        "prompt, lead, padding and context all as file mode: what is left is the sentence windows",
        lambda o: replace(o, prompt_chars=0, final_lead_s=None, final_pad_with_silence=None, final_context_s=30.0),
    ),
)


def stream_text(recognizer: Recognizer, samples: np.ndarray, options: StreamOptions) -> str:
    """The finals of a streaming session fed ``samples`` in ``CHUNK_S`` chunks, joined as a client joins them."""
    session = StreamingSession(recognizer, options)
    step = round(CHUNK_S * SAMPLE_RATE)
    finals = [e for i in range(0, len(samples), step) for e in session.accept(samples[i : i + step])]
    finals += session.finish()
    return join_texts([e.segment.text for e in finals if isinstance(e, Final)])


def offline_options(language: str) -> StreamOptions:
    """Default stream options for an offline run: no speculative finals, no partials (see the module doc), no
    load shedding (a final's predicted decode time would narrow long sentences' beams by the machine's speed:
    what load costs is ``bench stream``'s to measure)."""
    return StreamOptions(language=language, speculate_ms=0, partial_interval_s=math.inf, shedding=Shedding.never())


def run_stream_ablation(manifest: Path, out: Path, engine: str | None = None) -> dict:
    """Run the ablation on ``manifest``'s asr clips; write ``results.json`` and ``report.html`` into ``out``."""
    entries = load_manifest(manifest, task="asr")
    settings = get_settings()
    recognizer = get_recognizer(engine, settings=settings)
    audio: dict[str, np.ndarray] = {}

    def streamed(switch: StreamSwitch | None) -> Callable[[ManifestEntry], str]:
        def recognize(entry: ManifestEntry) -> str:
            if entry.id not in audio:
                audio[entry.id] = decode_audio(entry.path, name=entry.id)
            options = offline_options(entry.language)
            return stream_text(recognizer, audio[entry.id], switch.to_file(options) if switch else options)

        return recognize

    def file_mode(entry: ManifestEntry) -> str:
        options = TranscribeOptions(language=entry.language).batched_as(settings)
        return transcribe(entry.path, recognizer, options, name=entry.id).text

    failures: list[dict] = []
    stream_rows = run_clips(entries, streamed(None), "stream", failures)
    file_rows = run_clips(entries, file_mode, "file", failures)
    switched: dict[str, list[dict]] = {}
    for switch in SWITCHES:
        differing = [e for e in entries if switch.differs(e.language)]
        rows = run_clips(differing, streamed(switch), f"stream, {switch.name} as file", failures)
        same = {e.id for e in entries} - {e.id for e in differing}
        switched[switch.name] = rows + [r for r in stream_rows if r["id"] in same]
    summary, rows = ablation_summary(entries, file_rows, stream_rows, switched)
    summary["failed"] = len({f["id"] for f in failures})
    out.mkdir(parents=True, exist_ok=True)
    write_results(out, summary, rows, {"failures": failures, "config": {"manifest": manifest, "chunk_s": CHUNK_S}})
    write_html_report(
        out,
        "shenggu bench stream --ablation",
        flat_summary({k: v for k, v in summary.items() if k not in ("groups", "ablation")}),
        _figures(summary),
        _tables(summary, rows),
    )
    return summary


def ablation_summary(
    entries: list[ManifestEntry], file_rows: list[dict], stream_rows: list[dict], switched: dict[str, list[dict]]
) -> tuple[dict, list[dict]]:
    """The summary (headline keys, ``groups``, ``ablation``) and one row per clip, on the clips that every run
    decoded (``switched``: switch name → its rows)."""
    runs = [file_rows, *switched.values()]
    kept = [r for r in stream_rows if all(any(o["id"] == r["id"] for o in run) for run in runs)]
    conversational = {e.id for e in entries if CONVERSATIONAL_NOTES.search(e.notes)}
    groups = quality_groups(kept)
    for language in ("zh", "en"):
        groups[f"{language}_conversational"] = lambda r, ab=groups[f"{language}_AB"]: (
            ab(r) and r["id"] in conversational
        )
    groups = {name: belongs for name, belongs in groups.items() if any(belongs(r) for r in kept)}
    by_id = {name: {r["id"]: r for r in run} for name, run in (("file", file_rows), *switched.items())}
    group_table = {
        name: _group(
            [r for r in kept if belongs(r)],
            {run: [ids[r["id"]] for r in kept if belongs(r)] for run, ids in by_id.items()},
        )
        for name, belongs in groups.items()
    }
    ablation = {}
    for switch in SWITCHES:
        effects = stage_effects(switch, kept, switched[switch.name], groups)
        for name, effect in effects.items():
            language = name.split("_")[0]
            effect["verdict"] = _verdict(effect) if switch.differs(language) else "same as file mode"
        ablation[switch.name] = {"description": switch.description, **effects}
    summary: dict = {
        "cer_zh": group_table.get("zh_AB", {}).get("stream"),
        "wer_en": group_table.get("en_AB", {}).get("stream"),
        "clips": len(kept),
        "speculation": "off (offline feed, see the module doc)",
    }
    for name in HEADLINE_GROUPS:
        if name in group_table:
            language, _, rest = name.partition("_")
            suffix = language if rest == "AB" else name
            metric = metric_name(language)
            g = group_table[name]
            summary.update({
                f"file_{metric}_{suffix}": g["file"],
                f"stream_{metric}_{suffix}": g["stream"],
                f"stream_file_gap_{suffix}": g["gap"],
                f"stream_file_gap_{suffix}_ci95": g["gap_ci95"],
            })  # fmt: skip
    summary["groups"] = group_table
    summary["ablation"] = ablation
    return summary, [_clip_row(r, conversational, by_id) for r in kept]


def _group(stream_rows: list[dict], runs: dict[str, list[dict]]) -> dict:
    """Corpus rates of the stream, of file mode and of each switched stream; the stream/file relative gap with
    a bootstrap 95 % interval over clips."""
    file_errors = [r["errors"] for r in runs["file"]]
    extra = [s["errors"] - f for s, f in zip(stream_rows, file_errors, strict=True)]
    low, high = bootstrap_ratio_interval(extra, file_errors)
    file_total = sum(file_errors)
    return {
        "clips": len(stream_rows),
        "file": _rate(runs["file"]),
        "stream": _rate(stream_rows),
        "gap": round(sum(extra) / file_total, 4) if file_total else None,
        "gap_ci95": [round(low, 4), round(high, 4)] if file_total else None,
        "switched": {name: _rate(rows) for name, rows in runs.items() if name != "file"},
    }


def _rate(rows: list[dict]) -> float:
    counts = [ErrorCounts.of(r["ref_len"], r["substitutions"], r["deletions"], r["insertions"]) for r in rows]
    return round(total(counts).rate, 4)


def _verdict(effect: dict) -> str:
    """Switch to file mode's choice only where it wins and the interval excludes harm (issue 17's rule)."""
    saved, (low, high) = effect["errors_saved"], effect["ci95_points"]
    if saved < 0 and high <= 0:
        return "file mode's choice wins (interval excludes harm)"
    if saved > 0 and low >= 0:
        return "streaming choice wins (interval excludes harm)"
    return "no clear difference" if saved else "no effect"


def _clip_row(row: dict, conversational: set[str], by_id: dict[str, dict[str, dict]]) -> dict:
    return {
        "id": row["id"],
        "language": row["language"],
        "ref_quality": row["ref_quality"],
        "conversational": row["id"] in conversational,
        "reference": row["reference"],
        "stream_hypothesis": row["hypothesis"],
        "stream_rate": row["rate"],
        "file_hypothesis": by_id["file"][row["id"]]["hypothesis"],
        **{f"{name}_rate": ids[row["id"]]["rate"] for name, ids in by_id.items()},
        **{f"{name}_hypothesis": ids[row["id"]]["hypothesis"] for name, ids in by_id.items() if name != "file"},
    }


def _figures(summary: dict) -> list[Figure]:
    figures = []
    for name in ("zh_AB", "zh_conversational"):
        group = summary["groups"].get(name)
        if group:
            labels = ["file", "stream", *(f"stream, {s} as file" for s in group["switched"])]
            values = [group["file"], group["stream"], *group["switched"].values()]
            figures.append(bar_plot(labels, values, f"CER on {name} ({group['clips']} clips)", "CER"))
    return figures


def _tables(summary: dict, rows: list[dict]) -> list[Table]:
    switches = [s.name for s in SWITCHES]
    groups = [
        [name, g["clips"], g["file"], g["stream"], g["gap"], g["gap_ci95"], *(g["switched"][s] for s in switches)]
        for name, g in summary["groups"].items()
    ]
    verdicts = [
        [name, group, e["verdict"], e["loo_share_on"]]
        for name, effects in summary["ablation"].items()
        for group, e in effects.items()
        if isinstance(e, dict)
    ]
    clip_columns = ["id", "ref_quality", "conversational", "file_rate", "stream_rate", *(f"{s}_rate" for s in switches)]
    return [
        ("Error rate: file mode, stream, and stream with one difference as file mode",
         ["group", "clips", "file", "stream", "gap", "gap 95 %", *switches], groups),
        ("Errors saved by the streaming choice, points (95 % bootstrap interval over clips)",
         *ablation_table(summary["ablation"])),
        ("Verdicts and leave-one-clip-out share keeping the streaming choice",
         ["switch", "group", "verdict", "loo share"], verdicts),
        ("Clips", clip_columns, [[r[c] for c in clip_columns] for r in rows]),
    ]  # fmt: skip
