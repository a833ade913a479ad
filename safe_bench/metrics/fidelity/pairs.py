"""S metrics of several columns together: S.pairs (pairwise associations) and S.kway
(three-way joint frequencies). Missing numbers are left out pairwise (counted in the
details), missing categories are a category. Interval: row bootstrap.

S.pairs carries typed details (:class:`PairsDetails`: per pair the association in train
and in the table under test) and draws their differences as a matrix over the columns
(:data:`ASSOCIATIONS`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.base import Details, Measurement, metric
from safe_bench.metrics.charts import Chart, Drawing, Outcome, PairMatrix, Plot, single
from safe_bench.metrics.fidelity.associations import Associations, column_pairs
from safe_bench.metrics.fidelity.columnwise import PerTable, against_sampling, measure_mean, tv_null
from safe_bench.metrics.fidelity.counts import (
    Replicated,
    code_counts,
    distributional,
    frequencies,
    joint_codes,
    no_weights,
    resample_weights,
    single_threaded,
)
from safe_bench.metrics.stored import Stored

#: Column triples compared by S.kway (all of them when there are fewer).
N_TRIPLES = 30


@dataclass(frozen=True)
class PairAssociation:
    """A compared pair of S.pairs: the association measure, its value in train and in
    the table under test, the pair's score and the rows left out (missing numbers)."""

    association: str
    train: float
    synthetic: float
    score: float
    rows_left_out: PerTable

    def to_dict(self) -> dict[str, object]:
        return {"association": self.association, "train": self.train, "synthetic": self.synthetic, "score": self.score,
                "rows_left_out": self.rows_left_out.to_dict()}

    @classmethod
    def read(cls, stored: Stored) -> PairAssociation:
        return cls(stored.text("association"), stored.number("train"), stored.number("synthetic"),
                   stored.number("score"), PerTable.read(stored.child("rows_left_out")))


@dataclass(frozen=True)
class PairSkipped:
    """A pair S.pairs left out (a column constant in train), and why."""

    association: str
    skipped: str

    def to_dict(self) -> dict[str, str]:
        return {"association": self.association, "skipped": self.skipped}

    @classmethod
    def read(cls, stored: Stored) -> PairSkipped:
        return cls(stored.text("association"), stored.text("skipped"))


@dataclass(frozen=True)
class PairsDetails(Details):
    """S.pairs per column pair, named ``a | b``."""

    pairs: dict[str, PairAssociation | PairSkipped]

    def to_dict(self) -> dict[str, object]:
        return {"pairs": {name: entry.to_dict() for name, entry in self.pairs.items()}}

    @classmethod
    def read(cls, stored: Stored) -> PairsDetails:
        return cls({name: PairSkipped.read(e) if e.has("skipped") else PairAssociation.read(e)
                    for name, e in stored.children("pairs").items()})


def _association_gaps(outcome: Outcome[PairsDetails]) -> Plot | str:
    """|association in train - association in the table| per compared pair, as a matrix."""
    columns: list[str] = []
    cells = []
    for name, entry in outcome.details.pairs.items():
        pair = name.split(" | ")
        if len(pair) != 2 or not isinstance(entry, PairAssociation):
            continue
        columns += [c for c in pair if c not in columns]
        cells.append((pair[0], pair[1], abs(entry.train - entry.synthetic)))
    if not cells:
        return "S.pairs compared no column pair"
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.full((len(columns), len(columns)), np.nan)
    for a, b, gap in cells:
        matrix[index[a], index[b]] = matrix[index[b], index[a]] = gap
    return PairMatrix(columns, matrix, vmax=max(0.2, float(np.nanmax(matrix))),
                      caption="|association in train − association in synthetic| per column pair (Pearson's r for two "
                      "numbers, the correlation ratio for a number and a category, bias-corrected Cramér's V for two "
                      "categories); blank: not computed.")


#: The differences of the pairwise associations, drawn by S.pairs.
ASSOCIATIONS: Chart[Plot] = Chart("Association differences between column pairs", single)


def _rows_missing(gaps: dict[str, np.ndarray], columns: list[str]) -> int:
    """Rows missing a value in any of ``columns`` (given each column's missing mask)."""
    return int(np.logical_or.reduce([gaps[c] for c in columns]).sum()) if columns else 0


@metric("S.pairs", pillar="S", name="Pairwise association agreement", details=PairsDetails,
        figure=Drawing(ASSOCIATIONS, _association_gaps))
@single_threaded
def pair_trends(cmp: Comparison) -> Measurement:
    """Per column pair, the association in train against the table under test: Pearson's r
    for two numbers (score 1 - |delta|/2; equals SDMetrics' CorrelationSimilarity), the
    correlation ratio for a number and a category, the bias-corrected Cramér's V (Bergsma
    2013) for two categories (score 1 - |delta|). Missing numbers are left out pairwise
    (counted in the details); missing categories are a category. A pair with a column
    constant in train has no association to reproduce and is skipped with that reason; a
    column constant in the table under test has association 0. Interval: row bootstrap."""
    num_num, num_cat, cat_cat = column_pairs(cmp)
    if not (num_num or num_cat or cat_cat):
        raise MetricSkipped("fewer than two columns")
    train = cmp.cached(
        ("train associations",), lambda: Associations(cmp, cmp.train, no_weights(cmp.train)).compute(num_num, num_cat, cat_cat)
    )
    under_test = Associations(cmp, cmp.synthetic, resample_weights(cmp)).compute(num_num, num_cat, cat_cat)
    kinds = {**dict.fromkeys(num_num, "pearson"), **dict.fromkeys(num_cat, "correlation_ratio"),
             **dict.fromkeys(cat_cat, "cramers_v")}
    train_gaps, synthetic_gaps = ({c: frame[c].isna().to_numpy() for c in cmp.schema.numeric}
                                  for frame in (cmp.train, cmp.synthetic))
    values: dict[str, Replicated] = {}
    details: dict[str, PairAssociation | PairSkipped] = {}
    for pair, kind in kinds.items():
        name = " | ".join(pair)
        numbers = [c for c in pair if c in cmp.schema.numeric]
        left_out = PerTable(_rows_missing(train_gaps, numbers), _rows_missing(synthetic_gaps, numbers))
        if np.isnan(train[pair][0]):
            details[name] = PairSkipped(kind, "a column is constant (or has no values) in train")
            continue
        y = np.nan_to_num(under_test[pair], nan=0.0)
        delta = np.abs(y - train[pair][0])
        values[name] = 1.0 - (delta / 2 if kind == "pearson" else delta)
        details[name] = PairAssociation(kind, train[pair][0], y[0], values[name][0], left_out)
    return measure_mean(values, "column pair", PairsDetails(details).to_dict(), lambda s: 1.0 - s)


@metric("S.kway", pillar="S", name="Three-way marginal agreement")
@single_threaded
def three_way(cmp: Comparison) -> Measurement:
    """Per column triple, the total variation distance between the joint frequencies of
    train and the table under test on train-fitted bins (numbers in train quintiles,
    categories as such; missing a bin of its own, categories train never had one more),
    judged like S.tv against its 95th percentile between two real samples (multinomial
    draws from train's joint shares); value: the mean distance.
    All triples, or 30 (N_TRIPLES) distinct seeded random ones when there are more (the same
    for the synthetic table and the reference). Interval: row bootstrap."""
    columns = distributional(cmp, cmp.schema.features)
    if len(columns) < 3:
        raise MetricSkipped("fewer than three columns")
    triples = list(itertools.combinations(range(len(columns)), 3))
    if len(triples) > N_TRIPLES:
        rng = cmp.rng(Stream.KWAY_TRIPLES)
        triples = [triples[i] for i in np.sort(rng.choice(len(triples), N_TRIPLES, replace=False))]
    weights = resample_weights(cmp)
    used = sorted({i for triple in triples for i in triple})
    bins = {
        columns[i]: np.concatenate([cmp.encoding.bins(cmp.train, columns[i]), cmp.encoding.bins(cmp.synthetic, columns[i])])
        for i in used
    }
    values: dict[str, Replicated] = {}
    thresholds: dict[str, float] = {}
    details: dict[str, dict] = {}
    null = cmp.rng(Stream.KWAY_NULL)
    for triple in triples:
        cols = [columns[i] for i in triple]
        ids, rows = joint_codes([bins[c] for c in cols])
        t_freq = np.bincount(ids[: len(cmp.train)], minlength=len(rows)) / len(cmp.train)
        y_freq = frequencies(code_counts(weights, ids[len(cmp.train):], len(rows)))
        name = " | ".join(cols)
        values[name] = 1.0 - 0.5 * np.abs(y_freq - t_freq).sum(axis=1)
        thresholds[name] = tv_null(t_freq, len(cmp.train), len(cmp.synthetic), null)
        details[name] = {"tvd": 1.0 - values[name][0], "cells": len(rows)}
    return against_sampling(values, thresholds, "column triple", details, "triples", bins_per_number="train quintiles")
