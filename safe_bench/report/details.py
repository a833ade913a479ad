"""Figures read from metric details, defensively.

Each reader takes the results of one pillar's metrics (by id) and returns a
:class:`~safe_bench.report.figures.Figure`; when the metric was not run, did not
finish, or its details lack what the figure needs, the figure is returned without an
image and with a note saying what is missing. No reader raises on odd details.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from safe_bench.metrics.registry import MetricResult
from safe_bench.report.figures import (
    Bars,
    Curve,
    Effect,
    Figure,
    Interval,
    absent,
    bar_panels,
    forest,
    heatmap,
    histograms,
    intervals,
    roc,
    step_panels,
)

Results = Mapping[str, MetricResult]


def _details(results: Results, metric_id: str, title: str) -> dict[str, Any] | Figure:
    """The details of a metric that finished, or an absent figure saying why not."""
    m = results.get(metric_id)
    if m is None:
        return absent(title, f"{metric_id} was not evaluated")
    if not m.ok:
        return absent(title, f"{metric_id} {m.status}: {m.reason}")
    return m.details


def _numbers(values: Any) -> np.ndarray:
    """A list of numbers as a float array; a ValueError for anything else."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError("not a list of numbers")
    return array


#: At most this many columns get a marginal panel (those with the lowest scores).
MAX_MARGINALS = 9


def marginals(results: Results) -> Figure:
    """Marginals: train versus synthetic"""
    title = "Marginals: train versus synthetic"
    panels: list[tuple[float, Bars]] = []
    lacking = []
    for metric_id, key, bins_key in (("S.ks", "histogram", "edges"), ("S.tv", "shares", "categories")):
        details = _details(results, metric_id, title)
        if isinstance(details, Figure):
            lacking.append(details.note)
            continue
        columns = details.get("columns", {})
        drawn = 0
        for name, entry in columns.items():
            data = entry.get(key) if isinstance(entry, Mapping) else None
            if not isinstance(data, Mapping):
                continue
            bins = data[bins_key] if bins_key == "categories" else list(_numbers(data[bins_key]))
            shares = {"train": _numbers(data["train"]), "synthetic": _numbers(data["synthetic"])}
            panels.append((float(entry.get("score", 0.0)), Bars(str(name), [str(b) for b in bins]
                                                                  if bins_key == "categories" else bins, shares)))
            drawn += 1
        if columns and not drawn:
            lacking.append(f"{metric_id} details carry no per-column {key} ({bins_key} with train and synthetic shares)")
    if not panels:
        return absent(title, "; ".join(lacking) or "no column to draw")
    panels.sort(key=lambda p: (p[0], p[1].name))
    shown = [bars for _, bars in panels[:MAX_MARGINALS]]
    caption = ("Shares of rows per train-fitted bin or category, train (filled) and synthetic (line)"
               + (f"; the {len(shown)} columns with the lowest scores of {len(panels)}" if len(panels) > len(shown) else "")
               + ".")
    return bar_panels(title, shown, caption=caption)


def associations(results: Results) -> Figure:
    """Association differences between column pairs"""
    title = "Association differences between column pairs"
    details = _details(results, "S.pairs", title)
    if isinstance(details, Figure):
        return details
    pairs = details.get("pairs", {})
    columns: list[str] = []
    cells = []
    for key, entry in pairs.items():
        parts = str(key).split(" | ")
        if len(parts) != 2 or not isinstance(entry, Mapping):
            continue
        train, synthetic = entry.get("train"), entry.get("synthetic")
        if train is None or synthetic is None:
            continue
        columns += [p for p in parts if p not in columns]
        cells.append((parts[0], parts[1], abs(float(train) - float(synthetic))))
    if not cells:
        return absent(title, "S.pairs details carry no pair with train and synthetic associations")
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.full((len(columns), len(columns)), np.nan)
    for a, b, gap in cells:
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = gap
    return heatmap(title, columns, matrix, vmax=max(0.2, float(np.nanmax(matrix))),
                   caption="|association in train − association in synthetic| per column pair (Pearson or "
                   "Spearman, bias-corrected Cramér's V, correlation ratio); blank: not computed.")


#: At most this many Kaplan-Meier panels (overall first, then the strata with the lowest scores).
MAX_CURVES = 9


def _curve(label: str, grid: np.ndarray, entry: Any) -> Curve | None:
    if not isinstance(entry, Mapping) or "survival" not in entry:
        return None
    survival = _numbers(entry["survival"])
    if len(survival) != len(grid):
        raise ValueError("a curve does not match its time grid")
    low, high = entry.get("low"), entry.get("high")
    band = low is not None and high is not None
    return Curve(label, grid, survival, _numbers(low) if band else None, _numbers(high) if band else None)


def km_curves(results: Results) -> Figure:
    """Kaplan-Meier curves: train, synthetic and holdout"""
    title = "Kaplan-Meier curves: train, synthetic and holdout"
    details = _details(results, "C.km", title)
    if isinstance(details, Figure):
        return details
    curves = details.get("curves", {})
    if "grid" not in details or not curves:
        return absent(title, "C.km details carry no curves on a time grid")
    grid = _numbers(details["grid"])
    reference = details.get("reference_details") or {}
    ref_grid = _numbers(reference["grid"]) if "grid" in reference else grid
    ref_curves = reference.get("curves", {})
    ranked = sorted(curves.items(), key=lambda kv: (kv[0] != "overall", float(kv[1].get("score", 1.0)), kv[0]))
    panels: dict[str, list[Curve]] = {}
    for name, entry in ranked[:MAX_CURVES]:
        drawn = [_curve("train (real)", grid, entry.get("train")), _curve("synthetic", grid, entry.get("table")),
                 _curve("holdout (real)", ref_grid, ref_curves.get(name, {}).get("table"))]
        if drawn[0] is None:
            continue
        panels[str(name)] = [c for c in drawn if c is not None]
    if not panels:
        return absent(title, "C.km details carry no train curve")
    caption = ("Survival probability over time, overall and per group level, with 95 % bands (train shaded); the "
               "holdout is real patients never seen by the generator"
               + (f"; the {len(panels) - 1} strata with the lowest scores of {len(curves) - 1}"
                  if len(curves) > len(panels) else "") + ".")
    return step_panels(title, panels, xlabel="time", ylabel="survival", caption=caption, ncols=2)


def _effect(entry: Any) -> tuple[float, float, float] | None:
    if not isinstance(entry, Mapping) or entry.get("hr") is None:
        return None
    values = (float(entry["hr"]), float(entry["low"]), float(entry["high"]))
    return values if all(np.isfinite(values)) and min(values) > 0 else None


def cox_forest(results: Results) -> Figure:
    """Cox model: hazard ratios on train and synthetic"""
    title = "Cox model: hazard ratios on train and synthetic"
    details = _details(results, "C.cox", title)
    if isinstance(details, Figure):
        return details
    terms = details.get("terms", {})
    effects = [Effect(str(term), _effect(entry.get("train")), _effect(entry.get("table")))
               for term, entry in terms.items() if isinstance(entry, Mapping)]
    if not any(e.real or e.synthetic for e in effects):
        return absent(title, "C.cox details carry no hazard ratios with intervals")
    return forest(title, effects, caption="The same multivariable Cox model fitted on train and on the synthetic "
                  "table: hazard ratio per term with its 95 % interval (log scale; 1 = no effect).")


def _risk(label: str, entry: Mapping[str, Any]) -> Interval | None:
    """An attack's risk from its residual and error (Anonymeter): floored at 0, the
    interval the residual plus or minus the error, bounded to 0..1."""
    if entry.get("residual") is None:
        return None
    residual, error = float(entry["residual"]), float(entry.get("residual_error") or 0.0)
    return Interval(label, max(residual, 0.0), max(residual - error, 0.0), min(residual + error, 1.0))


def attack_risks(results: Results) -> Figure:
    """Attack risks with 95 % intervals"""
    title = "Attack risks with 95 % intervals"
    rows, lacking = [], []
    for metric_id, label, key in (("P.singling_out", "singling out", "modes"), ("P.linkability", "linkability", None),
                                  ("P.attribute", "attribute inference", "columns")):
        details = _details(results, metric_id, title)
        if isinstance(details, Figure):
            lacking.append(details.note)
            continue
        entries = {"": details} if key is None else details.get(key, {})
        found = [_risk(f"{label}{': ' + name if name else ''}", entry) for name, entry in entries.items()
                 if isinstance(entry, Mapping)]
        if not any(found):  # no per-attack details: the risk mirrors the score, 1 - max(risk, 0)
            m = results[metric_id]
            found = [Interval(label, 1.0 - m.score, None if m.ci_high is None else 1.0 - m.ci_high,  # type: ignore[operator]
                              None if m.ci_low is None else 1.0 - m.ci_low)]
        rows += [r for r in found if r is not None]
    if not rows:
        return absent(title, "; ".join(lacking))
    caption = ("Risk = (success on training patients − success on holdout controls) / (1 − control success), "
               "floored at 0, with its 95 % interval (the Anonymeter method, Giomi et al. 2023): 0 means the synthetic "
               "table tells an attacker nothing about training patients that it does not about unseen ones. "
               "Lower is better." + (f" Not drawn: {'; '.join(lacking)}." if lacking else ""))
    return intervals(title, rows, xlabel="risk (lower is better)", caption=caption, zoom=False)


def dcr_histograms(results: Results) -> Figure:
    """Distances to the closest training record"""
    title = "Distances to the closest training record"
    details = _details(results, "P.dcr_p5", title)
    if isinstance(details, Figure):
        return details
    histogram = details.get("histogram")
    if not isinstance(histogram, Mapping):
        return absent(title, "P.dcr_p5 details carry no distance histogram (edges with synthetic and holdout counts)")
    return histograms(title, _numbers(histogram["edges"]),
                      {"synthetic → train": _numbers(histogram["synthetic"]),
                       "holdout → train (real, never seen)": _numbers(histogram["holdout"])},
                      xlabel="distance to the closest train row (train-fitted encoding)",
                      caption="Shares of rows per distance bin. Synthetic rows much closer to train than unseen real "
                      "patients are (mass at the left) suggest copied or memorised records.")


def mia_roc(results: Results) -> Figure:
    """Membership inference: ROC curve"""
    title = "Membership inference: ROC curve"
    details = _details(results, "P.mia", title)
    if isinstance(details, Figure):
        return details
    curve = details.get("roc")
    if not isinstance(curve, Mapping):
        return absent(title, "P.mia details carry no ROC curve (false- and true-positive rates)")
    m = results["P.mia"]
    auc = details.get("auc", m.value)
    if auc is None:
        return absent(title, "P.mia carries no AUC")
    return roc(title, {f"distance attack (AUC {float(auc):.3f})": (_numbers(curve["fpr"]), _numbers(curve["tpr"]))},
               caption="An attacker calls a real patient a training member when a synthetic row lies close to it; "
               "the diagonal is guessing. Members: train rows; non-members: holdout rows.")


READERS: dict[str, list[Callable[[Results], Figure]]] = {
    "S": [marginals, associations],
    "C": [km_curves, cox_forest],
    "P": [dcr_histograms, mia_roc, attack_risks],
}


def figures_for(pillar: str, results: Results) -> list[Figure]:
    """The detail figures of one pillar; a reader that fails on unexpected details
    gives a note, not an error."""
    out = []
    for reader in READERS.get(pillar, []):
        try:
            out.append(reader(results))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            title = (reader.__doc__ or reader.__name__).strip().splitlines()[0]
            out.append(absent(title, f"the metric details do not have the expected layout ({type(exc).__name__})"))
    return out
