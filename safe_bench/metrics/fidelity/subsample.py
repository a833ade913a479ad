"""Seeded row subsamples, for the S metrics computed on samples of at most a fixed
size (S.detect, S.prdc; the sample sizes are in their details)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def subsample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A seeded subsample of ``n`` rows in table order (the table itself when it is that small)."""
    if n >= len(frame):
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=n, replace=False))].reset_index(drop=True)
