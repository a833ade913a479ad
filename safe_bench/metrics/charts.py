"""What a metric's figure shows, as plain data: the metric owns its figure, the report draws it.

A metric that has a figure registers a :class:`Drawing` with it
(``@metric(..., figure=Drawing(CHART, part))``): the :class:`Chart` it draws into and a
function turning the metric's typed details (an :class:`Outcome`) into its part of the
chart, or into the reason it has none. Several metrics may draw into one chart (S.ks and
S.tv into the marginals, the three attacks into the attack risks); the chart's
``assemble`` turns the parts, and the notes of the metrics that gave none, into a
:data:`Plot` (or the reason there is no figure). The report
(:mod:`safe_bench.report.details`) goes over the registered metrics, collects the parts
and draws each plot with the drawer of its kind (:mod:`safe_bench.report.figures`), so it
never names a metric; metrics never import the report, which comes later in the data flow.

Everything here is numbers and labels (aggregates: shares per bin, curves on a grid,
estimates with intervals), never a table, so no record can reach a figure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from safe_bench.metrics.stored import Values


# -- the pieces of a figure -----------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """A labelled score with its 95 % interval and a reference (holdout) score."""

    label: str
    score: float
    low: float | None = None
    high: float | None = None
    reference: float | None = None


@dataclass(frozen=True)
class Curve:
    """A step curve (e.g. a Kaplan-Meier estimate), optionally with a band."""

    label: str
    x: Values
    y: Values
    low: Values | None = None
    high: Values | None = None


@dataclass(frozen=True)
class Effect:
    """A covariate's effect (e.g. a hazard ratio) with its 95 % interval, on train and the
    table under test, and on the holdout when it was estimated there too."""

    label: str
    real: tuple[float, float, float] | None  # estimate, low, high
    synthetic: tuple[float, float, float] | None
    holdout: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Bars:
    """Shares per bin or category for several tables (same bins for all)."""

    name: str
    bins: Sequence[str] | Values  # category labels, or len(shares)+1 bin edges
    shares: Mapping[str, Values]  # table label -> share per bin


# -- plots: one figure's data, one kind per drawer --------------------------------------
@dataclass(frozen=True)
class BarPanels:
    """Small multiples of overlaid distributions."""

    panels: Sequence[Bars]
    caption: str


@dataclass(frozen=True)
class PairMatrix:
    """A symmetric matrix over labels (NaN: not computed), coloured from 0 to ``vmax``."""

    labels: Sequence[str]
    matrix: np.ndarray
    vmax: float
    caption: str


@dataclass(frozen=True)
class SurvivalLevel:
    """One level of a variable (or every patient): its curve on each table drawn
    (``train (real)``, ``synthetic``, ``holdout (real)``) and the numbers at risk of each
    at :attr:`SurvivalPanels.risk_times`."""

    level: str
    curves: Mapping[str, Curve]
    at_risk: Mapping[str, Values]


@dataclass(frozen=True)
class SurvivalPanels:
    """Survival curves, one panel per variable (every patient first) with its levels
    overlaid, and the numbers at risk under each panel."""

    panels: Mapping[str, Sequence[SurvivalLevel]]
    risk_times: Values
    xlabel: str
    caption: str


@dataclass(frozen=True)
class Forest:
    """Effects on two or three tables (train, synthetic, holdout), with their intervals."""

    effects: Sequence[Effect]
    caption: str


@dataclass(frozen=True)
class Intervals:
    """Labelled estimates with 95 % intervals (``zoom``: the axis starts near the lowest)."""

    rows: Sequence[Interval]
    xlabel: str
    caption: str
    zoom: bool


@dataclass(frozen=True)
class Histograms:
    """Overlaid histograms of counts on shared bin edges."""

    edges: Values
    counts: Mapping[str, Values]
    xlabel: str
    caption: str


@dataclass(frozen=True)
class RocCurves:
    """ROC curves: label -> (false-positive rates, true-positive rates)."""

    curves: Mapping[str, tuple[Values, Values]]
    caption: str


Plot = BarPanels | PairMatrix | SurvivalPanels | Forest | Intervals | Histograms | RocCurves


# -- a metric's part in a chart ---------------------------------------------------------
D = TypeVar("D")
P = TypeVar("P")


@dataclass(frozen=True)
class Outcome(Generic[D]):
    """What a metric's part of a figure is drawn from: its typed details, those of the
    holdout reference run (for metrics that keep them, else None) and its value."""

    details: D
    reference: D | None
    value: float | None


@dataclass(frozen=True)
class Chart(Generic[P]):
    """A figure: its title, and ``assemble``, which turns the parts its metrics gave (in
    registration order) and the notes of those that gave none into its plot, or into the
    reason it cannot be drawn."""

    title: str
    assemble: Callable[[Sequence[P], Sequence[str]], Plot | str]


@dataclass(frozen=True)
class Drawing(Generic[P]):
    """A metric's part in ``chart``: ``part`` turns the metric's outcome into it, or into
    the reason the metric has nothing to draw."""

    chart: Chart[P]
    part: Callable[[Outcome[Any]], P | str]


def lacking(notes: Sequence[str]) -> str:
    """Why a chart has no figure: the notes of its metrics."""
    return "; ".join(notes)


def single(parts: Sequence[Plot], notes: Sequence[str]) -> Plot | str:
    """``assemble`` of a chart drawn by one metric whose part is the whole plot."""
    return parts[0] if parts else lacking(notes)
