"""Bootstrap intervals and leave-one-out choices (``shenggu.bench.stats``)."""

from __future__ import annotations

import pytest

from shenggu.bench.stats import bootstrap_mean_interval, bootstrap_ratio_interval, leave_one_out


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_more_items() -> None:
    few = bootstrap_ratio_interval([3, -1, 2, 0], [10, 10, 10, 10])
    many = bootstrap_ratio_interval([3, -1, 2, 0] * 25, [10, 10, 10, 10] * 25)
    assert few[0] <= 0.1 <= few[1]
    assert many[0] <= 0.1 <= many[1]
    assert many[1] - many[0] < few[1] - few[0]
    assert few[0] < 0 < few[1]  # one clip harmed: the interval includes harm


def test_bootstrap_of_constant_items_is_a_point() -> None:
    assert bootstrap_ratio_interval([0, 0, 0], [5, 6, 7]) == (0.0, 0.0)
    assert bootstrap_mean_interval([1, 1, 1]) == (1.0, 1.0)
    assert bootstrap_ratio_interval([], []) == (0.0, 0.0)


def test_leave_one_out_scores_each_item_with_the_choice_made_without_it() -> None:
    # Option "b" is better overall only because of item 0: without it "a" wins; with it held out, "a" is chosen.
    costs = {"a": [10, 1, 1, 1], "b": [0, 2, 2, 2]}
    fold = leave_one_out(costs, default="a")
    assert fold.choices == ["a", "b", "b", "b"]
    assert fold.held_out_cost == 10 + 2 + 2 + 2
    assert fold.chosen_share("b") == pytest.approx(0.75)


def test_leave_one_out_ties_go_to_the_default() -> None:
    fold = leave_one_out({"on": [1, 1], "off": [1, 1]}, default="off")
    assert fold.choices == ["off", "off"]
