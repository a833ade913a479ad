"""The scores of one evaluation as every view shows them: the facts of the run (rows,
seed, resamples), a row per pillar and per metric beside its holdout reference, and the
privacy verdict. The HTML page (:mod:`safe_bench.report.evaluation`, which adds figures
and detail tables) and the console's text (:mod:`safe_bench.report.text`) render the
same :class:`EvaluationScores`; building it draws nothing.

A pillar without a score shows its status (``incomplete`` or ``not scored``), never a
number from the metrics that happened to run.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from safe_bench.evaluation.blocks import BlockScore
from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.evaluation.scoring import PillarScore
from safe_bench.metrics.registry import METRICS, PILLAR_NAMES, PILLARS, MetricResult
from safe_bench.report.format import ci_text, fmt


@dataclass(frozen=True)
class ScoreRow:
    """A pillar or metric as a table row; ``pillar`` is the pillar a metric belongs to (a
    pillar's own key for a pillar row) and ``worst`` a pillar's lowest-scoring part."""

    id: str
    name: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    reference: float | None
    status: str = "ok"
    reason: str = ""
    against_reference: str = ""
    pillar: str = ""
    worst: str = ""

    @property
    def unscored(self) -> bool:
        """A pillar with no score: shown by its status rather than a number."""
        return self.score is None and self.status in ("incomplete", "not scored")

    @property
    def score_text(self) -> str:
        """The score; for a pillar without one, its status."""
        return self.status if self.unscored else fmt(self.score)

    @property
    def ci(self) -> str:
        return ci_text(self.ci_low, self.ci_high)

    @property
    def reference_text(self) -> str:
        return fmt(self.reference)


@dataclass(frozen=True)
class EvaluationScores:
    """What one evaluation scored: the run's facts, its pillars and metrics (in the
    result's order) and the privacy verdict's text (empty when there is none)."""

    label: str
    synthetic_rows: int | None
    train_rows: int | None
    holdout_rows: int  # 0: no holdout
    seed: int
    n_bootstrap: int
    survival: str  # "time / event", empty without a survival endpoint
    pillars: list[ScoreRow]
    metrics: list[ScoreRow]
    privacy_verdict: str = ""
    #: The verdict's level (``no signal``, ``memorisation``, ...), empty when there is none.
    privacy_level: str = ""
    #: The evidence the verdict rests on: (metric id, plain words), aggregates only.
    privacy_signals: tuple[tuple[str, str], ...] = ()
    #: S over each declared column block (CSF, GSF, ...), with its columns as the reason.
    blocks: list[ScoreRow] = field(default_factory=list)

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The run as a page lists it."""
        facts = [
            ("synthetic rows", "–" if self.synthetic_rows is None else str(self.synthetic_rows)),
            ("train rows (real)", "–" if self.train_rows is None else str(self.train_rows)),
            ("holdout rows (real, never seen)", str(self.holdout_rows or "none")),
            ("seed", str(self.seed)),
            ("bootstrap resamples", str(self.n_bootstrap)),
        ]
        if self.survival:
            facts.append(("survival endpoint", self.survival))
        return facts

    @property
    def privacy_concern(self) -> bool:
        """The verdict names a risk (anything but no evidence, or not assessed)."""
        return self.privacy_level not in ("", "no evidence of memorisation", "not assessed")

    @property
    def safe_first(self) -> list[ScoreRow]:
        """SAFE, then the pillars S, C, P (those scored or tried)."""
        return [self.pillar(k) for k in ("SAFE", *PILLARS) if any(row.id == k for row in self.pillars)]

    def pillar(self, key: str) -> ScoreRow:
        """The row of a pillar (or SAFE)."""
        return next(row for row in self.pillars if row.id == key)

    def metrics_of(self, pillar: str) -> list[ScoreRow]:
        """The metrics of one pillar."""
        return [row for row in self.metrics if row.pillar == pillar]


def ranked(results: Sequence[EvaluationResult]) -> list[EvaluationScores]:
    """The scores of several evaluations of one real table, best SAFE first (unscored
    last; ties by label, so the order is deterministic)."""
    scores = [evaluation_scores(r) for r in results]
    return sorted(scores, key=lambda s: (s.pillar("SAFE").score is None, -(s.pillar("SAFE").score or 0.0), s.label))


#: What a score above the real-vs-real reference means, by what is scored: for S and C the
#: holdout is the ceiling (fresh real patients), so a table above it sits closer to the
#: training rows than fresh patients do, which copying gives; for P it reveals less.
ABOVE_REFERENCE = {
    "S": "above the real reference: closer to the training rows than fresh patients are, as copies would be "
         "(see the privacy verdict)",
    "C": "above the real reference: closer to the training rows than fresh patients are, as copies would be "
         "(see the privacy verdict)",
    "P": "above the real reference: reveals less about training patients than fresh patients would",
}


def against_reference(score: float | None, low: float | None, high: float | None, reference: float | None,
                      pillar: str = "") -> str:
    """How a score of ``pillar`` (S, C, P; SAFE or empty: neither) compares with the
    real-vs-real reference, judged on its interval. Above the reference is never praise
    for S and C (:data:`ABOVE_REFERENCE`)."""
    if score is None:
        return "not scored"
    if reference is None:
        return "no holdout reference to compare with"
    above = ABOVE_REFERENCE.get(pillar, "above the real reference")
    if low is not None and high is not None:
        if high < reference:
            return "below the real reference: measurably worse than fresh real data"
        if low > reference:
            return above
        return "consistent with the real reference (its interval covers it)"
    return "below the real reference" if score < reference else "at or above the real reference"


def pillar_row(p: PillarScore) -> ScoreRow:
    """A pillar (or SAFE, named by how its pillars are combined) as a row."""
    composite = f"weighted {p.composite} mean of S, C, P" if p.composite else "weighted mean of S, C, P"
    name = PILLAR_NAMES.get(p.pillar, composite)
    return ScoreRow(p.pillar, name, p.score, p.ci_low, p.ci_high, p.reference, p.status, p.reason,
                    against_reference(p.score, p.ci_low, p.ci_high, p.reference, p.pillar) if p.ok else p.status,
                    pillar=p.pillar, worst=p.worst or "")


def metric_row(m: MetricResult) -> ScoreRow:
    """A metric as a row (named as registered; an unregistered one by its id)."""
    spec = METRICS.get(m.id)
    return ScoreRow(m.id, spec.name if spec else m.id, m.score, m.ci_low, m.ci_high, m.reference, m.status, m.reason,
                    pillar=m.pillar)


def block_row(b: BlockScore) -> ScoreRow:
    """S over a column block as a row: its label (CSF, GSF), its name, its columns."""
    p = b.pillar
    return ScoreRow(b.label, p.name, p.score, p.ci_low, p.ci_high, p.reference, p.status,
                    f"S over {len(b.columns)} column(s): {', '.join(b.columns)}",
                    against_reference(p.score, p.ci_low, p.ci_high, p.reference, "S") if p.ok else p.status,
                    pillar="S", worst=p.worst or "")


#: Privacy verdict levels under which high fidelity is no evidence of quality.
COPYING = ("memorisation", "closer than fresh patients")


def _unpraised(row: ScoreRow, verdict: Mapping[str, Any] | None) -> ScoreRow:
    """S or C of a table the privacy verdict finds copying: its comparison with the
    reference says so, since copies of training patients score as well as fresh ones."""
    if verdict is None or verdict.get("level") not in COPYING or row.id not in ("S", "C") or row.score is None:
        return row
    return replace(row, against_reference=f"{row.against_reference}; but the rows copy or sit closer to "
                               "training patients than fresh ones do, so this is no evidence of quality")


def evaluation_scores(result: EvaluationResult) -> EvaluationScores:
    """The scores of one evaluation, as every view shows them."""
    rows = result.rows
    survival = result.schema.survival
    verdict = result.extra.get("privacy_verdict")
    return EvaluationScores(
        label=result.label,
        synthetic_rows=rows.get("synthetic"),
        train_rows=rows.get("train"),
        holdout_rows=rows.get("holdout") or 0,
        seed=result.seed,
        n_bootstrap=result.n_bootstrap,
        survival="" if survival is None else f"{survival.time} / {survival.event}",
        pillars=[_unpraised(pillar_row(p), verdict) for p in result.pillars.values()],
        metrics=[metric_row(m) for m in result.metrics],
        privacy_verdict=str(verdict["text"]) if verdict else "",
        privacy_level=str(verdict["level"]) if verdict else "",
        privacy_signals=tuple((str(k), str(v)) for k, v in verdict.get("signals", {}).items()) if verdict else (),
        blocks=[block_row(b) for b in result.blocks.values()],
    )


#: The columns of :func:`scores_frame`.
FRAME_COLUMNS = ["level", "id", "name", "pillar", "value", "score", "ci_low", "ci_high", "reference",
                 "against_reference", "status", "reason"]


def scores_frame(result: EvaluationResult) -> pd.DataFrame:
    """The scores of one evaluation as one tidy table: SAFE, then the pillars S, C, P, then
    S over each column block (CSF, GSF), then every metric; ``level`` says which
    (``SAFE``, ``pillar``, ``block``, ``metric``), ``value`` is a metric's raw value (the
    score is what it means on the 0..1 scale, higher is better)."""
    scores = evaluation_scores(result)
    values = {m.id: m.value for m in result.metrics}
    levels = [("SAFE" if row.id == "SAFE" else "pillar", row) for row in scores.safe_first]
    levels += [("block", row) for row in scores.blocks] + [("metric", row) for row in scores.metrics]
    return pd.DataFrame(
        [[level, row.id, row.name, row.pillar if row.id != "SAFE" else "", values.get(row.id) if level == "metric"
          else None, row.score, row.ci_low, row.ci_high, row.reference, row.against_reference, row.status, row.reason]
         for level, row in levels],
        columns=FRAME_COLUMNS,
    )


def scores_html(result: EvaluationResult) -> str:
    """A notebook's view of one evaluation: what was evaluated, SAFE and the pillars, the
    privacy verdict, then the metrics (names escaped; only aggregates)."""
    scores = evaluation_scores(result)
    frame = scores_frame(result)
    shown = ["id", "name", "score", "ci_low", "ci_high", "reference", "status", "reason"]

    def table(rows: pd.DataFrame) -> str:
        return rows[shown].to_html(index=False, na_rep="–", float_format=fmt, border=0)

    facts = ", ".join(f"{name}: {value}" for name, value in scores.facts)
    verdict = f"<p><b>Privacy verdict:</b> {html.escape(scores.privacy_verdict)}</p>" if scores.privacy_verdict else ""
    return (f"<div><p><b>{html.escape(scores.label or 'SAFE evaluation')}</b> ({html.escape(facts)})</p>"
            f"{table(frame[frame['level'] != 'metric'])}{verdict}"
            f"<details><summary>{len(result.metrics)} metrics</summary>{table(frame[frame['level'] == 'metric'])}"
            "</details></div>")
