"""What the page of one evaluation shows: its scores (:mod:`safe_bench.report.scores`),
SAFE and its pillars first, then per pillar its metrics, figures and detail tables, all
read from the result (scores and metric ``details``).

Details are read defensively: a figure whose data a metric does not provide is left
out with a note saying so, never a crash. Only aggregates reach the page.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.metrics.registry import PILLAR_NAMES, PILLARS, MetricResult
from safe_bench.report import details as read
from safe_bench.report.figures import Figure, Interval, intervals
from safe_bench.report.format import fmt
from safe_bench.report.scores import EvaluationScores, ScoreRow, evaluation_scores

#: At most this many rows of one detail table are shown.
MAX_DETAIL_ROWS = 60


@dataclass(frozen=True)
class DetailTable:
    """A metric's per-column / per-group details as a table; ``featured`` tables are
    shown open, the others folded."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    featured: bool = False


#: Detail tables shown open, with a title of their own: (metric, details key) -> title.
FEATURED = {("C.findings", "findings"): "Clinical findings of train, re-tested on the synthetic table"}


@dataclass
class PillarSection:
    """One pillar: its score, its metrics, its figures and its detail tables."""

    key: str
    name: str
    score: ScoreRow
    metrics: list[ScoreRow]
    figures: list[Figure] = field(default_factory=list)
    tables: list[DetailTable] = field(default_factory=list)


@dataclass
class EvaluationPage:
    """Everything the evaluation template renders: the scores, a figure of them all, and
    a section per pillar."""

    title: str
    scores: EvaluationScores
    summary_figure: Figure
    sections: list[PillarSection]


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value) if isinstance(value, int) else fmt(value)
    return "–" if value is None else str(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _entries(value: Any) -> dict[str, Mapping[str, Any]]:
    """Named entries of a detail: a mapping of mappings, or a list of mappings (numbered)."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if isinstance(v, Mapping)}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value, 1) if isinstance(v, Mapping)}
    return {}


def detail_tables(m: MetricResult) -> list[DetailTable]:
    """Every mapping or list of named entries of scalars in a metric's details (per
    column, per group, per covariate, per finding, ...) as a table; the scalars at the
    top level as one more."""
    tables = []
    top = [[key, _cell(v)] for key, v in m.details.items() if _is_scalar(v) and key != "reference_value"]
    for key, value in m.details.items():
        entries = {} if key == "reference_details" else _entries(value)
        columns: list[str] = []
        for entry in entries.values():
            columns += [c for c, v in entry.items() if _is_scalar(v) and c not in columns]
        if not columns:
            continue
        shown = list(entries.items())[:MAX_DETAIL_ROWS]
        note = f"first {MAX_DETAIL_ROWS} of {len(entries)} rows" if len(entries) > MAX_DETAIL_ROWS else ""
        rows = [[name, *(_cell(entry.get(c)) for c in columns)] for name, entry in shown]
        featured = FEATURED.get((m.id, key))
        tables.append(DetailTable(featured or f"{m.id}: {key}", [key, *columns], rows, note, bool(featured)))
    if top:
        tables.insert(0, DetailTable(f"{m.id}: summary", ["detail", "value"], top))
    return tables


def _score_figure(title: str, groups: Sequence[Sequence[ScoreRow]], caption: str) -> Figure:
    drawable = [[Interval(f"{r.id}  {r.name}", r.score, r.ci_low, r.ci_high, r.reference)
                 for r in rows if r.score is not None and math.isfinite(r.score)] for rows in groups]
    return intervals(title, [r for rows in drawable for r in rows], caption=caption,
                     breaks=list(itertools.accumulate(len(rows) for rows in drawable))[:-1])


def evaluation_page(result: EvaluationResult, *, title: str | None = None) -> EvaluationPage:
    """The content of the page of one evaluation."""
    scores = evaluation_scores(result)
    summary_figure = _score_figure(
        "SAFE, its pillars and their metrics", [scores.safe_first, *(scores.metrics_of(key) for key in PILLARS)],
        "Dots: the synthetic table's scores with 95 % intervals; ticks: the same score for the holdout "
        "(real patients the generator never saw), the ceiling.")
    pillars = {row.id: row for row in scores.pillars}
    sections = []
    for key in PILLARS:
        metrics = [m for m in result.metrics if m.pillar == key]
        if not metrics or key not in pillars:
            continue
        section = PillarSection(key, PILLAR_NAMES[key], pillars[key], scores.metrics_of(key))
        section.figures += read.figures_for(key, {m.id: m for m in metrics})
        for m in metrics:
            if m.ok:
                section.tables += detail_tables(m)
        sections.append(section)
    return EvaluationPage(title or (f"SAFE report: {result.label}" if result.label else "SAFE report"),
                          scores, summary_figure, sections)
