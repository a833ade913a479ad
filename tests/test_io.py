"""Reading tables: UTF-8 CSV and Parquet, refused files, atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from safe_bench import InputError
from safe_bench.data.io import read_table, write_table


def test_csv_and_parquet_round_trip(tmp_path, gbsg2):
    for name in ("t.csv", "t.parquet"):
        write_table(gbsg2.frame, tmp_path / name)
        back = read_table(tmp_path / name)
        pd.testing.assert_frame_equal(back, gbsg2.frame, check_dtype=False)


def test_non_utf8_csv_is_refused_with_position(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,age\nJosé,61\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"is not UTF-8 \(invalid byte at position 12\)"):
        read_table(path)


def test_duplicate_header_is_refused_not_renamed(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("age,age,sex\n1,2,M\n")
    with pytest.raises(InputError, match="duplicate column name 'age'"):
        read_table(path, table="synthetic")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("missing.csv", None, "does not exist"),
    ("empty.csv", "", "is empty"),
    ("t.xlsx", "x", "use .csv, .tsv or .parquet"),
    ("bad.parquet", "not parquet", "not a readable Parquet file"),
])
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_failed_write_leaves_no_partial_file(tmp_path):
    class Boom(pd.DataFrame):
        def to_csv(self, *args, **kwargs):  # type: ignore[override]
            with open(args[0], "w") as fh:
                fh.write("half,a,table")
            raise OSError("disk full")

    target = tmp_path / "out.csv"
    with pytest.raises(OSError):
        write_table(Boom({"a": [1]}), target)
    assert list(tmp_path.iterdir()) == []


def test_written_files_are_readable_by_others(tmp_path):
    from safe_bench.data.io import write_text

    write_text("{}", tmp_path / "r.json")
    assert (tmp_path / "r.json").stat().st_mode & 0o044 == 0o044
