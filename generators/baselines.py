"""Baseline generators: the floor of fidelity, a classical copula, and a deliberate leak."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.data.schema import Kind, Schema
from safe_bench.data.values import as_numbers

from .base import SchemaGenerator


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


class GaussianCopulaGenerator(_Baseline):
    """Gaussian copula over empirical marginals (a fast classical baseline).

    Each column is mapped to normal scores: numeric columns through their ranks,
    categorical ones through the frequency intervals of their categories (missing is
    a category of its own; a numeric column's missingness is an extra binary
    variable). The correlation of the normal scores is estimated on train; sampling
    draws multivariate normal scores and maps them back through train's empirical
    quantiles (numeric, rounded back to whole numbers where train had only those)
    and category intervals. Sklar 1959; for tabular synthesis see Patki et al.,
    "The Synthetic Data Vault", IEEE DSAA 2016.
    """

    name = "gaussian_copula"

    def __init__(self, shrinkage: float = 1e-3):
        self.shrinkage = shrinkage

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        super()._fit(train, schema, seed)
        rng = np.random.default_rng(seed)
        # One variable per column, plus a presence flag for numeric columns with gaps:
        # (kind, column, marginal) where marginal is sorted values or a category table.
        self.variables: list[tuple[str, str, object]] = []
        scores = []
        for col in self.train.columns:
            if self.schema.kinds[col] in (Kind.NUMERIC, Kind.DATETIME):
                values = as_numbers(self.train[col])
                present = ~np.isnan(values)
                if 0 < present.sum() < len(values):
                    table = _CategoryTable.fit(pd.Series(present))
                    scores.append(table.normal_scores(pd.Series(present), rng))
                    self.variables.append(("presence", col, table))
                score = np.zeros(len(values))
                if present.any():
                    score[present] = stats.norm.ppf(stats.rankdata(values[present]) / (present.sum() + 1))
                scores.append(score)
                self.variables.append(("numeric", col, np.sort(values[present])))
            else:
                table = _CategoryTable.fit(self.train[col])
                scores.append(table.normal_scores(self.train[col], rng))
                self.variables.append(("category", col, table))
        z = np.column_stack(scores)
        corr = np.corrcoef(z, rowvar=False) if len(z) > 1 else np.eye(z.shape[1])
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        self.corr = (1 - self.shrinkage) * corr + self.shrinkage * np.eye(len(corr))

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        train = self.train
        rng = np.random.default_rng(seed)
        normal = rng.multivariate_normal(np.zeros(len(self.corr)), self.corr, size=n, method="cholesky")
        u = stats.norm.cdf(normal)
        out: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        for j, (kind, col, marginal) in enumerate(self.variables):
            if kind == "presence":
                present[col] = marginal.values(u[:, j]).astype(bool)  # type: ignore[attr-defined]
            elif kind == "numeric":
                out[col] = _quantiles(marginal, u[:, j])  # type: ignore[arg-type]
                if col in present:
                    out[col] = np.where(present[col], out[col], np.nan)
            else:
                out[col] = marginal.values(u[:, j])  # type: ignore[attr-defined]
        frame = pd.DataFrame(out)[list(train.columns)]
        for col in train.columns:
            if self.schema.kinds[col] is Kind.DATETIME:
                frame[col] = pd.to_datetime(frame[col] * 86_400e9)
        return frame


def _quantiles(sorted_values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Train's empirical quantiles at ``u``, whole numbers kept whole."""
    if len(sorted_values) == 0:
        return np.full(len(u), np.nan)
    drawn = np.quantile(sorted_values, u)
    if np.all(sorted_values == np.round(sorted_values)):
        drawn = np.round(drawn)
    return drawn


class _CategoryTable:
    """Categories (missing included) ordered by frequency, each owning an interval of (0, 1)."""

    def __init__(self, categories: np.ndarray, upper: np.ndarray):
        self.categories = categories
        self.upper = upper

    @classmethod
    def fit(cls, column: pd.Series) -> _CategoryTable:
        freq = column.value_counts(normalize=True, dropna=False, sort=True)
        return cls(np.array(freq.index, dtype=object), freq.cumsum().to_numpy())

    def normal_scores(self, column: pd.Series, rng: np.random.Generator) -> np.ndarray:
        """A uniform draw inside each row's category interval, as a normal score."""
        pos = pd.Index(self.categories).get_indexer(pd.Index(column))  # NaN matches the NaN category
        upper = self.upper[pos]
        lower = np.where(pos > 0, self.upper[np.maximum(pos - 1, 0)], 0.0)
        u = lower + rng.uniform(size=len(pos)) * (upper - lower)
        return stats.norm.ppf(np.clip(u, 1e-9, 1 - 1e-9))

    def values(self, u: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(self.upper, u, side="right"), len(self.upper) - 1)
        return self.categories[pos]
