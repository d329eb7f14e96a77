"""``results.json``: a run's summary, its per-item rows and any extra sections, as strict JSON."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS_NAME = "results.json"


def write_results(out_dir: Path, summary: dict, utterances: list[dict], extra: dict | None = None) -> Path:
    """Write ``out_dir/results.json`` = ``{"summary": ..., "utterances": ..., **extra}`` and return its path.

    Paths and dataclasses are written as strings and objects, numpy scalars as numbers, and NaN/infinity as
    ``null`` (strict JSON has no such numbers). ``extra`` must not reuse the keys ``summary``/``utterances``.
    """
    extra = extra or {}
    clash = {"summary", "utterances"} & extra.keys()
    if clash:
        raise ValueError(f"extra must not contain {sorted(clash)}")
    document = jsonable({"summary": summary, "utterances": utterances, **extra})
    text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return write_text_atomically(Path(out_dir) / RESULTS_NAME, text)


def flat_summary(summary: Mapping, prefix: str = "") -> dict:
    """A nested summary as dotted keys (``{"zh": {"cer": 0.1}}`` → ``{"zh.cer": 0.1}``): a report's table, and
    the keys two runs' summaries are compared by."""
    flat: dict = {}
    for key, value in summary.items():
        if isinstance(value, Mapping):
            flat.update(flat_summary(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def jsonable(value: Any) -> Any:
    """A copy of ``value`` made only of JSON types."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return jsonable(value.tolist())  # numpy scalar or array → Python numbers and lists
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_text_atomically(path: Path, text: str) -> Path:
    """Write UTF-8 text through a temporary file, so an interrupted run never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
