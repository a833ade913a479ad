"""A third-party metric (used by tests/test_metric_plugins.py): registered through the
``safe_bench.metrics`` entry-point group of this package's dist-info."""

import numpy as np

from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import bootstrapped, metric


@metric("S.toy_means", pillar="S", name="Toy plug-in: standardized mean gap")
def mean_gap(cmp):
    """Mean over numeric columns of |mean_T - mean_Y| / SD_T, against 1.96 standard errors
    of a difference of two means."""
    columns = [c for c in cmp.schema.numeric if cmp.train[c].notna().any() and cmp.synthetic[c].notna().any()]
    train = cmp.train[columns].to_numpy(dtype=float)
    table = cmp.synthetic[columns].to_numpy(dtype=float)
    spread = np.nanstd(train, axis=0)
    spread[spread == 0] = 1.0
    threshold = 1.96 * np.sqrt(1 / len(train) + 1 / len(table))

    def gap(rows):
        return float(np.mean(np.abs(np.nanmean(train, axis=0) - np.nanmean(table[rows], axis=0)) / spread))

    value = gap(np.arange(len(table)))
    replicates = np.array([float(within_sampling(gap(rows), threshold)) for rows in cmp.resamples(len(table))])
    return bootstrapped(value, float(within_sampling(value, threshold)), replicates, {"columns": columns})
