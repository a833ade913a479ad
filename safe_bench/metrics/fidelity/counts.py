"""The count-matrix bootstrap engine of pillar S.

A resample of the table under test is a vector of row counts (the evaluation's shared
resamples, :func:`safe_bench.evaluation.uncertainty.resamples`, so the pillar's joint
interval holds), and every S statistic is a function of count-weighted sums over rows
(category counts, moments, cumulative counts). The sums of all replicates are therefore
one matrix product of the (rows x resamples) count matrix with per-row features
(:func:`feature_totals`), or a sparse product per code (:func:`sums_by_code`). Category
codes are on train's list (:mod:`safe_bench.evaluation.encoding`); combinations of
codes (:func:`joint_codes`, :func:`category_tuples`) give every categorical frequency
and contingency table in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache, wraps

import numpy as np
import pandas as pd
from scipy import sparse
from threadpoolctl import threadpool_limits

from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import resamples
from safe_bench.metrics.base import Measurement

#: Feature values per block when summing features over a table (bounds memory at 1M rows).
_BLOCK = 1 << 22
#: Category slots up to which counts are summed densely (BLAS) rather than sparsely.
_DENSE_SLOTS = 16

Replicated = np.ndarray  # shape (1 + B,): the estimate, then B bootstrap replicates


def single_threaded(compute: Callable[[Comparison], Measurement]) -> Callable[[Comparison], Measurement]:
    """Run a metric with one BLAS / OpenMP thread: on a shared machine spinning worker
    threads collapse (measured 30x slower under load), and runs are parallel across cells."""

    @wraps(compute)
    def run(cmp: Comparison) -> Measurement:
        with threadpool_limits(limits=1):
            return compute(cmp)

    return run


@lru_cache(maxsize=4)
def _resample_counts(n: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """How often each of ``n`` rows is drawn in each of the evaluation's bootstrap
    resamples (:func:`safe_bench.evaluation.uncertainty.resamples`): a read-only (n, B) float32
    matrix, one row per table row (counts are exact in float32 below 2**24 rows)."""
    counts = np.empty((n, n_bootstrap), dtype=np.float32)
    batch = np.empty((16, n), dtype=np.float32)  # 16 resamples at a time: whole cache lines per row
    for b, idx in enumerate(resamples(n, n_bootstrap, seed)):
        batch[b % 16] = np.bincount(idx, minlength=n)
        if b % 16 == 15 or b == n_bootstrap - 1:
            counts[:, b - b % 16 : b + 1] = batch[: b % 16 + 1].T
    counts.flags.writeable = False
    return counts


def category_codes(cmp: Comparison, frame: pd.DataFrame, col: str) -> np.ndarray:
    """Category codes of a table's column on train's list (computed once per evaluation)."""
    return cmp.cached(("codes", id(frame), col), lambda: cmp.encoding.codes(frame, col))


def resample_weights(cmp: Comparison, n: int | None = None) -> np.ndarray:
    """Resample counts of the table under test (or of an ``n``-row sample of it)."""
    return _resample_counts(len(cmp.synthetic) if n is None else n, cmp.n_bootstrap, cmp.seed)


def no_weights(frame: pd.DataFrame) -> np.ndarray:
    """An empty weight matrix: the statistic of the table itself, no replicates (train)."""
    return np.empty((len(frame), 0), dtype=np.float32)


Feature = tuple[np.ndarray, ...]  # a per-row feature: the product of these row vectors


def feature_totals(weights: np.ndarray, features: Sequence[Feature]) -> np.ndarray:
    """Sums over rows of each feature: row 0 the plain sum (float64), row 1 + b the sum
    weighted by resample b's row counts (one BLAS product per block of rows)."""
    n, n_bootstrap = weights.shape
    out = np.zeros((len(features), 1 + n_bootstrap))
    step = max(1024, _BLOCK // max(len(features), 1))
    for start in range(0, n, step):
        rows = slice(start, min(start + step, n))
        block = np.empty((len(features), rows.stop - rows.start))
        for j, factors in enumerate(features):
            block[j] = factors[0][rows]
            for f in factors[1:]:
                block[j] *= f[rows]
        out[:, 0] += block.sum(axis=1)
        if n_bootstrap:
            out[:, 1:] += block.astype(np.float32) @ weights[rows]
    return out.T


def sums_by_code(weights: np.ndarray, codes: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """Sums of ``values`` per code ``0 .. k-1``, plain (float64) and per resample: (1 + B, k)."""
    out = np.empty((1 + weights.shape[1], k))
    out[0] = np.bincount(codes, weights=values, minlength=k)
    if weights.shape[1]:
        by_code = sparse.csr_matrix((values.astype(np.float32), (codes, np.arange(len(codes)))), shape=(k, len(codes)))
        out[1:] = (by_code @ weights).T
    return out


def code_counts(weights: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Rows per code ``0 .. k-1``, plain (row 0) and per resample: (1 + B, k)."""
    if weights.shape[1] and k <= _DENSE_SLOTS:
        return feature_totals(weights, [(codes == c,) for c in range(k)])
    return sums_by_code(weights, codes, k, np.ones(len(codes)))


def joint_codes(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Joint codes of several code columns: (ids 0 .. u-1 per row, a row of each id)."""
    key, span = np.zeros(len(codes[0]), dtype=np.int64), 1
    for c in codes:
        size = int(c.max()) + 1
        if span * size >= 2**62:  # keep the mixed-radix key in int64
            _, key = np.unique(key, return_inverse=True)
            span = int(key.max()) + 1
        key, span = key * size + c, span * size
    if span <= 4 * len(key):  # a small key space: count instead of sorting
        present = np.bincount(key, minlength=span) > 0
        ids = (np.cumsum(present) - 1)[key]
    else:
        _, ids = np.unique(key, return_inverse=True)
        ids = ids.ravel()
    representative = np.empty(int(ids.max()) + 1, dtype=np.int64)
    representative[ids] = np.arange(len(ids))  # any row of an id has the id's codes
    return ids, representative


def category_tuples(
    cmp: Comparison, frame: pd.DataFrame, weights: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Counts of each distinct combination of the compared categorical columns' codes, plain and
    per resample (1 + B, u), each combination's code per column, and each row's
    combination: every categorical frequency (S.tv, the contingency tables and group
    sizes of S.pairs) is a sum of these (computed once per table and evaluation)."""

    def compute() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        columns = distributional(cmp, cmp.schema.categorical)
        ids, rows = joint_codes([category_codes(cmp, frame, c) for c in columns])
        return code_counts(weights, ids, len(rows)), {c: category_codes(cmp, frame, c)[rows] for c in columns}, ids

    return cmp.cached(("category tuples", id(frame), weights.shape[1]), compute)


def distributional(cmp: Comparison, columns: list[str]) -> list[str]:
    """The columns whose frequencies and associations S.tv, S.pairs and S.kway compare:
    all but identifier-like categorical ones (:mod:`safe_bench.evaluation.encoding`). An identifier
    has no distribution to reproduce (its categories mark single patients, and every
    other column is trivially associated with it), and its tables would be rows x
    categories (Cramér's V of a 20k-code column: 0.9 GB)."""
    return [c for c in columns if c not in cmp.encoding.identifiers]


def cell_counts(counts: np.ndarray, cells: np.ndarray, size: int) -> np.ndarray:
    """Sum tuple counts (1 + B, u) into ``size`` cells given each tuple's cell."""
    to_cell = sparse.csr_matrix((np.ones(len(cells)), (cells, np.arange(len(cells)))), shape=(size, len(cells)))
    return np.asarray(to_cell @ counts.T).T


def frequencies(counts: np.ndarray) -> np.ndarray:
    """Counts (1 + B, k) as shares of their row totals (NaN for an empty resample)."""
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.full_like(counts, np.nan), where=total > 0)
