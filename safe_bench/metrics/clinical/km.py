"""C.km: Kaplan-Meier curves of train and the table under test, overall and per group."""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import curve_grid, curve_of, describe_strata, strata_stats


@metric("C.km", pillar="C", name="Kaplan-Meier agreement", requires=("survival",), reference_details=True)
def km_agreement(cmp: Comparison) -> Measurement:
    """Kaplan-Meier curves of train and the table under test, overall and per level of
    every group variable: integrated absolute difference over [0, tau] divided by tau
    (tau = 90th percentile of train's times; the value is its mean over curves), and
    the sup-norm. Each curve's IAD / tau is judged against the 95th percentile of the
    same distance between two real samples of train's and the table's sizes (two
    bootstrap samples of train): score 1 within it, ``q95 / distance`` beyond
    (:func:`~safe_bench.evaluation.uncertainty.within_sampling`), so a stretched or compressed
    follow-up falls clearly; a stratum the table lost scores 0. Score: the mean over
    curves. Interval: bootstrap over rows of the table under test.

    Details carry every curve on a grid of times with its 95 % band (exponential
    Greenwood) and median: the table under test's, and train's in the synthetic run
    (the holdout reference run carries the holdout's, kept as ``reference_details``)."""
    stats = strata_stats(cmp)
    scores = np.nan_to_num(within_sampling(stats.gap, stats.null_gap), nan=0.0)
    point = scores[0]
    details: dict[str, Any] = {**describe_strata(cmp, stats.tau), "grid": curve_grid(cmp), "curves": {}}
    for i, stratum in enumerate(stats.strata):
        entry: dict[str, Any] = {
            "group": stratum.column,
            "train_rows": stats.train_rows[i],
            "rows": stats.table_rows[i],
            "score": point[i],
            "real_vs_real_q95": stats.null_gap[i],
        }
        if np.isnan(stats.gap[0, i]):
            entry["note"] = "fewer than 2 rows in the table under test: scored 0"
        else:
            entry["iad"], entry["sup"] = stats.gap[0, i] * stats.tau, stats.sup[0, i]
            entry["table"] = curve_of(cmp, "synthetic", stratum.mask(cmp.synthetic))
        if not cmp.is_reference:
            entry["train"] = curve_of(cmp, "train", stratum.mask(cmp.train))
        details["curves"][stratum.name] = entry
    value = float(np.nanmean(stats.gap[0])) if np.isfinite(stats.gap[0]).any() else 1.0
    return bootstrapped(value, float(np.mean(point)), scores[1:].mean(axis=1), details)
