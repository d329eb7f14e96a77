"""Shared fixtures: the real evaluation recordings and one Whisper engine per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EVAL_DIR = Path(os.environ.get("SHENGGU_EVAL_DIR", REPO.parent / "shared" / "eval"))


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """``shared/eval`` beside the repository (override with SHENGGU_EVAL_DIR)."""
    if not (EVAL_DIR / "manifest.tsv").is_file():
        pytest.fail(f"evaluation data not found at {EVAL_DIR} (set SHENGGU_EVAL_DIR)")
    return EVAL_DIR


@pytest.fixture(scope="session")
def recognizer():
    """The default engine (bundled Whisper-base), loaded once for the whole run."""
    from shenggu.asr.registry import get_recognizer

    return get_recognizer("whisper-base")


@pytest.fixture(scope="session")
def mixes(eval_dir, tmp_path_factory) -> dict[str, Path]:
    """The Mandarin multi-speaker recordings built from shared/eval clips (WAV with its RTTM beside it), by id."""
    from shenggu.bench.diarize_mixes import build_mixes

    entries = build_mixes(eval_dir / "manifest.tsv", tmp_path_factory.mktemp("mixes"))
    return {e.id: e.path for e in entries}
