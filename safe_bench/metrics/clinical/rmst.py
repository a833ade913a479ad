"""C.rmst: restricted mean survival time to tau, overall and per group."""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.comparison import Comparison
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import describe_strata, strata_stats


@metric("C.rmst", pillar="C", name="Restricted mean survival agreement", requires=("survival",), reference_details=True)
def rmst_agreement(cmp: Comparison) -> Measurement:
    """Restricted mean survival time to tau (Royston & Parmar 2013), the area under the
    Kaplan-Meier curve over [0, tau], overall and per level of every group variable.
    Score: the mean of 1 - |RMST_table - RMST_train| / RMST_train, floored at 0 (a
    stratum the table lost scores 0). Interval: bootstrap over rows of the table."""
    stats = strata_stats(cmp)
    relative = np.abs(stats.rmst - stats.train_rmst) / stats.train_rmst
    scores = np.nan_to_num(np.maximum(0.0, 1.0 - relative), nan=0.0)
    point = scores[0]
    details: dict[str, Any] = {
        **describe_strata(cmp, stats.tau),
        "strata": {
            s.name: {"train": stats.train_rmst[i], "table": stats.rmst[0, i], "score": point[i]}
            for i, s in enumerate(stats.strata)
        },
    }
    score = float(np.mean(point))
    value = float(np.nanmean(relative[0])) if np.isfinite(relative[0]).any() else 1.0
    return bootstrapped(value, score, scores[1:].mean(axis=1), details)
