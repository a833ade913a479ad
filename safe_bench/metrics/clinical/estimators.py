"""Survival statistics on plain arrays, with frequency weights.

- Kaplan-Meier estimator (Kaplan & Meier, JASA 1958) with Greenwood's variance and the
  exponential ("log-log") Greenwood confidence band, median and restricted mean
  survival time (Royston & Parmar, BMC Med Res Methodol 2013);
- the multivariate log-rank test (Mantel 1966; Peto & Peto 1972);
- Harrell's concordance index with frequency weights (Harrell et al., JAMA 1982).

Everything takes frequency weights, so a bootstrap replicate is the same statistic
with resample counts as weights. :class:`EventTimes` sorts a sample's times once;
each weighted estimate (a subgroup, a replicate) then costs a few ``bincount``. The
results equal lifelines' ``KaplanMeierFitter``, ``multivariate_logrank_test``,
``restricted_mean_survival_time`` and ``concordance_index`` (checked in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, special, stats

from safe_bench.evaluation.uncertainty import LEVEL


def chi2_p(statistic: float, df: int) -> float:
    """Upper tail of the chi-square law (scipy's ufunc: fast inside bootstrap loops)."""
    return float(special.chdtrc(df, statistic)) if df > 0 else 1.0


def normal_p(z: np.ndarray) -> np.ndarray:
    """Two-sided p-value of a standard normal statistic."""
    return 2 * special.ndtr(-np.abs(z))


@dataclass(frozen=True)
class StepCurve:
    """A right-continuous step function S(t): 1 before ``times[0]``, then ``survival``.

    ``variance`` is Greenwood's sum at each step, for the confidence band.
    """

    times: np.ndarray
    survival: np.ndarray
    variance: np.ndarray | None = None

    def _step(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.times, t, side="right") - 1

    def at(self, t: np.ndarray) -> np.ndarray:
        if len(self.times) == 0:
            return np.ones(np.shape(t))
        pos = self._step(t)
        return np.where(pos < 0, 1.0, self.survival[np.maximum(pos, 0)])

    def band(self, t: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
        """Exponential Greenwood interval at ``t`` (as lifelines): S^exp(±z·sqrt(V)/log S)."""
        if self.variance is None:
            raise ValueError("this curve carries no variance (weighted curves do not)")
        s = self.at(t)
        pos = self._step(t)
        var = np.where(pos < 0, 0.0, self.variance[np.maximum(pos, 0)] if len(self.times) else 0.0)
        z = stats.norm.ppf(1 - (1 - level) / 2)
        inner = (s > 0) & (s < 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_s = np.log(np.where(inner, s, 0.5))
            half = z * np.sqrt(var) / log_s
            low = np.exp(-np.exp(np.log(-log_s) - half))
            high = np.exp(-np.exp(np.log(-log_s) + half))
        return np.where(inner, low, s), np.where(inner, high, s)

    def median(self) -> float:
        """First time S(t) <= 0.5 (infinite when the curve stays above), as lifelines."""
        below = np.flatnonzero(self.survival <= 0.5)
        return float(self.times[below[0]]) if len(below) else float("inf")

    def rmst(self, tau: float) -> float:
        """Restricted mean survival time: the area under S(t) over [0, tau]."""
        breaks = np.concatenate([[0.0], self.times[(self.times > 0) & (self.times < tau)], [tau]])
        return float(np.sum(self.at(breaks[:-1]) * np.diff(breaks)))

    def rmst_variance(self, tau: float) -> float:
        """Variance of :meth:`rmst` (Klein & Moeschberger, Survival Analysis, 2nd ed., 2003,
        section 4.5): the sum over event times t_j <= tau of A_j^2 d_j / (n_j (n_j - d_j)),
        A_j the area under S from t_j to tau; the terms are the steps of Greenwood's sum
        (a step that empties the risk set adds nothing, as in :meth:`EventTimes.kaplan_meier`)."""
        if self.variance is None:
            raise ValueError("this curve carries no variance (weighted curves do not)")
        inside = self.times <= tau
        if not inside.any():
            return 0.0
        steps = np.diff(np.concatenate([[0.0], self.variance[inside]]))
        ends = np.append(self.times[inside][1:], tau)
        pieces = self.survival[inside] * (ends - self.times[inside])  # S is constant on [t_j, t_j+1)
        after = pieces[::-1].cumsum()[::-1]  # area from t_j to tau
        return float(np.sum(after**2 * steps))


@dataclass(frozen=True)
class LogRank:
    """A log-rank test across the levels of a group: chi-square statistic, p-value, and
    per level the observed and expected events (O/E > 1: worse than average)."""

    statistic: float
    p_value: float
    df: int
    observed: np.ndarray
    expected: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.observed / self.expected

    def at_size(self, factor: float) -> LogRank:
        """The test as it would come out on ``factor`` times as many patients with the same
        survival (the statistic grows linearly with the sample size)."""
        statistic = self.statistic * factor
        p = chi2_p(statistic, self.df)
        return LogRank(statistic, p, self.df, self.observed * factor, self.expected * factor)


@dataclass(frozen=True)
class EventTimes:
    """A sample's distinct event times (sorted) and each row's slot among them: the last
    event time at or before the row's time (-1 before the first). A row is at risk at
    every event time up to its slot, so weighted counts are one ``bincount`` over slots."""

    times: np.ndarray
    slot: np.ndarray
    event: np.ndarray

    @classmethod
    def of(cls, time: np.ndarray, event: np.ndarray) -> EventTimes:
        time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=float)
        times = np.unique(time[event > 0])
        return cls(times, np.searchsorted(times, time, side="right") - 1, event)

    def __len__(self) -> int:
        return len(self.slot)

    def counts(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(at risk, events) at each event time."""
        w = np.ones(len(self)) if weights is None else np.asarray(weights, dtype=float)
        inside = self.slot >= 0
        slot, w, e = self.slot[inside], w[inside], self.event[inside]
        leaving = np.bincount(slot, weights=w, minlength=len(self.times))
        events = np.bincount(slot, weights=w * e, minlength=len(self.times))
        return leaving[::-1].cumsum()[::-1], events

    def positions(self, t: np.ndarray) -> np.ndarray:
        """Index of the last event time at or before each ``t`` (-1 before the first)."""
        return np.searchsorted(self.times, t, side="right") - 1

    def survival_at(self, positions: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Kaplan-Meier S(t) at times given by their :meth:`positions` (fast for replicates)."""
        at_risk, events = self.counts(weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(events > 0, 1.0 - events / at_risk, 1.0)
        survival = np.concatenate([[1.0], np.cumprod(factor)])
        return survival[positions + 1]

    def kaplan_meier(self, weights: np.ndarray | None = None) -> StepCurve:
        """The Kaplan-Meier curve; Greenwood's variance comes with unweighted curves."""
        at_risk, events = self.counts(weights)
        step = events > 0
        at_risk, events = at_risk[step], events[step]
        survival = np.cumprod(1.0 - events / at_risk)
        variance = None
        if weights is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = events / (at_risk * (at_risk - events))
            variance = np.cumsum(np.where(np.isfinite(terms), terms, 0.0))
        return StepCurve(self.times[step], survival, variance)

    def level_counts(
        self, codes: np.ndarray, n_levels: int, weights: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(at risk, events) at each event time for each level: two (levels x times) arrays
        (``codes`` 0..n_levels-1; -1 leaves a row out)."""
        return self.level_slots(codes, n_levels).counts(weights)

    def level_slots(self, codes: np.ndarray, n_levels: int) -> LevelSlots:
        """Each row's (level, event slot) cell, for counting under many weights."""
        codes = np.asarray(codes, dtype=np.int64)
        inside = np.flatnonzero((codes >= 0) & (self.slot >= 0))
        n_t = len(self.times)
        return LevelSlots(inside, codes[inside] * n_t + self.slot[inside], self.event[inside], int(n_levels), n_t)

    def logrank(self, codes: np.ndarray, n_levels: int, weights: np.ndarray | None = None) -> LogRank:
        """Log-rank test across ``n_levels`` groups (``codes`` 0..n_levels-1; -1 leaves a row out)."""
        return self.level_slots(codes, n_levels).logrank(weights)


@dataclass(frozen=True)
class LevelSlots:
    """The rows of a sample that count (a level, an event slot), with their cell in the
    (levels x event times) table and their event indicator."""

    rows: np.ndarray
    cells: np.ndarray
    event: np.ndarray
    n_levels: int
    n_times: int

    def counts(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(at risk, events) at each event time for each level, under row ``weights``."""
        size = self.n_levels * self.n_times
        w = None if weights is None else np.asarray(weights, dtype=float)[self.rows]
        leaving = np.bincount(self.cells, weights=w, minlength=size).reshape(self.n_levels, self.n_times)
        died = np.bincount(self.cells, weights=self.event if w is None else w * self.event, minlength=size)
        return leaving[:, ::-1].cumsum(axis=1)[:, ::-1], died.reshape(self.n_levels, self.n_times)

    def logrank(self, weights: np.ndarray | None = None) -> LogRank:
        """Log-rank test across the levels, under row ``weights``."""
        at_risk, died = self.counts(weights)
        total_died = died.sum(axis=0)
        step = total_died > 0
        at_risk, died, d = at_risk[:, step], died[:, step], total_died[step]
        n = at_risk.sum(axis=0)
        share = at_risk / n
        observed = died.sum(axis=1)
        expected = (d * share).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            spread = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
        weighted = spread * share
        cov = np.diag(weighted.sum(axis=1)) - np.einsum("it,jt->ij", weighted, share)
        diff = (observed - expected)[:-1]
        statistic = float(diff @ np.linalg.pinv(cov[:-1, :-1]) @ diff) if self.n_levels > 1 else 0.0
        df = self.n_levels - 1
        return LogRank(statistic, chi2_p(statistic, df), df, observed, expected)


@dataclass(frozen=True)
class Horizon:
    """[0, tau] cut at every event time of some samples. Their Kaplan-Meier curves are
    constant on each piece, so distances and areas on [0, tau] are exact sums."""

    starts: np.ndarray
    widths: np.ndarray

    @property
    def tau(self) -> float:
        return float(self.starts[-1] + self.widths[-1])

    @classmethod
    def of(cls, tau: float, *samples: EventTimes) -> Horizon:
        """[0, tau] cut at every event time of the samples."""
        return cls.at(tau, *(s.times for s in samples))

    @classmethod
    def at(cls, tau: float, *times: np.ndarray) -> Horizon:
        """[0, tau] cut at the given times (those inside it)."""
        inner = np.unique(np.concatenate([t[(t > 0) & (t < tau)] for t in times]))
        edges = np.concatenate([[0.0], inner, [tau]])
        return cls(edges[:-1], np.diff(edges))

    def area(self, values: np.ndarray) -> np.ndarray:
        """The integral over [0, tau] of step functions given at :attr:`starts` (last axis)."""
        return (values * self.widths).sum(axis=-1)


def level_steps(sample: EventTimes, codes: np.ndarray, n_levels: int) -> list[np.ndarray]:
    """For each level, the sample's event slots at which a row of that level has an event:
    the only places where the level's Kaplan-Meier curve can step, whatever the weights."""
    has = (codes >= 0) & (sample.slot >= 0) & (sample.event > 0)
    level, slot = np.divmod(np.unique(codes[has] * len(sample.times) + sample.slot[has]), len(sample.times))
    return [slot[level == k] for k in range(n_levels)]


@dataclass(frozen=True)
class LevelCurves:
    """Every level's Kaplan-Meier curve of a sample, read on pieces of [0, tau] of each
    level's own, under many row weights at once (the columns of a matrix: bootstrap
    replicates, say).

    A level's curve steps only at its own event times, so it is computed there only:
    at its *steps*, the (level, event time) cells that hold an event (about one per
    event, not levels x event times). A row is at risk at the steps of its level up to
    its own time, so it is counted once, at the last of them, and the numbers at risk
    are sums from each step to its level's end; the deaths are counted at their own
    step. Those counts and each level's rows are one sparse product with the weight
    matrix (:attr:`counting`; exact in float32 for the integer weights of a bootstrap
    below 2**24 rows), for every column at once. Each level's product runs over its
    steps alone, the pieces read it by one gather, and ``np.add.reduceat`` over
    :attr:`starts` sums each level's pieces (:meth:`area`). Comparing the curve with
    another needs only the pieces cut at the two curves' steps."""

    #: (2 steps + levels) x rows: each row at its last step at risk, each death at its
    #: step, each row in its level.
    counting: sparse.csr_matrix
    #: Where each level's steps begin among the steps (and their count, last).
    bounds: np.ndarray
    #: For each step, where its level's steps end.
    level_end: np.ndarray
    #: Index of each piece's start in the survival array: per level, 1 then its steps.
    reads: np.ndarray
    #: Where each level's pieces begin in the flat arrays, and every piece's width.
    starts: np.ndarray
    widths: np.ndarray

    @classmethod
    def on(cls, sample: EventTimes, codes: np.ndarray, n_levels: int, horizons: list[Horizon]) -> LevelCurves:
        """Curves of each level read at the starts of its horizon's pieces."""
        slots = sample.level_slots(codes, n_levels)
        steps = np.unique(slots.cells[slots.event > 0])
        step_level = steps // slots.n_times
        bounds = np.searchsorted(step_level, np.arange(n_levels + 1))
        last = np.searchsorted(steps, slots.cells, side="right") - 1  # a row's last step at or before it...
        counted = (last >= 0) & (step_level[np.maximum(last, 0)] == slots.cells // slots.n_times)  # ...of its level
        dies = slots.event > 0
        codes = np.asarray(codes, dtype=np.int64)
        members = np.flatnonzero(codes >= 0)
        n_steps = len(steps)
        counting = sparse.csr_matrix(
            (np.ones(counted.sum() + dies.sum() + len(members), dtype=np.float32),
             (np.concatenate([last[counted], n_steps + np.searchsorted(steps, slots.cells[dies]),
                              2 * n_steps + codes[members]]),
              np.concatenate([slots.rows[counted], slots.rows[dies], members]))),
            shape=(2 * n_steps + n_levels, len(sample)))
        # a piece of level k starting at event slot p reads the product over k's steps at slots <= p
        reads = np.concatenate([
            k + bounds[k] + np.searchsorted(steps[bounds[k]:bounds[k + 1]] - k * slots.n_times,
                                            sample.positions(h.starts), side="right")
            for k, h in enumerate(horizons)])
        return cls(counting, bounds, bounds[step_level + 1], reads,
                   np.cumsum([0] + [len(h.starts) for h in horizons[:-1]]), np.concatenate([h.widths for h in horizons]))

    def __call__(self, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every level's survival at the start of each of its pieces (pieces x columns of
        ``weights``), and each level's weighted rows (levels x columns); without
        ``weights``, the sample's own (one column)."""
        n_steps, n_levels = len(self.level_end), len(self.bounds) - 1
        w = np.ones((self.counting.shape[1], 1), dtype=np.float32) if weights is None else weights
        counted = np.asarray(self.counting @ w.reshape(len(w), -1), dtype=float)
        suffix = np.zeros((n_steps + 1, counted.shape[1]))
        suffix[:n_steps] = np.cumsum(counted[:n_steps][::-1], axis=0)[::-1]
        at_risk, died = suffix[:n_steps] - suffix[self.level_end], counted[n_steps : 2 * n_steps]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(died > 0, 1.0 - died / at_risk, 1.0)
        survival = np.ones((n_steps + n_levels, counted.shape[1]))
        for k in range(n_levels):  # one product per level, each after its leading 1
            lo, hi = self.bounds[k], self.bounds[k + 1]
            np.cumprod(factor[lo:hi], axis=0, out=survival[k + lo + 1 : k + hi + 1])
        return survival[self.reads], counted[2 * n_steps :]

    def area(self, values: np.ndarray) -> np.ndarray:
        """Per level, the integral over [0, tau] of step values given at its pieces' starts."""
        return np.add.reduceat(values * self.widths[:, None], self.starts, axis=0)

    def sup(self, values: np.ndarray) -> np.ndarray:
        """Per level, the largest of its pieces' values."""
        return np.maximum.reduceat(values, self.starts, axis=0)


def kaplan_meier(time: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None) -> StepCurve:
    """Kaplan-Meier survival at each distinct event time (weights: frequency weights)."""
    return EventTimes.of(time, event).kaplan_meier(weights)


def curve_distance(a: StepCurve, b: StepCurve, tau: float) -> tuple[float, float]:
    """Integrated absolute difference over [0, tau] and the sup-norm, between two curves."""
    breaks = np.union1d(a.times, b.times)
    breaks = np.concatenate([[0.0], breaks[(breaks > 0) & (breaks < tau)], [tau]])
    gap = np.abs(a.at(breaks[:-1]) - b.at(breaks[:-1]))
    return float(np.sum(gap * np.diff(breaks))), float(gap.max(initial=0.0))


def concordance_pairs(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harrell's pair matrices for a test set: ``comparable[i, j]`` when i had the event
    before j left (or j was censored at i's event time, as lifelines counts), and
    ``concordant[i, j]`` (1, or 0.5 for tied risks) when i was given the higher risk.
    With them, the weighted C-index is ``w @ concordant @ w / w @ comparable @ w``."""
    t_i, t_j = time[:, None], time[None, :]
    comparable = (event[:, None] > 0) & ((t_j > t_i) | ((t_j == t_i) & (event[None, :] == 0)))
    order = np.sign(risk[:, None] - risk[None, :])
    concordant = np.where(comparable, (order + 1) / 2, 0.0)
    return comparable.astype(np.float32), concordant.astype(np.float32)


def weighted_concordance(comparable: np.ndarray, concordant: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """C-index for each row of ``weights`` (frequency weights, e.g. bootstrap counts)."""
    w = np.atleast_2d(weights).astype(np.float32)
    pairs = np.einsum("bi,bi->b", w @ comparable, w)
    agree = np.einsum("bi,bi->b", w @ concordant, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pairs > 0, agree / pairs, np.nan).astype(float)
