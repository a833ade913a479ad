"""A two-arm survival trial, the contrast a cohort's estimand reads, and outcomes
simulated under a chosen hazard ratio.

:class:`Trial` says which column holds the arm and which level is the control; by
default the schema's primary effect (the randomised treatment of AIDS or Veterans).
:class:`Contrast` turns a column (a level of a categorical one, or a numeric one) into
the ``x`` of an analysis (a prognostic score's value or risk group too).
:class:`OutcomeModel` simulates survival under proportional hazards from the
Kaplan-Meier curves of a control arm: event times from S(t)^exp(beta), censoring times
from the reverse Kaplan-Meier curve, as a nonparametric version of Bender, Augustin &
Blettner (Stat Med 2005).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from safe_bench.data.prognostic import PrognosticScore
from safe_bench.data.schema import Kind, Schema
from safe_bench.errors import InputError
from safe_bench.metrics.clinical.estimators import StepCurve, kaplan_meier
from safe_bench.suppression import MIN_CELL


@dataclass(frozen=True)
class Contrast:
    """A covariate as an analysis's ``x``: the indicator of ``level`` (a categorical
    column, against all other levels) or the column's value (a numeric one); or a
    prognostic ``score`` of the schema (``column`` its name): its value, or the indicator
    of its risk group ``level`` against the others."""

    column: str
    level: str | None = None
    score: PrognosticScore | None = None

    @property
    def term(self) -> str:
        name = self.column if self.score is None else f"score:{self.column}"
        return name if self.level is None else f"{name}={self.level}"

    @property
    def columns(self) -> list[str]:
        """The columns ``x`` reads (a score's inputs): those a null permutes together."""
        return [self.column] if self.score is None else self.score.parsed.columns

    def x(self, frame: pd.DataFrame) -> np.ndarray:
        if self.score is not None:
            if self.level is None:
                return self.score.values(frame)
            return (self.score.groups(frame) == self.level).to_numpy(dtype=float)
        values = frame[self.column]
        if self.level is None:
            return values.to_numpy(dtype=float)
        return (values.astype(str) == self.level).to_numpy(dtype=float)

    @classmethod
    def of(cls, schema: Schema, column: str, level: str | None, *, source: str,
           frame: pd.DataFrame | None = None) -> Contrast:
        """A contrast on a column of ``schema`` (``score:NAME`` for a prognostic score),
        checked (``source`` names the input), its level held by at least
        :data:`~safe_bench.suppression.MIN_CELL` rows of ``frame``."""
        if column.startswith("score:"):
            return cls._of_score(schema, column.removeprefix("score:"), level, source=source, frame=frame)
        kind = schema.kinds.get(column)
        if kind is None or column in schema.outcome_columns:
            raise InputError(f"{source}: {column!r} is not a covariate of the table", column=column)
        categorical = kind in (Kind.CATEGORICAL, Kind.BOOLEAN)
        if categorical and level is None:
            raise InputError(f"{source}: categorical column {column!r} needs the level it contrasts", column=column)
        if categorical and frame is not None and (frame[column].astype(str) == level).sum() < MIN_CELL:
            raise InputError(f"{source}: the level given for {column!r} is held by fewer than {MIN_CELL} rows: "
                             "too rare to analyse, and its name is not written out", column=column)
        if not categorical and kind is not Kind.NUMERIC:
            raise InputError(f"{source}: column {column!r} is {kind.value}, not a covariate to contrast", column=column)
        return cls(column, level if categorical else None)

    @classmethod
    def _of_score(cls, schema: Schema, name: str, level: str | None, *, source: str,
                  frame: pd.DataFrame | None) -> Contrast:
        scores = {score.name: score for score in schema.scores}
        if name not in scores:
            raise InputError(f"{source}: no prognostic score {name!r} in the schema (scores: "
                             f"{', '.join(scores) or 'none'})")
        score = scores[name]
        if level is not None and level not in score.labels:
            raise InputError(f"{source}: {level!r} is not a risk group of score {name!r} ({', '.join(score.labels)})")
        if level is not None and frame is not None and (score.groups(frame) == level).sum() < MIN_CELL:
            raise InputError(f"{source}: risk group {level!r} of score {name!r} holds fewer than {MIN_CELL} rows")
        return cls(name, level, score)


@dataclass(frozen=True)
class Trial:
    """A two-arm survival trial: the table (canonical), its schema and which level of
    the ``arm`` column is the control. What every replicate reads (the arms, the
    generator's schema, the control arm's curves) is computed once per trial."""

    frame: pd.DataFrame
    schema: Schema
    arm: str
    control: str

    @classmethod
    def of(cls, frame: pd.DataFrame, schema: Schema, *, arm: str | None = None,
           control: str | None = None, source: str = "trial") -> Trial:
        """The trial of ``frame``: ``arm`` defaults to the schema's primary effect (whose
        level is the treated arm), ``control`` to the arm's other level."""
        if schema.survival is None:
            raise InputError(f"{source}: a trial needs a survival endpoint (--time and --event)")
        if arm is None:
            if schema.primary is None:
                raise InputError(f"{source}: name the treatment column (--treatment): the schema declares no "
                                 "primary effect")
            arm = schema.primary.column
            if control is None and schema.primary.level is not None:
                control = _other_level(frame, arm, schema.primary.level, source)
        if arm not in frame.columns or arm in schema.outcome_columns:
            raise InputError(f"{source}: treatment column {arm!r} is not a covariate of the table", column=arm)
        levels = sorted(frame[arm].dropna().astype(str).unique())
        if frame[arm].isna().any():
            raise InputError(f"{source}: treatment column {arm!r} has missing values", column=arm)
        if len(levels) != 2:
            raise InputError(f"{source}: treatment column {arm!r} has {len(levels)} levels; a trial has 2 arms",
                             column=arm)
        control = levels[0] if control is None else str(control)
        if control not in levels:
            raise InputError(f"{source}: control level {control!r} is not a level of {arm!r} ({levels})", column=arm)
        smallest = int(frame[arm].astype(str).value_counts().min())
        if smallest < MIN_CELL:
            raise InputError(f"{source}: an arm of {arm!r} has {smallest} patient(s); a trial needs at least "
                             f"{MIN_CELL} in each", column=arm)
        return cls(frame, schema, arm, control)

    @cached_property
    def is_control(self) -> np.ndarray:
        return (self.frame[self.arm].astype(str) == self.control).to_numpy()

    @cached_property
    def controls(self) -> pd.DataFrame:
        """The control arm, without the arm column (what a generator learns)."""
        return self.frame.loc[self.is_control].drop(columns=self.arm).reset_index(drop=True)

    @cached_property
    def treated(self) -> pd.DataFrame:
        return self.frame.loc[~self.is_control].drop(columns=self.arm).reset_index(drop=True)

    @cached_property
    def generator_schema(self) -> Schema:
        """The schema of the control arm without the arm column: columns, survival and
        privacy roles (a generator needs no scores, findings or primary effect)."""
        schema, arm = self.schema, self.arm
        return Schema(
            kinds={c: k for c, k in schema.kinds.items() if c != arm},
            survival=schema.survival,
            groups=tuple(c for c in schema.groups if c != arm),
            sensitive=tuple(c for c in schema.sensitive if c != arm),
            quasi_identifiers=tuple(c for c in schema.quasi_identifiers if c != arm),
            site=None if schema.site == arm else schema.site,
        )

    def outcomes(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return outcomes(self.schema, rows)

    @cached_property
    def control_model(self) -> OutcomeModel:
        """The control arm's curves, to draw outcomes under an alternative."""
        return OutcomeModel.of(*self.outcomes(self.controls))


def outcomes(schema: Schema, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Survival time and event of some rows of a table with ``schema``."""
    assert schema.survival is not None
    return rows[schema.survival.time].to_numpy(dtype=float), rows[schema.survival.event].to_numpy(dtype=float)


def _other_level(frame: pd.DataFrame, arm: str, treated: str, source: str) -> str:
    others = sorted(set(frame[arm].dropna().astype(str)) - {treated}) if arm in frame.columns else []
    if len(others) != 1:
        raise InputError(f"{source}: treatment column {arm!r} needs exactly one level besides {treated!r} "
                         f"(found {len(others)})", column=arm)
    return others[0]


def _draw(curve: StepCurve, u: np.ndarray) -> np.ndarray:
    """Inverse-transform draws from a step survival curve: the first time S(t) <= u
    (infinite when the curve ends above u)."""
    if len(curve.times) == 0:
        return np.full(len(u), np.inf)
    # survival is non-increasing: find the first index with S <= u
    position = np.searchsorted(-curve.survival, -u, side="left")
    return np.where(position < len(curve.times), curve.times[np.minimum(position, len(curve.times) - 1)], np.inf)


@dataclass(frozen=True)
class OutcomeModel:
    """A control arm's survival and censoring curves (Kaplan-Meier; censoring by the
    reverse Kaplan-Meier), to draw outcomes with hazard ratio exp(``log_hr``)."""

    survival: StepCurve
    censoring: StepCurve
    horizon: float

    @classmethod
    def of(cls, time: np.ndarray, event: np.ndarray) -> OutcomeModel:
        return cls(kaplan_meier(time, event), kaplan_meier(time, 1 - event), float(np.max(time)))

    def draw(self, n: int, log_hr: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` outcomes under S(t)^exp(log_hr), censored by independent draws from the
        censoring curve and at the horizon (the arm's last follow-up)."""
        events = _draw(self.survival, rng.random(n) ** np.exp(-log_hr))
        censored = np.minimum(_draw(self.censoring, rng.random(n)), self.horizon)
        return np.minimum(events, censored), (events <= censored).astype(float)

    def rmst_difference(self, log_hr: float, tau: float) -> float:
        """RMST at ``tau`` under S^exp(log_hr) minus under S: the truth of an RMST analysis."""
        shifted = StepCurve(self.survival.times, self.survival.survival ** np.exp(log_hr))
        return shifted.rmst(tau) - self.survival.rmst(tau)
