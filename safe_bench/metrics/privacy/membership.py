"""P.mia: membership inference by distance to the nearest row under test. Its typed
details (:class:`MiaDetails`) carry the attack's ROC curve, which it draws
(:data:`MEMBERSHIP`), and its AUC raises its signal for the privacy verdict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_curve

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.metrics.base import Details, Measurement, bootstrapped, metric
from safe_bench.metrics.charts import Chart, Drawing, Outcome, Plot, RocCurves, single
from safe_bench.metrics.privacy.neighbours import search
from safe_bench.metrics.privacy.shares import comparable
from safe_bench.metrics.signals import SIGNAL_SCORE, Signal, VerdictRole
from safe_bench.metrics.stored import Stored, Values

#: P.mia: most members and most non-members scored (an AUC from 20k + 20k candidates
#: has a 95 % interval of about +-0.006).
MIA_CANDIDATES = 20_000
#: At most this many points of the P.mia ROC curve in its details (evenly thinned).
ROC_POINTS = 201


def _auc_pieces(members: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each non-member distance: where member distances strictly below it and up
    to it end in the sorted member distances (ties count one half)."""
    order = np.argsort(members, kind="stable")
    ranked = members[order]
    return order, np.searchsorted(ranked, others, side="left"), np.searchsorted(ranked, others, side="right")


def _weighted_auc(order: np.ndarray, below: np.ndarray, upto: np.ndarray, w_members: np.ndarray, w_others: np.ndarray) -> float:
    """P(member closer to the synthetic table than non-member), half the ties, with
    row weights (bootstrap counts)."""
    cumulative = np.concatenate([[0.0], np.cumsum(w_members[order])])
    wins = cumulative[below] + 0.5 * (cumulative[upto] - cumulative[below])
    return float((w_others * wins).sum() / (w_members.sum() * w_others.sum()))


@dataclass(frozen=True)
class Roc:
    """An ROC curve: false- and true-positive rates."""

    fpr: Values
    tpr: Values

    def to_dict(self) -> dict[str, Values]:
        return {"fpr": self.fpr, "tpr": self.tpr}

    @classmethod
    def read(cls, stored: Stored) -> Roc:
        return cls(stored.numbers("fpr"), stored.numbers("tpr"))


@dataclass(frozen=True)
class MiaDetails(Details):
    """How many members and non-members were scored, the holdout's rows, the ROC curve."""

    members: int
    non_members: int
    holdout_rows: int
    roc: Roc

    def to_dict(self) -> dict[str, object]:
        return {"members": self.members, "non_members": self.non_members, "holdout_rows": self.holdout_rows,
                "roc": self.roc.to_dict()}

    @classmethod
    def read(cls, stored: Stored) -> MiaDetails:
        return cls(stored.whole("members"), stored.whole("non_members"), stored.whole("holdout_rows"),
                   Roc.read(stored.child("roc")))


def _roc_curve(outcome: Outcome[MiaDetails]) -> Plot | str:
    if outcome.value is None:
        return "P.mia carries no AUC"
    roc = outcome.details.roc
    return RocCurves({f"distance attack (AUC {outcome.value:.3f})": (roc.fpr, roc.tpr)},
                     caption="An attacker calls a real patient a training member when a synthetic row lies close to it; "
                     "the diagonal is guessing. Members: train rows; non-members: holdout rows.")


def _membership_signal(details: MiaDetails, value: float, score: float) -> Signal | None:
    if score >= SIGNAL_SCORE:
        return None
    return Signal(f"a distance attack tells training patients from fresh ones with ROC AUC {value:.2f}")


#: The membership attack's ROC curve, drawn by P.mia.
MEMBERSHIP: Chart[Plot] = Chart("Membership inference: ROC curve", single)


@metric("P.mia", pillar="P", name="Membership inference (distance attack)", goal="minimize", requires=("holdout",),
        details=MiaDetails, figure=Drawing(MEMBERSHIP, _roc_curve), verdict=VerdictRole("distance", _membership_signal))
def membership_inference(cmp: Comparison) -> Measurement:
    """An attacker scores each candidate by its distance to the nearest row under test
    (closer: more likely a training member). Members: a seeded sample of train rows of
    the holdout's size; non-members: the holdout (both at most
    :data:`MIA_CANDIDATES`, seeded samples). Value: ROC AUC. Score:
    ``1 - 2 max(AUC - 0.5, 0)``. Interval: bootstrap over members and non-members."""
    comparable(cmp)
    size = min(len(cmp.holdout), MIA_CANDIDATES)
    members = search(cmp, cmp.sample("train", size), "synthetic")
    others = search(cmp, cmp.sample("holdout", size), "synthetic")
    d_members, d_others = members.distances[:, 0], others.distances[:, 0]
    pieces = _auc_pieces(d_members, d_others)
    tied = float((pieces[2] - pieces[1]).sum()) / (len(d_members) * len(d_others))
    if tied > 0.5:
        raise MetricSkipped(f"{tied:.0%} of (member, non-member) pairs are equally close to the table under test")
    auc = _weighted_auc(*pieces, np.ones(len(d_members)), np.ones(len(d_others)))
    replicates = np.array([
        1.0 - 2.0 * max(
            _weighted_auc(*pieces, np.bincount(m, minlength=len(d_members)), np.bincount(o, minlength=len(d_others))) - 0.5, 0.0
        )
        for m, o in zip(cmp.resamples(len(d_members)), cmp.resamples(len(d_others)), strict=True)
    ])
    labels = np.r_[np.ones(len(d_members)), np.zeros(len(d_others))]
    fpr, tpr, _ = roc_curve(labels, -np.r_[d_members, d_others])  # closer to a row under test: a member
    kept = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).round().astype(int))
    details = MiaDetails(len(d_members), len(d_others), len(cmp.holdout), Roc(fpr[kept].tolist(), tpr[kept].tolist()))
    return bootstrapped(auc, 1.0 - 2.0 * max(auc - 0.5, 0.0), replicates, details.to_dict())
