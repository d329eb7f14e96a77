"""`shenggu bench asr --ablation`: what each text-changing stage of the pipeline is worth, with intervals.

Each stage is switched (off when it is on by default, on when it is off) while every other stage keeps its
default, and the same clips are decoded again. A stage's effect is the errors it saves per clip (errors without
it minus errors with it), summed over clips and divided by reference length: CER / WER points, with a bootstrap
95 % interval over clips. The verdict follows the evaluation rule of issue 17: a stage stays on by default only
where its interval excludes harm; leave-one-out over clips says how often a fold would have chosen it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from shenggu.asr.pipeline import TranscribeOptions, default_front
from shenggu.bench.stats import bootstrap_ratio_interval, leave_one_out

# The prompt Whisper's authors suggest for simplified Mandarin with punctuation (measured harmful, kept as a check).
_MANDARIN_PROMPT = "以下是普通话的句子。"


@dataclass(frozen=True)
class Stage:
    """A switch of the pipeline: ``switch`` returns the options with the stage flipped from its default."""

    name: str
    description: str
    switch: Callable[[TranscribeOptions, str], TranscribeOptions]
    on_by_default: Callable[[str], bool] = lambda language: True


def _post(**flags: bool) -> Callable[[TranscribeOptions, str], TranscribeOptions]:
    return lambda options, language: replace(options, post=replace(options.post, **flags))


def _prompt(options: TranscribeOptions, language: str) -> TranscribeOptions:
    return replace(options, initial_prompt=_MANDARIN_PROMPT) if language == "zh" else options


def _front_stage(name: str, description: str, field: str, on: object, off: object) -> Stage:
    """A decoding-front setting, flipped from the language's default (``default_front``) to the other value."""

    def on_by_default(language: str) -> bool:
        return getattr(default_front(language), field) == on

    def switch(options: TranscribeOptions, language: str) -> TranscribeOptions:
        return replace(options, **{field: off if on_by_default(language) else on})

    return Stage(name, description, switch, on_by_default)


STAGES: tuple[Stage, ...] = (
    Stage(
        "homophone_correction", "pinyin lattice + word LM, judged by Whisper", lambda o, _: replace(o, correct=False)
    ),
    Stage("simplified", "traditional → simplified characters", _post(simplified=False)),
    Stage("punctuation", "punctuation from pauses", _post(punctuate=False)),
    Stage("itn", "inverse text normalization", _post(itn=False)),
    _front_stage("leading_context", "1 s of audio before each window", "lead_seconds", 1.0, 0.0),
    _front_stage("silence_padding", "pad features with silence, not zeros", "pad_with_silence", True, False),
    Stage("loop_guards", "re-decode and cut repetition loops", lambda o, _: replace(o, loop_guards=False)),
    Stage("mandarin_prompt", f"initial prompt {_MANDARIN_PROMPT}", _prompt, lambda language: False),
)


class Switch(Protocol):
    """What ``stage_effects`` needs of a switch: whether it is on by default in a language."""

    def on_by_default(self, language: str) -> bool:
        """Whether the default has it on (its effect is then what switching it off costs)."""
        ...


def stage_effects(stage: Switch, default_rows: list[dict], switched_rows: list[dict], groups: dict) -> dict:
    """The stage's effect per group of clips (``groups``: name → predicate on a row), in errors saved."""
    switched = {r["id"]: r for r in switched_rows}
    effects: dict = {}
    for group, belongs in groups.items():
        pairs = [(r, switched[r["id"]]) for r in default_rows if belongs(r) and r["id"] in switched]
        if not pairs:
            continue
        default_on = stage.on_by_default(pairs[0][0]["language"])  # a group holds one language
        with_stage, without = zip(*[(d, s) if default_on else (s, d) for d, s in pairs], strict=True)
        saved = [b["errors"] - a["errors"] for a, b in zip(with_stage, without, strict=True)]
        ref_lens = [r["ref_len"] for r in with_stage]
        low, high = bootstrap_ratio_interval(saved, ref_lens)
        fold = leave_one_out(
            {True: [r["errors"] for r in with_stage], False: [r["errors"] for r in without]}, default_on
        )
        effects[group] = {
            "clips": len(pairs),
            "default_on": default_on,
            "errors_saved": int(sum(saved)),
            "points_saved": round(100 * sum(saved) / max(sum(ref_lens), 1), 2),
            "ci95_points": [round(100 * low, 2), round(100 * high, 2)],
            "loo_share_on": round(fold.chosen_share(True), 3),
            "verdict": _verdict(saved, low),
        }
    return effects


def _verdict(saved: list[int], low: float) -> str:
    if not any(saved):
        return "no effect"
    return "keep (interval excludes harm)" if low >= 0 and sum(saved) > 0 else "off (interval includes harm)"
