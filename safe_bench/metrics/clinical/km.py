"""C.km: Kaplan-Meier curves of train and the table under test, overall and per group.

Its typed details (:class:`KmDetails`) carry every curve on a grid of times; it draws
them, with the holdout's from the reference run, one panel per variable with its levels
overlaid and the numbers at risk under it (:data:`KM_CURVES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safe_bench.errors import InputError
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Details, Measurement, bootstrapped, metric
from safe_bench.metrics.charts import Chart, Curve, Drawing, Outcome, Plot, SurvivalLevel, SurvivalPanels, single
from safe_bench.metrics.clinical.cohort import (
    StrataDescription,
    SurvivalCurve,
    curve_grid,
    curve_of,
    describe_strata,
    strata_stats,
)
from safe_bench.metrics.stored import Stored, Values

#: At most this many Kaplan-Meier panels (every patient first, then the variables whose
#: worst level scores lowest), and this many levels overlaid in one panel.
MAX_PANELS = 9
MAX_LEVELS = 6
#: Why a stratum has no distance: the table under test lost it.
LOST = "fewer than 2 rows in the table under test: scored 0"


@dataclass(frozen=True)
class Gap:
    """How far the table's curve of a stratum is from train's: the integrated absolute
    difference over [0, tau], the sup-norm, and the table's curve."""

    iad: float
    sup: float
    table: SurvivalCurve | None

    def to_dict(self) -> dict[str, object]:
        return {"iad": self.iad, "sup": self.sup, "table": None if self.table is None else self.table.to_dict()}

    @classmethod
    def read(cls, stored: Stored) -> Gap:
        table = stored.optional_child("table")
        return cls(stored.number("iad"), stored.number("sup"), None if table is None else SurvivalCurve.read(table))


@dataclass(frozen=True)
class KmStratum:
    """One stratum of C.km (overall, or a group level): its group variable, rows in
    train and in the table, score and real-vs-real 95th percentile; its ``gap``, or
    the ``note`` saying why there is none; train's curve (the synthetic run only: None
    in the holdout reference run)."""

    group: str | None
    train_rows: float
    rows: float
    score: float
    real_vs_real_q95: float
    gap: Gap | None
    note: str | None
    train: SurvivalCurve | None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"group": self.group, "train_rows": self.train_rows, "rows": self.rows,
                                  "score": self.score, "real_vs_real_q95": self.real_vs_real_q95}
        out.update({"note": self.note} if self.gap is None else self.gap.to_dict())
        if self.train is not None:
            out["train"] = self.train.to_dict()
        return out

    @classmethod
    def read(cls, stored: Stored) -> KmStratum:
        measured = not stored.has("note")
        return cls(stored.optional_text("group"), stored.number("train_rows"), stored.number("rows"),
                   stored.number("score"), stored.number("real_vs_real_q95"), Gap.read(stored) if measured else None,
                   None if measured else stored.text("note"),
                   SurvivalCurve.read(stored.child("train")) if stored.has("train") else None)

    def curves(self) -> list[SurvivalCurve]:
        return [c for c in (self.train, None if self.gap is None else self.gap.table) if c is not None]


@dataclass(frozen=True)
class KmDetails(Details):
    """What C.km compared, the grid of times its curves are written on, each stratum,
    and the unit of time (the schema's; empty when it gives none)."""

    strata: StrataDescription
    grid: Values
    curves: dict[str, KmStratum]
    time_unit: str = ""

    def to_dict(self) -> dict[str, object]:
        return {**self.strata.to_dict(), "grid": self.grid, "curves": {n: s.to_dict() for n, s in self.curves.items()},
                **({"time_unit": self.time_unit} if self.time_unit else {})}

    @classmethod
    def read(cls, stored: Stored) -> KmDetails:
        details = cls(StrataDescription.read(stored), stored.numbers("grid"),
                      {name: KmStratum.read(s) for name, s in stored.children("curves").items()},
                      stored.text("time_unit") if stored.has("time_unit") else "")
        for name, stratum in details.curves.items():
            if any(len(c.survival) != len(details.grid) for c in stratum.curves()):
                raise InputError(f"{stored.where}: curves: {name}: a curve does not match the time grid")
        return details


#: Everyone's panel, and the label of its one level.
EVERYONE = "overall"
ALL_PATIENTS = "all patients"
#: The tables a panel draws, as its legend names them.
TRAIN, SYNTHETIC, HOLDOUT = "train (real)", "synthetic", "holdout (real)"


def _level(name: str, stratum: KmStratum) -> str:
    return ALL_PATIENTS if stratum.group is None else name.partition("=")[2] or name


def _km_panels(outcome: Outcome[KmDetails]) -> Plot | str:
    """One panel per variable (every patient first, then the variables whose worst
    level scores lowest), its levels overlaid: train's, the synthetic table's and the
    holdout's curve of each level, and the numbers at risk under it."""
    details, reference = outcome.details, outcome.reference
    variables: dict[str, list[tuple[str, KmStratum]]] = {}
    for name, stratum in details.curves.items():
        if stratum.train is not None:
            variables.setdefault(stratum.group or EVERYONE, []).append((name, stratum))
    if not variables:
        return "C.km details carry no train curve"
    order = sorted(variables, key=lambda v: (v != EVERYONE, min(s.score for _, s in variables[v]), v))
    shown = order[:MAX_PANELS]
    panels: dict[str, list[SurvivalLevel]] = {}
    risk_times: Values = ()
    for variable in shown:
        levels = []
        for name, stratum in variables[variable][:MAX_LEVELS]:
            held = None if reference is None or name not in reference.curves else reference.curves[name].gap
            tables = {TRAIN: stratum.train, SYNTHETIC: None if stratum.gap is None else stratum.gap.table,
                      HOLDOUT: None if held is None else held.table}
            drawn = {t: c for t, c in tables.items() if c is not None}
            grids = {HOLDOUT: reference.grid if reference else details.grid}
            levels.append(SurvivalLevel(
                _level(name, stratum),
                {t: Curve(t, grids.get(t, details.grid), c.survival, c.low, c.high) for t, c in drawn.items()},
                {t: c.at_risk for t, c in drawn.items() if t != HOLDOUT and len(c.at_risk)}))
            risk_times = risk_times if len(risk_times) else (stratum.train.risk_times if stratum.train else ())
        panels[variable] = levels
    left = [f"{len(order) - len(shown)} variable(s)"] if len(order) > len(shown) else []
    left += [f"{len(variables[v]) - MAX_LEVELS} level(s) of {v}" for v in shown if len(variables[v]) > MAX_LEVELS]
    unit = f" ({details.time_unit})" if details.time_unit else ""
    caption = ("Survival probability over time, every patient and then each group variable with its levels "
               "overlaid (one colour per level): train solid with its 95 % band shaded, synthetic dashed, holdout "
               "(real patients the generator never saw) dotted; numbers at risk of train and synthetic under each "
               "panel" + (f"; not shown: {', '.join(left)}" if left else "") + ".")
    return SurvivalPanels(panels, risk_times, xlabel=f"time{unit}", caption=caption)


#: The Kaplan-Meier curves of train, the table under test and the holdout, drawn by C.km.
KM_CURVES: Chart[Plot] = Chart("Kaplan-Meier curves: train, synthetic and holdout", single)


@metric("C.km", pillar="C", name="Kaplan-Meier agreement", requires=("survival",), reference_details=True,
        details=KmDetails, figure=Drawing(KM_CURVES, _km_panels))
def km_agreement(cmp: Comparison) -> Measurement:
    """Kaplan-Meier curves of train and the table under test, overall and per level of
    every group variable: integrated absolute difference over [0, tau] divided by tau
    (tau = 90th percentile of train's times; the value is its mean over curves), and
    the sup-norm. Each curve's IAD / tau is judged against the 95th percentile of the
    same distance between two real samples of train's and the table's sizes (two
    bootstrap samples of train): score 1 within it, ``q95 / distance`` beyond
    (:func:`~safe_bench.evaluation.uncertainty.within_sampling`), so a stretched or compressed
    follow-up falls clearly; a stratum the table lost scores 0. Score: the mean over
    curves. Interval: bootstrap over rows of the table under test.

    Details carry every curve on a grid of times with its 95 % band (exponential
    Greenwood) and median: the table under test's, and train's in the synthetic run
    (the holdout reference run carries the holdout's, kept as ``reference_details``)."""
    stats = strata_stats(cmp)
    scores = np.nan_to_num(within_sampling(stats.gap, stats.null_gap), nan=0.0)
    point = scores[0]
    curves: dict[str, KmStratum] = {}
    for i, stratum in enumerate(stats.strata):
        lost = np.isnan(stats.gap[0, i])
        gap = None if lost else Gap(stats.gap[0, i] * stats.tau, stats.sup[0, i],
                                    curve_of(cmp, "synthetic", stratum.mask(cmp.synthetic)))
        train = None if cmp.is_reference else curve_of(cmp, "train", stratum.mask(cmp.train))
        curves[stratum.name] = KmStratum(stratum.column, stats.train_rows[i], stats.table_rows[i], point[i],
                                         stats.null_gap[i], gap, LOST if lost else None, train)
    value = float(np.nanmean(stats.gap[0])) if np.isfinite(stats.gap[0]).any() else 1.0
    details = KmDetails(describe_strata(cmp, stats.tau), curve_grid(cmp), curves,
                        cmp.schema.survival.unit if cmp.schema.survival else "")
    return bootstrapped(value, float(np.mean(point)), scores[1:].mean(axis=1), details.to_dict())
