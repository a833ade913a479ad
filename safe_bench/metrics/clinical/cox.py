"""C.cox: the same multivariable Cox model on train and on the table under test.

Its typed details (:class:`CoxDetails`) carry per term the hazard ratio with its
interval on both tables, which it draws as a forest plot (:data:`COX_FOREST`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from safe_bench.data.claims import claim_weights, weighted_score
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream, within_sampling
from safe_bench.metrics.base import Details, Measurement, bootstrapped, metric
from safe_bench.metrics.charts import Chart, Drawing, Effect, Forest, Outcome, Plot, single
from safe_bench.metrics.clinical.cohort import ALPHA, require_events
from safe_bench.metrics.clinical.coxmodel import Z95, CoxFit, CoxPair, cox_pair
from safe_bench.metrics.stored import Stored


@dataclass(frozen=True)
class HazardRatio:
    """A term's hazard ratio on one table, its 95 % interval and Wald p-value."""

    hr: float
    low: float
    high: float
    p: float

    @classmethod
    def of(cls, fit: CoxFit, term: int) -> HazardRatio:
        return cls(fit.hr[term], fit.low[term], fit.high[term], fit.p[term])

    def to_dict(self) -> dict[str, float]:
        return {"hr": self.hr, "low": self.low, "high": self.high, "p": self.p}

    @classmethod
    def read(cls, stored: Stored) -> HazardRatio:
        return cls(stored.number("hr"), stored.number("low"), stored.number("high"), stored.number("p"))

    def drawable(self) -> tuple[float, float, float] | None:
        """Estimate, low, high for a log-scale figure: None unless all are finite and positive."""
        values = (self.hr, self.low, self.high)
        return values if all(math.isfinite(v) for v in values) and min(values) > 0 else None


@dataclass(frozen=True)
class CoxTerm:
    """One term of C.cox: its hazard ratio on train and on the table, the table's p-value
    at train's size (None when the sizes are equal: not written), the standardized
    difference, score and weight, the verdict, the interval overlap, sign and
    significance agreement, and whether it is the schema's primary effect."""

    train: HazardRatio
    table: HazardRatio
    p_at_train_size: float | None
    standardized_difference: float
    score: float
    weight: float
    verdict: str
    overlap: float
    same_sign: bool
    same_significance: bool
    primary: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "train": self.train.to_dict(),
            "table": self.table.to_dict(),
            **({"p_at_train_size": self.p_at_train_size} if self.p_at_train_size is not None else {}),
            "standardized_difference": self.standardized_difference,
            "score": self.score,
            "weight": self.weight,
            "verdict": self.verdict,
            "overlap": self.overlap,
            "same_sign": self.same_sign,
            "same_significance": self.same_significance,
            **({"primary": True} if self.primary else {}),
        }

    @classmethod
    def read(cls, stored: Stored) -> CoxTerm:
        return cls(
            HazardRatio.read(stored.child("train")),
            HazardRatio.read(stored.child("table")),
            stored.number("p_at_train_size") if stored.has("p_at_train_size") else None,
            stored.number("standardized_difference"),
            stored.number("score"),
            stored.number("weight"),
            stored.text("verdict"),
            stored.number("overlap"),
            stored.flag("same_sign"),
            stored.flag("same_significance"),
            stored.has("primary") and stored.flag("primary"),
        )


@dataclass(frozen=True)
class CoxDetails(Details):
    """C.cox: the model (as :meth:`~safe_bench.metrics.clinical.coxmodel.CoxPair.describe`
    writes it: plain JSON no figure reads), train's size over the table's, each term
    (the primary effect first), sign and significance agreement, how the interval is made."""

    model: dict[str, Any]
    size_factor: float
    terms: dict[str, CoxTerm]
    sign_agreement: float
    significance_agreement: float
    interval: str

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "size_factor": self.size_factor,
                "terms": {term: entry.to_dict() for term, entry in self.terms.items()},
                "sign_agreement": self.sign_agreement, "significance_agreement": self.significance_agreement,
                "interval": self.interval}

    @classmethod
    def read(cls, stored: Stored) -> CoxDetails:
        return cls(dict(stored.child("model").data), stored.number("size_factor"),
                   {term: CoxTerm.read(entry) for term, entry in stored.children("terms").items()},
                   stored.number("sign_agreement"), stored.number("significance_agreement"), stored.text("interval"))


def _forest(outcome: Outcome[CoxDetails]) -> Plot | str:
    held = {} if outcome.reference is None else outcome.reference.terms
    effects = [Effect(term, entry.train.drawable(), entry.table.drawable(),
                      held[term].table.drawable() if term in held else None)
               for term, entry in outcome.details.terms.items()]
    if not any(e.real or e.synthetic for e in effects):
        return "C.cox details carry no hazard ratios with intervals"
    return Forest(effects, caption="The same multivariable Cox model fitted on train, on the synthetic table and on "
                  "the holdout (fresh real patients: how far a real sample of that size strays): hazard ratio per "
                  "term with its 95 % interval (log scale; 1 = no effect).")


#: The Cox model's hazard ratios on train, the table under test and the holdout, drawn by C.cox.
COX_FOREST: Chart[Plot] = Chart("Cox model: hazard ratios on train, synthetic and holdout", single)


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


@metric("C.cox", pillar="C", name="Cox model agreement", requires=("survival",), reference_details=True,
        details=CoxDetails, figure=Drawing(COX_FOREST, _forest))
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
    terms = {
        train.terms[i]: CoxTerm(
            HazardRatio.of(train, i),
            HazardRatio.of(table, i),
            p_at_train_size[i] if factor != 1.0 else None,
            difference[i],
            point[i],
            weights[i],
            "reversed" if reversed_[i] else ("reproduced" if point[i] == 1.0 else "differs"),
            overlap[i],
            bool(same_sign[i]),
            bool(same_significance[i]),
            primary[i],
        )
        for i in sorted(range(len(train.terms)), key=lambda i: not primary[i])  # the primary effect first
    }
    details = CoxDetails(pair.describe(), factor, terms, float(np.mean(same_sign)), float(np.mean(same_significance)),
                         "parametric bootstrap of the table's log hazard ratios, N(beta, V)")
    return bootstrapped(float(np.mean(overlap)), weighted_score(weights, point), reps, details.to_dict())
