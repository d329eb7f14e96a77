"""`bench stream --ablation`: file mode against streaming finals and each difference between them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shenggu.asr.streaming import StreamOptions
from shenggu.bench.manifest import ManifestEntry
from shenggu.bench.stream_ablation import SWITCHES, ablation_summary, run_stream_ablation
from shenggu.errors import InvalidOptionError

DATA = Path(__file__).parent / "data"
CLIPS = ("zh_firered_BAC009S0764W0121", "en_speechbrain_spk1_snt1")


def _manifest(tmp_path: Path) -> Path:
    lines = (DATA / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    rows = [line.replace("\tasr/", f"\t{DATA / 'asr'}/") for line in lines[1:] if line.split("\t")[0] in CLIPS]
    path = tmp_path / "manifest.tsv"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return path


def test_ablation_reports_file_stream_and_every_switch(tmp_path: Path, recognizer) -> None:
    summary = run_stream_ablation(_manifest(tmp_path), tmp_path / "out")

    for key in ("cer_zh", "wer_en", "file_cer_zh", "stream_cer_zh", "stream_file_gap_zh", "file_wer_en"):
        assert key in summary
    assert summary["failed"] == 0 and summary["clips"] == 2
    zh = summary["groups"]["zh_AB"]
    assert summary["stream_cer_zh"] == summary["cer_zh"] == zh["stream"]
    assert set(zh["switched"]) == set(summary["ablation"]) == {s.name for s in SWITCHES}
    for name, effects in summary["ablation"].items():
        # Points saved by the streaming choice are the switched stream's rate less the default stream's.
        assert effects["zh_AB"]["points_saved"] == pytest.approx(100 * (zh["switched"][name] - zh["stream"]), abs=0.02)
    # English already decodes with file mode's lead and padding: nothing to switch.
    assert summary["ablation"]["leading_context"]["en_AB"]["verdict"] == "same as file mode"
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert {u["id"] for u in results["utterances"]} == set(CLIPS)
    assert (tmp_path / "out" / "report.html").is_file()


def _row(clip: str, errors: int, quality: str = "B") -> dict:
    return {
        "id": clip, "language": "zh", "ref_quality": quality, "reference": "", "hypothesis": "", "rate": errors / 10,
        "errors": errors, "ref_len": 10, "substitutions": errors, "deletions": 0, "insertions": 0,
    }  # fmt: skip


def test_summary_counts_each_switch_against_the_default_stream() -> None:
    entries = [
        ManifestEntry(f"c{i}", "zh", "asr", Path("x.wav"), 1.0, "", "B", "far-field" if i < 3 else "read")
        for i in range(6)
    ]
    stream = [_row(e.id, 3) for e in entries]
    file = [_row(e.id, 2) for e in entries]
    # Every clip loses one error with file mode's prompt choice; encoder context changes nothing.
    switched = {s.name: [_row(e.id, 2 if s.name == "prompt" else 3) for e in entries] for s in SWITCHES}

    summary, rows = ablation_summary(entries, file, stream, switched)

    assert summary["stream_file_gap_zh"] == pytest.approx(0.5)  # 18 errors against 12
    assert summary["groups"]["zh_conversational"]["clips"] == 3
    prompt = summary["ablation"]["prompt"]["zh_AB"]
    assert prompt["errors_saved"] == -6 and prompt["ci95_points"][1] < 0
    assert prompt["verdict"] == "file mode's choice wins (interval excludes harm)"
    assert prompt["loo_share_on"] == 0.0
    assert summary["ablation"]["encoder_context"]["zh_AB"]["verdict"] == "no effect"
    assert [r["conversational"] for r in rows] == [True, True, True, False, False, False]


@pytest.mark.parametrize("options", [{"final_lead_s": 3.0}, {"final_lead_s": -0.5}, {"prompt_chars": -1}])
def test_stream_options_refuse_out_of_range_final_settings(options: dict) -> None:
    with pytest.raises(InvalidOptionError):
        StreamOptions(**options)
