"""Bootstrap intervals over items, for small evaluation sets: the benchmarks' effects and the service's comparison
of two evaluation runs report every difference with one.

The sets are small (a dozen Mandarin clips in the development set), and gains read off their totals have not held
on unseen speech, so an effect comes with a percentile-bootstrap interval over its items (clips, queries).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
_SEED = 17  # fixed, so a report is reproducible


def bootstrap_ratio_interval(
    numerators: Sequence[float], denominators: Sequence[float], level: float = 0.95
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``sum(numerators) / sum(denominators)`` over items resampled with
    replacement (e.g. errors saved per clip over reference characters per clip: a corpus rate difference)."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    if len(num) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(_SEED)
    picks = rng.integers(0, len(num), size=(BOOTSTRAP_RESAMPLES, len(num)))
    ratios = num[picks].sum(axis=1) / np.maximum(den[picks].sum(axis=1), 1e-12)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return (float(low), float(high))


def bootstrap_mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (e.g. per-query top-1 hits, or the per-clip
    differences of two systems on the same clips: a paired interval)."""
    return bootstrap_ratio_interval(values, [1.0] * len(values), level)
