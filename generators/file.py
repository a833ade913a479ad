"""The ``file`` source: an already generated synthetic table, read from CSV or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from safe_bench.data.io import read_table
from safe_bench.data.schema import Schema
from safe_bench.errors import InputError
from safe_bench.generator import TableSource


class FileSource(TableSource):
    """Serves a synthetic table someone already generated; ``fit`` learns nothing.

    ``sample(n)`` returns the whole file whatever ``n`` is (a :class:`TableSource`): the
    table is evaluated as it was generated, with the file's rows.
    """

    name = "file"

    def __init__(self, path: str):
        self.path = Path(path)

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        if not self.path.is_file():
            raise InputError(f"synthetic file {str(self.path)!r} does not exist")

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        return read_table(self.path, table="synthetic")
