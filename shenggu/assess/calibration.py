"""Mapping of raw assessment features (GOP, pause ratio...) onto expert score scales, fitted on rated readings.

Language-neutral: a calibration is a JSON document of named targets (``"phone"``, ``"word"``, ``"accuracy"``,
``"fluency"``...), each naming the features it reads and the parameters fitted for them, so any engine can ship
its own file.

The fit is *classical calibration*: each feature is modelled as a straight line of the expert score,
``x = slope · y + intercept + noise``, and a reading's score is the ``y`` that best explains its features,
weighting them by the inverse covariance of the residuals (generalised least squares):
``ŷ = sᵀ P (x − b) / (sᵀ P s)``. Unlike regressing the score on the features, this does not shrink predictions
towards the average when the training speakers make few errors (expert data are mostly top marks), so the
mapping carries over to speakers it was not fitted on. Predictions are clipped to the expert scale and reported
as 0–100.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class TargetCalibration:
    """Fitted parameters of one target: ``features[i] ≈ slope[i] · score + intercept[i]``, ``precision`` the inverse
    residual covariance, ``scale`` the top of the expert scale (mapped to 100)."""

    features: tuple[str, ...]
    slope: tuple[float, ...]
    intercept: tuple[float, ...]
    precision: tuple[tuple[float, ...], ...]
    scale: float

    def predict(self, values: Mapping[str, float]) -> float:
        """The 0–100 score of one item from its features (a mapping that holds at least ``features``)."""
        x = np.array([values[name] for name in self.features], dtype=float)
        s, b, p = np.array(self.slope), np.array(self.intercept), np.array(self.precision)
        expert = float(s @ p @ (x - b) / (s @ p @ s))
        return float(np.clip(expert, 0.0, self.scale) * 100.0 / self.scale)


def fit_target(features: Sequence[str], x: np.ndarray, y: np.ndarray, scale: float) -> TargetCalibration:
    """Fit one target on feature rows ``x`` (items × features) and expert scores ``y`` (see the module docstring)."""
    x = np.asarray(x, dtype=float).reshape(len(y), len(features))
    y = np.asarray(y, dtype=float)
    design = np.column_stack([y, np.ones_like(y)])
    coefficients, *_ = np.linalg.lstsq(design, x, rcond=None)
    residuals = x - design @ coefficients
    covariance = np.atleast_2d(np.cov(residuals, rowvar=False))
    # pinv: features that move together leave a near-singular covariance; the pseudo-inverse stays finite.
    precision = np.linalg.pinv(covariance)
    return TargetCalibration(
        features=tuple(features),
        slope=tuple(coefficients[0].tolist()),
        intercept=tuple(coefficients[1].tolist()),
        precision=tuple(tuple(row) for row in precision.tolist()),
        scale=float(scale),
    )


@dataclass(frozen=True)
class Calibration:
    """The calibrated targets of one engine, by name, and free-form notes on how they were fitted (``meta``)."""

    targets: dict[str, TargetCalibration]
    meta: dict = field(default_factory=dict)

    def score(self, target: str, values: Mapping[str, float]) -> float:
        """The 0–100 score of ``target`` for an item with these feature values."""
        return self.targets[target].predict(values)

    def to_json(self) -> str:
        """The JSON document ``load_calibration`` reads."""
        targets = {name: asdict(t) for name, t in self.targets.items()}
        return json.dumps({"meta": self.meta, "targets": targets}, indent=2) + "\n"


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration written by ``Calibration.to_json``."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    targets = {
        name: TargetCalibration(
            features=tuple(t["features"]),
            slope=tuple(t["slope"]),
            intercept=tuple(t["intercept"]),
            precision=tuple(tuple(row) for row in t["precision"]),
            scale=float(t["scale"]),
        )
        for name, t in document["targets"].items()
    }
    return Calibration(targets, document.get("meta", {}))
