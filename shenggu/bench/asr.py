"""`shenggu bench asr`: accuracy (CER/WER), speed (RTF) and memory of file transcription on a manifest.

Only reference quality A and B count in the summary; other qualities (C doubtful, D dialect) are reported
separately under ``by_quality``. A clip that cannot be transcribed is listed under ``failures`` (summary
``failed``) and the run goes on. With ``baseline=True`` the same clips are also decoded by two anchors, so every
improvement is measured on identical audio: the trivial baseline (faster-whisper ``transcribe(language,
beam_size=5)`` plus OpenCC t2s and nothing else, summary ``baseline``) and faster-whisper with its own Silero VAD
(``vad_filter=True``, summary ``baseline_vad``). With ``ablation=True`` each stage of ``asr_ablation.STAGES`` is
switched in turn and its effect reported with a bootstrap interval (summary ``ablation``).

Each clip's row in ``results.json`` has its ``alignment``: the normalized reference and hypothesis that the error
rate counts, in runs of equal, substituted, inserted and deleted characters (zh) or words (en). ``hotwords`` are
given to recognition as a request's hotwords are; with ``progress``, ``done total`` (clips decoded, clips to
decode over every system) is written to that file, atomically, at the start and after each clip, for a caller that
runs the benchmark as a process (the service's evaluation jobs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from shenggu.asr.pipeline import TranscribeOptions, transcribe
from shenggu.asr.registry import get_recognizer
from shenggu.bench.asr_ablation import STAGES, Stage, stage_effects
from shenggu.bench.failures import attempt, failure_table
from shenggu.bench.manifest import ManifestEntry, load_manifest
from shenggu.bench.resources import peak_rss_mb
from shenggu.bench.scoring import ErrorCounts, align, metric_name, total
from shenggu.config import get_settings
from shenggu.errors import InvalidOptionError
from shenggu.reports.page import write_html_report
from shenggu.reports.plots import Figure, bar_plot, scatter_plot
from shenggu.reports.results import flat_summary, write_results, write_text_atomically
from shenggu.text.chinese import to_simplified

SUMMARY_QUALITIES = ("A", "B")


@dataclass
class AsrBenchConfig:
    """What to run: the manifest, the engine, and whether to also run the baseline."""

    manifest: Path
    out: Path
    engine: str | None = None
    model_dir: Path | None = None
    baseline: bool = False
    correct: bool = True
    limit: int | None = None
    ablation: bool = False
    hotwords: list[str] = field(default_factory=list)  # favoured in recognition (not by the anchors)
    progress: Path | None = None  # where ``done total`` is written after each clip


def read_hotwords(path: Path) -> list[str]:
    """The hotwords of a file: one word or phrase a line, blank lines ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidOptionError(f"cannot read the hotwords file {path}: {exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


class ProgressFile:
    """``done total`` in a file, rewritten atomically as clips are decoded (nothing without a path)."""

    def __init__(self, path: Path | None, total: int) -> None:
        self.path, self.total, self.done = path, total, 0
        self._write()

    def advance(self) -> None:
        """One more clip decoded."""
        self.done += 1
        self._write()

    def _write(self) -> None:
        if self.path is not None:
            write_text_atomically(self.path, f"{self.done} {self.total}\n")


def run_asr_bench(config: AsrBenchConfig) -> dict:
    """Run the benchmark and write ``results.json`` and ``report.html`` into ``config.out``; return the summary."""
    entries = load_manifest(config.manifest, task="asr")[: config.limit]
    systems = 1 + 2 * config.baseline + len(STAGES) * config.ablation  # decodings of every clip
    progress = ProgressFile(config.progress, systems * len(entries))
    settings = get_settings()
    t0 = time.perf_counter()
    recognizer = get_recognizer(config.engine, config.model_dir, settings=settings)
    load_s = time.perf_counter() - t0

    def ours(stage: Stage | None = None) -> Callable[[ManifestEntry], str]:
        def recognize(entry: ManifestEntry) -> str:
            options = TranscribeOptions(language=entry.language, hotwords=list(config.hotwords), correct=config.correct)
            options = options.batched_as(settings)
            if stage is not None:
                options = stage.switch(options, entry.language)
            return transcribe(entry.path, recognizer, options, name=entry.id).text

        return recognize

    failures: list[dict] = []
    utterances = run_clips(entries, ours(), "shenggu", failures, progress.advance)
    summary = _summarize(utterances)
    summary.update(load_s=round(load_s, 3), peak_rss_mb=round(peak_rss_mb(), 1), engine=recognizer.name)
    if config.baseline:
        anchor_model = _anchor_model()
        anchors = {label: _anchor(anchor_model, vad) for label, vad in (("baseline", False), ("baseline_vad", True))}
        runs = {}
        for label, anchor in anchors.items():
            anchor_failures: list[dict] = []
            runs[label] = {u["id"]: u for u in run_clips(entries, anchor, label, anchor_failures, progress.advance)}
            failures += [{**f, "system": label} for f in anchor_failures]
        # Every system is scored on the same clips: those that none failed.
        utterances = [u for u in utterances if all(u["id"] in run for run in runs.values())]
        summary.update(_summarize(utterances))
        for label, run in runs.items():
            summary[label] = _summarize([run[u["id"]] for u in utterances])
            for utt in utterances:
                utt[f"{label}_hypothesis"], utt[f"{label}_rate"] = run[utt["id"]]["hypothesis"], run[utt["id"]]["rate"]
        summary["relative_improvement"] = _relative(summary, summary["baseline"])
        summary["relative_improvement_vs_vad"] = _relative(summary, summary["baseline_vad"])
    if config.ablation:
        summary["ablation"] = _ablation(entries, utterances, ours, failures, progress.advance)
    summary["failed"] = len({f["id"] for f in failures})
    config.out.mkdir(parents=True, exist_ok=True)
    write_results(config.out, summary, utterances, {"failures": failures})
    tables = _tables(utterances)
    figures = _figures(utterances)
    if "ablation" in summary:
        tables.insert(0, ("Ablation: points saved by each stage (95 % bootstrap interval over clips)",
                          *ablation_table(summary["ablation"])))  # fmt: skip
        figures.insert(0, _ablation_figure(summary["ablation"]))
    if failures:
        tables.append(("Failed clips", ("id", "code", "message"), failure_table(failures)))
    headline = {k: v for k, v in summary.items() if k != "ablation"}
    write_html_report(config.out, "shenggu bench asr", flat_summary(headline), figures, tables)
    return summary


def run_clips(
    entries: list[ManifestEntry],
    recognize: Callable[[ManifestEntry], str],
    label: str,
    failures: list[dict],
    after_clip: Callable[[], None] | None = None,
) -> list[dict]:
    """One scored row per clip that ``recognize`` transcribed; a clip that failed goes to ``failures``.
    ``after_clip()`` is called after each clip, transcribed or not."""
    rows = []
    for entry in tqdm(entries, desc=f"bench ({label})", unit="clip"):
        row = attempt(entry.id, lambda entry=entry: _row(entry, recognize), failures)
        if row is not None:
            rows.append(row)
        if after_clip is not None:
            after_clip()
    return rows


def _row(entry: ManifestEntry, recognize: Callable[[ManifestEntry], str]) -> dict:
    start = time.perf_counter()
    hypothesis = recognize(entry)
    seconds = time.perf_counter() - start
    counts, alignment = align(entry.language, entry.reference_text, hypothesis)
    return {
        "id": entry.id,
        "language": entry.language,
        "ref_quality": entry.ref_quality,
        "duration_s": entry.duration_s,
        "reference": entry.reference_text,
        "hypothesis": hypothesis,
        "metric": metric_name(entry.language),
        **counts.to_dict(),
        "seconds": round(seconds, 3),
        "rtf": round(seconds / max(entry.duration_s, 1e-6), 4),
        "alignment": alignment,
    }


def _ablation(
    entries: list[ManifestEntry],
    rows: list[dict],
    ours: Callable[[Stage], Callable],
    failures: list[dict],
    after_clip: Callable[[], None],
) -> dict:
    """Each stage's effect (see ``asr_ablation``) on Mandarin and English A+B and on each quality class."""
    groups = quality_groups(rows)
    effects = {}
    for stage in STAGES:
        stage_failures: list[dict] = []
        switched = run_clips(entries, ours(stage), f"ablation: {stage.name}", stage_failures, after_clip)
        failures += [{**f, "system": f"ablation:{stage.name}"} for f in stage_failures]
        effects[stage.name] = {"description": stage.description, **stage_effects(stage, rows, switched, groups)}
    return effects


def quality_groups(rows: list[dict]) -> dict[str, Callable[[dict], bool]]:
    """Predicates on result rows: Mandarin and English A+B (``zh_AB``, ``en_AB``) and each language's quality
    classes present in ``rows`` (``zh_D``...)."""
    groups: dict[str, Callable[[dict], bool]] = {
        f"{lang}_AB": lambda r, lang=lang: r["language"] == lang and r["ref_quality"] in SUMMARY_QUALITIES
        for lang in ("zh", "en")
    }
    for language, quality in sorted({(r["language"], r["ref_quality"]) for r in rows}):
        groups[f"{language}_{quality}"] = lambda r, lq=(language, quality): (r["language"], r["ref_quality"]) == lq
    return groups


def _anchor_model():
    """Plain faster-whisper on the bundled Whisper-base, for the anchors."""
    from faster_whisper import WhisperModel

    from shenggu.asr.models import whisper_base_dir

    settings = get_settings()
    return WhisperModel(
        str(whisper_base_dir(settings.models_dir)), device="cpu", compute_type="int8", cpu_threads=settings.threads
    )


def _anchor(model, vad: bool) -> Callable[[ManifestEntry], str]:
    """An anchor: whisper-base, beam 5, language given, OpenCC t2s, nothing else; with ``vad``, faster-whisper's
    own Silero VAD in front (``vad_filter=True``)."""

    def recognize(entry: ManifestEntry) -> str:
        segments, _ = model.transcribe(str(entry.path), language=entry.language, beam_size=5, vad_filter=vad)
        joiner = "" if entry.language == "zh" else " "
        return to_simplified(joiner.join(s.text.strip() for s in segments))

    return recognize


def _counts(rows: list[dict]) -> ErrorCounts:
    return total(ErrorCounts.of(r["ref_len"], r["substitutions"], r["deletions"], r["insertions"]) for r in rows)


def _summarize(rows: list[dict]) -> dict:
    """Corpus error rates per language over quality A+B, per quality, and the overall RTF."""
    summary: dict = {}
    counted = [r for r in rows if r["ref_quality"] in SUMMARY_QUALITIES]
    for language in ("zh", "en"):
        subset = [r for r in counted if r["language"] == language]
        metric = metric_name(language)
        summary[language] = {metric: round(_counts(subset).rate, 4), "n": len(subset)}
        summary[language]["by_quality"] = {
            q: {metric: round(_counts(part).rate, 4), "n": len(part)}
            for q in sorted({r["ref_quality"] for r in rows})
            if (part := [r for r in rows if r["language"] == language and r["ref_quality"] == q])
        }
    audio = sum(r["duration_s"] for r in rows)
    summary["rtf"] = round(sum(r["seconds"] for r in rows) / max(audio, 1e-6), 4)
    summary["audio_seconds"] = round(audio, 2)
    return summary


def _relative(ours: dict, baseline: dict) -> dict:
    """Relative error reduction against the baseline (positive is better)."""
    out = {}
    for language, metric in (("zh", "cer"), ("en", "wer")):
        base = baseline[language][metric]
        out[f"{language}_{metric}"] = round((base - ours[language][metric]) / base, 4) if base else 0.0
    return out


def _figures(rows: list[dict]) -> list[Figure]:
    ids = [r["id"] for r in rows]
    figures = [bar_plot(ids, [r["rate"] for r in rows], "Error rate per utterance (CER zh / WER en)", "error rate")]
    if any("baseline_rate" in r for r in rows):
        figures.append(
            bar_plot(
                ids,
                [r["baseline_rate"] - r["rate"] for r in rows],
                "Error-rate reduction vs baseline per utterance",
                "baseline - shenggu",
            )
        )
    figures.append(
        scatter_plot(
            [r["duration_s"] for r in rows],
            [r["rtf"] for r in rows],
            "Real-time factor by clip duration",
            "duration (s)",
            "RTF",
        )
    )
    return figures


def _tables(rows: list[dict]):
    headers = ["id", "q", "metric", "rate", "reference", "hypothesis"]
    anchors = [a for a in ("baseline", "baseline_vad") if any(f"{a}_hypothesis" in r for r in rows)]
    for anchor in anchors:
        headers += [f"{anchor} rate", f"{anchor} hypothesis"]
    body = [
        [r["id"], r["ref_quality"], r["metric"], r["rate"], r["reference"], r["hypothesis"]]
        + [value for a in anchors for value in (r[f"{a}_rate"], r[f"{a}_hypothesis"])]
        for r in rows
    ]
    return [("Utterances", headers, body)]


def ablation_table(ablation: dict) -> tuple[list[str], list[list]]:
    groups = sorted({g for effects in ablation.values() for g in effects if isinstance(effects[g], dict)})
    headers = ["stage", "default", *groups]
    body = []
    for name, effects in ablation.items():
        cells = []
        for group in groups:
            e = effects.get(group)
            cells.append(f"{e['points_saved']:+.2f} [{e['ci95_points'][0]:+.2f}, {e['ci95_points'][1]:+.2f}]"
                         if e else "")  # fmt: skip
        groups_of = {g: e for g, e in effects.items() if isinstance(e, dict)}
        defaults = {g.split("_")[0]: "on" if e["default_on"] else "off" for g, e in groups_of.items()}
        body.append([name, ", ".join(f"{lang} {state}" for lang, state in sorted(defaults.items())), *cells])
    return headers, body


def _ablation_figure(ablation: dict) -> Figure:
    names = [n for n, e in ablation.items() if "zh_AB" in e]
    return bar_plot(
        names, [ablation[n]["zh_AB"]["points_saved"] for n in names],
        "Mandarin A+B: CER points saved by each stage", "CER points saved",
    )  # fmt: skip
