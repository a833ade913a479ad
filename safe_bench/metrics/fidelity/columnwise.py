"""From per-column statistics to one S measurement.

The S metrics compute one statistic per column (pair, triple), each with its bootstrap
replicates; the measurement is their mean over columns (:func:`measure_mean`), or, for a
distance, the mean over columns of each distance judged against its 95th percentile
between two real samples of the same sizes (:func:`against_sampling`;
:func:`tv_null` gives that percentile for a total variation distance).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped
from safe_bench.metrics.fidelity.counts import Replicated


def _replicated(values: dict[str, Replicated], what: str) -> Replicated:
    """The metric's estimate and replicates: the mean over its columns (or pairs),
    held in 0..1 (every S score lies there; ``1 - TVD`` can round to -2e-16)."""
    if not values:
        raise MetricSkipped(f"no {what} could be compared")
    return np.clip(np.mean(list(values.values()), axis=0), 0.0, 1.0)


def measure_mean(values: dict[str, Replicated], what: str, details: dict, value: Callable[[float], float]) -> Measurement:
    table = _replicated(values, what)
    return bootstrapped(value(float(table[0])), float(table[0]), table[1:], details)


def against_sampling(
    complements: dict[str, Replicated], thresholds: dict[str, float], what: str, details: dict[str, dict],
    key: str = "columns", **extra: object,
) -> Measurement:
    """Per column ``1 - distance`` (estimate and replicates) and the distance's 95th
    percentile between two real samples of these sizes: the value is the mean distance
    (as SDMetrics reports its complement), the score the mean over columns of each
    distance judged against real sampling (:func:`~safe_bench.evaluation.uncertainty.within_sampling`)."""
    raw = _replicated(complements, what)
    scores = {c: within_sampling(1.0 - v, thresholds[c], maximum=1.0) for c, v in complements.items()}
    for col, score in scores.items():
        details[col].update(score=score[0], real_vs_real_q95=thresholds[col])
    table = _replicated(scores, what)
    return bootstrapped(1.0 - float(raw[0]), float(table[0]), table[1:], {key: details, **extra})


def skip_note(table: str) -> dict[str, str]:
    return {"skipped": f"all values missing in {table}"}


#: Draws of the parametric null of S.tv (multinomial samples from train's shares).
TV_NULL_DRAWS = 200


def tv_null(shares: np.ndarray, n: int, m: int, rng: np.random.Generator) -> float:
    """The 95th percentile of the total variation distance between two multinomial
    samples of ``n`` and ``m`` rows from the same ``shares`` (a parametric bootstrap null)."""
    a = rng.multinomial(n, shares, size=TV_NULL_DRAWS) / n
    b = rng.multinomial(m, shares, size=TV_NULL_DRAWS) / m
    return float(np.quantile(0.5 * np.abs(a - b).sum(axis=1), 0.95))
