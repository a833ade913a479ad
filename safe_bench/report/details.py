"""The figures of a pillar, as its metrics declare them.

Each metric that has a figure registers it with itself
(:class:`~safe_bench.metrics.charts.Drawing`: the chart it draws into and how its typed
details become its part). This module goes over the registered metrics of a pillar in
registration order, gives each chart the parts of the metrics that finished and the
notes of those that did not (not evaluated, skipped, failed, or nothing to draw), and
draws the chart's plot with the drawer of its kind. It names no metric: a metric
without a figure (a third-party one, say) simply has none.

A figure whose data are absent is returned without an image, with a note saying why.
Details are typed and checked when a result is read back
(:meth:`~safe_bench.metrics.base.MetricResult.from_dict`), so nothing here guesses at
their layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from safe_bench.metrics.charts import (
    BarPanels,
    Chart,
    Forest,
    Histograms,
    Intervals,
    Outcome,
    PairMatrix,
    Plot,
    RocCurves,
    SurvivalPanels,
)
from safe_bench.metrics.registry import METRICS, Metric, MetricResult, read_details, read_reference_details
from safe_bench.report.figures import (
    Figure,
    absent,
    bar_panels,
    forest,
    heatmap,
    histograms,
    intervals,
    roc,
    survival_panels,
)

Results = Mapping[str, MetricResult]


def draw(title: str, plot: Plot) -> Figure:
    """The figure of a plot, by its kind."""
    match plot:
        case BarPanels():
            return bar_panels(title, plot.panels, caption=plot.caption)
        case PairMatrix():
            return heatmap(title, plot.labels, plot.matrix, vmax=plot.vmax, caption=plot.caption)
        case SurvivalPanels():
            return survival_panels(title, plot)
        case Forest():
            return forest(title, plot.effects, caption=plot.caption)
        case Intervals():
            return intervals(title, plot.rows, xlabel=plot.xlabel, caption=plot.caption, zoom=plot.zoom)
        case Histograms():
            return histograms(title, plot.edges, plot.counts, xlabel=plot.xlabel, caption=plot.caption)
        case RocCurves():
            return roc(title, plot.curves, caption=plot.caption)


def _part(spec: Metric, results: Results) -> Any:
    """The metric's part in its chart, or the note (text) saying why it has none."""
    assert spec.figure is not None
    result = results.get(spec.id)
    if result is None:
        return f"{spec.id} was not evaluated"
    if not result.ok:
        return f"{spec.id} {result.status}: {result.reason}"
    return spec.figure.part(Outcome(read_details(result), read_reference_details(result), result.value))


def _figure(chart: Chart[Any], specs: list[Metric], results: Results) -> Figure:
    found = [_part(spec, results) for spec in specs]
    plot = chart.assemble([p for p in found if not isinstance(p, str)], [p for p in found if isinstance(p, str)])
    return absent(chart.title, plot) if isinstance(plot, str) else draw(chart.title, plot)


def figures_for(pillar: str, results: Results) -> list[Figure]:
    """The detail figures of one pillar, in the order their metrics are registered."""
    charts: dict[str, tuple[Chart[Any], list[Metric]]] = {}
    for spec in METRICS.values():
        if spec.pillar == pillar and spec.figure is not None:
            charts.setdefault(spec.figure.chart.title, (spec.figure.chart, []))[1].append(spec)
    return [_figure(chart, specs, results) for chart, specs in charts.values()]
