"""Pillar S, statistical fidelity (CSF in the hematology literature): do the marginals,
associations and joint distribution of the table under test match train's?

Every statistic compares train with the table under test (the synthetic table, or the
holdout for the real-vs-real reference); every transform it uses (category lists,
scales, bins) is fitted on train (:mod:`safe_bench.evaluation.encoding`).

Data kinds: datetimes are compared as numbers (days), booleans as categories. A
missing value is a value of its own: S.missing compares missing rates, categorical
statistics count *missing* (and *never seen in train*) as categories, and the numeric
statistics that cannot use a missing number (S.ks, S.range, Pearson and the correlation
ratio in S.pairs) leave those cells out and say how many in their details.

Intervals: a row bootstrap of the table under test with the evaluation's shared
resamples (common random numbers, so the pillar's joint interval holds), computed in
one vectorised pass. A resample is a vector of row counts, and every statistic here is
a function of count-weighted sums over rows (category counts, moments, cumulative
counts), so the sums of all replicates are one matrix product of the resample-count
matrix with per-row features. S.detect and S.prdc work on subsamples (as SAFE.md
allows; the sample sizes are in their details) and bootstrap those.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache, wraps

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import (
    ONE_SIDED_Z,
    Stream,
    centred_replicates,
    percentile_ci,
    proportion_threshold,
    resamples,
    within_sampling,
)
from safe_bench.metrics.base import Measurement, bootstrapped, metric

#: Feature values per block when summing features over a table (bounds memory at 1M rows).
_BLOCK = 1 << 22
#: Elements per block of the vectorised KS replicates.
_KS_BLOCK = 1 << 20
#: Category slots up to which counts are summed densely (BLAS) rather than sparsely.
_DENSE_SLOTS = 16
#: Column triples compared by S.kway (all of them when there are fewer).
N_TRIPLES = 30
#: Rows per class of the S.detect classifier (a seeded subsample beyond that).
DETECT_ROWS = 10_000
#: Folds of the S.detect cross-validation.
DETECT_FOLDS = 5
#: Rows of train and of the table under test for S.prdc (a seeded subsample beyond that).
PRDC_ROWS = 5_000
#: Neighbours defining the S.prdc radii (Naeem et al. 2020 use k = 5).
PRDC_K = 5
#: Distances within this of a radius count as inside the ball (float rounding).
_DISTANCE_TOLERANCE = 1e-9

Replicated = np.ndarray  # shape (1 + B,): the estimate, then B bootstrap replicates


# --------------------------------------------------------------------------- resampling
def _single_threaded(compute: Callable[[Comparison], Measurement]) -> Callable[[Comparison], Measurement]:
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


def _codes(cmp: Comparison, frame: pd.DataFrame, col: str) -> np.ndarray:
    """Category codes of a table's column on train's list (computed once per evaluation)."""
    return cmp.cached(("codes", id(frame), col), lambda: cmp.encoding.codes(frame, col))


def _weights(cmp: Comparison, n: int | None = None) -> np.ndarray:
    """Resample counts of the table under test (or of an ``n``-row sample of it)."""
    return _resample_counts(len(cmp.synthetic) if n is None else n, cmp.n_bootstrap, cmp.seed)


def _no_weights(frame: pd.DataFrame) -> np.ndarray:
    """An empty weight matrix: the statistic of the table itself, no replicates (train)."""
    return np.empty((len(frame), 0), dtype=np.float32)


Feature = tuple[np.ndarray, ...]  # a per-row feature: the product of these row vectors


def _totals(weights: np.ndarray, features: Sequence[Feature]) -> np.ndarray:
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


def _sums_by_code(weights: np.ndarray, codes: np.ndarray, k: int, values: np.ndarray) -> np.ndarray:
    """Sums of ``values`` per code ``0 .. k-1``, plain (float64) and per resample: (1 + B, k)."""
    out = np.empty((1 + weights.shape[1], k))
    out[0] = np.bincount(codes, weights=values, minlength=k)
    if weights.shape[1]:
        by_code = sparse.csr_matrix((values.astype(np.float32), (codes, np.arange(len(codes)))), shape=(k, len(codes)))
        out[1:] = (by_code @ weights).T
    return out


def _code_counts(weights: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Rows per code ``0 .. k-1``, plain (row 0) and per resample: (1 + B, k)."""
    if weights.shape[1] and k <= _DENSE_SLOTS:
        return _totals(weights, [(codes == c,) for c in range(k)])
    return _sums_by_code(weights, codes, k, np.ones(len(codes)))


def _combine(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
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


def _category_tuples(
    cmp: Comparison, frame: pd.DataFrame, weights: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Counts of each distinct combination of the compared categorical columns' codes, plain and
    per resample (1 + B, u), each combination's code per column, and each row's
    combination: every categorical frequency (S.tv, the contingency tables and group
    sizes of S.pairs) is a sum of these (computed once per table and evaluation)."""

    def compute() -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        columns = _distributional(cmp, cmp.schema.categorical)
        ids, rows = _combine([_codes(cmp, frame, c) for c in columns])
        return _code_counts(weights, ids, len(rows)), {c: _codes(cmp, frame, c)[rows] for c in columns}, ids

    return cmp.cached(("category tuples", id(frame), weights.shape[1]), compute)


def _distributional(cmp: Comparison, columns: list[str]) -> list[str]:
    """The columns whose frequencies and associations S.tv, S.pairs and S.kway compare:
    all but identifier-like categorical ones (:mod:`safe_bench.evaluation.encoding`). An identifier
    has no distribution to reproduce (its categories mark single patients, and every
    other column is trivially associated with it), and its tables would be rows x
    categories (Cramér's V of a 20k-code column: 0.9 GB)."""
    return [c for c in columns if c not in cmp.encoding.identifiers]


def _marginal(counts: np.ndarray, cells: np.ndarray, size: int) -> np.ndarray:
    """Sum tuple counts (1 + B, u) into ``size`` cells given each tuple's cell."""
    to_cell = sparse.csr_matrix((np.ones(len(cells)), (cells, np.arange(len(cells)))), shape=(size, len(cells)))
    return np.asarray(to_cell @ counts.T).T


def _replicated(values: dict[str, Replicated], what: str) -> Replicated:
    """The metric's estimate and replicates: the mean over its columns (or pairs),
    held in 0..1 (every S score lies there; ``1 - TVD`` can round to -2e-16)."""
    if not values:
        raise MetricSkipped(f"no {what} could be compared")
    return np.clip(np.mean(list(values.values()), axis=0), 0.0, 1.0)


def _measure(values: dict[str, Replicated], what: str, details: dict, value: Callable[[float], float]) -> Measurement:
    table = _replicated(values, what)
    return bootstrapped(value(float(table[0])), float(table[0]), table[1:], details)


def _against_sampling(
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


def _skip_note(table: str) -> dict[str, str]:
    return {"skipped": f"all values missing in {table}"}


# ---------------------------------------------------------------------------- marginals
class _Buffers:
    """Reusable float32 work arrays: large arrays freed and allocated again cost a page
    fault per 4 KiB each time, which dominated the KS replicates."""

    def __init__(self) -> None:
        self.flat: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        if name not in self.flat or len(self.flat[name]) < size:
            self.flat[name] = np.empty(size, dtype=np.float32)
        return self.flat[name][:size].reshape(shape)


def _by_position(values: np.ndarray, fill: float, block: int = 16) -> np.ndarray:
    """Per-position values laid out as position p at ``[p % block, p // block]`` (the
    layout of the blocked cumulative sums in :func:`_ks_replicates`), float32, padded."""
    blocks = -(-len(values) // block)
    padded = np.full(blocks * block, fill, dtype=np.float32)
    padded[: len(values)] = values
    return padded.reshape(blocks, block).T[:, :, None].copy()


def _ks_replicates(t: np.ndarray, under_test: np.ndarray, weights: np.ndarray, buffers: _Buffers) -> Replicated:
    """1 - two-sample KS between train's sorted values ``t`` and the (resampled) values
    under test (missing values left out).

    Between two consecutive distinct values under test their CDF is flat at c_j, while
    train's CDF rises from F(u_j) to F(u_(j+1)-): the largest gap there is
    max(c_j - F(u_j), F(u_(j+1)-) - c_j). Each resample needs its cumulative counts at
    the sorted values, read in any order: they are streamed in chunks of positions,
    each chunk's running sums computed 16 rows at a time by one BLAS product with a
    triangular matrix (exact in float32, several times faster than numpy's cumsum).
    """
    rows = np.flatnonzero(~np.isnan(under_test))
    order = rows[np.argsort(under_test[rows])]  # the order among ties does not matter
    y = under_test[order]
    distinct, first = np.unique(y, return_index=True)
    last = np.append(first[1:], len(y)) - 1  # position of each distinct value's last copy
    at = np.searchsorted(t, distinct, side="right") / len(t)
    before_next = np.append(np.searchsorted(t, distinct[1:], side="left"), len(t)) / len(t)
    before_first = np.searchsorted(t, distinct[0], side="left") / len(t)
    point = max(np.max((last + 1) / len(y) - at), np.max(before_next - (last + 1) / len(y)), before_first)

    # Every position carries its value's F(u_j); only a value's last copy carries
    # F(u_(j+1)-) (-1 elsewhere, and 1 / -1 on padding, so they never win).
    low = at[np.repeat(np.arange(len(distinct)), np.diff(np.append(first, len(y))))]
    high = np.full(len(y), -1.0)
    high[last] = before_next
    n_bootstrap = weights.shape[1]
    gaps = np.flatnonzero(np.isnan(under_test))
    totals = (len(under_test) - weights[gaps].sum(axis=0)).astype(np.float32)  # rows drawn per resample
    above = np.full(n_bootstrap, -np.inf)
    below = np.full(n_bootstrap, -np.inf)
    running = np.zeros(n_bootstrap, dtype=np.float32)
    triangle = np.tril(np.ones((16, 16), dtype=np.float32))
    chunk = max(16, _KS_BLOCK // max(n_bootstrap, 1) // 16 * 16)
    for start in range(0, len(y), chunk):
        m = min(chunk, len(y) - start)
        blocks = -(-m // 16)
        slots = np.zeros(blocks * 16, dtype=np.int64)
        slots[:m] = order[start : start + m]
        gathered = buffers.get("gathered", (16 * blocks, n_bootstrap))
        np.take(weights, slots.reshape(blocks, 16).T.ravel(), axis=0, out=gathered)
        gathered = gathered.reshape(16, blocks, n_bootstrap)
        gathered[m % 16 or 16 :, -1] = 0.0  # padding of the last block
        cum = buffers.get("cum", (16, blocks * n_bootstrap))
        np.matmul(triangle, gathered.reshape(16, -1), out=cum)
        cum = cum.reshape(16, blocks, n_bootstrap)
        offsets = np.empty((blocks, n_bootstrap), dtype=np.float32)
        offsets[0] = running
        np.cumsum(cum[-1, :-1], axis=0, out=offsets[1:])
        offsets[1:] += running
        running = offsets[-1] + cum[-1, -1]
        cum += offsets
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample may miss every row
            cum /= totals
        chunk_low = _by_position(low[start : start + m], 1.0)
        cum -= chunk_low
        above = np.maximum(above, cum.max(axis=(0, 1)))
        np.subtract(_by_position(high[start : start + m], -1.0) - chunk_low, cum, out=cum)
        below = np.maximum(below, cum.max(axis=(0, 1)))
    return 1.0 - np.concatenate([[point], np.maximum(np.maximum(above, below), before_first)])


def _sorted_train(cmp: Comparison, col: str) -> np.ndarray:
    """Train's column as numbers, sorted, NaN last; once per evaluation."""
    return cmp.cached(("sorted train", col), lambda: np.sort(as_numbers(cmp.train[col])))


@metric("S.ks", pillar="S", name="Kolmogorov-Smirnov complement")
@_single_threaded
def ks_complement(cmp: Comparison) -> Measurement:
    """Per numeric or datetime column, the two-sample Kolmogorov-Smirnov statistic D
    between train and the table under test, missing values left out (S.missing compares
    them); 1 - D equals SDMetrics' KSComplement. Value: the mean D. Each column's D is
    judged against its 5 % critical value for two real samples of these sizes,
    ``1.358 sqrt((n + m) / (n m))`` (Kolmogorov's limit law; Smirnov 1948): score 1
    within it, ``critical / D`` beyond. Score: the mean over columns. Interval: row
    bootstrap of the table under test."""
    if not cmp.schema.numeric:
        raise MetricSkipped("no numeric column")
    weights, buffers = _weights(cmp), _Buffers()
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    details: dict[str, dict] = {}
    for col in cmp.schema.numeric:
        t = _sorted_train(cmp, col)
        y = as_numbers(cmp.synthetic[col])
        t_gaps, y_gaps = int(np.isnan(t).sum()), int(np.isnan(y).sum())
        if t_gaps == len(t) or y_gaps == len(y):
            details[col] = _skip_note("train" if t_gaps == len(t) else "the table under test")
            continue
        values[col] = _ks_replicates(t[: len(t) - t_gaps], y, weights, buffers)
        n, m = len(t) - t_gaps, len(y) - y_gaps
        thresholds[col] = KS_CRITICAL * np.sqrt((n + m) / (n * m))
        details[col] = {
            "ks": 1.0 - values[col][0],
            "missing_left_out": {"train": t_gaps, "synthetic": y_gaps},
            "histogram": _histogram(t[: len(t) - t_gaps], y[~np.isnan(y)]),
        }
    return _against_sampling(values, thresholds, "numeric column", details)


#: Kolmogorov's c(0.05) = sqrt(-ln(0.025) / 2): the two-sample KS statistic's 5 % critical
#: value is c sqrt((n + m) / (n m)).
KS_CRITICAL = float(np.sqrt(-np.log(0.025) / 2))
#: Draws of the parametric null of S.tv (multinomial samples from train's shares).
TV_NULL_DRAWS = 200


def _tv_null(shares: np.ndarray, n: int, m: int, rng: np.random.Generator) -> float:
    """The 95th percentile of the total variation distance between two multinomial
    samples of ``n`` and ``m`` rows from the same ``shares`` (a parametric bootstrap null)."""
    a = rng.multinomial(n, shares, size=TV_NULL_DRAWS) / n
    b = rng.multinomial(m, shares, size=TV_NULL_DRAWS) / m
    return float(np.quantile(0.5 * np.abs(a - b).sum(axis=1), 0.95))


#: Equal-width bins of the per-column histograms in S.ks details (what report figures draw).
HISTOGRAM_BINS = 20


def _histogram(train: np.ndarray, table: np.ndarray) -> dict[str, list[float]]:
    """Shares of train and of the table under test on equal-width bins spanning train's
    1st to 99th percentile, values beyond counted in the end bins: aggregates for a
    figure, with no single record's extreme value among the edges."""
    low, high = (float(v) for v in np.percentile(train, [1, 99]))
    edges = np.linspace(low, high if high > low else low + 1.0, HISTOGRAM_BINS + 1)

    def shares(values: np.ndarray) -> list[float]:
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HISTOGRAM_BINS - 1)
        return (np.bincount(bins, minlength=HISTOGRAM_BINS) / len(values)).tolist()

    return {"edges": edges.tolist(), "train": shares(train), "synthetic": shares(table)}


def _frequencies(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, total, out=np.full_like(counts, np.nan), where=total > 0)


@metric("S.tv", pillar="S", name="Total variation complement")
@_single_threaded
def tv_complement(cmp: Comparison) -> Measurement:
    """Per categorical or boolean column, the total variation distance between the
    category frequencies of train and the table under test, missing values left out
    (S.missing compares them) and categories train never had counted in full; its
    complement equals SDMetrics' TVComplement. Value: the mean distance. Each column's
    distance is judged against its 95th percentile between two real samples of these
    sizes (multinomial draws from train's shares, a parametric bootstrap): score 1
    within it, ``q95 / distance`` beyond. Score: the mean over columns. Interval: row
    bootstrap of the table under test."""
    categorical = _distributional(cmp, cmp.schema.categorical)
    if not categorical:
        raise MetricSkipped("no categorical column")
    tuples, codes, _ = _category_tuples(cmp, cmp.synthetic, _weights(cmp))
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    details: dict[str, dict] = {}
    rng = cmp.rng(Stream.TV_NULL)
    for col in categorical:
        k = len(cmp.encoding.categories[col])
        t_counts = np.bincount(_codes(cmp, cmp.train, col), minlength=k + 2)[None, :].astype(float)
        y_counts = _marginal(tuples, codes[col], k + 2)
        missing = {"train": int(t_counts[0, k]), "synthetic": int(y_counts[0, k])}
        t_counts[:, k] = y_counts[:, k] = 0.0
        if t_counts.sum() == 0 or y_counts[0].sum() == 0:
            details[col] = _skip_note("train" if t_counts.sum() == 0 else "the table under test")
            continue
        p_y = _frequencies(y_counts)
        values[col] = 1.0 - 0.5 * np.abs(p_y - _frequencies(t_counts)).sum(axis=1)
        values[col][np.isnan(p_y).any(axis=1)] = np.nan
        thresholds[col] = _tv_null(_frequencies(t_counts)[0], int(t_counts.sum()), int(y_counts[0].sum()), rng)
        slots = k + 1 + int(p_y[0, k + 1] > 0)  # the categories, missing (left out, 0) and unseen if any
        kept = [i for i in range(slots) if i != k]
        details[col] = {
            "tvd": 1.0 - values[col][0],
            "unseen_share": p_y[0, k + 1],
            "missing_left_out": missing,
            "shares": {
                "categories": [str(c) for c in cmp.encoding.categories[col]] + ["<unseen>"] * (slots > k + 1),
                "train": _frequencies(t_counts)[0, kept].tolist(),
                "synthetic": p_y[0, kept].tolist(),
            },
        }
    return _against_sampling(values, thresholds, "categorical column", details)


@metric("S.missing", pillar="S", name="Missing-rate agreement")
@_single_threaded
def missing_rate(cmp: Comparison) -> Measurement:
    """Per column, |missing rate in train - missing rate in the table under test| (value:
    the mean), judged against 1.96 standard errors of that difference between two real
    samples of these sizes (:func:`~safe_bench.evaluation.uncertainty.proportion_threshold`): score
    1 within, ``threshold / difference`` beyond; the mean over columns. Interval: row
    bootstrap of the table under test."""
    columns = cmp.schema.features
    weights = _weights(cmp)
    rates = _totals(weights, [(cmp.synthetic[c].isna().to_numpy(),) for c in columns]) / len(cmp.synthetic)
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    details: dict[str, dict] = {}
    for j, col in enumerate(columns):
        rate_t = float(cmp.train[col].isna().mean())
        values[col] = 1.0 - np.abs(rates[:, j] - rate_t)
        thresholds[col] = proportion_threshold(rate_t, len(cmp.train), len(cmp.synthetic))
        details[col] = {"train": rate_t, "synthetic": rates[0, j]}
    return _against_sampling(values, thresholds, "column", details)


@metric("S.range", pillar="S", name="Range and category coverage")
@_single_threaded
def range_coverage(cmp: Comparison) -> Measurement:
    """Per column, 1 - the share of the table's present values that train could not have
    produced: numbers (datetimes) outside train's [min, max], categories train never had.
    Missing values are left out (S.missing compares them). Interval: row bootstrap."""
    weights = _weights(cmp)
    columns: list[str] = []
    features: list[Feature] = []
    details: dict[str, dict] = {}
    for col in cmp.schema.features:
        if col in cmp.encoding.categories:
            codes = _codes(cmp, cmp.synthetic, col)
            k = len(cmp.encoding.categories[col])
            present, outside = codes != k, codes == k + 1
            if k == 0:
                details[col] = _skip_note("train")
                continue
        else:
            scale = cmp.encoding.numeric[col]
            y = as_numbers(cmp.synthetic[col])
            present = ~np.isnan(y)
            if np.isnan(scale.low):
                details[col] = _skip_note("train")
                continue
            outside = present & ((y < scale.low) | (y > scale.high))
        if not present.any():
            details[col] = _skip_note("the table under test")
            continue
        columns.append(col)
        features += [(present,), (outside,)]
    if not columns:
        raise MetricSkipped("no column has values in both tables")
    sums = _totals(weights, features)
    values: dict[str, Replicated] = {}
    for j, col in enumerate(columns):
        present, outside = sums[:, 2 * j], sums[:, 2 * j + 1]
        values[col] = 1.0 - np.divide(outside, present, out=np.full_like(present, np.nan), where=present > 0)
        details[col] = {
            "outside_share": 1.0 - values[col][0],
            "score": values[col][0],
            "missing_left_out": int(len(cmp.synthetic) - present[0]),
        }
    return _measure(values, "column", {"columns": details}, lambda s: 1.0 - s)


# ------------------------------------------------------------------------- associations
def _pearson(n: np.ndarray, sx: np.ndarray, sy: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray) -> np.ndarray:
    """Pearson's r from sums (NaN where a column has no spread)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / n
        var = (sxx - sx**2 / n) * (syy - sy**2 / n)
        r = cov / np.sqrt(var)
    return np.where(var > 1e-12 * np.maximum(sxx, 1) * np.maximum(syy, 1), np.clip(r, -1, 1), np.nan)


def _correlation_ratio(n: np.ndarray, s: np.ndarray, ss: np.ndarray, group_n: np.ndarray, group_s: np.ndarray) -> np.ndarray:
    """Correlation ratio eta (Pearson 1903) from totals and per-group counts and sums
    (groups on the last axis); NaN where the number has no spread."""
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.sum(np.where(group_n > 0, group_s**2 / group_n, 0.0), axis=-1) - s**2 / n
        total = ss - s**2 / n
        eta = np.sqrt(np.clip(between / total, 0, 1))
    return np.where(total > 1e-12 * np.maximum(ss, 1), eta, np.nan)


def _cramers_v(table: np.ndarray) -> np.ndarray:
    """Bias-corrected Cramér's V (Bergsma 2013) of contingency tables (R, r, c); empty
    rows and columns ignored; NaN where either variable has a single observed value."""
    n = table.sum(axis=(1, 2))
    rows, cols = table.sum(axis=2), table.sum(axis=1)
    expected = rows[:, :, None] * cols[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi2 = np.sum(np.where(expected > 0, table**2 / expected, 0.0), axis=(1, 2)) - 1.0
        r, c = (rows > 0).sum(axis=1), (cols > 0).sum(axis=1)
        phi2c = np.maximum(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
        rc, cc = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
        v = np.sqrt(phi2c / np.minimum(rc - 1, cc - 1))
    return np.where((r > 1) & (c > 1) & (n > 1), np.nan_to_num(v, nan=0.0, posinf=0.0), np.nan)


class _Associations:
    """Every pair's association in one table, plain and per resample (``weights`` (n, B);
    empty for train). Pearson's r (num-num, pairwise-complete rows), the correlation
    ratio (num-cat, rows where the number is present, missing a category of its own)
    and the bias-corrected Cramér's V (cat-cat, missing a category of its own)."""

    def __init__(self, cmp: Comparison, frame: pd.DataFrame, weights: np.ndarray):
        self.cmp, self.frame, self.weights = cmp, frame, weights
        self.ones = np.ones(len(frame))
        self.x: dict[str, np.ndarray] = {}
        self.present: dict[str, np.ndarray] = {}
        for col in cmp.schema.numeric:
            values = cmp.encoding.numeric[col].standardise(as_numbers(frame[col]))  # centred: stable float32 sums
            self.present[col] = ~np.isnan(values)
            self.x[col] = np.where(self.present[col], values, 0.0)
        self.codes = {col: _codes(cmp, frame, col) for col in cmp.schema.categorical}
        self.slots = {col: len(cmp.encoding.categories[col]) + 2 for col in cmp.schema.categorical}
        self.features: dict[tuple, Feature] = {}

    def _gaps(self, *cols: str) -> frozenset[str]:
        return frozenset(c for c in cols if not self.present[c].all())

    def _feature(self, key: tuple, factors: Feature) -> tuple:
        self.features.setdefault(key, factors)
        return key

    def _count(self, gaps: frozenset[str]) -> tuple:
        """Rows present in every column of ``gaps``."""
        return self._feature(("n", gaps), tuple(self.present[c] for c in sorted(gaps)) or (self.ones,))

    def _sum(self, col: str, power: int, gaps: frozenset[str]) -> tuple:
        """Sum of ``col ** power`` over those rows (a missing number counts 0 already)."""
        rest = gaps - {col}
        return self._feature(("x", col, power, rest), (self.x[col],) * power + tuple(self.present[c] for c in sorted(rest)))

    def compute(
        self, num_num: Sequence[tuple[str, str]], num_cat: Sequence[tuple[str, str]], cat_cat: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Replicated]:
        plans: dict[tuple[str, str], tuple] = {}
        for a, b in num_num:
            gaps = self._gaps(a, b)
            cross = self._feature(("xy", a, b), (self.x[a], self.x[b]))
            plans[(a, b)] = (self._count(gaps), self._sum(a, 1, gaps), self._sum(b, 1, gaps),
                             self._sum(a, 2, gaps), self._sum(b, 2, gaps), cross)
        for a, _ in num_cat:
            gaps = self._gaps(a)
            plans[(a, "")] = (self._count(gaps), self._sum(a, 1, gaps), self._sum(a, 2, gaps))
        # Without features there is no pair below to read the sums.
        sums = _totals(self.weights, list(self.features.values())) if self.features else np.empty((0, 0))
        at = {key: j for j, key in enumerate(self.features)}
        out: dict[tuple[str, str], Replicated] = {}
        for a, b in num_num:
            out[(a, b)] = _pearson(*(sums[:, at[key]] for key in plans[(a, b)]))
        if num_cat:
            # Group sizes and sums per combination of categorical codes, then per group.
            counts, codes, ids = _category_tuples(self.cmp, self.frame, self.weights)
            per_tuple: dict[tuple[str, str], np.ndarray] = {}
            for a in {a for a, _ in num_cat}:
                per_tuple[(a, "sum")] = _sums_by_code(self.weights, ids, len(counts[0]), self.x[a])
                per_tuple[(a, "n")] = (_sums_by_code(self.weights, ids, len(counts[0]), self.present[a])
                                       if self._gaps(a) else counts)
            for a, g in num_cat:
                n, s, ss = (sums[:, at[key]] for key in plans[(a, "")])
                group_n = _marginal(per_tuple[(a, "n")], codes[g], self.slots[g])
                group_s = _marginal(per_tuple[(a, "sum")], codes[g], self.slots[g])
                out[(a, g)] = _correlation_ratio(n, s, ss, group_n, group_s)
        if cat_cat:
            out.update(self._contingencies(cat_cat))
        return out

    def _contingencies(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Replicated]:
        """Cramér's V per pair from one bootstrap of the joint categorical codes."""
        counts, codes, _ = _category_tuples(self.cmp, self.frame, self.weights)
        out = {}
        for a, b in pairs:
            cells = _marginal(counts, codes[a] * self.slots[b] + codes[b], self.slots[a] * self.slots[b])
            out[(a, b)] = _cramers_v(cells.reshape(len(counts), self.slots[a], self.slots[b]))
        return out


def _pairs(cmp: Comparison) -> tuple[list, list, list]:
    numeric, features = set(cmp.schema.numeric), _distributional(cmp, cmp.schema.features)
    num_num, num_cat, cat_cat = [], [], []
    for a, b in itertools.combinations(features, 2):
        if a in numeric and b in numeric:
            num_num.append((a, b))
        elif a in numeric or b in numeric:
            num_cat.append((a, b) if a in numeric else (b, a))
        else:
            cat_cat.append((a, b))
    return num_num, num_cat, cat_cat


@metric("S.pairs", pillar="S", name="Pairwise association agreement")
@_single_threaded
def pair_trends(cmp: Comparison) -> Measurement:
    """Per column pair, the association in train against the table under test: Pearson's r
    for two numbers (score 1 - |delta|/2; equals SDMetrics' CorrelationSimilarity), the
    correlation ratio for a number and a category, the bias-corrected Cramér's V (Bergsma
    2013) for two categories (score 1 - |delta|). Missing numbers are left out pairwise
    (counted in the details); missing categories are a category. A pair with a column
    constant in train has no association to reproduce and is skipped with that reason; a
    column constant in the table under test has association 0. Interval: row bootstrap."""
    num_num, num_cat, cat_cat = _pairs(cmp)
    if not (num_num or num_cat or cat_cat):
        raise MetricSkipped("fewer than two columns")
    train = cmp.cached(
        ("train associations",), lambda: _Associations(cmp, cmp.train, _no_weights(cmp.train)).compute(num_num, num_cat, cat_cat)
    )
    under_test = _Associations(cmp, cmp.synthetic, _weights(cmp)).compute(num_num, num_cat, cat_cat)
    kinds = {**dict.fromkeys(num_num, "pearson"), **dict.fromkeys(num_cat, "correlation_ratio"),
             **dict.fromkeys(cat_cat, "cramers_v")}
    gaps = {
        table: {c: frame[c].isna().to_numpy() for c in cmp.schema.numeric}
        for table, frame in (("train", cmp.train), ("synthetic", cmp.synthetic))
    }
    values: dict[str, Replicated] = {}
    details: dict[str, dict] = {}
    for pair, kind in kinds.items():
        name = " | ".join(pair)
        numbers = [c for c in pair if c in cmp.schema.numeric]
        left_out = {table: int(np.logical_or.reduce([g[c] for c in numbers]).sum()) if numbers else 0
                    for table, g in gaps.items()}
        if np.isnan(train[pair][0]):
            details[name] = {"association": kind, "skipped": "a column is constant (or has no values) in train"}
            continue
        y = np.nan_to_num(under_test[pair], nan=0.0)
        delta = np.abs(y - train[pair][0])
        values[name] = 1.0 - (delta / 2 if kind == "pearson" else delta)
        details[name] = {"association": kind, "train": train[pair][0], "synthetic": y[0], "score": values[name][0],
                         "rows_left_out": left_out}
    return _measure(values, "column pair", {"pairs": details}, lambda s: 1.0 - s)


@metric("S.kway", pillar="S", name="Three-way marginal agreement")
@_single_threaded
def three_way(cmp: Comparison) -> Measurement:
    """Per column triple, the total variation distance between the joint frequencies of
    train and the table under test on train-fitted bins (numbers in train quintiles,
    categories as such; missing a bin of its own, categories train never had one more),
    judged like S.tv against its 95th percentile between two real samples (multinomial
    draws from train's joint shares); value: the mean distance.
    All triples, or 30 (N_TRIPLES) distinct seeded random ones when there are more (the same
    for the synthetic table and the reference). Interval: row bootstrap."""
    columns = _distributional(cmp, cmp.schema.features)
    if len(columns) < 3:
        raise MetricSkipped("fewer than three columns")
    triples = list(itertools.combinations(range(len(columns)), 3))
    if len(triples) > N_TRIPLES:
        rng = cmp.rng(Stream.KWAY_TRIPLES)
        triples = [triples[i] for i in np.sort(rng.choice(len(triples), N_TRIPLES, replace=False))]
    weights = _weights(cmp)
    used = sorted({i for triple in triples for i in triple})
    bins = {
        columns[i]: np.concatenate([cmp.encoding.bins(cmp.train, columns[i]), cmp.encoding.bins(cmp.synthetic, columns[i])])
        for i in used
    }
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    details: dict[str, dict] = {}
    null = cmp.rng(Stream.KWAY_NULL)
    for triple in triples:
        cols = [columns[i] for i in triple]
        ids, rows = _combine([bins[c] for c in cols])
        t_freq = np.bincount(ids[: len(cmp.train)], minlength=len(rows)) / len(cmp.train)
        y_freq = _frequencies(_code_counts(weights, ids[len(cmp.train):], len(rows)))
        name = " | ".join(cols)
        values[name] = 1.0 - 0.5 * np.abs(y_freq - t_freq).sum(axis=1)
        thresholds[name] = _tv_null(t_freq, len(cmp.train), len(cmp.synthetic), null)
        details[name] = {"tvd": 1.0 - values[name][0], "cells": len(rows)}
    return _against_sampling(values, thresholds, "column triple", details, "triples", bins_per_number="train quintiles")


# ---------------------------------------------------------------------- joint, by sample
def _sample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A seeded subsample of ``n`` rows in table order (the table itself when it is that small)."""
    if n >= len(frame):
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))].reset_index(drop=True)


def _detection_matrix(cmp: Comparison, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Classifier inputs: numbers (datetimes in days, NaN kept: the classifier gives
    missing values their own branch) and category codes on train's list (missing and
    unseen codes of their own); the mask of columns the classifier treats as categories."""
    columns, categorical = [], []
    for col in cmp.schema.features:
        if col in cmp.encoding.categories:
            columns.append(cmp.encoding.codes(frame, col).astype(float))
            categorical.append(len(cmp.encoding.categories[col]) + 2 <= 255)  # the classifier's limit
        else:
            columns.append(as_numbers(frame[col]))
            categorical.append(False)
    return np.column_stack(columns), np.array(categorical)


def _detection_folds(x: np.ndarray, labels: np.ndarray, state: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stratified, seeded folds (training rows, test rows) in which identical rows share a
    fold: scikit-learn's StratifiedKFold over the distinct rows (``np.unique``, NaN as
    -inf), stratified on whether a distinct row occurs in the table under test."""
    _, group = np.unique(np.nan_to_num(x, nan=-np.inf), axis=0, return_inverse=True)
    group = group.ravel()
    under_test = np.zeros(group.max() + 1, dtype=bool)
    under_test[group[labels == 1]] = True
    if np.bincount(under_test).max() < DETECT_FOLDS:
        raise MetricSkipped(f"fewer than {DETECT_FOLDS} distinct rows for {DETECT_FOLDS}-fold detection")
    folds = StratifiedKFold(DETECT_FOLDS, shuffle=True, random_state=state)
    with warnings.catch_warnings():  # a rare stratum (few rows only one table holds) is fine
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(folds.split(np.zeros(len(under_test)), under_test))
    for _, test_groups in splits:
        in_test = np.isin(group, test_groups)
        yield np.flatnonzero(~in_test), np.flatnonzero(in_test)


def _auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> Replicated:
    """ROC AUC (ties count one half: Mann-Whitney), plain and with each row of ``weights``
    as row counts: (1 + B,)."""
    _, tie = np.unique(scores, return_inverse=True)
    one_hot = sparse.csr_matrix((np.ones(len(tie)), (np.arange(len(tie)), tie)))
    w = np.column_stack([np.ones(len(scores)), weights])
    pos = (one_hot.T @ (w * positive[:, None])).T
    neg = (one_hot.T @ (w * ~positive[:, None])).T
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(pos * (below + 0.5 * neg), axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


@metric("S.detect", pillar="S", name="Detection (classifier two-sample test)")
@_single_threaded
def detection(cmp: Comparison) -> Measurement:
    """A classifier tries to tell train rows from rows of the table under test: mean ROC
    AUC over 5 stratified, seeded cross-validation folds, identical rows (within and
    across the two tables) in the same fold so that no row is scored by a classifier that
    saw its copy under the other label (Lopez-Paz & Oquab 2017). Value: the AUC. Score:
    its excess over 0.5 judged against the one-sided 95th percentile of the AUC when the
    two tables are alike, ``1.645 sqrt((2m + 1) / (12 m^2))`` for m rows per class (the
    Mann-Whitney null; Hanley & McNeil 1982): 1 within it, ``threshold / excess``
    beyond. The classifier is scikit-learn's
    HistGradientBoostingClassifier (gradient boosting on binned features, chosen for
    speed: linear in rows, missing values and categories handled natively), with early
    stopping on a seeded 10 % validation split of each training fold at every size (so
    small tables are not overfitted). It never
    sees the holdout. Classes are balanced by subsampling the larger table (at most
    10,000 rows each, seeded), never by weighting. Interval: row bootstrap of the
    out-of-fold predictions (the classifier is not refitted)."""
    m = min(len(cmp.train), len(cmp.synthetic), DETECT_ROWS)
    if m < 4 * DETECT_FOLDS:
        raise MetricSkipped(f"too few rows for {DETECT_FOLDS}-fold detection ({m} per class)")
    rng = cmp.rng(Stream.DETECTION)
    state = int(rng.integers(2**31))
    x_t, categorical = _detection_matrix(cmp, _sample(cmp.train, m, rng))
    x_y, _ = _detection_matrix(cmp, _sample(cmp.synthetic, m, rng))
    x, labels = np.vstack([x_t, x_y]), np.repeat([0, 1], m)
    weights = _weights(cmp, 2 * m)
    aucs = []
    for fit_rows, test_rows in _detection_folds(x, labels, state):
        if len(fit_rows) < 20 or np.bincount(labels[fit_rows], minlength=2).min() < 2:
            # early stopping holds out 10 % of the training rows, stratified: two of each table
            raise MetricSkipped("a cross-validation fold is too small or holds one table only (too few distinct rows)")
        classifier = HistGradientBoostingClassifier(
            categorical_features=categorical, early_stopping=True, random_state=state
        )
        classifier.fit(x[fit_rows], labels[fit_rows])
        scores = classifier.predict_proba(x[test_rows])[:, 1]
        aucs.append(_auc(scores, labels[test_rows] == 1, weights[test_rows]))
    if any(np.isnan(a[0]) for a in aucs):
        raise MetricSkipped("a cross-validation fold holds rows of one table only (too few distinct rows)")
    with warnings.catch_warnings():  # a resample may leave a fold without one table's rows
        warnings.simplefilter("ignore", RuntimeWarning)
        auc = np.nanmean(aucs, axis=0)
    threshold = _auc_null(m)
    score = within_sampling(np.maximum(auc - 0.5, 0.0), threshold, maximum=0.5)
    details = {
        "auc": auc[0],
        "auc_ci": list(percentile_ci(centred_replicates(auc[0], auc[1:]))),
        "real_vs_real_q95": 0.5 + threshold,
        "fold_aucs": [a[0] for a in aucs],
        "rows_per_class": m,
        "rows": {"train": len(cmp.train), "synthetic": len(cmp.synthetic)},
        "classifier": "HistGradientBoostingClassifier",
        "random_state": state,
        "folds": DETECT_FOLDS,
    }
    return bootstrapped(float(auc[0]), float(score[0]), score[1:], details)


def _auc_null(m: int) -> float:
    """The one-sided 95th percentile of AUC - 0.5 for m scored rows of each class when
    the scores do not depend on the class (Mann-Whitney U under the null)."""
    return float(ONE_SIDED_Z * np.sqrt((2 * m + 1) / (12.0 * m * m)))


def _squared_distances(a: np.ndarray, b: np.ndarray) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Blocks of squared Euclidean distances from rows of ``a`` to all rows of ``b`` (BLAS),
    each with a tolerance for float rounding (relative to the squared norms)."""
    norms_a, norms_b = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
    step = max(1, (1 << 22) // max(len(b), 1))
    for start in range(0, len(a), step):
        rows = slice(start, min(start + step, len(a)))
        d2 = norms_a[rows, None] + norms_b[None, :] - 2.0 * (a[rows] @ b.T)
        tolerance = _DISTANCE_TOLERANCE * (1.0 + norms_a[rows, None] + norms_b[None, :])
        yield rows, np.maximum(d2, 0.0), tolerance


def _radii(points: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of each point to its k-th nearest other point."""
    out = np.empty(len(points))
    for rows, d2, _ in _squared_distances(points, points):
        out[rows] = np.partition(d2, k, axis=1)[:, k]  # position 0 is the point itself
    return out


@metric("S.prdc", pillar="S", name="Precision and coverage (PRDC)")
@_single_threaded
def prdc(cmp: Comparison) -> Measurement:
    """Precision, recall, density and coverage (Naeem et al. 2020) in the train-fitted
    distance space, with k = 5 nearest-neighbour balls fitted on train (recall on
    the table under test's own balls); balls are closed, so duplicate rows lie in each
    other's ball. Score: the mean of precision and coverage. Computed on seeded
    subsamples of at most 5,000 rows of each table (sizes in the details).
    Interval: row bootstrap of the sampled rows, radii held fixed."""
    rng = cmp.rng(Stream.PRDC)
    real = cmp.encoding.transform(_sample(cmp.train, PRDC_ROWS, rng))
    fake = cmp.encoding.transform(_sample(cmp.synthetic, PRDC_ROWS, rng))
    if min(len(real), len(fake)) <= PRDC_K:
        raise MetricSkipped(f"PRDC needs more than k = {PRDC_K} rows in each table")
    real_r2, fake_r2 = _radii(real, PRDC_K), _radii(fake, PRDC_K)
    balls_holding = np.zeros(len(fake))  # per fake row: how many real balls contain it
    covered = np.zeros(len(real), dtype=bool)  # per real row: its ball holds a fake row
    recalled = np.zeros(len(real), dtype=bool)  # per real row: inside some fake row's ball
    for rows, d2, tol in _squared_distances(fake, real):
        inside = d2 <= real_r2[None, :] + tol
        balls_holding[rows] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
        recalled |= (d2 <= fake_r2[rows, None] + tol).any(axis=0)
    precise = balls_holding > 0
    w_fake, w_real = _weights(cmp, len(fake)), _weights(cmp, len(real))
    precision = np.concatenate([[precise.mean()], precise @ w_fake / len(fake)])
    coverage = np.concatenate([[covered.mean()], covered @ w_real / len(real)])
    score = (precision + coverage) / 2
    details = {
        "precision": precision[0],
        "recall": float(recalled.mean()),
        "density": float(balls_holding.sum() / (PRDC_K * len(fake))),
        "coverage": coverage[0],
        "k": PRDC_K,
        "rows": {"train": len(real), "synthetic": len(fake)},
        "rows_available": {"train": len(cmp.train), "synthetic": len(cmp.synthetic)},
    }
    return bootstrapped(float(score[0]), float(score[0]), score[1:], details)
