"""Baseline generators: the floor of fidelity, a classical copula, and a deliberate leak."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.data.schema import Kind, Schema
from safe_bench.data.values import as_numbers

from .base import SchemaGenerator
from .federated import FederatedSchemaGenerator


class _Baseline(SchemaGenerator):
    """Keeps the canonical train table; :class:`SchemaGenerator` seeds and checks samples."""

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        self.train = train[schema.features]
        self.schema = schema


class IndependentGenerator(_Baseline):
    """Each column drawn from its own train marginal, independently of the others.

    Marginals are right by construction and every association is lost: the floor of
    fidelity that any serious generator must beat on pairs, clinical findings and
    detection.
    """

    name = "independent"

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        train = self.train
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {col: train[col].to_numpy()[rng.integers(0, len(train), size=n)] for col in train.columns}
        )


class BootstrapCopyGenerator(_Baseline):
    """Train rows resampled with replacement: perfect fidelity, no privacy at all.

    A deliberately leaky generator that the privacy metrics must catch.
    """

    name = "bootstrap_copy"

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        train = self.train
        rows = np.random.default_rng(seed).integers(0, len(train), size=n)
        return train.iloc[rows].reset_index(drop=True)


class GaussianCopulaGenerator(FederatedSchemaGenerator):
    """Gaussian copula over empirical marginals (a fast classical baseline).

    Each column is mapped to normal scores: numeric columns through their ranks,
    categorical ones through the frequency intervals of their categories (missing is
    a category of its own; a numeric column's missingness is an extra binary
    variable). The correlation of the normal scores is estimated on train; sampling
    draws multivariate normal scores and maps them back through train's empirical
    quantiles (numeric, rounded back to whole numbers where train had only those)
    and category intervals. Sklar 1959; for tabular synthesis see Patki et al.,
    "The Synthetic Data Vault", IEEE DSAA 2016.

    **Federated, exactly.** The fit is two sums over rows, so sites can compute it
    without pooling rows (:mod:`safe_bench_generators.federated`): each site sends its
    marginals (a numeric column's sorted values, a category's counts), the server merges
    them; each site then scores its rows on the merged marginals and sends the mean of
    its normal scores and of their cross-products, and the size-weighted average of
    those is the pooled table's. The category scores' uniform draws come from one stream
    seeded by the federation's seed, of which site ``k`` takes the slice of its rows (the
    sites in order), so the federated fit is the fit on the sites' tables stacked, to
    floating-point precision (tests/test_federated_copula.py). The marginals hold every
    value of the numeric columns, as the centralized model does: the server learns them.
    """

    name = "gaussian_copula"

    def __init__(self, shrinkage: float = 1e-3):
        self.shrinkage = shrinkage

    def _summarise(self, train: pd.DataFrame, schema: Schema) -> list[_Marginal]:
        marginals: list[_Marginal] = []
        for col in schema.features:
            if schema.kinds[col] in (Kind.NUMERIC, Kind.DATETIME):
                values = as_numbers(train[col])
                present = ~np.isnan(values)
                marginals.append(_Marginal("presence", col, _CategoryCounts.fit(pd.Series(present))))
                marginals.append(_Marginal("numeric", col, np.sort(values[present])))
            else:
                marginals.append(_Marginal("category", col, _CategoryCounts.fit(train[col])))
        return marginals

    def _start(self, statistics: Sequence[Any], schema: Schema, seed: int, site: int | None) -> None:
        self.schema = schema
        self.seed = seed
        sizes = [int(_rows(stats)) for stats in statistics]
        self.total = sum(sizes)
        self.rows = slice(sum(sizes[:site]), sum(sizes[: site + 1])) if site is not None else slice(0, 0)
        merged = [_Marginal.merge([stats[j] for stats in statistics]) for j in range(len(statistics[0]))]
        # a column's presence is a variable only where some rows lack it and some have it
        self.variables = [m for m in merged if m.kind != "presence" or 0 < m.present() < self.total]
        self.set_parameters([np.zeros(len(self.variables)), np.eye(len(self.variables))])

    def _fit_local(self, train: pd.DataFrame, epochs: int) -> None:
        rng = np.random.default_rng(self.seed)
        # this site's summarised rows take their slice of the federation's stream; any other
        # table (a site's rows with synthetic rows shared by others) a stream of its own
        own = len(train) == self.rows.stop - self.rows.start
        scores = []
        for marginal in self.variables:
            if marginal.kind == "numeric":
                values = as_numbers(train[marginal.column])
                present = ~np.isnan(values)
                score = np.zeros(len(values))
                pooled = marginal.data  # sorted
                if present.any():
                    low = np.searchsorted(pooled, values[present], side="left")
                    high = np.searchsorted(pooled, values[present], side="right")
                    score[present] = stats.norm.ppf((low + high + 1) / 2 / (len(pooled) + 1))
                scores.append(score)
            else:
                column = (pd.Series(~np.isnan(as_numbers(train[marginal.column]))) if marginal.kind == "presence"
                          else train[marginal.column])
                u = rng.uniform(size=self.total)[self.rows] if own else rng.uniform(size=len(train))
                scores.append(marginal.data.table().normal_scores(column, u))
        z = np.column_stack(scores)
        self.set_parameters([z.mean(axis=0), z.T @ z / len(z)])

    def get_parameters(self) -> list[np.ndarray]:
        return [self.mean.copy(), self.second_moment.copy()]

    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        self.mean, self.second_moment = (np.array(p, dtype=float) for p in parameters)
        cov = self.second_moment - np.outer(self.mean, self.mean)
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(np.diag(cov))
            corr = cov / np.outer(sd, sd)
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        self.corr = (1 - self.shrinkage) * corr + self.shrinkage * np.eye(len(corr))

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        normal = rng.multivariate_normal(np.zeros(len(self.corr)), self.corr, size=n, method="cholesky")
        u = stats.norm.cdf(normal)
        out: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        for j, marginal in enumerate(self.variables):
            col = marginal.column
            if marginal.kind == "presence":
                present[col] = marginal.data.table().values(u[:, j]).astype(bool)
            elif marginal.kind == "numeric":
                out[col] = _quantiles(marginal.data, u[:, j])
                if col in present:
                    out[col] = np.where(present[col], out[col], np.nan)
            else:
                out[col] = marginal.data.table().values(u[:, j])
        frame = pd.DataFrame(out)[list(self.schema.features)]
        for col in self.schema.features:
            if self.schema.kinds[col] is Kind.DATETIME:
                frame[col] = pd.to_datetime(frame[col] * 86_400e9)
        return frame


def _rows(marginals: Sequence[_Marginal]) -> int:
    """A site's row count, read off its first marginal's counts (a presence or category one)."""
    return int(marginals[0].data.counts.sum())


@dataclass(frozen=True)
class _Marginal:
    """One variable of the copula: a numeric column's sorted values, or the counts of a
    categorical column's categories or of a numeric column's presence."""

    kind: str  # "numeric", "category" or "presence"
    column: str
    data: Any  # np.ndarray (numeric) or _CategoryCounts

    @classmethod
    def merge(cls, parts: Sequence[_Marginal]) -> _Marginal:
        """The marginal of the sites' rows stacked in order."""
        first = parts[0]
        if first.kind == "numeric":
            return cls(first.kind, first.column, np.sort(np.concatenate([p.data for p in parts])))
        return cls(first.kind, first.column, _CategoryCounts.merge([p.data for p in parts]))

    def present(self) -> int:
        """Rows with the column present (a presence marginal)."""
        return int(sum(count for present, count in zip(self.data.categories, self.data.counts, strict=True) if present))


def _quantiles(sorted_values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Train's empirical quantiles at ``u``, whole numbers kept whole."""
    if len(sorted_values) == 0:
        return np.full(len(u), np.nan)
    drawn = np.quantile(sorted_values, u)
    if np.all(sorted_values == np.round(sorted_values)):
        drawn = np.round(drawn)
    return drawn


@dataclass(frozen=True)
class _CategoryCounts:
    """A column's categories (missing included) in order of first appearance, with counts."""

    categories: np.ndarray
    counts: np.ndarray

    @classmethod
    def fit(cls, column: pd.Series) -> _CategoryCounts:
        counts = column.value_counts(dropna=False, sort=False)
        return cls(np.array(counts.index, dtype=object), counts.to_numpy())

    @classmethod
    def merge(cls, parts: Sequence[_CategoryCounts]) -> _CategoryCounts:
        """The counts of the sites' rows stacked in order (first appearance kept)."""
        stacked = pd.concat([pd.Series(p.counts, index=pd.Index(p.categories, dtype=object)) for p in parts])
        summed = stacked.groupby(level=0, sort=False, dropna=False).sum()
        return cls(np.array(summed.index, dtype=object), summed.to_numpy())

    def table(self) -> _CategoryTable:
        """The categories by frequency, each owning an interval of (0, 1), as
        ``value_counts(normalize=True)`` orders and scales them."""
        counts = pd.Series(self.counts, index=pd.Index(self.categories, dtype=object)).sort_values(ascending=False)
        return _CategoryTable(np.array(counts.index, dtype=object), (counts / counts.sum()).cumsum().to_numpy())


class _CategoryTable:
    """Categories (missing included) ordered by frequency, each owning an interval of (0, 1)."""

    def __init__(self, categories: np.ndarray, upper: np.ndarray):
        self.categories = categories
        self.upper = upper

    def normal_scores(self, column: pd.Series, draws: np.ndarray) -> np.ndarray:
        """The uniform ``draws`` placed inside each row's category interval, as normal scores."""
        pos = pd.Index(self.categories).get_indexer(pd.Index(column))  # NaN matches the NaN category
        upper = self.upper[pos]
        lower = np.where(pos > 0, self.upper[np.maximum(pos - 1, 0)], 0.0)
        u = lower + draws * (upper - lower)
        return stats.norm.ppf(np.clip(u, 1e-9, 1 - 1e-9))

    def values(self, u: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(self.upper, u, side="right"), len(self.upper) - 1)
        return self.categories[pos]
