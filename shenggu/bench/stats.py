"""Statistics for small evaluation sets: bootstrap intervals over items and leave-one-out choices.

The development set is small (a dozen Mandarin clips), and gains read off its totals have not held on unseen
speech. So every effect is reported with a percentile-bootstrap interval over items (clips, queries), and every
tuned choice is scored by leave-one-out: the choice is made on all items but one and scored on that one. The
bootstrap intervals live in :mod:`shenggu.reports.stats` (the service compares evaluation runs with them too) and
are imported here for the benchmarks.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shenggu.reports.stats import (  # noqa: F401  (the benchmarks import them from here)
    BOOTSTRAP_RESAMPLES,
    bootstrap_mean_interval,
    bootstrap_ratio_interval,
)


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
