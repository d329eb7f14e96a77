"""Statistics for small evaluation sets: bootstrap intervals over items and leave-one-out choices.

The development set is small (a dozen Mandarin clips), and gains read off its totals have not held on unseen
speech. So every effect is reported with a percentile-bootstrap interval over items (clips, queries), and every
tuned choice is scored by leave-one-out: the choice is made on all items but one and scored on that one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

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
    """Percentile-bootstrap interval of the mean of ``values`` (e.g. per-query top-1 hits)."""
    return bootstrap_ratio_interval(values, [1.0] * len(values), level)


@dataclass(frozen=True)
class LeaveOneOut:
    """A choice scored on held-out items: the total cost of each item under the choice made without it."""

    held_out_cost: float
    choices: list[Hashable]  # the choice made for each held-out item, in item order

    def chosen_share(self, choice: Hashable) -> float:
        """Fraction of folds that chose ``choice`` (1.0: every fold agrees)."""
        return self.choices.count(choice) / len(self.choices) if self.choices else 0.0


def leave_one_out(costs: Mapping[Hashable, Sequence[float]], default: Hashable) -> LeaveOneOut:
    """Choose among options whose per-item ``costs`` (lower is better) are known, by leave-one-out.

    For each item, the option with the lowest total cost on the *other* items is chosen (ties go to ``default``,
    then to the earliest option), and its cost on the held-out item counts."""
    options = list(costs)
    table = np.asarray([costs[o] for o in options], dtype=float)
    totals = table.sum(axis=1)
    order = sorted(range(len(options)), key=lambda k: (options[k] != default, k))
    held_out, choices = 0.0, []
    for item in range(table.shape[1]):
        without = totals - table[:, item]
        best = min(order, key=lambda k: without[k])
        choices.append(options[best])
        held_out += table[best, item]
    return LeaveOneOut(held_out, choices)
