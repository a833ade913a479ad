"""Confidence intervals: seeded row bootstrap, Wilson score interval, Student t interval.

Bootstrap resamples are drawn from ``numpy.random.default_rng((seed, b))``: every
metric that resamples a table of the same size in the same evaluation sees the same
resamples (common random numbers), so pillar scores can be bootstrapped jointly. Every
other random draw comes from a stream named by its purpose (:class:`Stream`), seeded
``(seed, PURPOSES, purpose, ...)``: its third seed word is never zero, where a resample's
(two words, zero-padded by numpy's ``SeedSequence``) always is, so no purpose draws a
resample's numbers, whatever the number of resamples.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator

import numpy as np
from scipy import stats

LEVEL = 0.95
#: The one-sided quantile at :data:`LEVEL` of the standard normal (1.645): the bound
#: a distance judged against its null distribution must exceed.
ONE_SIDED_Z = float(stats.norm.ppf(LEVEL))


#: The second seed word of every purpose stream: it sets them apart from resamples.
PURPOSES = 0x5AFE


@enum.unique
class Stream(enum.IntEnum):
    """Every purpose a seeded random draw serves besides the bootstrap resamples: the
    third seed word of its stream ``(seed, PURPOSES, word, ...)`` (never zero)."""

    HOLDOUT_HALVES = 1
    PILLAR_COMBINATION = 2
    SUBSAMPLE = 3
    KWAY_TRIPLES = 41
    DETECTION = 42
    PRDC = 43
    INFERENCE_TARGETS = 61
    LINKABILITY_TARGETS = 62
    SINGLING_OUT = 63
    TSTR_TRAIN_ROWS = 0x757
    TSTR_TEST_ROWS = 0x758
    TV_NULL = 0x7F5
    KWAY_NULL = 0x7F6
    COX_DRAWS = 0xC0C
    COX_FIT = 0xC0C5
    FINDINGS_DRAWS = 0xF1D
    REAL_VS_REAL = 0x4E554C4C
    SCENARIO_SPLIT = 0x5C1
    SCENARIO_OUTCOMES = 0x5C2
    SCENARIO_GENERATOR = 0x5C3
    SCENARIO_SAMPLE = 0x5C4
    SCENARIO_PERMUTATION = 0x5C5
    FEDERATED_PARTITION = 0xFED
    FEDERATED_MODEL = 0xFE1
    FEDERATED_SAMPLE = 0xFE2


def stream(seed: int, purpose: Stream, *extra: int) -> np.random.Generator:
    """The random stream of ``purpose`` in the evaluation seeded ``seed`` (``extra``
    words tell apart draws of one purpose, e.g. subsample sizes)."""
    return np.random.default_rng((seed, PURPOSES, int(purpose), *extra))


def seeds(seed: int, purpose: Stream, *extra: int, count: int) -> list[int]:
    """``count`` integer seeds for library calls (a generator's fit and sample), drawn
    from the stream of ``purpose``; below 2**31 - 1000 so that ``s + i`` for a few
    consecutive draws stays a valid seed."""
    return [int(s) for s in stream(seed, purpose, *extra).integers(0, 2**31 - 1 - 1000, size=count)]


def resamples(n: int, n_bootstrap: int, seed: int) -> Iterator[np.ndarray]:
    """``n_bootstrap`` index arrays, each ``n`` rows drawn with replacement."""
    for b in range(n_bootstrap):
        yield np.random.default_rng((seed, b)).integers(0, n, size=n)


def bootstrap(
    statistic: Callable[[np.ndarray], float], n: int, n_bootstrap: int, seed: int
) -> np.ndarray:
    """Replicates of ``statistic(indices)`` over row resamples of a table of ``n`` rows."""
    return np.array([statistic(idx) for idx in resamples(n, n_bootstrap, seed)], dtype=float)


def percentile_ci(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of bootstrap replicates (NaN replicates ignored)."""
    finite = replicates[np.isfinite(replicates)]
    if len(finite) == 0:
        return (float("nan"), float("nan"))
    alpha = (1 - level) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def centred_replicates(point: float, replicates: np.ndarray) -> np.ndarray:
    """Bootstrap replicates shifted so their mean is the point estimate, clipped to 0..1.

    Resampling adds noise, and a distance between two samples grows with noise, so
    the raw replicates of a distance-based score sit below the point estimate.
    Re-centring keeps the bootstrap spread and removes that bias (the bias
    correction of Efron & Tibshirani 1993, ch. 10), so the interval contains the
    estimate. Scores live in 0..1, so are the replicates.
    """
    finite = np.isfinite(replicates)
    if not finite.any():
        return replicates
    return np.clip(replicates - np.mean(replicates[finite]) + point, 0.0, 1.0)


def wilson_ci(successes: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927); (0, 1) when n is 0."""
    if n <= 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def t_interval(
    values: np.ndarray, level: float = LEVEL, bounds: tuple[float, float] = (-np.inf, np.inf)
) -> tuple[float, float, float]:
    """Mean and Student t interval of a small sample (e.g. scores over seeds), the
    interval held within ``bounds`` (a score's range: three seeds near 1 must not
    give an upper limit above 1)."""
    values = np.asarray(values, dtype=float)
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(1 - (1 - level) / 2, len(values) - 1) * stats.sem(values)
    return mean, float(max(mean - half, bounds[0])), float(min(mean + half, bounds[1]))


def within_sampling(
    distance: np.ndarray | float, threshold: np.ndarray | float, maximum: float = np.inf
) -> np.ndarray:
    """A distance scored on the scale of real sampling variability: 1 while it is within
    ``threshold``, the 95th percentile of the same distance between two real samples of
    the same sizes, then ``threshold / distance`` (0.5 at twice what real sampling
    gives, 0.2 at five times). A fixed absolute scale saturates: a clearly broken table
    can sit at 0.9 on ``1 - distance`` when real samples sit at 0.97; judged against its
    real-vs-real distribution, it falls (e.g. the standardized difference of Chassat et
    al. 2025, scored against 1.96). A distance bounded by ``maximum`` (KS, total
    variation: nothing shared at 1) also falls linearly to 0 there, so small tables,
    whose sampling threshold is wide, cannot score a disjoint distribution above 0."""
    d = np.asarray(distance, dtype=float)
    q = np.broadcast_to(np.asarray(threshold, dtype=float), d.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(1.0, q / d)
        if np.isfinite(maximum):
            ratio = np.minimum(ratio, np.clip((maximum - d) / np.maximum(maximum - q, 1e-12), 0.0, 1.0))
        return np.where(d <= q, 1.0, ratio)


def proportion_threshold(p: float, n: int, m: int) -> float:
    """1.96 standard errors of the difference between a share in two real samples of
    ``n`` and ``m`` rows whose true share is ``p`` (``p(1 - p)`` held at least at
    ``0.25 / n`` so that a share of 0 or 1 in train still allows sampling noise)."""
    spread = max(p * (1.0 - p), 0.25 / n)
    return float(stats.norm.ppf(1 - (1 - LEVEL) / 2) * np.sqrt(spread * (1.0 / n + 1.0 / m)))
