"""What the clinical metrics share: each table's survival endpoint, tau, the group
variables and their levels, curves for figures, and the keys of their work in the
evaluation's cache (:meth:`~safe_bench.evaluation.comparison.Comparison.cached`).

What the schema does not declare is derived from train, as SAFE prescribes: every
categorical covariate becomes a group variable. A group level needs
:data:`MIN_GROUP_ROWS` train rows to be compared; a group variable needs two such
levels. What is left out, and why, is listed in each metric's details.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.clinical.estimators import EventTimes, Horizon, LevelCurves, StepCurve, kaplan_meier, level_steps
from safe_bench.metrics.stored import Stored, Values

T = TypeVar("T")

#: A group level needs this many train rows to be compared.
MIN_GROUP_ROWS = 10
#: A table needs this many events for a log-rank test, a Cox model or a finding.
MIN_EVENTS = 10
#: SAFE's tau is this percentile of train's observed times.
TAU_PERCENTILE = 90
#: Significance level of log-rank tests, Cox terms and derived findings.
ALPHA = 0.05
#: Curves in details are sampled at this many times (from 0 to train's last time).
CURVE_POINTS = 100
#: Decimals kept for survival probabilities in details.
DECIMALS = 4
#: Numbers at risk are counted at most at this many round times (0 first), as under a
#: published Kaplan-Meier plot.
RISK_TIMES = 7
#: Mantissas of the step between those times.
_ROUND_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)

def frame_key(cmp: Comparison, role: str) -> int:
    """A key naming one table of the evaluation (the frames live as long as the cache)."""
    return id(cmp.table(role))


def label(cmp: Comparison, role: str) -> str:
    """How messages name a table: train, the synthetic table, or the holdout."""
    if role == "train":
        return "train"
    return "the holdout" if cmp.is_reference else "the synthetic table"


# -- the endpoint -------------------------------------------------------------------
def event_times(cmp: Comparison, role: str) -> EventTimes:
    """The survival endpoint of table ``role`` (sorted once per evaluation)."""
    surv = cmp.schema.survival
    assert surv is not None
    frame = cmp.table(role)
    return cmp.cached(
        ("event_times", frame_key(cmp, role)), lambda: EventTimes.of(frame[surv.time].to_numpy(), frame[surv.event].to_numpy())
    )


def require_events(cmp: Comparison, role: str, what: str) -> None:
    """Skip when table ``role`` has fewer than :data:`MIN_EVENTS` events."""
    n = int(event_times(cmp, role).event.sum())
    if n < MIN_EVENTS:
        state = "every patient is censored" if n == 0 else f"{n} event(s), fewer than {MIN_EVENTS}"
        raise MetricSkipped(f"{label(cmp, role)} has too few events for {what}: {state}")


def tau(cmp: Comparison) -> float:
    """SAFE's tau: the 90th percentile of train's observed times."""
    assert cmp.schema.survival is not None
    return float(np.percentile(cmp.train[cmp.schema.survival.time], TAU_PERCENTILE))


def curve_grid(cmp: Comparison) -> np.ndarray:
    """The times at which curves are written into details (0 to train's last time)."""
    assert cmp.schema.survival is not None
    last = float(cmp.train[cmp.schema.survival.time].max())
    return np.round(np.linspace(0.0, last, CURVE_POINTS), 6)


def risk_times(last: float) -> np.ndarray:
    """Round times from 0 to ``last`` (at most :data:`RISK_TIMES`, a step of 1, 2, 2.5 or
    5 times a power of ten) at which numbers at risk are counted."""
    if not last > 0:
        return np.zeros(1)
    raw = last / (RISK_TIMES - 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in _ROUND_STEPS if m * power >= raw * (1 - 1e-12))
    return np.round(np.arange(0.0, last + step * 1e-9, step)[:RISK_TIMES], 6)


@dataclass(frozen=True)
class SurvivalCurve:
    """A survival curve for details and figures: survival and its 95 % band on a grid
    of times, the median (None when the curve never reaches 0.5), and the numbers at
    risk (rows still followed) at a few round times (empty in results written before)."""

    survival: Values
    low: Values
    high: Values
    median: float | None
    risk_times: Values = ()
    at_risk: Values = ()

    def to_dict(self) -> dict[str, Values | float | None]:
        return {"survival": self.survival, "low": self.low, "high": self.high, "median": self.median,
                **({"risk_times": self.risk_times, "at_risk": self.at_risk} if len(self.at_risk) else {})}

    @classmethod
    def read(cls, stored: Stored) -> SurvivalCurve:
        counted = stored.has("at_risk")
        return cls(stored.numbers("survival"), stored.numbers("low"), stored.numbers("high"),
                   stored.optional_number("median"), stored.numbers("risk_times") if counted else (),
                   stored.numbers("at_risk") if counted else ())


def curve_details(curve: SurvivalCurve | None) -> dict[str, Values | float | None] | None:
    """A curve as written into untyped details (None: fewer than 2 rows)."""
    return None if curve is None else curve.to_dict()


def describe_curve(curve: StepCurve, grid: np.ndarray, times: np.ndarray | None = None) -> SurvivalCurve:
    """A curve for figures: survival and its 95 % band on the grid, the median, and with
    the rows' observed ``times``, the numbers at risk at :func:`risk_times` of the grid's end."""
    low, high = curve.band(grid)
    median = curve.median()
    at, counts = np.zeros(0), np.zeros(0, dtype=int)
    if times is not None:
        at = risk_times(float(grid[-1]))
        counts = len(times) - np.searchsorted(np.sort(times), at, side="left")
    return SurvivalCurve(np.round(curve.at(grid), DECIMALS), np.round(low, DECIMALS), np.round(high, DECIMALS),
                         median if np.isfinite(median) else None, at, counts)


def curve_of(cmp: Comparison, role: str, rows: np.ndarray) -> SurvivalCurve | None:
    """:func:`describe_curve` of some rows of table ``role``, with their numbers at risk
    (None for fewer than 2 rows)."""
    if rows.sum() < 2:
        return None
    surv = cmp.schema.survival
    assert surv is not None
    frame = cmp.table(role)
    times = frame[surv.time].to_numpy()[rows]
    curve = kaplan_meier(times, frame[surv.event].to_numpy()[rows])
    return describe_curve(curve, curve_grid(cmp), np.asarray(times, dtype=float))


# -- groups ---------------------------------------------------------------------------
def group_columns(schema: Schema) -> list[str]:
    """The declared group variables, or else every categorical covariate."""
    return list(schema.groups) or [c for c in schema.categorical if c in schema.covariates]


def groups_source(schema: Schema) -> str:
    return "declared" if schema.groups else "derived from train: every categorical covariate"


def level_label(value: Any) -> str:
    """A category as text (booleans and whole numbers without '.0')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Group:
    """A group variable and its levels with enough train rows, in sorted order."""

    column: str
    levels: tuple[Any, ...]

    @property
    def labels(self) -> list[str]:
        return [level_label(v) for v in self.levels]

    def codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's level as 0..len(levels)-1; -1 for other levels and missing values."""
        return pd.Categorical(frame[self.column], categories=list(self.levels)).codes.astype(np.int64)


def groups(cmp: Comparison) -> tuple[list[Group], list[str]]:
    """The group variables that can be compared, and a note on each thing left out."""

    def derive() -> tuple[list[Group], list[str]]:
        kept: list[Group] = []
        notes: list[str] = []
        for col in group_columns(cmp.schema):
            counts = cmp.train[col].value_counts().sort_index()
            for level, count in counts.items():
                if count < MIN_GROUP_ROWS:
                    notes.append(f"{col}={level_label(level)}: {count} train row(s), fewer than {MIN_GROUP_ROWS}")
            levels = tuple(counts.index[counts >= MIN_GROUP_ROWS])
            if len(levels) < 2:
                notes.append(f"{col}: fewer than 2 levels with {MIN_GROUP_ROWS} or more train rows")
                continue
            kept.append(Group(col, levels))
        return kept, notes

    return cmp.cached("groups", derive)


@dataclass(frozen=True)
class Stratum:
    """A subset of patients with a curve of its own: everyone, or one group level."""

    name: str
    column: str | None = None
    level: Any = None

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        if self.column is None:
            return np.ones(len(frame), dtype=bool)
        return (frame[self.column] == self.level).to_numpy()


def strata(cmp: Comparison) -> list[Stratum]:
    """Overall, then every level of every group variable."""
    out = [Stratum("overall")]
    for group in groups(cmp)[0]:
        out += [Stratum(f"{group.column}={lab}", group.column, lev) for lev, lab in zip(group.levels, group.labels, strict=True)]
    return out


@dataclass(frozen=True)
class StrataStats:
    """Kaplan-Meier summaries on [0, tau] of every stratum (overall, then every group
    level), for train and the table under test. In the table's arrays row 0 is the
    table itself and rows 1.. its bootstrap replicates (the evaluation's resamples);
    NaN marks a stratum the table lost (fewer than 2 rows). C.km and C.rmst read them.

    ``null_gap`` and ``null_rmst`` are, per stratum, the 95th percentiles of the same
    distances (IAD / tau, |RMST difference|) between two *real* samples of train's and
    the table's sizes (:func:`real_vs_real`). The scores judge the table's distances against them, so a table is compared with
    what real sampling at its own size gives."""

    tau: float
    strata: list[Stratum]
    train_rows: list[int]
    table_rows: list[int]
    train_rmst: np.ndarray
    gap: np.ndarray
    sup: np.ndarray
    rmst: np.ndarray
    null_gap: np.ndarray
    null_rmst: np.ndarray


@dataclass(frozen=True)
class StrataDescription:
    """What C.km and C.rmst compared: tau, the group variables (and where they come
    from), and what was left out (listed only when something was)."""

    tau: float
    groups: list[str]
    groups_source: str
    left_out: list[str]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tau": self.tau, "groups": self.groups, "groups_source": self.groups_source}
        if self.left_out:
            out["left_out"] = self.left_out
        return out

    @classmethod
    def read(cls, stored: Stored) -> StrataDescription:
        return cls(stored.number("tau"), stored.texts("groups"), stored.text("groups_source"),
                   stored.texts("left_out") if stored.has("left_out") else [])


def describe_strata(cmp: Comparison, tau_value: float) -> StrataDescription:
    """:class:`StrataDescription` of the comparison."""
    kept, notes = groups(cmp)
    return StrataDescription(tau_value, [g.column for g in kept], groups_source(cmp.schema), notes)


def _level_curves(cmp: Comparison, t: EventTimes, y: EventTimes, horizon_tau: float) -> tuple[list[LevelCurves], ...]:
    """Per stratum variable (everyone first, then each group variable), the level curves
    of train and of the table under test on pieces cut at both curves' steps, and of
    train on pieces cut at its own steps (for the real-vs-real null)."""
    variables = [(np.zeros(len(t), dtype=np.int64), np.zeros(len(y), dtype=np.int64), 1)]
    variables += [(g.codes(cmp.train), g.codes(cmp.synthetic), len(g.levels)) for g in groups(cmp)[0]]
    on_train, on_table, on_null = [], [], []
    for codes_t, codes_y, k in variables:
        steps_t, steps_y = level_steps(t, codes_t, k), level_steps(y, codes_y, k)
        both = [Horizon.at(horizon_tau, t.times[a], y.times[b]) for a, b in zip(steps_t, steps_y, strict=True)]
        alone = [Horizon.at(horizon_tau, t.times[a]) for a in steps_t]
        on_train.append(LevelCurves.on(t, codes_t, k, both))
        on_table.append(LevelCurves.on(y, codes_y, k, both))
        on_null.append(LevelCurves.on(t, codes_t, k, alone))
    return on_train, on_table, on_null


def strata_stats(cmp: Comparison) -> StrataStats:
    """:class:`StrataStats` of the comparison (computed once per table under test)."""

    def build() -> StrataStats:
        require_events(cmp, "train", "survival curves")
        t, y = event_times(cmp, "train"), event_times(cmp, "synthetic")
        horizon_tau = Horizon.of(tau(cmp), t, y).tau
        on_train, on_table, on_null = _level_curves(cmp, t, y, horizon_tau)
        train = [curves() for curves in on_train]
        n = len(y)

        def summary(weights: np.ndarray | None) -> tuple[np.ndarray, ...]:
            """Gap, sup, RMST and rows per stratum level, a row per column of ``weights``."""
            gap, sup, rmst, rows = [], [], [], []
            for (train_curve, _), curves in zip(train, on_table, strict=True):
                table, table_rows = curves(weights)
                diff = np.abs(train_curve - table)
                gap.append(curves.area(diff) / horizon_tau)
                sup.append(curves.sup(diff))
                rmst.append(curves.area(table))
                rows.append(table_rows)
            lost = np.where(np.concatenate(rows) < 2, np.nan, 0.0)
            return (*((np.concatenate(x) + lost).T for x in (gap, sup, rmst)), np.concatenate(rows).T)

        runs = [summary(None)] + [summary(weight_matrix(batch, n)) for batch in batches(cmp.resamples(n), n)]
        gap, sup, rmst = (np.concatenate([run[i] for run in runs]) for i in range(3))

        def null(w_a: np.ndarray, w_b: np.ndarray) -> np.ndarray:
            parts = []
            for curves in on_null:
                (a, rows_a), (b, rows_b) = curves(w_a), curves(w_b)
                lost = np.where((rows_a < 2) | (rows_b < 2), np.nan, 0.0)
                parts.append(np.stack([curves.area(np.abs(a - b)) / horizon_tau + lost,
                                       np.abs(curves.area(a) - curves.area(b)) + lost]))
            return np.concatenate(parts, axis=1).transpose(2, 0, 1)

        null_gap, null_rmst = real_vs_real(cmp, null)
        return StrataStats(
            tau=horizon_tau,
            strata=strata(cmp),
            train_rows=[int(r) for c in train for r in c[1][:, 0]],
            table_rows=[int(r) for r in runs[0][3][0]],
            train_rmst=np.concatenate([curves.area(c[0])[:, 0] for curves, c in zip(on_train, train, strict=True)]),
            gap=gap,
            sup=sup,
            rmst=rmst,
            null_gap=null_gap,
            null_rmst=null_rmst,
        )

    return cmp.cached(("strata_stats", frame_key(cmp, "synthetic")), build)


def real_vs_real(cmp: Comparison, distance: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """The 95th percentile of a distance between two real samples of train's and the
    table under test's sizes: ``distance(w_a, w_b)`` on pairs of independent bootstrap
    samples of train given as row weights (the columns of ``w_a``, of |train| rows, and
    of ``w_b``, of |table| rows; a row of its result per pair) (the two-sample bootstrap
    null of Efron & Tibshirani 1993, ch. 16), over the evaluation's number of resamples,
    per component (NaN draws left out)."""
    n_train, n_table, rng = len(cmp.train), len(cmp.synthetic), cmp.rng(Stream.REAL_VS_REAL)
    pairs = ((rng.integers(0, n_train, n_train), rng.integers(0, n_train, n_table)) for _ in range(cmp.n_bootstrap))
    draws = np.concatenate([distance(weight_matrix([a for a, _ in batch], n_train),
                                     weight_matrix([b for _, b in batch], n_train))
                            for batch in batches(pairs, n_train)])
    with warnings.catch_warnings():  # a stratum lost in every draw has no percentile
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(draws, 0.95, axis=0)


def size_factor(cmp: Comparison) -> float:
    """Train's rows over the table under test's. Significance on the table is judged at
    train's size (a test statistic grows with the sample), so that a smaller holdout or
    a larger synthetic table is neither penalised nor favoured for its size alone."""
    return len(cmp.train) / len(cmp.synthetic)


def weights_of(idx: np.ndarray, n: int) -> np.ndarray:
    """Bootstrap resample indices as frequency weights."""
    return np.bincount(idx, minlength=n).astype(float)


#: Most weights (rows x columns) held in one matrix of :func:`weight_matrix` (float32: 16 MiB).
WEIGHT_ELEMENTS = 1 << 22


def batches(items: Iterable[T], n: int) -> Iterator[list[T]]:
    """``items`` (resamples of ``n`` rows) in lists small enough for one weight matrix."""
    width, batch = max(1, WEIGHT_ELEMENTS // max(n, 1)), []
    for item in items:
        batch.append(item)
        if len(batch) == width:
            yield batch
            batch = []
    if batch:
        yield batch


def weight_matrix(resamples: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Bootstrap resample indices as frequency weights, a column per resample (float32:
    counts are exact below 2**24)."""
    out = np.empty((len(resamples), n), dtype=np.float32)
    for j, idx in enumerate(resamples):
        out[j] = np.bincount(idx, minlength=n)
    return out.T
