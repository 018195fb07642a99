"""The statistics of the benchmark report, in plain Python.

Pure functions on lists of numbers, so that the figures of the report can be
checked by hand on small inputs and do not depend on numpy's version.

Percentiles interpolate linearly between the closest ranks, as numpy's default
(``method="linear"``): for n sorted samples the q-th percentile sits at rank
``(n - 1) * q / 100``, between the samples below and above that rank. So the
median of an even count is the mean of the two middle samples, p0 is the
minimum and p100 the maximum, and p99 of fewer than 101 samples lies between
the two largest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


class StatsError(ValueError):
    """The numbers given cannot be summarised as asked; the message says why."""


def _checked(samples: Sequence[float], what: str) -> list[float]:
    values = [float(value) for value in samples]
    if not values:
        raise StatsError(f"no samples of {what}: nothing to summarise")
    if any(math.isnan(value) for value in values):
        raise StatsError(f"{what} holds NaN: the measurement wrote a sample it did not take")
    return values


def percentile(samples: Sequence[float], q: float, what: str = "samples") -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not 0 <= q <= 100:
        raise StatsError(f"percentile {q} of {what}: q must lie between 0 and 100")
    values = sorted(_checked(samples, what))
    rank = (len(values) - 1) * q / 100
    below = math.floor(rank)
    above = min(below + 1, len(values) - 1)
    fraction = rank - below
    if fraction == 0 or values[above] == values[below]:
        # Also keeps infinite samples (never answered) from turning into NaN.
        return values[below]
    return values[below] + (values[above] - values[below]) * fraction


@dataclass(frozen=True)
class Summary:
    """What the report says about one list of samples."""

    count: int
    min: float
    median: float
    p99: float
    max: float
    mean: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def summarize(samples: Sequence[float], what: str = "samples") -> Summary:
    """Count, min, median, p99, max and mean; ``what`` names the samples in errors."""
    values = _checked(samples, what)
    return Summary(
        count=len(values),
        min=min(values),
        median=percentile(values, 50, what),
        p99=percentile(values, 99, what),
        max=max(values),
        mean=math.fsum(values) / len(values),
    )


@dataclass(frozen=True)
class Fit:
    """A least-squares line ``y = slope * x + intercept`` and how well it explains y.

    ``r_squared`` is 1 - SS_res / SS_tot: 1 on an exact line, near 0 when x
    explains nothing. When every y is the same (SS_tot = 0) a horizontal line
    explains it exactly, so r² is 1.
    """

    slope: float
    intercept: float
    r_squared: float
    points: int

    def at(self, x: float) -> float:
        """The fitted y at ``x``."""
        return self.slope * x + self.intercept


def linear_fit(xs: Sequence[float], ys: Sequence[float], what: str = "points") -> Fit:
    """Ordinary least squares of ys on xs (each pair one point)."""
    if len(xs) != len(ys):
        raise StatsError(f"{what}: {len(xs)} x values but {len(ys)} y values")
    x = _checked(xs, f"{what} (x)")
    y = _checked(ys, f"{what} (y)")
    if len(x) < 2:
        raise StatsError(f"{what}: a line needs at least 2 points, got {len(x)}")
    mean_x, mean_y = math.fsum(x) / len(x), math.fsum(y) / len(y)
    sxx = math.fsum((xi - mean_x) ** 2 for xi in x)
    if sxx == 0:
        raise StatsError(f"{what}: every x is {x[0]:g}, so no slope can be fitted")
    sxy = math.fsum((xi - mean_x) * (yi - mean_y) for xi, yi in zip(x, y, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    ss_tot = math.fsum((yi - mean_y) ** 2 for yi in y)
    ss_res = math.fsum((yi - (slope * xi + intercept)) ** 2 for xi, yi in zip(x, y, strict=True))
    r_squared = 1.0 if ss_tot == 0 else 1.0 - ss_res / ss_tot
    return Fit(slope, intercept, r_squared, len(x))


def ratio(numerator: float, denominator: float, what: str = "ratio") -> float:
    """numerator / denominator, refusing a zero denominator with a message naming it."""
    if denominator == 0:
        raise StatsError(f"{what}: the denominator is 0, so there is no ratio")
    return numerator / denominator


def cdf(samples: Sequence[float]) -> tuple[list[float], list[float]]:
    """Sorted samples and the fraction of samples at or below each (for a step plot)."""
    values = sorted(float(value) for value in samples)
    count = len(values)
    return values, [(index + 1) / count for index in range(count)]


def per_second(
    times_s: Sequence[float], values: Sequence[float], end_s: float | None = None
) -> list[list[float]]:
    """``values`` grouped by the whole second of their time: bucket k holds [k, k+1).

    Seconds without any value give an empty bucket, so a stall shows as a gap
    instead of disappearing from the time line; ``end_s`` extends the buckets
    to a load's planned end (ceil(end_s) buckets at least).
    """
    if len(times_s) != len(values):
        raise StatsError(f"{len(times_s)} times but {len(values)} values")
    count = math.floor(max(times_s)) + 1 if times_s else 0
    if end_s is not None:
        count = max(count, math.ceil(end_s))
    buckets: list[list[float]] = [[] for _ in range(count)]
    for time_s, value in zip(times_s, values, strict=True):
        second = math.floor(time_s)
        if 0 <= second < len(buckets):
            buckets[second].append(float(value))
    return buckets
