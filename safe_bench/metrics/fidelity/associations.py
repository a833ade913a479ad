"""Associations between column pairs in one table, plain and per resample: Pearson's r
(two numbers), the correlation ratio (a number and a category) and the bias-corrected
Cramér's V (two categories), all from count-weighted sums
(:mod:`safe_bench.metrics.fidelity.counts`)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from safe_bench.data.values import as_numbers
from safe_bench.evaluation.comparison import Comparison
from safe_bench.metrics.fidelity.counts import (
    Feature,
    Replicated,
    category_codes,
    category_tuples,
    cell_counts,
    distributional,
    feature_totals,
    sums_by_code,
)


def _pearson(n: np.ndarray, sx: np.ndarray, sy: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray) -> np.ndarray:
    """Pearson's r from sums (NaN where a column has no spread)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / n
        var = (sxx - sx**2 / n) * (syy - sy**2 / n)
        r = cov / np.sqrt(var)
    return np.where(var > 1e-12 * np.maximum(sxx, 1) * np.maximum(syy, 1), np.clip(r, -1, 1), np.nan)


def _correlation_ratio(n: np.ndarray, s: np.ndarray, ss: np.ndarray, group_n: np.ndarray, group_s: np.ndarray) -> np.ndarray:
    """Correlation ratio eta (Pearson 1903) from totals and per-group counts and sums
    (groups on the last axis); NaN where the number has no spread."""
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.sum(np.where(group_n > 0, group_s**2 / group_n, 0.0), axis=-1) - s**2 / n
        total = ss - s**2 / n
        eta = np.sqrt(np.clip(between / total, 0, 1))
    return np.where(total > 1e-12 * np.maximum(ss, 1), eta, np.nan)


def _cramers_v(table: np.ndarray) -> np.ndarray:
    """Bias-corrected Cramér's V (Bergsma 2013) of contingency tables (R, r, c); empty
    rows and columns ignored; NaN where either variable has a single observed value."""
    n = table.sum(axis=(1, 2))
    rows, cols = table.sum(axis=2), table.sum(axis=1)
    expected = rows[:, :, None] * cols[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        phi2 = np.sum(np.where(expected > 0, table**2 / expected, 0.0), axis=(1, 2)) - 1.0
        r, c = (rows > 0).sum(axis=1), (cols > 0).sum(axis=1)
        phi2c = np.maximum(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
        rc, cc = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
        v = np.sqrt(phi2c / np.minimum(rc - 1, cc - 1))
    return np.where((r > 1) & (c > 1) & (n > 1), np.nan_to_num(v, nan=0.0, posinf=0.0), np.nan)


class Associations:
    """Every pair's association in one table, plain and per resample (``weights`` (n, B);
    empty for train). Pearson's r (num-num, pairwise-complete rows), the correlation
    ratio (num-cat, rows where the number is present, missing a category of its own)
    and the bias-corrected Cramér's V (cat-cat, missing a category of its own)."""

    def __init__(self, cmp: Comparison, frame: pd.DataFrame, weights: np.ndarray):
        self.cmp, self.frame, self.weights = cmp, frame, weights
        self.ones = np.ones(len(frame))
        self.x: dict[str, np.ndarray] = {}
        self.present: dict[str, np.ndarray] = {}
        for col in cmp.schema.numeric:
            values = cmp.encoding.numeric[col].standardise(as_numbers(frame[col]))  # centred: stable float32 sums
            self.present[col] = ~np.isnan(values)
            self.x[col] = np.where(self.present[col], values, 0.0)
        self.codes = {col: category_codes(cmp, frame, col) for col in cmp.schema.categorical}
        self.slots = {col: len(cmp.encoding.categories[col]) + 2 for col in cmp.schema.categorical}
        self.features: dict[tuple, Feature] = {}

    def _gaps(self, *cols: str) -> frozenset[str]:
        return frozenset(c for c in cols if not self.present[c].all())

    def _feature(self, key: tuple, factors: Feature) -> tuple:
        self.features.setdefault(key, factors)
        return key

    def _count(self, gaps: frozenset[str]) -> tuple:
        """Rows present in every column of ``gaps``."""
        return self._feature(("n", gaps), tuple(self.present[c] for c in sorted(gaps)) or (self.ones,))

    def _sum(self, col: str, power: int, gaps: frozenset[str]) -> tuple:
        """Sum of ``col ** power`` over those rows (a missing number counts 0 already)."""
        rest = gaps - {col}
        return self._feature(("x", col, power, rest), (self.x[col],) * power + tuple(self.present[c] for c in sorted(rest)))

    def compute(
        self, num_num: Sequence[tuple[str, str]], num_cat: Sequence[tuple[str, str]], cat_cat: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Replicated]:
        plans: dict[tuple[str, str], tuple] = {}
        for a, b in num_num:
            gaps = self._gaps(a, b)
            cross = self._feature(("xy", a, b), (self.x[a], self.x[b]))
            plans[(a, b)] = (self._count(gaps), self._sum(a, 1, gaps), self._sum(b, 1, gaps),
                             self._sum(a, 2, gaps), self._sum(b, 2, gaps), cross)
        for a, _ in num_cat:
            gaps = self._gaps(a)
            plans[(a, "")] = (self._count(gaps), self._sum(a, 1, gaps), self._sum(a, 2, gaps))
        # Without features there is no pair below to read the sums.
        sums = feature_totals(self.weights, list(self.features.values())) if self.features else np.empty((0, 0))
        at = {key: j for j, key in enumerate(self.features)}
        out: dict[tuple[str, str], Replicated] = {}
        for a, b in num_num:
            out[(a, b)] = _pearson(*(sums[:, at[key]] for key in plans[(a, b)]))
        if num_cat:
            # Group sizes and sums per combination of categorical codes, then per group.
            counts, codes, ids = category_tuples(self.cmp, self.frame, self.weights)
            per_tuple: dict[tuple[str, str], np.ndarray] = {}
            for a in {a for a, _ in num_cat}:
                per_tuple[(a, "sum")] = sums_by_code(self.weights, ids, len(counts[0]), self.x[a])
                per_tuple[(a, "n")] = (sums_by_code(self.weights, ids, len(counts[0]), self.present[a])
                                       if self._gaps(a) else counts)
            for a, g in num_cat:
                n, s, ss = (sums[:, at[key]] for key in plans[(a, "")])
                group_n = cell_counts(per_tuple[(a, "n")], codes[g], self.slots[g])
                group_s = cell_counts(per_tuple[(a, "sum")], codes[g], self.slots[g])
                out[(a, g)] = _correlation_ratio(n, s, ss, group_n, group_s)
        if cat_cat:
            out.update(self._contingencies(cat_cat))
        return out

    def _contingencies(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Replicated]:
        """Cramér's V per pair from one bootstrap of the joint categorical codes."""
        counts, codes, _ = category_tuples(self.cmp, self.frame, self.weights)
        out = {}
        for a, b in pairs:
            cells = cell_counts(counts, codes[a] * self.slots[b] + codes[b], self.slots[a] * self.slots[b])
            out[(a, b)] = _cramers_v(cells.reshape(len(counts), self.slots[a], self.slots[b]))
        return out


def column_pairs(cmp: Comparison) -> tuple[list, list, list]:
    numeric, features = set(cmp.schema.numeric), distributional(cmp, cmp.schema.features)
    num_num, num_cat, cat_cat = [], [], []
    for a, b in itertools.combinations(features, 2):
        if a in numeric and b in numeric:
            num_num.append((a, b))
        elif a in numeric or b in numeric:
            num_cat.append((a, b) if a in numeric else (b, a))
        else:
            cat_cat.append((a, b))
    return num_num, num_cat, cat_cat
