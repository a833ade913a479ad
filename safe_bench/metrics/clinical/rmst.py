"""C.rmst: restricted mean survival time to tau, overall and per group."""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import describe_strata, strata_stats


@metric("C.rmst", pillar="C", name="Restricted mean survival agreement", requires=("survival",), reference_details=True)
def rmst_agreement(cmp: Comparison) -> Measurement:
    """Restricted mean survival time to tau (Royston & Parmar 2013), the area under the
    Kaplan-Meier curve over [0, tau], overall and per level of every group variable.
    Value: the mean relative difference |RMST_table - RMST_train| / RMST_train. Each
    stratum's |RMST difference| is judged against the 95th percentile of the same
    difference between two real samples of train's and the table's sizes (two
    bootstrap samples of train): score 1 within it, ``q95 / difference`` beyond
    (:func:`~safe_bench.evaluation.uncertainty.within_sampling`); a stratum the table lost scores
    0. Score: the mean over strata. Interval: bootstrap over rows of the table."""
    stats = strata_stats(cmp)
    difference = np.abs(stats.rmst - stats.train_rmst)
    relative = difference / stats.train_rmst
    scores = np.nan_to_num(within_sampling(difference, stats.null_rmst), nan=0.0)
    point = scores[0]
    details: dict[str, Any] = {
        **describe_strata(cmp, stats.tau).to_dict(),
        "strata": {
            s.name: {"train": stats.train_rmst[i], "table": stats.rmst[0, i], "score": point[i],
                     "real_vs_real_q95": stats.null_rmst[i]}
            for i, s in enumerate(stats.strata)
        },
    }
    score = float(np.mean(point))
    value = float(np.nanmean(relative[0])) if np.isfinite(relative[0]).any() else 1.0
    return bootstrapped(value, score, scores[1:].mean(axis=1), details)
