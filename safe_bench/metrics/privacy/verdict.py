"""The privacy verdict: what the P metrics say together, in plain words.

No single metric decides. Each P metric registers its role in the verdict with it
(:class:`~safe_bench.metrics.signals.VerdictRole`: distance or attack evidence, and the
signal it reads from its typed details). A metric that was computed may raise its one
signal when its evidence is statistically clear (its interval excludes a perfect score)
and large enough to matter; the verdict weighs the signals by family, never naming a
metric:

- **memorisation**: exact copies or near-copies of training patients, confirmed by
  at least one other distance or membership signal;
- **closer than fresh patients**: at least two distance or membership signals;
- **attack risk**: an Anonymeter-method attack works better on training patients
  than on fresh ones, and another metric confirms a difference;
- **weak signal**: a single signal, not confirmed by any other metric;
- **no evidence of memorisation**: no signal from any metric;
- **not assessed**: fewer than two distance metrics could be computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from safe_bench.metrics.registry import METRICS, MetricResult, read_details
from safe_bench.metrics.signals import Signal, VerdictRole


@dataclass(frozen=True)
class PrivacyVerdict:
    """``level`` (one of the module docstring's), a one-line ``text`` and the signals
    (metric id -> plain-words evidence) it rests on."""

    level: str
    text: str
    signals: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _clear(result: MetricResult) -> bool:
    """The score's interval excludes 1: the metric sees a real difference."""
    return result.ci_high is not None and result.ci_high < 1.0


def _signal(result: MetricResult, role: VerdictRole) -> Signal | None:
    """The metric's signal, when it measured a real difference; None otherwise."""
    if result.value is None or result.score is None or not _clear(result):  # not measured, or no clear evidence
        return None
    return role.signal(read_details(result), result.value, result.score)


def privacy_verdict(results: Sequence[MetricResult]) -> PrivacyVerdict:
    """The verdict from an evaluation's metric results (only the P metrics with a
    verdict role are read)."""
    roles = {r.id: role for r in results if r.pillar == "P" and r.ok and (role := _role(r.id)) is not None}
    raised = {r.id: s for r in results if r.id in roles and (s := _signal(r, roles[r.id])) is not None}
    signals = {id: s.text for id, s in raised.items()}
    distance = [id for id in raised if roles[id].family == "distance"]
    if sum(role.family == "distance" for role in roles.values()) < 2:
        return PrivacyVerdict("not assessed", "not assessed: fewer than two privacy distance metrics could be computed", signals)
    near_copies = any(s.near_copy for s in raised.values())
    if near_copies and len(distance) >= 2:
        return PrivacyVerdict("memorisation", "memorisation: synthetic rows copy or nearly copy training patients", signals)
    if len(distance) >= 2:
        return PrivacyVerdict(
            "closer than fresh patients", "synthetic rows sit closer to training patients than fresh patients do", signals
        )
    attacks = [roles[id].attack for id in raised if roles[id].family == "attack"]
    if attacks and len(signals) >= 2:
        return PrivacyVerdict(
            "attack risk", f"attack risk: {', '.join(attacks)} works better on training patients than on fresh ones", signals
        )
    if signals:
        (evidence,) = signals.values()
        return PrivacyVerdict("weak signal", f"weak signal, not confirmed by any other metric: {evidence}", signals)
    return PrivacyVerdict(
        "no evidence of memorisation",
        "no evidence of memorisation: synthetic rows are no closer to training patients than fresh patients "
        "are, and attacks do no better on them",
    )


def _role(metric_id: str) -> VerdictRole | None:
    spec = METRICS.get(metric_id)
    return None if spec is None else spec.verdict
