"""Read and write tables: CSV (UTF-8) and Parquet, with errors a user can act on."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from safe_bench.errors import InputError

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt"}


def read_table(path: str | Path, *, table: str = "input") -> pd.DataFrame:
    """Read a CSV/TSV (UTF-8) or Parquet file into a DataFrame.

    Refused with a clear message: a missing file, an unknown suffix, text that is not
    UTF-8, duplicate column names (pandas would silently rename them), an empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{table} file {str(path)!r} does not exist", table=table)
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        return _read_parquet(path, table)
    if suffix not in _CSV:
        raise InputError(f"{table} file {str(path)!r}: use .csv, .tsv or .parquet", table=table)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{table} file {str(path)!r} is not UTF-8 (invalid byte at position {exc.start}); "
            "re-save it as UTF-8",
            table=table,
        ) from None
    if not text.strip():
        raise InputError(f"{table} file {str(path)!r} is empty", table=table)
    sep = "\t" if suffix == ".tsv" else ","
    try:  # newline="": a quoted name may hold a line break, as in pandas' own files
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise InputError(f"{table} file {str(path)!r} is not valid CSV: its header cannot be read ({exc})",
                         table=table) from None
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise InputError(f"{table} file has duplicate column name {name!r}", column=name, table=table)
        seen.add(name)
    try:
        return pd.read_csv(io.StringIO(text), sep=sep)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{table} file {str(path)!r} is not valid CSV: {exc}", table=table) from None


def _read_parquet(path: Path, table: str) -> pd.DataFrame:
    """A Parquet file of flat columns; a list, struct or map column is refused by name."""
    import pyarrow.parquet as pq
    from pyarrow import types

    try:
        nested = [f for f in pq.read_schema(path) if types.is_nested(f.type)]
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise InputError(
            f"{table} file {str(path)!r} is not a readable Parquet file ({type(exc).__name__})", table=table
        ) from None
    if nested:
        raise InputError(f"{table} file {str(path)!r}: column {nested[0].name!r} holds nested values "
                         f"({nested[0].type}); each column must hold one number, text or date per row",
                         column=nested[0].name, table=table)
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet (by suffix) atomically: the file appears whole or not at all.
    In CSV, a column of whole numbers is written as integers (``56``, not ``56.0``; see
    :func:`whole_numbers_as_integers`); Parquet keeps each column's type."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _PARQUET | _CSV:
        raise InputError(f"output file {str(path)!r}: use .csv, .tsv or .parquet")
    with atomic_path(path) as tmp:
        if suffix in _PARQUET:
            frame.to_parquet(tmp, index=False)
        else:
            whole_numbers_as_integers(frame).to_csv(tmp, index=False, sep="\t" if suffix == ".tsv" else ",")


#: Whole numbers up to this size are written as integers (a float holds every integer below it exactly).
_EXACT_INTEGERS = 2.0**53


def whole_numbers_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each float column whose values are all whole numbers (below 2**53
    in size; missing values allowed) as a nullable integer column: canonical tables
    hold every number as a float (and a 0/1 indicator as 0.0/1.0), which a CSV would
    otherwise spell ``56.0``."""
    whole = {}
    for col in frame.columns:
        values = frame[col]
        if not pd.api.types.is_float_dtype(values):
            continue
        numbers = values.to_numpy(dtype=float)
        present = numbers[~np.isnan(numbers)]
        if len(present) and np.all(np.abs(present) < _EXACT_INTEGERS) and np.all(present == np.round(present)):
            whole[col] = values.astype("Int64")
    if not whole:
        return frame
    out = frame.copy()
    for col, values in whole.items():
        out[col] = values
    return out


def write_text(text: str, path: str | Path) -> None:
    """Write a text file atomically (UTF-8)."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(text, encoding="utf-8")


def check_output(path: str | Path, *, folder: bool = False) -> None:
    """Refuse an output path that cannot be written, before any work: a folder named
    where a file is wanted or the reverse (``folder=True``), or a path under a file."""
    path = Path(path)
    what, wanted, other = ("output folder", "folder", "file") if folder else ("output file", "file", "folder")
    if path.exists() and path.is_dir() != folder:
        raise InputError(f"{what} {str(path)!r} is a {other}; name a {wanted}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{what} {str(path)!r} lies under {str(parent)!r}, which is a file, not a folder")
            return


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds."""
    check_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write output file {str(path)!r}: {exc.strerror or type(exc).__name__}") from None
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o644)  # mkstemp makes 0600; results and reports are meant to be read
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
