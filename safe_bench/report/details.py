"""Figures read from metric details, defensively.

Each reader takes the results of one pillar's metrics (by id) and returns a
:class:`~safe_bench.report.figures.Figure`; when the metric was not run, did not
finish, or its details lack what the figure needs, the figure is returned without an
image and with a note saying what is missing. No reader raises on odd details.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from safe_bench.metrics import MetricResult
from safe_bench.report.figures import Figure, absent

Results = Mapping[str, MetricResult]


def _details(results: Results, metric_id: str, title: str) -> dict[str, Any] | Figure:
    """The details of a metric that finished, or an absent figure saying why not."""
    m = results.get(metric_id)
    if m is None:
        return absent(title, f"{metric_id} was not evaluated")
    if not m.ok:
        return absent(title, f"{metric_id} {m.status}: {m.reason}")
    return m.details


READERS: dict[str, list[Callable[[Results], Figure]]] = {"S": [], "C": [], "P": []}


def figures_for(pillar: str, results: Results) -> list[Figure]:
    """The detail figures of one pillar; a reader that fails on unexpected details
    gives a note, not an error."""
    out = []
    for reader in READERS.get(pillar, []):
        try:
            out.append(reader(results))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            title = (reader.__doc__ or reader.__name__).strip().splitlines()[0]
            out.append(absent(title, f"the metric details do not have the expected layout ({type(exc).__name__})"))
    return out
