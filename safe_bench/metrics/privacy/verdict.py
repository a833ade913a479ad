"""The privacy verdict: what the P metrics say together, in plain words.

No single metric decides. Each P metric that was computed may raise one signal when
its evidence is statistically clear (its interval excludes a perfect score) and
large enough to matter; the verdict weighs the signals:

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

from safe_bench.metrics.base import MetricResult

#: Scores below this count as a clear near-copy signal (P.dcr_p5, P.nndr).
NEAR_COPY_SCORE = 0.5
#: Scores below this count as large enough to matter (distance metrics, P.mia).
SIGNAL_SCORE = 0.9

_DISTANCE = ("P.exact", "P.dcr_share", "P.dcr_p5", "P.nndr", "P.mia", "P.leakage")
_ATTACKS = {"P.attribute": "attribute inference", "P.linkability": "linkage", "P.singling_out": "singling out"}


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


def _below(result: MetricResult, limit: float) -> bool:
    return result.score is not None and result.score < limit


def _signal(result: MetricResult) -> str | None:
    """Plain-words evidence from one metric, or None when it raises no signal."""
    r, d = result, result.details
    if r.value is None or r.score is None:  # not measured: no evidence
        return None
    if r.id == "P.exact" and _clear(r) and r.value > d["holdout_share"]:
        return (f"{r.value:.1%} of synthetic rows are exact copies of training patients "
                f"({d['holdout_share']:.1%} of fresh patients are)")
    if r.id == "P.dcr_share" and _clear(r) and r.score < SIGNAL_SCORE:
        return (f"{r.value:.0%} of synthetic rows are closer to a training patient than to a fresh one "
                f"({d['null_share']:.0%} expected)")
    if r.id in ("P.dcr_p5", "P.nndr") and _clear(r) and r.score < SIGNAL_SCORE:
        what = "distance to the closest training patient" if r.id == "P.dcr_p5" else "nearest-to-second-nearest distance ratio"
        return (f"{r.value:.0%} of synthetic rows have a {what} as low as the lowest 5 % of fresh patients "
                f"({d['holdout_share']:.0%} of fresh patients do)")
    if r.id == "P.mia" and _clear(r) and r.score < SIGNAL_SCORE:
        return f"a distance attack tells training patients from fresh ones with ROC AUC {r.value:.2f}"
    if r.id == "P.leakage" and _clear(r) and d.get("flagged"):
        return f"privacy leakage coefficient {r.value:.3f}, above the 0.05 threshold"
    if r.id in _ATTACKS and _clear(r):
        return f"{_ATTACKS[r.id]} succeeds more on training patients than on fresh ones (risk {r.value:.2f})"
    return None


def privacy_verdict(results: Sequence[MetricResult]) -> PrivacyVerdict:
    """The verdict from an evaluation's metric results (only the P metrics are read)."""
    ok = {r.id: r for r in results if r.pillar == "P" and r.ok}
    signals = {id: text for id, r in ok.items() if (text := _signal(r)) is not None}
    distance = [id for id in _DISTANCE if id in signals]
    if sum(id in ok for id in _DISTANCE) < 2:
        return PrivacyVerdict("not assessed", "not assessed: fewer than two privacy distance metrics could be computed", signals)
    near_copies = "P.exact" in signals or any(
        id in signals and _below(ok[id], NEAR_COPY_SCORE) for id in ("P.dcr_p5", "P.nndr")
    )
    if near_copies and len(distance) >= 2:
        return PrivacyVerdict("memorisation", "memorisation: synthetic rows copy or nearly copy training patients", signals)
    if len(distance) >= 2:
        return PrivacyVerdict(
            "closer than fresh patients", "synthetic rows sit closer to training patients than fresh patients do", signals
        )
    attacks = [id for id in _ATTACKS if id in signals]
    if attacks and len(signals) >= 2:
        names = ", ".join(_ATTACKS[id] for id in attacks)
        return PrivacyVerdict(
            "attack risk", f"attack risk: {names} works better on training patients than on fresh ones", signals
        )
    if signals:
        (evidence,) = signals.values()
        return PrivacyVerdict("weak signal", f"weak signal, not confirmed by any other metric: {evidence}", signals)
    return PrivacyVerdict(
        "no evidence of memorisation",
        "no evidence of memorisation: synthetic rows are no closer to training patients than fresh patients "
        "are, and attacks do no better on them",
    )
