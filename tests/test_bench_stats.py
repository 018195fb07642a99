"""The benchmark statistics on inputs small enough to check by hand."""

from __future__ import annotations

import math
import random

import pytest

from peerlab.bench.stats import (
    StatsError,
    cdf,
    linear_fit,
    per_second,
    percentile,
    ratio,
    summarize,
)


def test_percentiles_interpolate_between_the_closest_ranks():
    samples = [4.0, 1.0, 3.0, 2.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == 2.5
    # rank (4 - 1) * 0.99 = 2.97: 3 + 0.97 * (4 - 3)
    assert percentile(samples, 99) == pytest.approx(3.97)
    assert percentile(samples, 25) == pytest.approx(1.75)


def test_percentiles_agree_with_numpy_default_on_random_samples():
    numpy = pytest.importorskip("numpy")
    generator = random.Random(12)
    samples = [generator.expovariate(1.0) for _ in range(257)]
    for q in (1, 10, 50, 90, 99, 99.9):
        assert percentile(samples, q) == pytest.approx(numpy.percentile(samples, q))


def test_one_sample_is_every_statistic():
    summary = summarize([2.5])
    assert (summary.count, summary.min, summary.median, summary.p99, summary.max) == (
        1,
        2.5,
        2.5,
        2.5,
        2.5,
    )
    assert summary.mean == 2.5


def test_summary_of_a_known_list():
    summary = summarize(list(range(1, 101)))
    assert summary.count == 100
    assert summary.min == 1
    assert summary.median == 50.5
    assert summary.p99 == pytest.approx(99.01)
    assert summary.max == 100
    assert summary.mean == 50.5


def test_no_samples_is_an_error_naming_what_was_empty():
    with pytest.raises(StatsError, match="no samples of resync seconds"):
        summarize([], "resync seconds")
    with pytest.raises(StatsError, match="no samples"):
        percentile([], 50)


def test_a_percentile_outside_0_to_100_is_refused():
    with pytest.raises(StatsError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_nan_samples_are_refused():
    with pytest.raises(StatsError, match="NaN"):
        summarize([1.0, float("nan")], "latency")


def test_a_fit_on_an_exact_line_finds_it():
    xs = [0, 10_000, 100_000, 1_000_000]
    fit = linear_fit(xs, [0.25 + 3e-6 * x for x in xs])
    assert fit.slope == pytest.approx(3e-6)
    assert fit.intercept == pytest.approx(0.25)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.points == 4
    assert fit.at(2_000_000) == pytest.approx(6.25)


def test_a_fit_on_a_falling_line_and_on_a_constant():
    assert linear_fit([1, 2, 3], [6, 4, 2]).slope == pytest.approx(-2)
    flat = linear_fit([1, 2, 3], [5, 5, 5])
    assert (flat.slope, flat.intercept, flat.r_squared) == (0, 5, 1.0)


def test_r_squared_drops_when_the_points_are_not_on_a_line():
    # y = x² on 0..4: a line explains part of it, not all.
    fit = linear_fit([0, 1, 2, 3, 4], [0, 1, 4, 9, 16])
    assert fit.slope == pytest.approx(4)
    assert fit.intercept == pytest.approx(-2)
    assert fit.r_squared == pytest.approx(1 - 14 / 174)


def test_a_fit_needs_two_distinct_x_values_and_matching_lengths():
    with pytest.raises(StatsError, match="at least 2 points"):
        linear_fit([1], [1])
    with pytest.raises(StatsError, match="every x is 3"):
        linear_fit([3, 3], [1, 2])
    with pytest.raises(StatsError, match="3 x values but 2 y values"):
        linear_fit([1, 2, 3], [1, 2])


def test_ratio_refuses_a_zero_denominator():
    assert ratio(95, 100) == 0.95
    with pytest.raises(StatsError, match="throughput ratio: the denominator is 0"):
        ratio(1, 0, "throughput ratio")


def test_cdf_steps_up_to_one():
    values, fractions = cdf([3, 1, 2, 2])
    assert values == [1, 2, 2, 3]
    assert fractions == [0.25, 0.5, 0.75, 1.0]


def test_per_second_buckets_keep_empty_seconds():
    buckets = per_second([0.1, 0.9, 1.2, 3.5], [1, 2, 3, 4])
    assert buckets == [[1, 2], [3], [], [4]]
    assert per_second([0.5], [7], end_s=2.0) == [[7], []]
    assert per_second([0.5], [7], end_s=2.5) == [[7], [], []]
    assert per_second([2.0], [7], end_s=2.0) == [[], [], [7]]
    assert per_second([], []) == []


def test_infinite_samples_give_an_infinite_percentile_only_where_they_reach():
    samples = [1.0, 2.0, 3.0, math.inf]
    assert percentile(samples, 50) == 2.5
    assert percentile(samples, 100) == math.inf
    assert percentile(samples, 99) == math.inf
    assert percentile([math.inf, math.inf], 50) == math.inf
