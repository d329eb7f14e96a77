"""Fit the English assessment calibration (``shenggu/assess/calibration_en.json``) on expert-rated readings.

Usage: ``.venv/bin/python scripts/fit_assess_calibration.py [--manifest ../shared/eval/manifest.tsv] [--out PATH]``

Reads the manifest's English ``pronunciation`` rows and ``pronunciation/scores.jsonl`` beside it (speechocean762
expert scores), measures every reading with the assessor (GOP, pauses, speech rate), fits each target of
``shenggu.assess.english.CALIBRATED_TARGETS`` on all readings and writes the JSON. It prints the Pearson
correlation with the experts per level, both in-sample and leave-one-speaker-out (the calibration refitted
without each speaker, then scoring that speaker): the held-out figures are the honest ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shenggu.assess.calibration import Calibration
from shenggu.assess.english import CALIBRATION_PATH, EnglishAssessor
from shenggu.assess.gop import PocketSphinxGop
from shenggu.bench.assess import (
    analyze_readings,
    fit_calibration,
    heldout_assessments,
    level_pairs,
    load_rated_readings,
)

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Parse arguments, fit, print PCCs and write the calibration."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=REPO.parent / "shared" / "eval" / "manifest.tsv")
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = parser.parse_args()

    readings = load_rated_readings(args.manifest)
    assessor = EnglishAssessor(PocketSphinxGop(), Calibration({}))  # analysis only: no calibration needed yet
    measured = analyze_readings(readings, assessor)
    speakers = sorted({m.reading.speaker for m in measured})
    fitted = [m for m in measured if m.analysis.alignment is not None]
    calibration = fit_calibration(fitted)
    in_sample = level_pairs(measured, [assessor.with_calibration(calibration).score(m.analysis) for m in measured])
    heldout = level_pairs(fitted, heldout_assessments(fitted, assessor)) if len(speakers) > 1 else None

    print(f"{len(measured)} readings, {len(speakers)} speakers, {in_sample.phones_skipped} expert phones unpaired")
    print(f"{'level':<16} {'in-sample':>10} {'held-out':>10}")
    held = heldout.pcc() if heldout else {}
    for level, pcc in in_sample.pcc().items():
        print(f"{level:<16} {_fmt(pcc):>10} {_fmt(held.get(level)):>10}")
    meta = {
        "fitted_on": f"{args.manifest.name}: {len(fitted)} English readings rated by speechocean762 experts",
        "speakers": speakers,
        "pcc_in_sample": in_sample.pcc(),
        "pcc_leave_one_speaker_out": held,
    }
    args.out.write_text(fit_calibration(fitted, meta).to_json(), encoding="utf-8")
    print(f"wrote {args.out}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
