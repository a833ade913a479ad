"""C.cox: the same multivariable Cox model on train and on the table under test."""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.comparison import Comparison
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import ALPHA, require_events
from safe_bench.metrics.clinical.coxmodel import Z95, CoxFit, cox_pair

_SALT = 0xC0C


def ci_overlap(low_a: np.ndarray, high_a: np.ndarray, low_b: np.ndarray, high_b: np.ndarray) -> np.ndarray:
    """Interval overlap of Karr et al. (Am Stat 2006): the mean of the overlap's share of
    each interval, 0 when they are disjoint."""
    overlap = np.maximum(np.minimum(high_a, high_b) - np.maximum(low_a, low_b), 0.0)
    return 0.5 * (overlap / (high_a - low_a) + overlap / (high_b - low_b))


def coefficient_draws(fit: CoxFit, rng: np.random.Generator, n: int) -> np.ndarray:
    """Parametric bootstrap of the log hazard ratios: ``n`` draws from N(beta, V)."""
    return rng.multivariate_normal(fit.coef, fit.cov, size=n)


def overlaps(train: CoxFit, table: CoxFit, coef: np.ndarray) -> np.ndarray:
    """CI overlap per term, with ``coef`` as the table's log hazard ratios (its SEs kept)."""
    return ci_overlap(
        train.coef - Z95 * train.se, train.coef + Z95 * train.se, coef - Z95 * table.se, coef + Z95 * table.se
    )


@metric("C.cox", pillar="C", name="Cox model agreement", requires=("survival",), reference_details=True)
def cox_agreement(cmp: Comparison) -> Measurement:
    """The same multivariable Cox model (every covariate) on train and on the table under
    test: per term, the overlap of the 95 % intervals of the hazard ratio (Karr et al.
    2006), sign agreement and significance agreement. Score: mean interval overlap.
    Significance on the table is judged at train's size (standard errors times
    sqrt(|table| / |train|)); details give the table's fit as it is and that p-value.

    Interval: a parametric bootstrap of the table's fit (Efron & Tibshirani 1993,
    ch. 6) -- refitting a Cox model per resample is too slow -- drawing its log hazard
    ratios from the normal law with the fitted covariance and recomputing the overlaps."""
    require_events(cmp, "train", "a Cox model")
    require_events(cmp, "synthetic", "a Cox model")
    pair = cox_pair(cmp)
    train, table = pair.train, pair.table
    factor = train.fitted_rows / table.fitted_rows
    point = overlaps(train, table, table.coef)
    draws = coefficient_draws(table, cmp.rng(_SALT), cmp.n_bootstrap)
    reps = np.array([np.mean(overlaps(train, table, coef)) for coef in draws])
    same_sign = np.sign(train.coef) == np.sign(table.coef)
    p_at_train_size = table.at_size(factor).p
    same_significance = (train.p < ALPHA) == (p_at_train_size < ALPHA)
    train_rows, table_rows = train.table(), table.table()
    terms: dict[str, Any] = {}
    for i, term in enumerate(train.terms):
        terms[term] = {
            "train": train_rows[term],
            "table": table_rows[term],
            **({"p_at_train_size": p_at_train_size[i]} if factor != 1.0 else {}),
            "overlap": point[i],
            "same_sign": bool(same_sign[i]),
            "same_significance": bool(same_significance[i]),
        }
    details: dict[str, Any] = {
        "model": pair.describe(),
        "size_factor": factor,
        "terms": terms,
        "sign_agreement": float(np.mean(same_sign)),
        "significance_agreement": float(np.mean(same_significance)),
        "interval": "parametric bootstrap of the table's log hazard ratios, N(beta, V)",
    }
    score = float(np.mean(point))
    return bootstrapped(score, score, reps, details)
