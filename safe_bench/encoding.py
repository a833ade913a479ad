"""One train-fitted numeric view of the data, shared by every metric.

Fitted on the train table alone: nothing here ever looks at synthetic or holdout
rows while fitting. In the distance space (SAFE.md, P pillar):

- numeric and datetime columns are robust-scaled, ``(x - median) / IQR`` (the IQR
  falls back to the standard deviation, then to 1, for a column with no spread
  beyond float precision),
  and each carries a missing indicator worth one IQR;
- categorical and boolean columns are one-hot over train's categories plus one slot
  for *missing* and one for *never seen in train*, scaled by 1/sqrt(2) so one
  category mismatch weighs like one numeric IQR.

For binned marginals (S.kway) numeric columns also get train quantile bins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from safe_bench.schema import Kind, Schema

_ONE_HOT_WEIGHT = 1.0 / np.sqrt(2.0)
#: Quantile bins per numeric column for binned marginals (train quintiles).
N_BINS = 5


def as_numbers(series: pd.Series) -> np.ndarray:
    """A canonical numeric or datetime column as float64 (datetimes in days)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float) / 86_400e9
        values[series.isna().to_numpy()] = np.nan
        return values
    return series.to_numpy(dtype=float)


@dataclass(frozen=True)
class NumericScale:
    median: float
    scale: float
    low: float
    high: float


@dataclass(frozen=True)
class Encoding:
    """Scales and category lists fitted on train; see the module docstring."""

    schema: Schema
    numeric: dict[str, NumericScale]
    categories: dict[str, tuple[str | float, ...]]
    bin_edges: dict[str, tuple[float, ...]] = field(default_factory=dict)

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema) -> Encoding:
        """Fit on the canonical train table (see :func:`safe_bench.validation.conform`)."""
        numeric: dict[str, NumericScale] = {}
        bin_edges: dict[str, tuple[float, ...]] = {}
        for col in schema.numeric:
            values = as_numbers(train[col])
            values = values[~np.isnan(values)]
            if len(values) == 0:
                numeric[col] = NumericScale(0.0, 1.0, np.nan, np.nan)
                bin_edges[col] = ()
                continue
            bin_edges[col] = tuple(np.unique(np.quantile(values, np.linspace(0, 1, N_BINS + 1)[1:-1])).tolist())
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            # A spread below float precision around the median is no spread at all.
            negligible = 1e-9 * max(1.0, abs(float(median)))
            scale = float(q3 - q1)
            if scale <= negligible:
                scale = float(np.std(values))
            if scale <= negligible:
                scale = 1.0
            numeric[col] = NumericScale(float(median), float(scale), float(values.min()), float(values.max()))
        categories = {
            col: tuple(sorted(train[col].dropna().unique(), key=str)) for col in schema.categorical
        }
        return cls(schema=schema, numeric=numeric, categories=categories, bin_edges=bin_edges)

    @property
    def feature_names(self) -> list[str]:
        """Names of the columns of :meth:`transform`'s output."""
        names: list[str] = []
        for col in self.numeric:
            names += [col, f"{col}=<missing>"]
        for col, cats in self.categories.items():
            names += [f"{col}={c}" for c in cats] + [f"{col}=<missing>", f"{col}=<unseen>"]
        return names

    def codes(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        """Category codes against train's list: ``len(cats)`` = missing, ``+1`` = unseen."""
        cats = self.categories[col]
        values = frame[col]
        codes = pd.Categorical(values, categories=list(cats)).codes.astype(np.int64)
        other = np.flatnonzero(codes < 0)  # missing or unseen: only these need a look
        codes[other] = np.where(values.iloc[other].isna().to_numpy(), len(cats), len(cats) + 1)
        return codes

    def bins(self, frame: pd.DataFrame, col: str) -> np.ndarray:
        """Codes ``0 .. n_bins(col) - 1`` of a column on train-fitted bins: a numeric
        value's bin on train's quantile edges (values beyond train's range fall in the
        end bins), ``n_bins - 1`` = missing; a category's :meth:`codes`."""
        if col in self.categories:
            return self.codes(frame, col)
        edges = np.asarray(self.bin_edges[col], dtype=float)
        values = as_numbers(frame[col])
        codes = np.searchsorted(edges, values, side="right")
        codes[np.isnan(values)] = len(edges) + 1
        return codes

    def n_bins(self, col: str) -> int:
        """How many codes :meth:`bins` can give column ``col`` (missing and unseen included)."""
        if col in self.categories:
            return len(self.categories[col]) + 2
        return len(self.bin_edges[col]) + 2

    def transform(self, frame: pd.DataFrame, dtype: type = np.float64) -> np.ndarray:
        """The distance-space matrix of a canonical table (rows in table order)."""
        n = len(frame)
        blocks: list[np.ndarray] = []
        for col, sc in self.numeric.items():
            values = (as_numbers(frame[col]) - sc.median) / sc.scale
            missing = np.isnan(values)
            blocks.append(np.column_stack([np.where(missing, 0.0, values), missing.astype(float)]))
        for col, cats in self.categories.items():
            one_hot = np.zeros((n, len(cats) + 2))
            one_hot[np.arange(n), self.codes(frame, col)] = _ONE_HOT_WEIGHT
            blocks.append(one_hot)
        if not blocks:
            return np.zeros((n, 0), dtype=dtype)
        return np.ascontiguousarray(np.hstack(blocks), dtype=dtype)
