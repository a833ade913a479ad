"""P metrics of distances to the closest records (in the train-fitted encoding, from
the evaluation's shared searches, :func:`safe_bench.metrics.privacy.neighbours.search`):
P.dcr_share (closer to train than to the holdout), P.dcr_p5 and P.nndr (rows in the
fresh patients' lowest 5 % of distance or distance ratio) and P.leakage (Eckardt et
al.'s coefficient)."""

from __future__ import annotations

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.privacy.neighbours import Neighbours, search
from safe_bench.metrics.privacy.shares import comparable, excess_score, share_measurement

#: Neighbours asked of every search in train (NNDR needs two; one search serves all).
_K_TRAIN = 2
#: The lower tail of distances compared by P.dcr_p5 and P.nndr.
_TAIL = 0.05
#: P.leakage: a coefficient above this flags a possible breach (Eckardt et al. 2024).
LEAKAGE_THRESHOLD = 0.05
#: Bins of the DCR histograms in P.dcr_p5 details (what report figures draw).
HISTOGRAM_BINS = 30


def _searched(found: Neighbours, rows: int) -> dict[str, int]:
    """Details naming the query subsample a search used, if any."""
    return {} if found.rows is None else {"query_rows_searched": len(found.rows), "query_rows": rows}


@metric("P.dcr_share", pillar="P", name="Closer to train than to holdout", goal="minimize", requires=("holdout",))
def dcr_share(cmp: Comparison) -> Measurement:
    """Share of rows of the table under test whose nearest train row is closer than
    their nearest holdout row (ties count as the null share ``p0``).

    Train and holdout are one random split of the real rows, so for rows generated
    without regard to which real rows were trained on, the nearest real row is a
    train row with probability ``p0 = |T| / (|T| + |H|)`` (0.5 for equal sizes, as
    with the usual subsampling of train to the holdout's size, but every copied
    train row counts). Score: ``1 - max(share - p0, 0) / (1 - p0)``. Interval:
    Wilson."""
    comparable(cmp)
    to_train = search(cmp, "synthetic", "train", _K_TRAIN)
    to_holdout = search(cmp, "synthetic", "holdout")
    d_train, d_holdout = to_train.distances[:, 0], to_holdout.distances[:, 0]
    p0 = len(cmp.train) / (len(cmp.train) + len(cmp.holdout))
    tied = d_train == d_holdout
    if tied.mean() > 0.5:
        raise MetricSkipped(f"{tied.mean():.0%} of rows under test are as close to the holdout as to train: cannot tell")
    closer = (d_train < d_holdout) + p0 * tied
    return share_measurement(
        cmp,
        closer,
        lambda share: float(1.0 - max(share - p0, 0.0) / (1.0 - p0)),
        {"null_share": p0, "ties": int(tied.sum()), **_searched(to_train, len(cmp.synthetic))},
    )


def _tail(values: np.ndarray) -> float:
    return float(np.quantile(values, _TAIL, method="inverted_cdf"))


def _tail_share(cmp: Comparison, synthetic: np.ndarray, holdout: np.ndarray, what: str, details: dict) -> Measurement:
    """How many rows under test sit in the holdout's lowest 5 % of ``what`` (per row,
    at or below its 5th percentile ``t``): share ``s_Y`` against the holdout's own share
    ``s_H`` at or below ``t`` (5 %, more where values tie at ``t``), scored like
    P.exact as the excess over what fresh patients show, ``1 - max(0, s_Y - s_H) / (1 -
    s_H)``. A ratio of 5th percentiles (the usual form, kept in the details) has no
    scale: on coarse data a few exact ties set either percentile to 0, and fresh
    patients scored 0 on it (Rossi). Interval: Wilson of ``s_Y`` mapped through the
    score."""
    cut = _tail(holdout)
    holdout_share = float((holdout <= cut).mean())
    low_synthetic = _tail(synthetic)
    details = {
        f"p5_holdout_{what}": cut,
        f"p5_synthetic_{what}": low_synthetic,
        "ratio": low_synthetic / cut if cut > 0 else None,
        "holdout_share": holdout_share,
        **details,
    }
    return share_measurement(cmp, (synthetic <= cut).astype(float), lambda share: excess_score(share, holdout_share), details)


@metric("P.dcr_p5", pillar="P", name="Near-copies: rows in the fresh patients' closest 5 %", goal="minimize",
        requires=("holdout",))
def dcr_p5(cmp: Comparison) -> Measurement:
    """Distance from each row under test to its closest train row (DCR) against the
    holdout's: the share of rows under test closer to train than the closest 5 % of
    holdout rows are (see :func:`_tail_share`). Value: that share; score: its excess
    over the holdout's share."""
    comparable(cmp)
    synthetic = search(cmp, "synthetic", "train", _K_TRAIN)
    holdout = search(cmp, "holdout", "train", _K_TRAIN)
    to_train, holdout_to_train = synthetic.distances[:, 0], holdout.distances[:, 0]
    details = {**_searched(synthetic, len(cmp.synthetic)), "histogram": _distance_histogram(to_train, holdout_to_train)}
    return _tail_share(cmp, to_train, holdout_to_train, "dcr", details)


def _distance_histogram(synthetic: np.ndarray, holdout: np.ndarray) -> dict[str, list[float]]:
    """Counts of synthetic->train and holdout->train distances on shared equal-width
    bins from 0 to the holdout's 99th percentile, larger distances in the last bin."""
    top = float(np.percentile(holdout, 99)) if len(holdout) else 0.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, HISTOGRAM_BINS + 1)

    def counts(values: np.ndarray) -> list[float]:
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HISTOGRAM_BINS - 1)
        return np.bincount(bins, minlength=HISTOGRAM_BINS).astype(float).tolist()

    return {"edges": edges.tolist(), "synthetic": counts(synthetic), "holdout": counts(holdout)}


def _nndr(found: Neighbours) -> np.ndarray:
    """Nearest over second-nearest distance (0 for a row with two exact copies)."""
    first, second = found.distances[:, 0], found.distances[:, 1]
    return np.divide(first, second, out=np.zeros_like(first), where=second > 0)


@metric("P.nndr", pillar="P", name="Nearest-neighbour distance ratio", goal="minimize", requires=("holdout",))
def nndr(cmp: Comparison) -> Measurement:
    """Nearest / second-nearest train distance of each row under test (NNDR: near 0
    when a row singles out one training patient) against the holdout's: the share of
    rows under test below the holdout's 5th percentile NNDR (see
    :func:`_tail_share`). Value: that share; score: its excess over the holdout's
    share."""
    comparable(cmp)
    if len(cmp.train) < 2:
        raise MetricSkipped("train has fewer than 2 rows: no second-nearest neighbour")
    synthetic = search(cmp, "synthetic", "train", _K_TRAIN)
    holdout = search(cmp, "holdout", "train", _K_TRAIN)
    return _tail_share(cmp, _nndr(synthetic), _nndr(holdout), "nndr", _searched(synthetic, len(cmp.synthetic)))


@metric("P.leakage", pillar="P", name="Privacy leakage coefficient", goal="minimize", value_range=(-1.0, 1.0),
        requires=("holdout",))
def leakage(cmp: Comparison) -> Measurement:
    """Eckardt et al. 2024 (npj Digit Med 7:76): ``1 - mean DCR(Y->T) / mean DCR(Y->H)``
    with train subsampled to the holdout's size (equally sized sets, as the paper);
    above 0.05 flags a possible breach. Reported clipped to -1..1. Score: 1 up to the
    paper's 0.05, then ``0.05 / coefficient`` falling to 0 at 1 (every row a copy;
    :func:`~safe_bench.evaluation.uncertainty.within_sampling`): a fresh sample of a few hundred
    coarse rows reaches 0.04 by chance (Rossi), which a score reaching 0 at 0.05 called
    a breach. Train is subsampled, so a copy of train scores only ``|H| / |T|`` of
    the way to 1 (0.12 against a 30-row holdout): the other distance metrics see it
    whole. Interval: bootstrap."""
    comparable(cmp)
    train = cmp.sample("train", len(cmp.holdout))
    to_train = search(cmp, "synthetic", train).distances[:, 0]
    to_holdout = search(cmp, "synthetic", "holdout").distances[:, 0]
    if to_holdout.sum() == 0 and to_train.sum() == 0:
        raise MetricSkipped("every row under test is an exact copy of both a train and a holdout row")

    def coefficient(rows: np.ndarray) -> float:
        near_train, near_holdout = to_train[rows].mean(), to_holdout[rows].mean()
        return -1.0 if near_holdout == 0 else float(np.clip(1.0 - near_train / near_holdout, -1.0, 1.0))

    def score_of(coef: float) -> float:
        return float(within_sampling(max(coef, 0.0), LEAKAGE_THRESHOLD, maximum=1.0))

    value = coefficient(np.arange(len(to_train)))
    coefficients = np.array([coefficient(idx) for idx in cmp.resamples(len(to_train))])

    details = {
        "mean_dcr_train": float(to_train.mean()),
        "mean_dcr_holdout": float(to_holdout.mean()),
        "train_rows_used": len(cmp.table(train)),
        "flagged": value > LEAKAGE_THRESHOLD,
    }
    return bootstrapped(value, score_of(value), np.array([score_of(c) for c in coefficients]), details)
