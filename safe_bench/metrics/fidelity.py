"""Pillar S, statistical fidelity: do the synthetic marginals and associations match train's?"""

from __future__ import annotations

import numpy as np

from safe_bench.comparison import Comparison
from safe_bench.encoding import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.metrics.base import Measurement, bootstrapped, metric


def _column_mean(per_column: dict[str, np.ndarray], what: str) -> np.ndarray:
    if not per_column:
        raise MetricSkipped(f"no {what} column has values in both tables")
    return np.mean(list(per_column.values()), axis=0)


@metric("S.ks", pillar="S", name="Kolmogorov-Smirnov complement")
def ks_complement(cmp: Comparison) -> Measurement:
    """Per numeric column, 1 - the two-sample Kolmogorov-Smirnov statistic between train
    and the table under test (missing values left to S.missing); equals SDMetrics'
    KSComplement. Interval: bootstrap over rows of the table under test."""
    columns = cmp.schema.numeric
    if not columns:
        raise MetricSkipped("no numeric column")
    resamples = list(cmp.resamples(len(cmp.synthetic)))
    scores: dict[str, np.ndarray] = {}
    details: dict[str, dict[str, float]] = {}
    for col in columns:
        t = as_numbers(cmp.train[col])
        y = as_numbers(cmp.synthetic[col])
        t, valid = np.sort(t[~np.isnan(t)]), ~np.isnan(y)
        if len(t) == 0 or not valid.any():
            details[col] = {"skipped": "all values missing in " + ("train" if len(t) == 0 else "the table under test")}
            continue
        order = np.argsort(y[valid], kind="stable")
        y_sorted = y[valid][order]
        points = np.union1d(t, y_sorted)
        cdf_t = np.searchsorted(t, points, side="right") / len(t)
        below_y = np.searchsorted(y_sorted, points, side="right")
        ks = float(np.max(np.abs(cdf_t - below_y / len(y_sorted))))
        valid_rows = np.flatnonzero(valid)[order]
        reps = np.empty(len(resamples))
        for b, idx in enumerate(resamples):
            counts = np.bincount(idx, minlength=len(y))[valid_rows]
            total = counts.sum()
            if total == 0:
                reps[b] = np.nan
                continue
            cum = np.concatenate([[0], np.cumsum(counts)])
            reps[b] = 1.0 - np.max(np.abs(cdf_t - cum[below_y] / total))
        scores[col] = np.concatenate([[1.0 - ks], reps])
        details[col] = {"ks": ks, "score": 1.0 - ks}
    table = _column_mean(scores, "numeric")
    return bootstrapped(1.0 - float(table[0]), float(table[0]), table[1:], {"columns": details})


@metric("S.tv", pillar="S", name="Total variation complement")
def tv_complement(cmp: Comparison) -> Measurement:
    """Per categorical or boolean column, 1 - the total variation distance between the
    category frequencies of train and the table under test (missing values left to
    S.missing; categories train never had count fully); equals SDMetrics'
    TVComplement. Interval: bootstrap over rows of the table under test."""
    columns = cmp.schema.categorical
    if not columns:
        raise MetricSkipped("no categorical column")
    resamples = list(cmp.resamples(len(cmp.synthetic)))
    scores: dict[str, np.ndarray] = {}
    details: dict[str, dict[str, float]] = {}
    for col in columns:
        k = len(cmp.encoding.categories[col])
        t_codes = cmp.encoding.codes(cmp.train, col)
        y_codes = cmp.encoding.codes(cmp.synthetic, col)

        def frequencies(codes: np.ndarray) -> np.ndarray | None:
            counts = np.bincount(codes, minlength=k + 2).astype(float)
            counts[k] = 0.0  # missing values are S.missing's business
            total = counts.sum()
            return counts / total if total else None

        p_t, p_y = frequencies(t_codes), frequencies(y_codes)
        if p_t is None or p_y is None:
            details[col] = {"skipped": "all values missing in " + ("train" if p_t is None else "the table under test")}
            continue
        tvd = 0.5 * float(np.abs(p_t - p_y).sum())
        reps = []
        for idx in resamples:
            p_b = frequencies(y_codes[idx])
            reps.append(np.nan if p_b is None else 1.0 - 0.5 * np.abs(p_t - p_b).sum())
        scores[col] = np.concatenate([[1.0 - tvd], reps])
        details[col] = {"tvd": tvd, "score": 1.0 - tvd, "unseen_share": float(p_y[k + 1])}
    table = _column_mean(scores, "categorical")
    return bootstrapped(1.0 - float(table[0]), float(table[0]), table[1:], {"columns": details})
