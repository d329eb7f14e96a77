"""Shared fixtures: the bundled test recordings, the optional larger evaluation set, one Whisper engine.

``tests/data`` holds the few real recordings the tests need (redistributable clips, sources and licences in
``tests/data/README.md``), so the suite runs on a fresh clone. ``../shared/eval`` (or ``SHENGGU_EVAL_DIR``) is the
larger evaluation set: tests that need it are skipped, with one printed reason, when it is absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.console_browser import browser_factory  # noqa: F401  (the console tests' browsers)

if TYPE_CHECKING:
    from shenggu.bench.manifest import ManifestEntry

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "tests" / "data"
EVAL_DIR = Path(os.environ.get("SHENGGU_EVAL_DIR", REPO.parent / "shared" / "eval"))
NO_EVAL_SET = f"needs the evaluation set: {EVAL_DIR} not found (set SHENGGU_EVAL_DIR)"
_CLIP_FOLDERS = ("asr", "pronunciation", "diarization")


def has_eval_set() -> bool:
    """Whether the larger evaluation set is on this machine."""
    return (EVAL_DIR / "manifest.tsv").is_file()


def locate_clip(clip_id: str) -> Path | None:
    """A clip by its manifest id: the bundled copy, else the evaluation set's, else ``None``."""
    for root in (DATA_DIR, EVAL_DIR):
        for folder in _CLIP_FOLDERS:
            path = root / folder / f"{clip_id}.wav"
            if path.is_file():
                return path
    if has_eval_set():
        raise FileNotFoundError(f"clip {clip_id} is neither in {DATA_DIR} nor in {EVAL_DIR}")
    return None


def find_clip(clip_id: str) -> Path:
    """Like :func:`locate_clip`, but skips the test when the clip is only in the absent evaluation set."""
    path = locate_clip(clip_id)
    if path is None:
        pytest.skip(NO_EVAL_SET)
    return path


def locate_entry(clip_id: str) -> ManifestEntry | None:
    """A clip's manifest entry (bundled first, see :func:`locate_clip`), or ``None``."""
    from shenggu.bench.manifest import load_manifest

    path = locate_clip(clip_id)
    if path is None:
        return None
    return next(e for e in load_manifest(path.parents[1] / "manifest.tsv", task=None) if e.id == clip_id)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled recordings (``tests/data``, same layout and manifest format as ``shared/eval``)."""
    return DATA_DIR


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """``shared/eval`` beside the repository (override with SHENGGU_EVAL_DIR); skips the test when absent."""
    if not has_eval_set():
        pytest.skip(NO_EVAL_SET)
    return EVAL_DIR


@pytest.fixture(scope="session")
def clip_path() -> Callable[[str], Path]:
    """``clip_path(id)``: a recording by its manifest id, bundled first (see :func:`find_clip`)."""
    return find_clip


@pytest.fixture(scope="session")
def recognizer():
    """The default engine (bundled Whisper-base), loaded once for the whole run."""
    from shenggu.asr.registry import get_recognizer
    from shenggu.config import get_settings

    return get_recognizer("whisper-base", settings=get_settings())


@pytest.fixture(scope="session")
def mixes(tmp_path_factory) -> dict[str, Path]:
    """The multi-speaker recordings (WAV with its RTTM beside it), by id: those whose clips are bundled, and all
    of them when the evaluation set is here."""
    from shenggu.bench.diarize_mixes import build_mixes

    out = tmp_path_factory.mktemp("mixes")
    entries, _ = build_mixes(DATA_DIR / "manifest.tsv", out)
    if has_eval_set():
        entries += build_mixes(EVAL_DIR / "manifest.tsv", tmp_path_factory.mktemp("eval_mixes"))[0]
    return {e.id: e.path for e in entries}


@pytest.fixture(scope="session")
def ray_address():
    """The address of a real two-node Ray cluster on loopback (tests/ray_cluster.py), shared by the session;
    skips when Ray is not installed."""
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'shenggu[cluster]')")
    from tests.ray_cluster import local_cluster

    with local_cluster() as address:
        yield address


# Whisper, and the multi-speaker recordings that only diarization (a model too) is run on.
_SLOW_FIXTURES = frozenset({"recognizer", "mixes", "ray_address"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses a slow fixture, directly or through another fixture (a module's live
    server), so that ``pytest -m "not slow"`` is the quick inner loop; other slow tests are marked in their modules."""
    for item in items:
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line saying why tests were skipped for want of the evaluation set (pytest -q hides skip reasons)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if NO_EVAL_SET in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} tests skipped: {NO_EVAL_SET}")
