"""The vectorised bootstrap of the two-sample Kolmogorov-Smirnov statistic (S.ks):
the statistic of every resample of the table under test at once, streamed in blocks
of sorted positions (:func:`ks_replicates`)."""

from __future__ import annotations

import numpy as np

from safe_bench.metrics.fidelity.counts import Replicated

#: Elements per block of the vectorised KS replicates.
_KS_BLOCK = 1 << 20


class Buffers:
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
    layout of the blocked cumulative sums in :func:`ks_replicates`), float32, padded."""
    blocks = -(-len(values) // block)
    padded = np.full(blocks * block, fill, dtype=np.float32)
    padded[: len(values)] = values
    return padded.reshape(blocks, block).T[:, :, None].copy()


def ks_replicates(t: np.ndarray, under_test: np.ndarray, weights: np.ndarray, buffers: Buffers) -> Replicated:
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
