"""What the page of one evaluation shows: its scores (:mod:`safe_bench.report.scores`),
SAFE and its pillars first, then per pillar its metrics, figures and detail tables, all
read from the result (scores and metric ``details``).

Details are read defensively: a figure whose data a metric does not provide is left
out with a note saying so, never a crash. Only aggregates reach the page.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.metrics.registry import PILLAR_NAMES, PILLARS, MetricResult
from safe_bench.metrics.tidy import detail_parts
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


def detail_tables(m: MetricResult) -> list[DetailTable]:
    """A metric's detail parts (:func:`~safe_bench.metrics.tidy.detail_parts`: the
    top-level scalars, then per column, per group, per covariate, per finding, ...) as
    printed tables of at most :data:`MAX_DETAIL_ROWS` rows."""
    tables = []
    for part in detail_parts(m.details):
        shown = list(zip(part.names, part.rows, strict=True))[:MAX_DETAIL_ROWS]
        note = f"first {MAX_DETAIL_ROWS} of {len(part.rows)} rows" if len(part.rows) > MAX_DETAIL_ROWS else ""
        featured = FEATURED.get((m.id, part.key))
        tables.append(DetailTable(featured or f"{m.id}: {part.key}", [part.index, *part.columns],
                                  [[name, *map(_cell, row)] for name, row in shown], note, bool(featured)))
    return tables


def _score_figure(title: str, groups: Sequence[Sequence[ScoreRow]], caption: str) -> Figure:
    drawable = [[Interval(r.id if r.id == "SAFE" else f"{r.id}  {r.name}", r.score, r.ci_low, r.ci_high, r.reference)
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
