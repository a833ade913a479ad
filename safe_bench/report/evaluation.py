"""What the page of one evaluation shows: SAFE and its pillars first, then per pillar its
metrics, figures and detail tables, all read from the result (scores and metric ``details``).

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
from safe_bench.evaluation.scoring import PillarScore
from safe_bench.metrics.registry import METRICS, PILLAR_NAMES, PILLARS, MetricResult
from safe_bench.report import details as read
from safe_bench.report.figures import Figure, Interval, intervals
from safe_bench.report.format import ci_text, fmt

#: At most this many rows of one detail table are shown.
MAX_DETAIL_ROWS = 60


@dataclass(frozen=True)
class ScoreRow:
    """A pillar or metric as a table row."""

    id: str
    name: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    reference: float | None
    status: str = "ok"
    reason: str = ""
    against_reference: str = ""

    @property
    def score_text(self) -> str:
        """The score; for a pillar without one, ``incomplete`` or ``not scored`` (never a
        number from the metrics that happened to run)."""
        if self.score is None and self.status in ("incomplete", "not scored"):
            return self.status
        return fmt(self.score)

    @property
    def ci(self) -> str:
        return ci_text(self.ci_low, self.ci_high)

    @property
    def reference_text(self) -> str:
        return fmt(self.reference)


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
    """Everything the evaluation template renders."""

    title: str
    facts: list[tuple[str, str]]
    summary: list[ScoreRow]
    summary_figure: Figure
    sections: list[PillarSection]


def against_reference(score: float | None, low: float | None, high: float | None, reference: float | None) -> str:
    """How a score compares with the real-vs-real reference, judged on its interval."""
    if score is None:
        return "not scored"
    if reference is None:
        return "no holdout reference to compare with"
    if low is not None and high is not None:
        if high < reference:
            return "below the real reference: measurably worse than fresh real data"
        if low > reference:
            return "above the real reference"
        return "consistent with the real reference (its interval covers it)"
    return "below the real reference" if score < reference else "at or above the real reference"


def _pillar_row(p: PillarScore) -> ScoreRow:
    composite = f"weighted {p.composite} mean of S, C, P" if p.composite else "weighted mean of S, C, P"
    name = PILLAR_NAMES.get(p.pillar, composite)
    return ScoreRow(p.pillar, name, p.score, p.ci_low, p.ci_high, p.reference, p.status, p.reason,
                    against_reference(p.score, p.ci_low, p.ci_high, p.reference) if p.ok else p.status)


def _metric_row(m: MetricResult) -> ScoreRow:
    spec = METRICS.get(m.id)
    return ScoreRow(m.id, spec.name if spec else m.id, m.score, m.ci_low, m.ci_high, m.reference, m.status, m.reason)


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
    rows = result.rows
    facts = [
        ("synthetic rows", str(rows.get("synthetic", "–"))),
        ("train rows (real)", str(rows.get("train", "–"))),
        ("holdout rows (real, never seen)", str(rows.get("holdout") or "none")),
        ("seed", str(result.seed)),
        ("bootstrap resamples", str(result.n_bootstrap)),
    ]
    if result.schema.survival is not None:
        facts.append(("survival endpoint", f"{result.schema.survival.time} / {result.schema.survival.event}"))
    summary = [_pillar_row(result.pillars[k]) for k in ("SAFE", *PILLARS) if k in result.pillars]
    by_pillar = [[_metric_row(m) for m in result.metrics if m.pillar == key] for key in PILLARS]
    summary_figure = _score_figure(
        "SAFE, its pillars and their metrics", [summary, *by_pillar],
        "Dots: the synthetic table's scores with 95 % intervals; ticks: the same score for the holdout "
        "(real patients the generator never saw), the ceiling.")
    sections = []
    for key in PILLARS:
        metrics = [m for m in result.metrics if m.pillar == key]
        if not metrics or key not in result.pillars:
            continue
        rows_ = [_metric_row(m) for m in metrics]
        section = PillarSection(key, PILLAR_NAMES[key], _pillar_row(result.pillars[key]), rows_)
        section.figures += read.figures_for(key, {m.id: m for m in metrics})
        for m in metrics:
            if m.ok:
                section.tables += detail_tables(m)
        sections.append(section)
    return EvaluationPage(title or (f"SAFE report: {result.label}" if result.label else "SAFE report"),
                          facts, summary, summary_figure, sections)
