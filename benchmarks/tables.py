"""FLCHAIN-like tables of any size for the performance benchmarks, made reproducibly.

The bundled FLCHAIN cohort (7,874 rows, 10 columns: numeric, categorical, boolean,
missing values in ``creatinine``) is split once by the SAFE protocol. For ``rows`` rows:

- ``train`` and ``holdout`` are resampled with replacement from their own side of the
  real split (so the holdout still shares no real patient with train), each numeric
  value jittered uniformly within half its column's resolution (the smallest gap
  between two distinct values), so rows are not exact copies yet every value still
  rounds to a real one;
- ``synthetic`` is drawn from the ``gaussian_copula`` baseline fitted on the real
  train side.

The same ``rows`` and ``seed`` give the same tables. Used by every pillar's benchmark::

    from benchmarks.tables import SIZES, flchain_like
    tables = flchain_like(SIZES["100k"])
    evaluate(tables.train, tables.synthetic, tables.holdout, tables.schema, metrics=["S"])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from safe_bench.data.datasets import load_dataset
from safe_bench.data.protocol import split
from safe_bench.data.schema import Kind, Schema
from safe_bench.data.validation import conform
from safe_bench.generator import load_generator

#: The benchmark sizes (rows of train, synthetic and holdout each).
SIZES: dict[str, int] = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}


@dataclass(frozen=True)
class Tables:
    """Train, synthetic and holdout tables of one size, with their schema (read only)."""

    train: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema

    @property
    def rows(self) -> int:
        return len(self.train)


def _resample(frame: pd.DataFrame, schema: Schema, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """``rows`` rows drawn with replacement, numeric values jittered within half their resolution."""
    out = frame.iloc[rng.integers(0, len(frame), size=rows)].reset_index(drop=True)
    for col in (c for c, kind in schema.kinds.items() if kind is Kind.NUMERIC):
        distinct = np.unique(frame[col].dropna().to_numpy(dtype=float))
        if len(distinct) < 2:
            continue
        half = np.min(np.diff(distinct)) / 2
        out[col] = out[col].to_numpy(dtype=float) + rng.uniform(-half, half, size=rows) * 0.999
    return out


@lru_cache(maxsize=1)
def flchain_like(rows: int, seed: int = 0) -> Tables:
    """FLCHAIN-like train, synthetic and holdout tables of ``rows`` rows each (see module doc).

    The result is cached (the last size asked for); do not modify its frames.
    """
    dataset = load_dataset("flchain")
    schema = dataset.schema
    real = split(conform(dataset.frame, schema, table="flchain"), schema, seed=seed)
    rng = np.random.default_rng((seed, rows))
    generator = load_generator("gaussian_copula")
    generator.fit(real.train, schema, seed=seed)
    return Tables(
        train=_resample(real.train, schema, rows, rng),
        synthetic=generator.sample(rows, seed=seed + 1),
        holdout=_resample(real.holdout, schema, rows, rng),
        schema=schema,
    )
