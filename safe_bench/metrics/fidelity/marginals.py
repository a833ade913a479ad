"""S metrics of one column at a time: S.ks (numbers), S.tv (categories), S.missing
(missing rates) and S.range (values train could not have produced).

Numbers are compared without their missing values (S.missing compares those) and say
how many they left out in their details; datetimes are compared as numbers (days),
booleans as categories. Interval: row bootstrap of the table under test
(:mod:`safe_bench.metrics.fidelity.counts`).

S.ks and S.tv carry typed details (:class:`KsDetails`, :class:`TvDetails`): per column
its distance, score and the binned shares of train and the table under test, which
they draw into one figure of the marginals (:data:`MARGINALS`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream, proportion_threshold
from safe_bench.metrics.base import Details, Measurement, metric
from safe_bench.metrics.charts import BarPanels, Bars, Chart, Drawing, Outcome, Plot, lacking
from safe_bench.metrics.fidelity.columnwise import (
    PerTable,
    Skipped,
    against_sampling,
    judge_against_sampling,
    measure_mean,
    tv_null,
    with_scores,
)
from safe_bench.metrics.fidelity.counts import (
    Feature,
    Replicated,
    category_codes,
    category_tuples,
    cell_counts,
    distributional,
    feature_totals,
    frequencies,
    resample_weights,
    single_threaded,
)
from safe_bench.metrics.fidelity.kolmogorov import Buffers, ks_replicates
from safe_bench.metrics.stored import Stored, Values

#: Kolmogorov's c(0.05) = sqrt(-ln(0.025) / 2): the two-sample KS statistic's 5 % critical
#: value is c sqrt((n + m) / (n m)).
KS_CRITICAL = float(np.sqrt(-np.log(0.025) / 2))

#: Equal-width bins of the per-column histograms in S.ks details (what report figures draw).
HISTOGRAM_BINS = 20
#: At most this many columns get a marginal panel (those with the lowest scores).
MAX_MARGINALS = 9


# -- the marginals figure ----------------------------------------------------------------
@dataclass(frozen=True)
class Panel:
    """One column's shares in the marginals figure, with the column's score (the
    figure shows the columns with the lowest scores)."""

    score: float
    bars: Bars


def _marginals(parts: Sequence[list[Panel]], notes: Sequence[str]) -> Plot | str:
    panels = sorted((p for part in parts for p in part), key=lambda p: (p.score, p.bars.name))
    if not panels:
        return lacking(notes) or "no column to draw"
    shown = [p.bars for p in panels[:MAX_MARGINALS]]
    caption = ("Shares of rows per train-fitted bin or category, train (filled) and synthetic (line)"
               + (f"; the {len(shown)} columns with the lowest scores of {len(panels)}" if len(panels) > len(shown) else "")
               + ".")
    return BarPanels(shown, caption)


#: The marginals of train and the table under test: S.ks's histograms, S.tv's shares.
MARGINALS: Chart[list[Panel]] = Chart("Marginals: train versus synthetic", _marginals)


# -- S.ks ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Histogram:
    """Shares of train and of the table under test on shared bin ``edges``."""

    edges: Values
    train: Values
    synthetic: Values

    def to_dict(self) -> dict[str, Values]:
        return {"edges": self.edges, "train": self.train, "synthetic": self.synthetic}

    @classmethod
    def read(cls, stored: Stored) -> Histogram:
        return cls(stored.numbers("edges"), stored.numbers("train"), stored.numbers("synthetic"))


@dataclass(frozen=True)
class KsColumn:
    """One numeric column of S.ks: D, the missing values left out, the histograms, the
    column's score and D's 5 % critical value for two real samples."""

    ks: float
    missing_left_out: PerTable
    histogram: Histogram
    score: float
    real_vs_real_q95: float

    def to_dict(self) -> dict[str, object]:
        return {"ks": self.ks, "missing_left_out": self.missing_left_out.to_dict(), "histogram": self.histogram.to_dict(),
                "score": self.score, "real_vs_real_q95": self.real_vs_real_q95}

    @classmethod
    def read(cls, stored: Stored) -> KsColumn:
        return cls(stored.number("ks"), PerTable.read(stored.child("missing_left_out")),
                   Histogram.read(stored.child("histogram")), stored.number("score"), stored.number("real_vs_real_q95"))


@dataclass(frozen=True)
class KsDetails(Details):
    """S.ks per numeric column: compared, or left out with the reason."""

    columns: dict[str, KsColumn | Skipped]

    def to_dict(self) -> dict[str, object]:
        return {"columns": {c: entry.to_dict() for c, entry in self.columns.items()}}

    @classmethod
    def read(cls, stored: Stored) -> KsDetails:
        return cls({c: Skipped.read(e) if e.has("skipped") else KsColumn.read(e) for c, e in stored.children("columns").items()})


def _ks_panels(outcome: Outcome[KsDetails]) -> list[Panel] | str:
    panels = [Panel(c.score, Bars(name, list(c.histogram.edges),
                                  {"train": c.histogram.train, "synthetic": c.histogram.synthetic}))
              for name, c in outcome.details.columns.items() if isinstance(c, KsColumn)]
    return panels or "S.ks compared no numeric column"


def _sorted_train(cmp: Comparison, col: str) -> np.ndarray:
    """Train's column as numbers, sorted, NaN last; once per evaluation."""
    return cmp.cached(("sorted train", col), lambda: np.sort(as_numbers(cmp.train[col])))


def _histogram(train: np.ndarray, table: np.ndarray) -> Histogram:
    """Shares of train and of the table under test on equal-width bins spanning train's
    1st to 99th percentile, values beyond counted in the end bins: aggregates for a
    figure, with no single record's extreme value among the edges."""
    low, high = (float(v) for v in np.percentile(train, [1, 99]))
    edges = np.linspace(low, high if high > low else low + 1.0, HISTOGRAM_BINS + 1)

    def shares(values: np.ndarray) -> list[float]:
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HISTOGRAM_BINS - 1)
        return (np.bincount(bins, minlength=HISTOGRAM_BINS) / len(values)).tolist()

    return Histogram(edges.tolist(), shares(train), shares(table))


@metric("S.ks", pillar="S", name="Kolmogorov-Smirnov complement", details=KsDetails, figure=Drawing(MARGINALS, _ks_panels))
@single_threaded
def ks_complement(cmp: Comparison) -> Measurement:
    """Per numeric or datetime column, the two-sample Kolmogorov-Smirnov statistic D
    between train and the table under test, missing values left out (S.missing compares
    them); 1 - D equals SDMetrics' KSComplement. Value: the mean D. Each column's D is
    judged against its 5 % critical value for two real samples of these sizes,
    ``1.358 sqrt((n + m) / (n m))`` (Kolmogorov's limit law; Smirnov 1948): score 1
    within it, ``critical / D`` beyond. Score: the mean over columns. Interval: row
    bootstrap of the table under test."""
    if not cmp.schema.numeric:
        raise MetricSkipped("no numeric column")
    weights, buffers = resample_weights(cmp), Buffers()
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    columns: dict[str, Skipped | Callable[[float, float], KsColumn]] = {}
    for col in cmp.schema.numeric:
        t = _sorted_train(cmp, col)
        y = as_numbers(cmp.synthetic[col])
        t_gaps, y_gaps = int(np.isnan(t).sum()), int(np.isnan(y).sum())
        if t_gaps == len(t) or y_gaps == len(y):
            columns[col] = Skipped.all_missing("train" if t_gaps == len(t) else "the table under test")
            continue
        values[col] = ks_replicates(t[: len(t) - t_gaps], y, weights, buffers)
        n, m = len(t) - t_gaps, len(y) - y_gaps
        thresholds[col] = KS_CRITICAL * np.sqrt((n + m) / (n * m))
        columns[col] = partial(KsColumn, 1.0 - values[col][0], PerTable(t_gaps, y_gaps),
                               _histogram(t[: len(t) - t_gaps], y[~np.isnan(y)]))
    judged = judge_against_sampling(values, thresholds, "numeric column")
    return judged.measurement(KsDetails(with_scores(columns, judged, thresholds)).to_dict())


# -- S.tv ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shares:
    """Shares of train and of the table under test per category (``<unseen>``: the
    categories train never had, listed when the table has any)."""

    categories: list[str]
    train: Values
    synthetic: Values

    def to_dict(self) -> dict[str, object]:
        return {"categories": self.categories, "train": self.train, "synthetic": self.synthetic}

    @classmethod
    def read(cls, stored: Stored) -> Shares:
        return cls(stored.texts("categories"), stored.numbers("train"), stored.numbers("synthetic"))


@dataclass(frozen=True)
class TvColumn:
    """One categorical column of S.tv: the distance, the share of categories train never
    had, the missing values left out, the shares, the column's score and the distance's
    95th percentile between two real samples."""

    tvd: float
    unseen_share: float
    missing_left_out: PerTable
    shares: Shares
    score: float
    real_vs_real_q95: float

    def to_dict(self) -> dict[str, object]:
        return {"tvd": self.tvd, "unseen_share": self.unseen_share, "missing_left_out": self.missing_left_out.to_dict(),
                "shares": self.shares.to_dict(), "score": self.score, "real_vs_real_q95": self.real_vs_real_q95}

    @classmethod
    def read(cls, stored: Stored) -> TvColumn:
        return cls(stored.number("tvd"), stored.number("unseen_share"), PerTable.read(stored.child("missing_left_out")),
                   Shares.read(stored.child("shares")), stored.number("score"), stored.number("real_vs_real_q95"))


@dataclass(frozen=True)
class TvDetails(Details):
    """S.tv per categorical column: compared, or left out with the reason."""

    columns: dict[str, TvColumn | Skipped]

    def to_dict(self) -> dict[str, object]:
        return {"columns": {c: entry.to_dict() for c, entry in self.columns.items()}}

    @classmethod
    def read(cls, stored: Stored) -> TvDetails:
        return cls({c: Skipped.read(e) if e.has("skipped") else TvColumn.read(e) for c, e in stored.children("columns").items()})


def _tv_panels(outcome: Outcome[TvDetails]) -> list[Panel] | str:
    panels = [Panel(c.score, Bars(name, c.shares.categories, {"train": c.shares.train, "synthetic": c.shares.synthetic}))
              for name, c in outcome.details.columns.items() if isinstance(c, TvColumn)]
    return panels or "S.tv compared no categorical column"


@metric("S.tv", pillar="S", name="Total variation complement", details=TvDetails, figure=Drawing(MARGINALS, _tv_panels))
@single_threaded
def tv_complement(cmp: Comparison) -> Measurement:
    """Per categorical or boolean column, the total variation distance between the
    category frequencies of train and the table under test, missing values left out
    (S.missing compares them) and categories train never had counted in full; its
    complement equals SDMetrics' TVComplement. Value: the mean distance. Each column's
    distance is judged against its 95th percentile between two real samples of these
    sizes (multinomial draws from train's shares, a parametric bootstrap): score 1
    within it, ``q95 / distance`` beyond. Score: the mean over columns. Interval: row
    bootstrap of the table under test."""
    categorical = distributional(cmp, cmp.schema.categorical)
    if not categorical:
        raise MetricSkipped("no categorical column")
    tuples, codes, _ = category_tuples(cmp, cmp.synthetic, resample_weights(cmp))
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    columns: dict[str, Skipped | Callable[[float, float], TvColumn]] = {}
    rng = cmp.rng(Stream.TV_NULL)
    for col in categorical:
        k = len(cmp.encoding.categories[col])
        t_counts = np.bincount(category_codes(cmp, cmp.train, col), minlength=k + 2)[None, :].astype(float)
        y_counts = cell_counts(tuples, codes[col], k + 2)
        missing = PerTable(int(t_counts[0, k]), int(y_counts[0, k]))
        t_counts[:, k] = y_counts[:, k] = 0.0
        if t_counts.sum() == 0 or y_counts[0].sum() == 0:
            columns[col] = Skipped.all_missing("train" if t_counts.sum() == 0 else "the table under test")
            continue
        p_y = frequencies(y_counts)
        values[col] = 1.0 - 0.5 * np.abs(p_y - frequencies(t_counts)).sum(axis=1)
        values[col][np.isnan(p_y).any(axis=1)] = np.nan
        thresholds[col] = tv_null(frequencies(t_counts)[0], int(t_counts.sum()), int(y_counts[0].sum()), rng)
        slots = k + 1 + int(p_y[0, k + 1] > 0)  # the categories, missing (left out, 0) and unseen if any
        kept = [i for i in range(slots) if i != k]
        shares = Shares([str(c) for c in cmp.encoding.categories[col]] + ["<unseen>"] * (slots > k + 1),
                        frequencies(t_counts)[0, kept].tolist(), p_y[0, kept].tolist())
        columns[col] = partial(TvColumn, 1.0 - values[col][0], p_y[0, k + 1], missing, shares)
    judged = judge_against_sampling(values, thresholds, "categorical column")
    return judged.measurement(TvDetails(with_scores(columns, judged, thresholds)).to_dict())


# -- S.missing, S.range -------------------------------------------------------------------


@metric("S.missing", pillar="S", name="Missing-rate agreement")
@single_threaded
def missing_rate(cmp: Comparison) -> Measurement:
    """Per column, |missing rate in train - missing rate in the table under test| (value:
    the mean), judged against 1.96 standard errors of that difference between two real
    samples of these sizes (:func:`~safe_bench.evaluation.uncertainty.proportion_threshold`): score
    1 within, ``threshold / difference`` beyond; the mean over columns. Interval: row
    bootstrap of the table under test."""
    columns = cmp.schema.features
    weights = resample_weights(cmp)
    rates = feature_totals(weights, [(cmp.synthetic[c].isna().to_numpy(),) for c in columns]) / len(cmp.synthetic)
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    details: dict[str, dict] = {}
    for j, col in enumerate(columns):
        rate_t = float(cmp.train[col].isna().mean())
        values[col] = 1.0 - np.abs(rates[:, j] - rate_t)
        thresholds[col] = proportion_threshold(rate_t, len(cmp.train), len(cmp.synthetic))
        details[col] = {"train": rate_t, "synthetic": rates[0, j]}
    return against_sampling(values, thresholds, "column", details)


@metric("S.range", pillar="S", name="Range and category coverage")
@single_threaded
def range_coverage(cmp: Comparison) -> Measurement:
    """Per column, 1 - the share of the table's present values that train could not have
    produced: numbers (datetimes) outside train's [min, max], categories train never had.
    Missing values are left out (S.missing compares them). Interval: row bootstrap."""
    weights = resample_weights(cmp)
    columns: list[str] = []
    features: list[Feature] = []
    details: dict[str, dict] = {}
    for col in cmp.schema.features:
        if col in cmp.encoding.categories:
            codes = category_codes(cmp, cmp.synthetic, col)
            k = len(cmp.encoding.categories[col])
            present, outside = codes != k, codes == k + 1
            if k == 0:
                details[col] = Skipped.all_missing("train").to_dict()
                continue
        else:
            scale = cmp.encoding.numeric[col]
            y = as_numbers(cmp.synthetic[col])
            present = ~np.isnan(y)
            if np.isnan(scale.low):
                details[col] = Skipped.all_missing("train").to_dict()
                continue
            outside = present & ((y < scale.low) | (y > scale.high))
        if not present.any():
            details[col] = Skipped.all_missing("the table under test").to_dict()
            continue
        columns.append(col)
        features += [(present,), (outside,)]
    if not columns:
        raise MetricSkipped("no column has values in both tables")
    sums = feature_totals(weights, features)
    values: dict[str, Replicated] = {}
    for j, col in enumerate(columns):
        present, outside = sums[:, 2 * j], sums[:, 2 * j + 1]
        values[col] = 1.0 - np.divide(outside, present, out=np.full_like(present, np.nan), where=present > 0)
        details[col] = {
            "outside_share": 1.0 - values[col][0],
            "score": values[col][0],
            "missing_left_out": int(len(cmp.synthetic) - present[0]),
        }
    return measure_mean(values, "column", {"columns": details}, lambda s: 1.0 - s)
