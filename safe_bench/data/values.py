"""A column's values as numbers: what every distance, model and score expression reads.

Numeric columns become float64 with NaN for missing; datetime columns become days since
the Unix epoch (float64, NaN for missing), so that dates enter differences and models on
one scale whatever their resolution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_numbers(series: pd.Series) -> np.ndarray:
    """A canonical numeric or datetime column as float64 (datetimes in days)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float) / 86_400e9
        values[series.isna().to_numpy()] = np.nan
        return values
    return series.to_numpy(dtype=float)
