"""The scores of one evaluation as every view shows them: the facts of the run (rows,
seed, resamples), a row per pillar and per metric beside its holdout reference, and the
privacy verdict. The HTML page (:mod:`safe_bench.report.evaluation`, which adds figures
and detail tables) and the console's text (:mod:`safe_bench.report.text`) render the
same :class:`EvaluationScores`; building it draws nothing.

A pillar without a score shows its status (``incomplete`` or ``not scored``), never a
number from the metrics that happened to run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from safe_bench.evaluation.blocks import BlockScore
from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.evaluation.scoring import PillarScore, against_reference, score_name
from safe_bench.metrics.registry import METRICS, PILLARS, MetricResult
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


def best_first(results: Sequence[EvaluationResult]) -> list[EvaluationResult]:
    """Several evaluations of one real table, best SAFE first (unscored last; ties by
    label, so the order is deterministic): the order every view lists them in."""
    return sorted(results, key=lambda r: (r.score() is None, -(r.score() or 0.0), r.label))


def ranked(results: Sequence[EvaluationResult]) -> list[EvaluationScores]:
    """The scores of several evaluations, in :func:`best_first` order."""
    return [evaluation_scores(r) for r in best_first(results)]


def pillar_row(p: PillarScore, *, copying: bool = False) -> ScoreRow:
    """A pillar (or SAFE) as a row; ``copying``: the privacy verdict finds the table copying."""
    return ScoreRow(p.pillar, score_name(p), p.score, p.ci_low, p.ci_high, p.reference, p.status, p.reason,
                    against_reference(p.score, p.ci_low, p.ci_high, p.reference, p.pillar, copying=copying)
                    if p.ok else p.status, pillar=p.pillar, worst=p.worst or "")


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
        pillars=[pillar_row(p, copying=result.copying) for p in result.pillars.values()],
        metrics=[metric_row(m) for m in result.metrics],
        privacy_verdict=str(verdict["text"]) if verdict else "",
        privacy_level=str(verdict["level"]) if verdict else "",
        privacy_signals=tuple((str(k), str(v)) for k, v in verdict.get("signals", {}).items()) if verdict else (),
        blocks=[block_row(b) for b in result.blocks.values()],
    )
