"""The multivariable Cox model of the clinical metrics (Cox, JRSS B 1972; Efron's ties, JASA
1977), fitted by :mod:`~safe_bench.metrics.clinical.partial_likelihood` (as lifelines'
``CoxPHFitter``, checked in the tests).

One design, derived from train: every covariate enters, numeric ones as they
are (datetimes in days, booleans 0/1), categorical ones as indicators of each level
against a reference level, the first in sorted order (R's treatment contrasts). A
covariate is left out, with the reason in details, when train has no variation in it,
when it is missing in more than half of train's rows, or when it has more than
:data:`MAX_LEVELS` levels. A level with fewer than :data:`MIN_LEVEL_EVENTS` events in
train cannot carry a hazard ratio (its fit would diverge): its rows are left out, as
are rows with a missing value or a level train lacks (complete-case analysis; the rows
used are reported). Tables larger
than :data:`COX_MAX_ROWS` complete rows are fitted on a seeded subsample of that size.

The same model is fitted on train and on the table under test. A fit that does not
converge (a singular Hessian, no convergence in the Newton steps allowed, or a separated
covariate) is retried on both tables with a ridge penalty
(:data:`PENALIZER`), and details say so; if that fails too, the metric is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.data.schema import Kind, Schema
from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.clinical.cohort import (
    ALPHA,
    MIN_EVENTS,
    frame_key,
    label,
    level_label,
)
from safe_bench.metrics.clinical.estimators import normal_p
from safe_bench.metrics.clinical.partial_likelihood import NotConverged, fit_partial_likelihood

#: A categorical covariate with more levels than this is left out of the model.
MAX_LEVELS = 20
#: A covariate missing in more than this share of train rows is left out.
MAX_MISSING = 0.5
#: Tables with more complete rows are fitted on a seeded subsample of this size.
COX_MAX_ROWS = 10_000
#: A categorical level needs this many train events to enter the model.
MIN_LEVEL_EVENTS = 5
#: Ridge penalty of the fallback fit (as lifelines' ``penalizer``: n * penalizer / 2 * |beta|^2
#: on standardised covariates).
PENALIZER = 0.01
#: A fit needs this many events per model term (and at least MIN_EVENTS).
EVENTS_PER_TERM = 2
#: |log HR| per standard deviation above this (or its standard error above half of it)
#: means separation, not an effect.
MAX_STD_LOG_HR = 10.0
#: The normal quantile of the 95 % intervals.
Z95 = float(stats.norm.ppf(1 - ALPHA / 2))


class CoxFailure(Exception):
    """The fit did not converge; the message says how."""


@dataclass(frozen=True)
class CoxDesign:
    """The model's covariates: numeric columns and categorical ones with their levels
    (reference first); ``left_out`` maps each covariate not in the model to the reason."""

    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]
    left_out: dict[str, str] = field(default_factory=dict)

    @property
    def terms(self) -> list[str]:
        return [term for term, _, _ in self.parts()]

    def term_of(self, column: str, level: str | None) -> str | None:
        """The term of a numeric column or of a categorical column's level (None if not in the model)."""
        if level is None:
            return column if column in self.numeric else None
        levels = self.categorical.get(column, ())
        return f"{column}={level}" if level in levels[1:] else None

    def parts(self) -> list[tuple[str, str, str | None]]:
        """(term, column, level) of every term."""
        out: list[tuple[str, str, str | None]] = [(c, c, None) for c in self.numeric]
        for col, levels in self.categorical.items():
            out += [(f"{col}={lev}", col, lev) for lev in levels[1:]]
        return out

    def why_not(self, column: str, level: str | None) -> str:
        """Why a column (or level) has no term in the model."""
        for key in (column, f"{column}={level}"):
            if key in self.left_out:
                return f"{key} is not in the Cox model: {self.left_out[key]}"
        levels = self.categorical.get(column, ())
        if levels and level == levels[0]:
            return f"{column}={level} is the reference level of {column} (the first in sorted order)"
        if levels:
            return f"train has no level {level!r} of {column}"
        return f"{column} is not a covariate of the Cox model"

    @property
    def references(self) -> dict[str, str]:
        return {col: levels[0] for col, levels in self.categorical.items()}

    @classmethod
    def derive(cls, train: pd.DataFrame, schema: Schema) -> CoxDesign:
        assert schema.survival is not None
        numeric: list[str] = []
        categorical: dict[str, tuple[str, ...]] = {}
        left_out: dict[str, str] = {}
        for col in schema.covariates:
            missing = float(train[col].isna().mean())
            if missing > MAX_MISSING:
                left_out[col] = f"missing in {missing:.0%} of train rows"
                continue
            if schema.kinds[col] is Kind.CATEGORICAL:
                events = train.groupby(col)[schema.survival.event].sum()
                for lev, count in events[events < MIN_LEVEL_EVENTS].items():
                    left_out[f"{col}={lev}"] = (
                        f"{int(count)} event(s) in train, fewer than {MIN_LEVEL_EVENTS}: its rows are left out"
                    )
                levels = tuple(sorted(events.index[events >= MIN_LEVEL_EVENTS], key=str))
                if len(levels) < 2:
                    left_out[col] = f"fewer than 2 levels with {MIN_LEVEL_EVENTS} or more train events"
                elif len(levels) > MAX_LEVELS:
                    left_out[col] = f"{len(levels)} levels in train, more than {MAX_LEVELS}"
                else:
                    categorical[col] = levels
                continue
            values = as_numbers(train[col])
            values = values[np.isfinite(values)]
            if np.ptp(values) == 0:
                left_out[col] = "constant in train"
            else:
                numeric.append(col)
        return cls(tuple(numeric), categorical, left_out)

    def matrix(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """The model matrix of ``frame``'s complete rows, and which rows those are."""
        columns: dict[str, np.ndarray] = {col: as_numbers(frame[col]) for col in self.numeric}
        for col, levels in self.categorical.items():
            codes = pd.Categorical(frame[col], categories=levels).codes  # -1: missing or a level train lacks
            for i, lev in enumerate(levels[1:], start=1):
                columns[f"{col}={lev}"] = np.where(codes >= 0, (codes == i).astype(float), np.nan)
        x = pd.DataFrame(columns, index=frame.index)
        used = np.isfinite(x.to_numpy(dtype=float)).all(axis=1) if columns else np.ones(len(frame), bool)
        return x.loc[used].reset_index(drop=True), used


@dataclass(frozen=True)
class CoxFit:
    """A fitted model: log hazard ratios, their standard errors and covariance, hazard
    ratios with 95 % Wald intervals and Wald p-values."""

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    cov: np.ndarray
    hr: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray
    rows: int
    fitted_rows: int
    events: int
    penalizer: float

    def at_size(self, factor: float) -> CoxFit:
        """The fit as it would come out on ``factor`` times as many patients: standard
        errors shrink by sqrt(factor); intervals and Wald p-values follow."""
        if factor == 1.0:
            return self
        se = self.se / np.sqrt(factor)
        with np.errstate(over="ignore"):
            return replace(
                self,
                se=se,
                cov=self.cov / factor,
                low=np.exp(self.coef - Z95 * se),
                high=np.exp(self.coef + Z95 * se),
                p=normal_p(self.coef / se),
            )

    def table(self) -> dict[str, dict[str, float]]:
        """Per term: hazard ratio, its 95 % interval and p-value."""
        return {
            t: {"hr": self.hr[i], "low": self.low[i], "high": self.high[i], "p": self.p[i]}
            for i, t in enumerate(self.terms)
        }


def fit_cox(
    frame: pd.DataFrame, design: CoxDesign, schema: Schema, *, penalizer: float, rng: np.random.Generator, who: str,
    start: np.ndarray | None = None,
) -> CoxFit:
    """Fit the design on ``frame`` by Newton-Raphson from ``start`` (the
    coefficients; zero by default); MetricSkipped for data that cannot carry the model,
    CoxFailure for a fit that does not converge."""
    assert schema.survival is not None
    x, used = design.matrix(frame)
    time = frame[schema.survival.time].to_numpy()[used]
    event = frame[schema.survival.event].to_numpy()[used]
    terms = list(x.columns)
    needed = max(MIN_EVENTS, EVENTS_PER_TERM * len(terms))
    if event.sum() < needed:
        raise MetricSkipped(
            f"{who} has {int(event.sum())} event(s) in {len(x)} complete row(s): too few for a Cox model "
            f"with {len(terms)} term(s) (needs {needed})"
        )
    constant = [t for t in terms if np.ptp(x[t].to_numpy()) == 0]
    if constant:
        raise MetricSkipped(
            f"{who} has no variation in Cox term {constant[0]!r} (a constant covariate): the model cannot be fitted"
        )
    rows = len(x)
    if rows > COX_MAX_ROWS:
        keep = np.sort(rng.choice(rows, size=COX_MAX_ROWS, replace=False))
        x, time, event = x.iloc[keep].reset_index(drop=True), time[keep], event[keep]
    try:
        fitted = fit_partial_likelihood(x.to_numpy(dtype=float), time.astype(float), event.astype(bool),
                                        penalizer=penalizer, start=start)
    except NotConverged as exc:
        raise CoxFailure(f"{who}: {exc}") from None
    coef = fitted.coef
    se = np.sqrt(np.diag(fitted.cov))
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(se))):
        raise CoxFailure(f"{who}: non-finite coefficients")
    if penalizer == 0:
        _check_separation(x, event, coef, se, who)
    return CoxFit(
        terms=tuple(terms),
        coef=coef,
        se=se,
        cov=fitted.cov,
        hr=np.exp(coef),
        low=np.exp(coef - Z95 * se),
        high=np.exp(coef + Z95 * se),
        p=normal_p(coef / se),
        rows=rows,
        fitted_rows=len(x),
        events=int(event.sum()),
        penalizer=penalizer,
    )


def _check_separation(x: pd.DataFrame, event: np.ndarray, coef: np.ndarray, se: np.ndarray, who: str) -> None:
    """CoxFailure when a term is separated: a binary term with no event at one of its
    values, or a log hazard ratio (or its standard error) too large to be an effect."""
    for term in x.columns:
        values = x[term].to_numpy()
        distinct = np.unique(values)
        if len(distinct) == 2 and min(event[values == v].sum() for v in distinct) == 0:
            raise CoxFailure(f"{who}: Cox term {term!r} is separated (no event at one of its two values)")
    sd = x.std().to_numpy()
    for i in np.flatnonzero((np.abs(coef) * sd > MAX_STD_LOG_HR) | (se * sd > MAX_STD_LOG_HR / 2)).tolist():
        raise CoxFailure(f"{who}: Cox term {x.columns[i]!r} is separated (log HR {coef[i]:.1f}, standard error {se[i]:.1f})")


def cox_design(cmp: Comparison) -> CoxDesign:
    """The model's design, derived from train once per evaluation."""
    design = cmp.cached("cox_design", lambda: CoxDesign.derive(cmp.train, cmp.schema))
    if not design.terms:
        why = "; ".join(f"{c}: {r}" for c, r in design.left_out.items()) or "the schema has no covariate"
        raise MetricSkipped(f"no covariate can enter the Cox model ({why})")
    return design


def _fit(cmp: Comparison, role: str, penalizer: float) -> CoxFit:
    """The design fitted on ``role`` (once per evaluation). Another table's fit starts
    from train's coefficients: the same maximum (the log partial likelihood is
    concave), in fewer Newton steps when the tables agree; when it fails from there (a
    table whose effects are far from train's), it starts again from zero."""
    design = cox_design(cmp)

    def fit(start: np.ndarray | None) -> CoxFit:
        return fit_cox(cmp.table(role), design, cmp.schema, penalizer=penalizer, rng=cmp.rng(Stream.COX_FIT),
                       who=label(cmp, role), start=start)

    def fit_from_train() -> CoxFit:
        try:
            start = _fit(cmp, "train", penalizer).coef
        except (CoxFailure, MetricSkipped):
            return fit(None)
        try:
            return fit(start)
        except CoxFailure:
            return fit(None)

    return cmp.cached(("cox", frame_key(cmp, role), penalizer), (lambda: fit(None)) if role == "train" else fit_from_train)


@dataclass(frozen=True)
class CoxPair:
    """The same model fitted on train and on the table under test."""

    design: CoxDesign
    train: CoxFit
    table: CoxFit
    note: str = ""

    def describe(self) -> dict[str, Any]:
        """The model for details: terms, references, what was left out, rows, penalty."""
        out: dict[str, Any] = {
            "covariates": "derived from train: every covariate",
            "terms": list(self.design.terms),
            "reference_levels": {c: level_label(v) for c, v in self.design.references.items()},
            "rows": {"train": self.train.rows, "table": self.table.rows},
            "events": {"train": self.train.events, "table": self.table.events},
            "penalizer": self.train.penalizer,
        }
        fitted = {"train": self.train.fitted_rows, "table": self.table.fitted_rows}
        if fitted != out["rows"]:
            out["subsample"] = {"max_rows": COX_MAX_ROWS, "fitted_rows": fitted}
        if self.design.left_out:
            out["left_out"] = dict(self.design.left_out)
        if self.note:
            out["note"] = self.note
        return out


def train_fit(cmp: Comparison) -> CoxFit:
    """The model on train alone (penalised if the plain fit does not converge)."""
    try:
        return _fit(cmp, "train", 0.0)
    except CoxFailure:
        return _penalised(cmp, "train")


def cox_pair(cmp: Comparison) -> CoxPair:
    """Fit the model on train and on the table under test, penalised on both when a
    plain fit does not converge (see the module docstring)."""
    design = cox_design(cmp)
    for role in ("train", "synthetic"):
        try:
            _fit(cmp, role, 0.0)
        except CoxFailure as exc:
            why = f"the plain fit did not converge ({exc})"
            note = f"{why}; both tables fitted with a ridge penalty of {PENALIZER}"
            return CoxPair(design, _penalised(cmp, "train"), _penalised(cmp, "synthetic"), note)
    return CoxPair(design, _fit(cmp, "train", 0.0), _fit(cmp, "synthetic", 0.0))


def _penalised(cmp: Comparison, role: str) -> CoxFit:
    try:
        return _fit(cmp, role, PENALIZER)
    except CoxFailure as exc:
        raise MetricSkipped(f"the Cox model does not converge, even with a ridge penalty: {exc}") from None
