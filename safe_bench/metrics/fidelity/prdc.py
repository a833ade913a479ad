"""S.prdc: precision, recall, density and coverage of the table under test against
train, in the train-fitted distance space."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.fidelity.counts import resample_weights, single_threaded
from safe_bench.metrics.fidelity.subsample import subsample

#: Rows of train and of the table under test for S.prdc (a seeded subsample beyond that).
PRDC_ROWS = 5_000
#: Neighbours defining the S.prdc radii (Naeem et al. 2020 use k = 5).
PRDC_K = 5
#: Distances within this of a radius count as inside the ball (float rounding).
_DISTANCE_TOLERANCE = 1e-9


def _squared_distances(a: np.ndarray, b: np.ndarray, *, slack: float = 0.0) -> Iterator[tuple[slice, np.ndarray]]:
    """Blocks of squared Euclidean distances from rows of ``a`` to all rows of ``b``
    (BLAS, computed in place), each less ``slack`` times ``1 + |a|^2 + |b|^2``: with
    ``slack`` a tolerance for float rounding, ``d2 <= r2`` then counts a distance within
    the tolerance of ``r2`` as inside the ball."""
    norms_a, norms_b = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
    shift_a, shift_b = (1.0 - slack) * norms_a - slack, (1.0 - slack) * norms_b
    step = max(1, (1 << 22) // max(len(b), 1))
    for start in range(0, len(a), step):
        rows = slice(start, min(start + step, len(a)))
        d2 = a[rows] @ b.T
        d2 *= -2.0
        d2 += shift_a[rows, None]
        d2 += shift_b[None, :]
        yield rows, d2


def _radii(points: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of each point to its k-th nearest other point."""
    out = np.empty(len(points))
    for rows, d2 in _squared_distances(points, points):
        out[rows] = np.partition(d2, k, axis=1)[:, k]  # position 0 is the point itself
    return np.maximum(out, 0.0)  # float rounding can leave a duplicate's distance below 0


@metric("S.prdc", pillar="S", name="Precision and coverage (PRDC)")
@single_threaded
def prdc(cmp: Comparison) -> Measurement:
    """Precision, recall, density and coverage (Naeem et al. 2020) in the train-fitted
    distance space, with k = 5 nearest-neighbour balls fitted on train (recall on
    the table under test's own balls); balls are closed, so duplicate rows lie in each
    other's ball. Score: the mean of precision and coverage. Computed on seeded
    subsamples of at most 5,000 rows of each table (sizes in the details).
    Interval: row bootstrap of the sampled rows, radii held fixed."""
    rng = cmp.rng(Stream.PRDC)
    real = cmp.encoding.transform(subsample(cmp.train, PRDC_ROWS, rng))
    fake = cmp.encoding.transform(subsample(cmp.synthetic, PRDC_ROWS, rng))
    if min(len(real), len(fake)) <= PRDC_K:
        raise MetricSkipped(f"PRDC needs more than k = {PRDC_K} rows in each table")
    # train's subsample and radii are the same for the synthetic run and the reference run
    real_r2 = cmp.cached(("prdc radii", cmp.name_of("train"), len(real)), lambda: _radii(real, PRDC_K))
    fake_r2 = _radii(fake, PRDC_K)
    balls_holding = np.zeros(len(fake))  # per fake row: how many real balls contain it
    covered = np.zeros(len(real), dtype=bool)  # per real row: its ball holds a fake row
    recalled = np.zeros(len(real), dtype=bool)  # per real row: inside some fake row's ball
    for rows, d2 in _squared_distances(fake, real, slack=_DISTANCE_TOLERANCE):
        inside = d2 <= real_r2[None, :]
        balls_holding[rows] = inside.sum(axis=1)
        covered |= inside.any(axis=0)
        recalled |= (d2 <= fake_r2[rows, None]).any(axis=0)
    precise = balls_holding > 0
    w_fake, w_real = resample_weights(cmp, len(fake)), resample_weights(cmp, len(real))
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
