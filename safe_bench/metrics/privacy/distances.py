"""P metrics of distances to the closest records (in the train-fitted encoding, from
the evaluation's shared searches, :func:`safe_bench.metrics.privacy.neighbours.search`):
P.dcr_share (closer to train than to the holdout), P.dcr_p5 and P.nndr (rows in the
fresh patients' lowest 5 % of distance or distance ratio) and P.leakage (Eckardt et
al.'s coefficient).

Each carries typed details, from which it raises its signal for the privacy verdict;
P.dcr_p5 also draws the histograms of distances to the closest training record
(:data:`DISTANCES`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Details, Measurement, bootstrapped, metric
from safe_bench.metrics.charts import Chart, Drawing, Histograms, Outcome, Plot, single
from safe_bench.metrics.privacy.neighbours import Neighbours, search
from safe_bench.metrics.privacy.shares import comparable, excess_score, share_measurement
from safe_bench.metrics.signals import NEAR_COPY_SCORE, SIGNAL_SCORE, Signal, VerdictRole
from safe_bench.metrics.stored import Stored, Values

#: Neighbours asked of every search in train (NNDR needs two; one search serves all).
_K_TRAIN = 2
#: The lower tail of distances compared by P.dcr_p5 and P.nndr.
_TAIL = 0.05
#: P.leakage: a coefficient above this flags a possible breach (Eckardt et al. 2024).
LEAKAGE_THRESHOLD = 0.05
#: Bins of the DCR histograms in P.dcr_p5 details (what report figures draw).
HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class Searched:
    """The query subsample a neighbour search used (when it did not search every row)."""

    query_rows_searched: int
    query_rows: int

    @classmethod
    def of(cls, found: Neighbours, rows: int) -> Searched | None:
        return None if found.rows is None else cls(len(found.rows), rows)

    def to_dict(self) -> dict[str, int]:
        return {"query_rows_searched": self.query_rows_searched, "query_rows": self.query_rows}

    @classmethod
    def read(cls, stored: Stored) -> Searched | None:
        """The subsample named among a metric's details, or None (every row searched)."""
        return cls(stored.whole("query_rows_searched"), stored.whole("query_rows")) if stored.has("query_rows_searched") else None


def _search_fields(searched: Searched | None) -> dict[str, int]:
    """The fields of a search's subsample as they sit among a metric's details (none without one)."""
    return {} if searched is None else searched.to_dict()


# -- P.dcr_share --------------------------------------------------------------------------
@dataclass(frozen=True)
class DcrShareDetails(Details):
    """The share of rows under test expected closer to train by chance (``null_share``),
    the ties, and the search's subsample."""

    null_share: float
    ties: int
    searched: Searched | None

    def to_dict(self) -> dict[str, object]:
        return {"null_share": self.null_share, "ties": self.ties, **_search_fields(self.searched)}

    @classmethod
    def read(cls, stored: Stored) -> DcrShareDetails:
        return cls(stored.number("null_share"), stored.whole("ties"), Searched.read(stored))


def _closer_signal(details: DcrShareDetails, value: float, score: float) -> Signal | None:
    if score >= SIGNAL_SCORE:
        return None
    return Signal(f"{value:.0%} of synthetic rows are closer to a training patient than to a fresh one "
                  f"({details.null_share:.0%} expected)")


@metric("P.dcr_share", pillar="P", name="Closer to train than to holdout", goal="minimize", requires=("holdout",),
        details=DcrShareDetails, verdict=VerdictRole("distance", _closer_signal))
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
        DcrShareDetails(p0, int(tied.sum()), Searched.of(to_train, len(cmp.synthetic))).to_dict(),
    )


# -- the lowest 5 %: P.dcr_p5, P.nndr -----------------------------------------------------
@dataclass(frozen=True)
class Tail:
    """The 5th percentiles of a per-row quantity (a distance, a distance ratio) among
    holdout rows and rows under test, their ratio (None when the holdout's is 0), and
    the holdout's share at or below its own 5th percentile."""

    p5_holdout: float
    p5_synthetic: float
    ratio: float | None
    holdout_share: float

    @classmethod
    def of(cls, synthetic: np.ndarray, holdout: np.ndarray) -> Tail:
        cut, low_synthetic = _percentile_5(holdout), _percentile_5(synthetic)
        return cls(cut, low_synthetic, low_synthetic / cut if cut > 0 else None, float((holdout <= cut).mean()))

    def to_dict(self, what: str) -> dict[str, float | None]:
        """The fields as they sit among a metric's details, named after ``what`` (dcr, nndr)."""
        return {f"p5_holdout_{what}": self.p5_holdout, f"p5_synthetic_{what}": self.p5_synthetic, "ratio": self.ratio,
                "holdout_share": self.holdout_share}

    @classmethod
    def read(cls, stored: Stored, what: str) -> Tail:
        return cls(stored.number(f"p5_holdout_{what}"), stored.number(f"p5_synthetic_{what}"),
                   stored.optional_number("ratio"), stored.number("holdout_share"))


def _percentile_5(values: np.ndarray) -> float:
    return float(np.quantile(values, _TAIL, method="inverted_cdf"))


def _tail_share(cmp: Comparison, synthetic: np.ndarray, tail: Tail, details: Details) -> Measurement:
    """How many rows under test sit in the holdout's lowest 5 % of a quantity (per row,
    at or below its 5th percentile ``t``): share ``s_Y`` against the holdout's own share
    ``s_H`` at or below ``t`` (5 %, more where values tie at ``t``), scored like
    P.exact as the excess over what fresh patients show, ``1 - max(0, s_Y - s_H) / (1 -
    s_H)``. A ratio of 5th percentiles (the usual form, kept in the details) has no
    scale: on coarse data a few exact ties set either percentile to 0, and fresh
    patients scored 0 on it (Rossi). Interval: Wilson of ``s_Y`` mapped through the
    score."""
    return share_measurement(cmp, (synthetic <= tail.p5_holdout).astype(float),
                             lambda share: excess_score(share, tail.holdout_share), details.to_dict())


def _tail_signal(what: str, details: NearCopyDetails | NndrDetails, value: float, score: float) -> Signal | None:
    """Rows under test as close to train as only the closest 5 % of fresh patients are;
    near-copies when the score is below :data:`~safe_bench.metrics.signals.NEAR_COPY_SCORE`."""
    if score >= SIGNAL_SCORE:
        return None
    return Signal(f"{value:.0%} of synthetic rows have a {what} as low as the lowest 5 % of fresh patients "
                  f"({details.tail.holdout_share:.0%} of fresh patients do)", near_copy=score < NEAR_COPY_SCORE)


@dataclass(frozen=True)
class DistanceHistogram:
    """Counts of synthetic->train and holdout->train distances on shared bin ``edges``."""

    edges: Values
    synthetic: Values
    holdout: Values

    def to_dict(self) -> dict[str, Values]:
        return {"edges": self.edges, "synthetic": self.synthetic, "holdout": self.holdout}

    @classmethod
    def read(cls, stored: Stored) -> DistanceHistogram:
        return cls(stored.numbers("edges"), stored.numbers("synthetic"), stored.numbers("holdout"))


def _distance_histogram(synthetic: np.ndarray, holdout: np.ndarray) -> DistanceHistogram:
    """Counts of synthetic->train and holdout->train distances on shared equal-width
    bins from 0 to the holdout's 99th percentile, larger distances in the last bin."""
    top = float(np.percentile(holdout, 99)) if len(holdout) else 0.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, HISTOGRAM_BINS + 1)

    def counts(values: np.ndarray) -> list[float]:
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HISTOGRAM_BINS - 1)
        return np.bincount(bins, minlength=HISTOGRAM_BINS).astype(float).tolist()

    return DistanceHistogram(edges.tolist(), counts(synthetic), counts(holdout))


@dataclass(frozen=True)
class NearCopyDetails(Details):
    """P.dcr_p5: the tail of distances to the closest train row, the search's
    subsample, and the histograms of those distances."""

    tail: Tail
    searched: Searched | None
    histogram: DistanceHistogram

    def to_dict(self) -> dict[str, object]:
        return {**self.tail.to_dict("dcr"), **_search_fields(self.searched), "histogram": self.histogram.to_dict()}

    @classmethod
    def read(cls, stored: Stored) -> NearCopyDetails:
        return cls(Tail.read(stored, "dcr"), Searched.read(stored), DistanceHistogram.read(stored.child("histogram")))


def _distance_histograms(outcome: Outcome[NearCopyDetails]) -> Plot:
    histogram = outcome.details.histogram
    return Histograms(histogram.edges, {"synthetic → train": histogram.synthetic,
                                        "holdout → train (real, never seen)": histogram.holdout},
                      xlabel="distance to the closest train row (train-fitted encoding)",
                      caption="Shares of rows per distance bin. Synthetic rows much closer to train than unseen real "
                      "patients are (mass at the left) suggest copied or memorised records.")


#: Distances to the closest training record, drawn by P.dcr_p5.
DISTANCES: Chart[Plot] = Chart("Distances to the closest training record", single)


@metric("P.dcr_p5", pillar="P", name="Near-copies: rows in the fresh patients' closest 5 %", goal="minimize",
        requires=("holdout",), details=NearCopyDetails, figure=Drawing(DISTANCES, _distance_histograms),
        verdict=VerdictRole("distance", partial(_tail_signal, "distance to the closest training patient")))
def dcr_p5(cmp: Comparison) -> Measurement:
    """Distance from each row under test to its closest train row (DCR) against the
    holdout's: the share of rows under test closer to train than the closest 5 % of
    holdout rows are (see :func:`_tail_share`). Value: that share; score: its excess
    over the holdout's share."""
    comparable(cmp)
    synthetic = search(cmp, "synthetic", "train", _K_TRAIN)
    holdout = search(cmp, "holdout", "train", _K_TRAIN)
    to_train, holdout_to_train = synthetic.distances[:, 0], holdout.distances[:, 0]
    tail = Tail.of(to_train, holdout_to_train)
    details = NearCopyDetails(tail, Searched.of(synthetic, len(cmp.synthetic)), _distance_histogram(to_train, holdout_to_train))
    return _tail_share(cmp, to_train, tail, details)


@dataclass(frozen=True)
class NndrDetails(Details):
    """P.nndr: the tail of nearest-to-second-nearest distance ratios and the search's subsample."""

    tail: Tail
    searched: Searched | None

    def to_dict(self) -> dict[str, object]:
        return {**self.tail.to_dict("nndr"), **_search_fields(self.searched)}

    @classmethod
    def read(cls, stored: Stored) -> NndrDetails:
        return cls(Tail.read(stored, "nndr"), Searched.read(stored))


def _nndr(found: Neighbours) -> np.ndarray:
    """Nearest over second-nearest distance (0 for a row with two exact copies)."""
    first, second = found.distances[:, 0], found.distances[:, 1]
    return np.divide(first, second, out=np.zeros_like(first), where=second > 0)


@metric("P.nndr", pillar="P", name="Nearest-neighbour distance ratio", goal="minimize", requires=("holdout",),
        details=NndrDetails,
        verdict=VerdictRole("distance", partial(_tail_signal, "nearest-to-second-nearest distance ratio")))
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
    ratios = _nndr(synthetic)
    tail = Tail.of(ratios, _nndr(holdout))
    return _tail_share(cmp, ratios, tail, NndrDetails(tail, Searched.of(synthetic, len(cmp.synthetic))))


# -- P.leakage ----------------------------------------------------------------------------
@dataclass(frozen=True)
class LeakageDetails(Details):
    """The mean distances of rows under test to train (subsampled to ``train_rows_used``)
    and to the holdout, and whether the coefficient flags a possible breach."""

    mean_dcr_train: float
    mean_dcr_holdout: float
    train_rows_used: int
    flagged: bool

    def to_dict(self) -> dict[str, object]:
        return {"mean_dcr_train": self.mean_dcr_train, "mean_dcr_holdout": self.mean_dcr_holdout,
                "train_rows_used": self.train_rows_used, "flagged": self.flagged}

    @classmethod
    def read(cls, stored: Stored) -> LeakageDetails:
        return cls(stored.number("mean_dcr_train"), stored.number("mean_dcr_holdout"), stored.whole("train_rows_used"),
                   stored.flag("flagged"))


def _leakage_signal(details: LeakageDetails, value: float, score: float) -> Signal | None:
    return Signal(f"privacy leakage coefficient {value:.3f}, above the 0.05 threshold") if details.flagged else None


@metric("P.leakage", pillar="P", name="Privacy leakage coefficient", goal="minimize", value_range=(-1.0, 1.0),
        requires=("holdout",), details=LeakageDetails, verdict=VerdictRole("distance", _leakage_signal))
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

    details = LeakageDetails(float(to_train.mean()), float(to_holdout.mean()), len(cmp.table(train)), value > LEAKAGE_THRESHOLD)
    return bootstrapped(value, score_of(value), np.array([score_of(c) for c in coefficients]), details.to_dict())
