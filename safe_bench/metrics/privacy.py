"""Pillar P, privacy preservation: does the synthetic table give away training patients?"""

from __future__ import annotations

import numpy as np
import pandas as pd

from safe_bench.comparison import Comparison
from safe_bench.metrics.base import Measurement, metric
from safe_bench.uncertainty import bootstrap, centred_replicates, wilson_ci


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row over every compared column (missing equals missing)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _exact_score(share: float, holdout_share: float) -> float:
    """1 up to the holdout's share, falling linearly to 0 at 10x it plus 1 %."""
    if share <= holdout_share:
        return 1.0
    return float(max(0.0, 1.0 - (share - holdout_share) / (9.0 * holdout_share + 0.01)))


@metric("P.exact", pillar="P", name="Exact copies of training rows", goal="minimize", requires=("holdout",))
def exact_matches(cmp: Comparison) -> Measurement:
    """Share of rows of the table under test identical to a train row, against the same
    share for the holdout (real rows that were never trained on). Score: 1 up to the
    holdout's share, linearly down to 0 at 10x that share + 1 %. Interval: Wilson."""
    train_rows = set(_row_hashes(cmp.train).tolist())
    copied = np.isin(_row_hashes(cmp.synthetic), list(train_rows))
    holdout_share = float(np.isin(_row_hashes(cmp.holdout), list(train_rows)).mean())
    share = float(copied.mean())
    score = _exact_score(share, holdout_share)
    low, high = wilson_ci(copied.sum(), len(copied))
    reps = bootstrap(lambda idx: _exact_score(copied[idx].mean(), holdout_share), len(copied), cmp.n_bootstrap, cmp.seed)
    return Measurement(
        value=share,
        score=score,
        ci=(_exact_score(high, holdout_share), _exact_score(low, holdout_share)),
        replicates=centred_replicates(score, reps),
        details={"copies": int(copied.sum()), "rows": len(copied), "holdout_share": holdout_share},
    )


def _dcr_score(share: float) -> float:
    return float(1.0 - 2.0 * max(share - 0.5, 0.0))


@metric("P.dcr_share", pillar="P", name="Closer to train than to holdout", goal="minimize", requires=("holdout",))
def dcr_share(cmp: Comparison) -> Measurement:
    """Share of rows of the table under test whose nearest train row is closer than their
    nearest holdout row, train subsampled to the holdout's size so 0.5 is ideal (ties
    count one half). Score: 1 - 2 max(share - 0.5, 0). Interval: Wilson."""
    n = len(cmp.holdout)
    to_train = cmp.nearest_in_train_sample("synthetic", n).distances[:, 0]
    to_holdout = cmp.nearest("synthetic", "holdout").distances[:, 0]
    closer = (to_train < to_holdout) + 0.5 * (to_train == to_holdout)
    share = float(closer.mean())
    score = _dcr_score(share)
    low, high = wilson_ci(closer.sum(), len(closer))
    reps = bootstrap(lambda idx: _dcr_score(closer[idx].mean()), len(closer), cmp.n_bootstrap, cmp.seed)
    return Measurement(
        value=share,
        score=score,
        ci=(_dcr_score(high), _dcr_score(low)),
        replicates=centred_replicates(score, reps),
        details={"train_rows_used": min(n, len(cmp.train)), "ties": int((to_train == to_holdout).sum())},
    )
