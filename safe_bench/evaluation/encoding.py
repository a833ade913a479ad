"""One train-fitted numeric view of the data, shared by every metric.

Fitted on the train table alone: nothing here ever looks at synthetic or holdout
rows while fitting. In the distance space (pillar P):

- numeric and datetime columns are robust-scaled, ``(x - median) / IQR`` (the IQR
  falls back to the standard deviation, then to 1, for a column constant in train),
  and each carries a missing indicator worth one IQR. Whether a column has a spread
  is decided by equality alone (no absolute threshold), so an affine change of a
  column's units in every table (``x * 1e-12``, ``x + 1e12``) leaves its encoded
  values, and every distance, as they were (exactly wherever the new values are
  exact in float64). Encoded values are held within :data:`MAX_SPREADS` of the
  median: farther is just far, and squares stay finite in float32 sums;
- categorical and boolean columns are one-hot over train's categories plus one slot
  for *missing* and one for *never seen in train*, scaled by 1/sqrt(2) so one
  category mismatch weighs like one numeric IQR;
- an *identifier-like* categorical column (see :func:`identifier_like`: most of its
  categories mark one or two patients, or it has more than :data:`MAX_CATEGORIES`)
  is left out of the distance space, with a note (:attr:`Encoding.notes`). Its
  one-hot would be rows x categories wide (a 50k-code column in 50k rows: 18.6 GiB)
  and would measure identity, not similarity: two rows differ on it unless one copies
  the other. Copies are still found: exact-copy checks hash whole rows, this column
  included, and a copied row is at distance 0 on the other columns.

For binned marginals (S.kway) numeric columns also get train quantile bins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.data.values import as_numbers

_ONE_HOT_WEIGHT = 1.0 / np.sqrt(2.0)
#: Quantile bins per numeric column for binned marginals (train quintiles).
N_BINS = 5
#: Encoded numbers are clipped to this many spreads (IQRs) from train's median.
MAX_SPREADS = 1e9
#: A categorical column with more train categories than this is identifier-like: its
#: one-hot, rows x categories, would outgrow memory (100k rows: 0.8 GB per table).
MAX_CATEGORIES = 1000
#: ... as is one with more categories than this share of train's present values (the
#: average category then marks fewer than two patients) ...
IDENTIFIER_SHARE = 0.5
#: ... once it has at least this many categories (schema inference's threshold for a
#: text id column), so a tiny table's few categories stay compared.
MIN_IDENTIFIER_CATEGORIES = 20


def identifier_like(categories: int, values: int) -> bool:
    """Whether a categorical column with ``categories`` distinct values among ``values``
    present train values is compared as an identifier (see the module docstring)."""
    mostly_distinct = categories >= MIN_IDENTIFIER_CATEGORIES and categories > IDENTIFIER_SHARE * values
    return categories > MAX_CATEGORIES or mostly_distinct


@dataclass(frozen=True)
class NumericScale:
    median: float
    scale: float
    low: float
    high: float

    @classmethod
    def fit(cls, values: np.ndarray) -> NumericScale:
        """Median and spread of a column's present train values: the IQR, else the
        standard deviation around the median, else 1 (all values equal). Centring
        first makes a constant column's deviations exactly 0 (the mean of equal values
        can round away from them) and keeps a shift of the column out of the spread."""
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        scale = float(q3 - q1) or float(np.std(values - median)) or 1.0
        return cls(float(median), scale, float(values.min()), float(values.max()))

    def standardise(self, values: np.ndarray) -> np.ndarray:
        """``(x - median) / scale``, within +-:data:`MAX_SPREADS` (NaN kept; a quotient that
        overflows, from a scale near the smallest float, is clipped like any other)."""
        with np.errstate(over="ignore"):
            return np.clip((values - self.median) / self.scale, -MAX_SPREADS, MAX_SPREADS)


@dataclass(frozen=True)
class Encoding:
    """Scales and category lists fitted on train; see the module docstring."""

    schema: Schema
    numeric: dict[str, NumericScale]
    categories: dict[str, tuple[str | float, ...]]
    bin_edges: dict[str, tuple[float, ...]] = field(default_factory=dict)
    #: Identifier-like categorical columns, left out of the distance space, with how
    #: many present values train has in each.
    identifiers: dict[str, int] = field(default_factory=dict)

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema) -> Encoding:
        """Fit on the canonical train table (see :func:`safe_bench.data.validation.conform`)."""
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
            numeric[col] = NumericScale.fit(values)
        categories = {
            col: tuple(sorted(train[col].dropna().unique(), key=str)) for col in schema.categorical
        }
        present = {col: int(train[col].notna().sum()) for col in categories}
        identifiers = {col: present[col] for col, cats in categories.items() if identifier_like(len(cats), present[col])}
        return cls(schema=schema, numeric=numeric, categories=categories, bin_edges=bin_edges, identifiers=identifiers)

    @property
    def compared(self) -> dict[str, tuple[str | float, ...]]:
        """The categorical columns of the distance space (all but identifier-like ones)."""
        return {col: cats for col, cats in self.categories.items() if col not in self.identifiers}

    @property
    def notes(self) -> list[str]:
        """Why each identifier-like column is left out of distances (counts, no values)."""
        return [
            f"categorical column {col!r} has {len(self.categories[col])} categories among {values} train values: "
            "identifier-like, left out of distances (P metrics, S.prdc, C.tstr covariates) and of S.tv, S.pairs and "
            f"S.kway, where it would measure identity, not similarity (more than {MAX_CATEGORIES} categories, "
            f"or {MIN_IDENTIFIER_CATEGORIES} or more with under two train values each on average); exact copies still count it"
            for col, values in self.identifiers.items()
        ]

    @property
    def feature_names(self) -> list[str]:
        """Names of the columns of :meth:`transform`'s output."""
        names: list[str] = []
        for col in self.numeric:
            names += [col, f"{col}=<missing>"]
        for col, cats in self.compared.items():
            names += [f"{col}={c}" for c in cats] + [f"{col}=<missing>", f"{col}=<unseen>"]
        return names

    def positions(self, columns: list[str]) -> np.ndarray:
        """Positions of some source columns' encoded columns in :meth:`transform`'s
        output: numeric columns first, two each; then each compared categorical
        column's categories plus its missing and unseen slots (an identifier-like
        column has none)."""
        widths = [(col, 2) for col in self.numeric] + [(col, len(cats) + 2) for col, cats in self.compared.items()]
        starts = np.cumsum([0] + [width for _, width in widths])[:-1]
        return np.array(
            [
                p
                for (col, width), start in zip(widths, starts, strict=True)
                if col in columns
                for p in range(start, start + width)
            ],
            dtype=np.int64,
        )

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
            values = sc.standardise(as_numbers(frame[col]))
            missing = np.isnan(values)
            blocks.append(np.column_stack([np.where(missing, 0.0, values), missing.astype(float)]))
        for col, cats in self.compared.items():
            one_hot = np.zeros((n, len(cats) + 2))
            one_hot[np.arange(n), self.codes(frame, col)] = _ONE_HOT_WEIGHT
            blocks.append(one_hot)
        if not blocks:
            return np.zeros((n, 0), dtype=dtype)
        return np.ascontiguousarray(np.hstack(blocks), dtype=dtype)
