"""Survival curves on plain arrays: weighted Kaplan-Meier and distances between curves.

The Kaplan-Meier estimator (Kaplan & Meier, JASA 1958) with frequency weights, so a
bootstrap replicate is the same curve with resample counts as weights; it equals
lifelines' ``KaplanMeierFitter`` (checked in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepCurve:
    """A right-continuous step function S(t): value 1 before ``times[0]``."""

    times: np.ndarray
    survival: np.ndarray

    def at(self, t: np.ndarray) -> np.ndarray:
        if len(self.times) == 0:
            return np.ones(np.shape(t))
        pos = np.searchsorted(self.times, t, side="right") - 1
        return np.where(pos < 0, 1.0, self.survival[np.maximum(pos, 0)])


def kaplan_meier(time: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None) -> StepCurve:
    """Kaplan-Meier survival at each distinct event time (weights: frequency weights)."""
    w = np.ones(len(time)) if weights is None else np.asarray(weights, dtype=float)
    keep = w > 0
    time, event, w = time[keep], event[keep], w[keep]
    if len(time) == 0:
        return StepCurve(np.zeros(0), np.zeros(0))
    times, inverse = np.unique(time, return_inverse=True)
    removed = np.bincount(inverse, weights=w, minlength=len(times))
    deaths = np.bincount(inverse, weights=w * event, minlength=len(times))
    at_risk = removed[::-1].cumsum()[::-1]
    survival = np.cumprod(1.0 - deaths / at_risk)
    has_event = deaths > 0
    return StepCurve(times[has_event], survival[has_event])


def curve_distance(a: StepCurve, b: StepCurve, tau: float) -> tuple[float, float]:
    """Integrated absolute difference over [0, tau] and the sup-norm, between two curves."""
    breaks = np.union1d(a.times, b.times)
    breaks = np.concatenate([[0.0], breaks[(breaks > 0) & (breaks < tau)], [tau]])
    gap = np.abs(a.at(breaks[:-1]) - b.at(breaks[:-1]))
    return float(np.sum(gap * np.diff(breaks))), float(gap.max(initial=0.0))
