"""Cox's partial likelihood with Efron's handling of ties, maximised by Newton-Raphson.

Cox (JRSS B 1972) with ties as Efron (JASA 1977): at an event time with ``d`` deaths,
the l-th death (l = 0 .. d-1) sees the risk set less ``l/d`` of the dying rows' weight.
The log-likelihood, its gradient and its Hessian are computed for all event times at
once: risk-set sums are reverse cumulative sums over the rows sorted by time, and the
Hessian's sum over event times of weighted second moments is one product
``X^T diag(w) X``, where row i's weight gathers the terms of the event times at which it
is at risk. A Newton step costs O(n p^2), with no loop over event times (lifelines'
``CoxPHFitter`` loops over them in Python: 1.2-1.5 s per fit at 10,000 rows and 22 terms
here, against a few hundredths of a second).

The fit follows lifelines' conventions, so results agree with ``CoxPHFitter`` (checked
in the tests): covariates are centred and scaled by their standard deviation, the ridge
penalty is ``n * penalizer / 2 * |beta|^2`` on the scaled coefficients, and the
covariance of the coefficients is the inverse of the negative Hessian (penalised, as
lifelines'), scaled back.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg

#: Newton steps before a fit is declared not converged.
MAX_STEPS = 50
#: Converged when half the Newton decrement (the expected gain of the next step) falls
#: below this.
TOLERANCE = 1e-10


class NotConverged(Exception):
    """The Newton-Raphson iterations failed; the message says how."""


@dataclass(frozen=True)
class PartialLikelihoodFit:
    """Coefficients (log hazard ratios) on the covariates' own scale, their covariance,
    and the maximised log partial likelihood."""

    coef: np.ndarray
    cov: np.ndarray
    log_likelihood: float


@dataclass(frozen=True)
class _Sorted:
    """Rows sorted by time, with each event's tie group and its rank within it."""

    x: np.ndarray
    event: np.ndarray
    starts: np.ndarray  # per event time: the first sorted row at risk
    begins: np.ndarray  # per event time: its first event among the sorted events
    group: np.ndarray  # per event (sorted): its event time
    share: np.ndarray  # per event: l / d, Efron's share of the dying rows' weight removed

    @classmethod
    def of(cls, x: np.ndarray, time: np.ndarray, event: np.ndarray) -> _Sorted:
        order = np.lexsort((~event, time))  # by time, events first within a time
        time, event, x = time[order], event[order], x[order]
        event_times = time[event]
        firsts = np.r_[True, event_times[1:] != event_times[:-1]]
        group = np.cumsum(firsts) - 1
        starts = np.searchsorted(time, event_times[firsts], side="left")
        begin = np.flatnonzero(firsts)
        sizes = np.diff(np.r_[begin, len(event_times)])
        rank = np.arange(len(event_times)) - begin[group]
        return cls(x, event, starts, begin, group, rank / sizes[group])


def _derivatives(data: _Sorted, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood (Efron), its gradient and its Hessian at ``beta``."""
    x, event = data.x, data.event
    eta = x @ beta
    shift = eta.max()
    risk = np.exp(eta - shift)
    weighted = risk[:, None] * x
    at_risk0 = np.cumsum(risk[::-1])[::-1][data.starts]
    at_risk1 = np.cumsum(weighted[::-1], axis=0)[::-1][data.starts]
    g, c, begins = data.group, data.share, data.begins
    dying0 = np.add.reduceat(risk[event], begins)
    dying1 = np.add.reduceat(weighted[event], begins, axis=0)
    denominator = at_risk0[g] - c * dying0[g]
    numerator = (at_risk1[g] - c[:, None] * dying1[g]) / denominator[:, None]
    log_likelihood = float(eta[event].sum() - np.log(denominator).sum() - shift * len(g))
    gradient = x[event].sum(axis=0) - numerator.sum(axis=0)
    # Second moments: sum over events of (S2 - c * D2) / denominator, as one weighted product.
    row_weight = np.zeros(len(x))
    np.add.at(row_weight, data.starts, np.add.reduceat(1 / denominator, begins))
    row_weight = np.cumsum(row_weight) * risk
    row_weight[event] -= np.add.reduceat(c / denominator, begins)[g] * risk[event]
    hessian = numerator.T @ numerator - (x * row_weight[:, None]).T @ x
    return log_likelihood, gradient, hessian


def fit_partial_likelihood(
    x: np.ndarray, time: np.ndarray, event: np.ndarray, *, penalizer: float = 0.0, start: np.ndarray | None = None
) -> PartialLikelihoodFit:
    """Maximise the log partial likelihood of covariates ``x`` (n x p, no constant
    column) for ``time`` and boolean ``event``, from ``start`` (coefficients on the
    covariates' scale; zero by default), with a ridge ``penalizer`` on the scaled
    coefficients. Newton-Raphson with step halving; NotConverged when the Hessian is
    singular (collinear covariates), a value is not finite, or it does not converge in
    :data:`MAX_STEPS` steps."""
    x, event = np.asarray(x, dtype=float), np.asarray(event, dtype=bool)
    if not event.any():
        raise NotConverged("no event: the partial likelihood is flat")
    mean, scale = x.mean(axis=0), x.std(axis=0, ddof=1)
    data = _Sorted.of((x - mean) / scale, np.asarray(time, dtype=float), event)
    n, p = x.shape
    beta = np.zeros(p) if start is None else np.asarray(start, dtype=float) * scale

    def evaluate(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        ll, gradient, hessian = _derivatives(data, b)
        if penalizer > 0:
            ll -= n * penalizer / 2 * float(b @ b)
            gradient = gradient - n * penalizer * b
            hessian = hessian - n * penalizer * np.eye(p)
        return ll, gradient, hessian

    ll, gradient, hessian = evaluate(beta)
    for _ in range(MAX_STEPS):
        if not (np.isfinite(ll) and np.all(np.isfinite(gradient)) and np.all(np.isfinite(hessian))):
            raise NotConverged("the log partial likelihood or its derivatives are not finite")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", linalg.LinAlgWarning)  # ill-conditioned: as singular
                direction = linalg.solve(-hessian, gradient, assume_a="pos", check_finite=False)
        except (linalg.LinAlgError, linalg.LinAlgWarning, ValueError):
            raise NotConverged("the Hessian is singular (collinear covariates?)") from None
        if gradient @ direction / 2 < TOLERANCE:
            cov = linalg.inv(-hessian, check_finite=False) / np.outer(scale, scale)
            return PartialLikelihoodFit(beta / scale, cov, ll)
        step = 1.0
        while True:
            candidate = beta + step * direction
            new = evaluate(candidate)
            if np.isfinite(new[0]) and new[0] >= ll - 1e-12 * abs(ll):
                break
            step /= 2
            if step < 1e-8:
                raise NotConverged("no Newton step increases the log partial likelihood")
        beta, (ll, gradient, hessian) = candidate, new
    raise NotConverged(f"Newton-Raphson did not converge in {MAX_STEPS} steps")
