"""C.cox: the same multivariable Cox model on train and on the table under test."""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.data.claims import claim_weights, weighted_score
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream, within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import ALPHA, require_events
from safe_bench.metrics.clinical.coxmodel import Z95, CoxFit, CoxPair, cox_pair


def ci_overlap(low_a: np.ndarray, high_a: np.ndarray, low_b: np.ndarray, high_b: np.ndarray) -> np.ndarray:
    """Interval overlap of Karr et al. (Am Stat 2006): the mean of the overlap's share of
    each interval, 0 when they are disjoint."""
    overlap = np.maximum(np.minimum(high_a, high_b) - np.maximum(low_a, low_b), 0.0)
    return 0.5 * (overlap / (high_a - low_a) + overlap / (high_b - low_b))


def coefficient_draws(fit: CoxFit, rng: np.random.Generator, n: int) -> np.ndarray:
    """Parametric bootstrap of the log hazard ratios: ``n`` draws from N(beta, V)."""
    return rng.multivariate_normal(fit.coef, fit.cov, size=n)


def standardized_difference(train: CoxFit, table: CoxFit, coef: np.ndarray) -> np.ndarray:
    """Per term, ``|beta_Y - beta_T| / (SE_T sqrt(1 + n_T / n_Y))`` with ``coef`` as the
    table's log hazard ratios: the standardized difference of Chassat et al. 2025,
    ``|beta_Y - beta_T| / (sqrt(2) SE_T)``, for tables of train's size, and in general
    the difference over its standard deviation between two real samples of train's and
    the table's sizes (a real table's estimate has variance SE_T^2 n_T / n_Y)."""
    return np.abs(coef - train.coef) / (train.se * np.sqrt(1.0 + train.fitted_rows / table.fitted_rows))


def reversed_terms(train: CoxFit, table: CoxFit, coef: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Terms whose log hazard ratio has the opposite sign on the table, where train's
    effect is significant or the difference exceeds real sampling (standardized
    difference above 1.96): a reversed effect, not noise around zero."""
    clear = (train.p < alpha) | (standardized_difference(train, table, coef) > Z95)
    return clear & (np.sign(coef) != np.sign(train.coef))


def term_scores(train: CoxFit, table: CoxFit, coef: np.ndarray) -> np.ndarray:
    """Per term: 0 when reversed, else the standardized difference scored against 1.96
    (:func:`~safe_bench.evaluation.uncertainty.within_sampling`)."""
    difference = standardized_difference(train, table, coef)
    return np.where(reversed_terms(train, table, coef), 0.0, within_sampling(difference, Z95))


def primary_flags(cmp: Comparison, pair: CoxPair) -> list[bool]:
    """Which of the model's terms is the schema's primary effect."""
    primary = cmp.schema.primary
    term = None if primary is None else pair.design.term_of(primary.column, primary.level)
    return [t == term for t in pair.train.terms]


def overlaps(train: CoxFit, table: CoxFit, coef: np.ndarray) -> np.ndarray:
    """CI overlap per term, with ``coef`` as the table's log hazard ratios (its SEs kept)."""
    return ci_overlap(
        train.coef - Z95 * train.se, train.coef + Z95 * train.se, coef - Z95 * table.se, coef + Z95 * table.se
    )


@metric("C.cox", pillar="C", name="Cox model agreement", requires=("survival",), reference_details=True)
def cox_agreement(cmp: Comparison) -> Measurement:
    """The same multivariable Cox model (every covariate) on train and on the table under
    test. Per term: the standardized difference of the log hazard ratios
    (:func:`standardized_difference`, Chassat et al. 2025) scored 1 up to 1.96 and
    ``1.96 / d`` beyond; a term that changes sign on the table, significant on train or
    beyond real sampling, is *reversed* and scores 0 (:func:`reversed_terms`). The
    schema's primary effect (treatment or exposure) weighs as much as all other terms
    together, so a reversed treatment effect pulls the score down however many
    covariates agree. Score: the weighted mean over terms. Value:
    the mean overlap of the 95 % intervals (Karr et al. 2006), reported beside sign
    and significance agreement (significance on the table judged at train's size:
    standard errors times sqrt(|table| / |train|)).

    Interval: a parametric bootstrap of the table's fit (Efron & Tibshirani 1993,
    ch. 6) -- refitting a Cox model per resample is too slow -- drawing its log hazard
    ratios from the normal law with the fitted covariance and recomputing the overlaps."""
    require_events(cmp, "train", "a Cox model")
    require_events(cmp, "synthetic", "a Cox model")
    pair = cox_pair(cmp)
    train, table = pair.train, pair.table
    factor = train.fitted_rows / table.fitted_rows
    overlap = overlaps(train, table, table.coef)
    primary = primary_flags(cmp, pair)
    weights = claim_weights(primary)
    point = term_scores(train, table, table.coef)
    draws = coefficient_draws(table, cmp.rng(Stream.COX_DRAWS), cmp.n_bootstrap)
    reps = np.array([weighted_score(weights, term_scores(train, table, coef)) for coef in draws])
    difference = standardized_difference(train, table, table.coef)
    reversed_ = reversed_terms(train, table, table.coef)
    same_sign = np.sign(train.coef) == np.sign(table.coef)
    p_at_train_size = table.at_size(factor).p
    same_significance = (train.p < ALPHA) == (p_at_train_size < ALPHA)
    train_rows, table_rows = train.table(), table.table()
    terms: dict[str, Any] = {}
    for i in sorted(range(len(train.terms)), key=lambda i: not primary[i]):  # the primary effect first
        term = train.terms[i]
        terms[term] = {
            "train": train_rows[term],
            "table": table_rows[term],
            **({"p_at_train_size": p_at_train_size[i]} if factor != 1.0 else {}),
            "standardized_difference": difference[i],
            "score": point[i],
            "weight": weights[i],
            "verdict": "reversed" if reversed_[i] else ("reproduced" if point[i] == 1.0 else "differs"),
            "overlap": overlap[i],
            "same_sign": bool(same_sign[i]),
            "same_significance": bool(same_significance[i]),
            **({"primary": True} if primary[i] else {}),
        }
    details: dict[str, Any] = {
        "model": pair.describe(),
        "size_factor": factor,
        "terms": terms,
        "sign_agreement": float(np.mean(same_sign)),
        "significance_agreement": float(np.mean(same_significance)),
        "interval": "parametric bootstrap of the table's log hazard ratios, N(beta, V)",
    }
    return bootstrapped(float(np.mean(overlap)), weighted_score(weights, point), reps, details)
