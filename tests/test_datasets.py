"""Bundled datasets load offline from installed packages, with curated schemas."""

from __future__ import annotations

import pytest
from sksurv import datasets as sk

from safe_bench import list_datasets, load_dataset
from safe_bench.data.datasets import summary
from safe_bench.data.validation import conform

REAL = {
    "gbsg2": ("load_gbsg2", {}),
    "whas500": ("load_whas500", {}),
    "flchain": ("load_flchain", {}),
    "aids": ("load_aids", {"endpoint": "aids"}),
    "veterans": ("load_veterans_lung_cancer", {}),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_dataset_matches_its_source_and_schema(name):
    ds = load_dataset(name)
    loader, kwargs = REAL[name]
    X, y = getattr(sk, loader)(**kwargs)
    event_field, time_field = y.dtype.names
    assert len(ds.frame) == len(X)
    surv = ds.schema.survival
    assert surv is not None and (surv.time, surv.event) == (time_field, event_field)
    assert ds.frame[surv.event].mean() == pytest.approx(y[event_field].mean())
    assert (ds.frame[surv.time] > 0).all()
    assert ds.schema.quasi_identifiers and ds.schema.sensitive
    assert set(ds.schema.features) == set(ds.frame.columns)
    conform(ds.frame, ds.schema, table=name)  # already canonical


def test_flchain_drops_the_leaking_cause_of_death_and_aids_the_redundant_arm():
    assert "chapter" not in load_dataset("flchain").frame.columns
    assert "txgrp" not in load_dataset("aids").frame.columns


def test_summary_lists_every_bundled_dataset():
    table = summary()
    assert list(table["name"]) == list_datasets()
    assert set(REAL) <= set(table["name"])
    row = table.set_index("name").loc["gbsg2"]
    assert (row["rows"], row["columns"], row["endpoint"]) == (686, 10, "time / cens")
    assert row["event_rate"] == pytest.approx(299 / 686)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'nope'; bundled datasets: gbsg2"):
        load_dataset("nope")
