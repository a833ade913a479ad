"""P.exact: rows under test that are exact copies of training rows, against the
holdout's share of such copies."""

from __future__ import annotations

from safe_bench.evaluation.comparison import Comparison
from safe_bench.metrics.base import Measurement, metric
from safe_bench.metrics.privacy.shares import comparable, excess_score, share_measurement


@metric("P.exact", pillar="P", name="Exact copies of training rows", goal="minimize", requires=("holdout",))
def exact_matches(cmp: Comparison) -> Measurement:
    """Share ``s_Y`` of rows of the table under test identical to a train row, against
    the same share ``s_H`` of the holdout (real rows never trained on; on coarse data
    fresh patients repeat training patients too: 10 to 15 % of the holdout on the
    Rossi recidivism table at the 70/30 split). Score: the share of copies in excess
    of the holdout's over what was left to copy, ``1 - max(0, s_Y - s_H) / (1 -
    s_H)`` (the residual-risk form of Giomi et al. 2023), so a table of copies scores
    0 whatever ``s_H`` is and one copying no more than fresh patients do scores 1.
    Interval: Wilson interval of ``s_Y`` mapped through the score."""
    comparable(cmp)
    copied = cmp.copies("synthetic", "train").astype(float)
    holdout_share = float(cmp.copies("holdout", "train").mean())
    return share_measurement(
        cmp,
        copied,
        lambda share: excess_score(share, holdout_share),
        {"copies": int(copied.sum()), "rows": len(copied), "holdout_share": holdout_share},
    )
