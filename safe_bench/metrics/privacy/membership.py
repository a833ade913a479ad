"""P.mia: membership inference by distance to the nearest row under test."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.privacy.neighbours import search
from safe_bench.metrics.privacy.shares import comparable

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


@metric("P.mia", pillar="P", name="Membership inference (distance attack)", goal="minimize", requires=("holdout",))
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
    details = {"members": len(d_members), "non_members": len(d_others), "holdout_rows": len(cmp.holdout),
               "roc": {"fpr": fpr[kept].tolist(), "tpr": tpr[kept].tolist()}}
    return bootstrapped(auc, 1.0 - 2.0 * max(auc - 0.5, 0.0), replicates, details)
