"""The analyses a scenario runs on each table: a two-group (or one-covariate) survival
contrast as an estimate and its variance.

- ``cox``: the log hazard ratio of a univariable Cox model (Cox, JRSS B 1972), fitted by
  :func:`~safe_bench.metrics.clinical.partial_likelihood.fit_partial_likelihood` (Efron's ties, as
  lifelines' ``CoxPHFitter``);
- ``logrank``: the log-rank test as Peto's one-step log hazard ratio (O - E) / V with
  variance 1 / V (Peto et al., Br J Cancer 1977; Yusuf et al., Prog Cardiovasc Dis
  1985), so its z statistic is the log-rank test's;
- ``rmst``: the difference in restricted mean survival time at ``tau`` (Royston &
  Parmar, BMC Med Res Methodol 2013), Kaplan-Meier areas with the variance of Klein &
  Moeschberger (2003, section 4.5).

Each also says how much information a part of the table carries (:func:`information`):
events for the hazard-ratio analyses, rows for the RMST, the counts their variances
shrink with. :mod:`~safe_bench.scenarios.inference` uses them to share the variance
between real and synthetic parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import special

from safe_bench.errors import SafeBenchError
from safe_bench.metrics.clinical.estimators import EventTimes, kaplan_meier
from safe_bench.metrics.clinical.partial_likelihood import NotConverged, fit_partial_likelihood

Analysis = Literal["cox", "logrank", "rmst"]
ANALYSES: tuple[Analysis, ...] = ("cox", "logrank", "rmst")
#: Two-sided level of the tests and intervals.
ALPHA = 0.05
Z = float(special.ndtri(1 - ALPHA / 2))


class AnalysisFailed(SafeBenchError):
    """The analysis cannot be computed on this table (no events in a group, no contrast,
    a Cox fit that does not converge); the replicate counts as failed for it."""


@dataclass(frozen=True)
class Estimate:
    """An estimate (log hazard ratio, or RMST difference) and its variance."""

    value: float
    variance: float

    @property
    def se(self) -> float:
        return float(np.sqrt(self.variance))

    def rejects(self, null: float = 0.0) -> bool:
        """Whether the two-sided Wald test at :data:`ALPHA` rejects ``value == null``."""
        return abs(self.value - null) > Z * self.se

    def covers(self, truth: float) -> bool:
        """Whether the 95 % Wald interval holds ``truth``."""
        return abs(self.value - truth) <= Z * self.se

    def interval(self) -> tuple[float, float]:
        return self.value - Z * self.se, self.value + Z * self.se


def attempt(compute: Callable[..., Estimate], *args: Any) -> Estimate | None:
    """The estimate ``compute(*args)`` gives, or None when the analysis fails on that
    table (the replicate then counts as failed for it)."""
    try:
        return compute(*args)
    except AnalysisFailed:
        return None


def information(analysis: Analysis, event: np.ndarray) -> float:
    """What a part of a table contributes to the precision of ``analysis``: its events
    (hazard ratios: Var log HR ~ 1/d_1 + 1/d_0) or its rows (RMST: Var ~ 1/n)."""
    return float(np.sum(event)) if analysis in ("cox", "logrank") else float(len(event))


def estimate(analysis: Analysis, time: np.ndarray, event: np.ndarray, x: np.ndarray, *,
             tau: float | None = None) -> Estimate:
    """``analysis`` of the contrast ``x`` (a 0/1 group indicator; a numeric covariate
    for ``cox``) on survival ``time`` and ``event``."""
    time, event, x = (np.asarray(a, dtype=float) for a in (time, event, x))
    if len(x) == 0 or np.ptp(x) == 0:
        raise AnalysisFailed("the contrast does not vary in this table")
    if analysis == "cox":
        return cox_log_hr(time, event, x)
    if analysis == "logrank":
        return peto_log_hr(time, event, x)
    if tau is None:
        raise ValueError("the RMST difference needs tau")
    return rmst_difference(time, event, x, tau)


def cox_log_hr(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> Estimate:
    """Log hazard ratio per unit of ``x`` in a univariable Cox model (Efron's ties)."""
    if event.sum() == 0:
        raise AnalysisFailed("no events")
    if set(np.unique(x)) <= {0.0, 1.0} and min(event[x == 1].sum(), event[x == 0].sum()) == 0:
        raise AnalysisFailed("a group without events: the hazard ratio is infinite")
    try:
        fit = fit_partial_likelihood(x[:, None], time, event.astype(bool))
    except NotConverged:
        raise AnalysisFailed("the Cox fit did not converge") from None
    value, variance = float(fit.coef[0]), float(fit.cov[0, 0])
    if not (np.isfinite(value) and np.isfinite(variance) and variance > 0):
        raise AnalysisFailed("the Cox fit gave no finite estimate")
    return Estimate(value, variance)


def peto_log_hr(time: np.ndarray, event: np.ndarray, x: np.ndarray) -> Estimate:
    """Peto's log hazard ratio of group ``x == 1`` against ``x == 0``: (O - E) / V, the
    log-rank score over its hypergeometric variance, with variance 1 / V."""
    counts = EventTimes.of(time, event)
    at_risk, died = counts.level_counts((x == 1).astype(np.int64), 2)
    d, n = died.sum(axis=0), at_risk.sum(axis=0)
    step = (d > 0) & (n > 0)
    d, n, at_risk1, died1 = d[step], n[step], at_risk[1, step], died[1, step]
    share = at_risk1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    v = float(np.sum(spread * share * (1 - share)))
    if v <= 0:
        raise AnalysisFailed("the log-rank variance is zero (no event where both groups are at risk)")
    return Estimate(float(np.sum(died1 - d * share)) / v, 1.0 / v)


def rmst_difference(time: np.ndarray, event: np.ndarray, x: np.ndarray, tau: float) -> Estimate:
    """RMST at ``tau`` of group ``x == 1`` minus that of group ``x == 0``."""
    parts = []
    for group in (1.0, 0.0):
        inside = x == group
        curve = kaplan_meier(time[inside], event[inside])
        parts.append((curve.rmst(tau), curve.rmst_variance(tau)))
    (m1, v1), (m0, v0) = parts
    if v1 + v0 <= 0:
        raise AnalysisFailed("the RMST difference has no variance (no event before tau)")
    return Estimate(m1 - m0, v1 + v0)


def common_tau(time: np.ndarray, x: np.ndarray) -> float:
    """The default RMST horizon: the smaller of the two groups' largest follow-up, the
    last time both groups are observed."""
    time, x = np.asarray(time, dtype=float), np.asarray(x)
    return float(min(time[x == 1].max(), time[x == 0].max()))
