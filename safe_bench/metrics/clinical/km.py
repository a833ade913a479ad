"""Pillar C, clinical utility: does the clinical message drawn from train survive?"""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.comparison import Comparison
from safe_bench.errors import MetricSkipped
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.schema import Schema
from safe_bench.survival import curve_distance, kaplan_meier

#: A group level needs this many train rows to get a curve of its own.
MIN_GROUP_ROWS = 10
#: SAFE.md: tau is this percentile of train's observed times.
TAU_PERCENTILE = 90


def group_columns(schema: Schema) -> list[str]:
    """The declared group variables, or else every categorical covariate (SAFE.md)."""
    return list(schema.groups) or [c for c in schema.categorical if c in schema.covariates]


def level_label(value: Any) -> str:
    """A category as text (booleans and whole numbers without '.0')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@metric("C.km", pillar="C", name="Kaplan-Meier agreement", requires=("survival",))
def km_agreement(cmp: Comparison) -> Measurement:
    """Kaplan-Meier curves of train and the table under test, overall and per level of
    every group variable: integrated absolute difference over [0, tau] divided by tau
    (tau = 90th percentile of train's times), and the sup-norm. Score: the mean of
    1 - IAD/tau over all curves. Interval: bootstrap over rows of the table under test."""
    assert cmp.schema.survival is not None
    time, event = cmp.schema.survival.time, cmp.schema.survival.event
    train, synth = cmp.train, cmp.synthetic
    t_time, t_event = train[time].to_numpy(), train[event].to_numpy()
    y_time, y_event = synth[time].to_numpy(), synth[event].to_numpy()
    if t_event.sum() == 0:
        raise MetricSkipped("no event in train: every train patient is censored")
    tau = float(np.percentile(t_time, TAU_PERCENTILE))

    curves: list[tuple[str, str | None, np.ndarray, np.ndarray]] = [
        ("overall", None, np.ones(len(train), bool), np.ones(len(synth), bool))
    ]
    skipped: list[str] = []
    for col in group_columns(cmp.schema):
        for level, count in train[col].value_counts().sort_index().items():
            name = f"{col}={level_label(level)}"
            if count < MIN_GROUP_ROWS:
                skipped.append(f"{name}: {count} train rows (< {MIN_GROUP_ROWS})")
                continue
            curves.append((name, col, (train[col] == level).to_numpy(), (synth[col] == level).to_numpy()))

    train_curves = [kaplan_meier(t_time[in_t], t_event[in_t]) for _, _, in_t, _ in curves]

    def scores(weights: np.ndarray) -> list[float]:
        out = []
        for _, _, in_t, in_y in curves:
            w = weights * in_y
            if w.sum() < 2:
                out.append(0.0)  # the table under test lost this subgroup
                continue
            iad, _ = curve_distance(train_curves[len(out)], kaplan_meier(y_time, y_event, w), tau)
            out.append(1.0 - iad / tau)
        return out

    point = scores(np.ones(len(synth)))
    reps = np.array(
        [np.mean(scores(np.bincount(idx, minlength=len(synth)).astype(float))) for idx in cmp.resamples(len(synth))]
    )
    details: dict[str, Any] = {"tau": tau, "curves": {}}
    for (name, col, in_t, in_y), train_curve, score in zip(curves, train_curves, point):
        y_curve = kaplan_meier(y_time[in_y], y_event[in_y]) if in_y.sum() >= 2 else None
        entry: dict[str, Any] = {"group": col, "train_rows": int(in_t.sum()), "rows": int(in_y.sum()), "score": score}
        if y_curve is None:
            entry["note"] = "fewer than 2 rows in the table under test: scored 0"
        else:
            entry["iad"], entry["sup"] = curve_distance(train_curve, y_curve, tau)
        details["curves"][name] = entry
    if skipped:
        details["skipped_levels"] = skipped
    score = float(np.mean(point))
    return bootstrapped(1.0 - score, score, reps, details)
