"""What the P metrics stand on: whether there are fresh patients to compare with
(:func:`comparable`), and a share of rows under test judged against the same share among
fresh patients (the holdout: real rows never trained on), scored by its excess over
theirs (:func:`excess_score`) with a Wilson interval (:func:`share_measurement`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import centred_replicates, wilson_ci
from safe_bench.metrics.base import Measurement

#: Most of the holdout that may duplicate train rows before no comparison is possible.
MAX_STALE_HOLDOUT = 0.5


def comparable(cmp: Comparison) -> None:
    """Skip when the comparison has nothing to say: an empty table, or a holdout that
    is mostly copies of train rows (then there are no fresh patients to compare with)."""
    for role in ("synthetic", "holdout"):
        if len(cmp.table(role)) == 0:
            raise MetricSkipped(f"the {'table under test' if role == 'synthetic' else 'holdout'} has no rows")
    stale = float(cmp.copies("holdout", "train").mean())
    if stale > MAX_STALE_HOLDOUT:
        raise MetricSkipped(
            f"{stale:.0%} of holdout rows are copies of train rows: no fresh patients to compare with"
        )


def share_measurement(
    cmp: Comparison, hits: np.ndarray, score_of: Callable[[float], float], details: dict[str, object]
) -> Measurement:
    """A share of rows (``hits`` in 0..1 per row) with a decreasing score: Wilson
    interval of the share mapped through the score, bootstrap replicates of the score
    over the evaluation's shared row resamples."""
    share = float(hits.mean())
    score = score_of(share)
    low, high = wilson_ci(float(hits.sum()), len(hits))
    replicates = np.array([score_of(float(hits[idx].mean())) for idx in cmp.resamples(len(hits))])
    return Measurement(
        value=share,
        score=score,
        ci=(score_of(high), score_of(low)),
        replicates=centred_replicates(score, replicates),
        details=details,
    )


def excess_score(share: float, holdout_share: float) -> float:
    """The share of copies in excess of the holdout's, over what was left to copy."""
    return float(1.0 - max(0.0, share - holdout_share) / (1.0 - holdout_share))
