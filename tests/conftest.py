"""Shared fixtures: real bundled data split by the SAFE protocol."""

from __future__ import annotations

import pandas as pd
import pytest

from safe_bench.data.datasets import Dataset, load_dataset
from safe_bench.data.protocol import Split, split


@pytest.fixture(autouse=True)
def private_dir(tmp_path_factory, monkeypatch):
    """Text that may hold real records (safe_bench.private) goes to a temporary folder, not the home."""
    folder = tmp_path_factory.mktemp("private")
    monkeypatch.setenv("SAFE_BENCH_PRIVATE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def gbsg2() -> Dataset:
    return load_dataset("gbsg2")


@pytest.fixture(scope="session")
def gbsg2_split(gbsg2: Dataset) -> Split:
    return split(gbsg2.frame, gbsg2.schema, seed=0)


@pytest.fixture(scope="session")
def whas500() -> Dataset:
    return load_dataset("whas500")


def shuffle_columns(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Each column permuted independently: marginals intact, associations broken."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame.columns})


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory):
    """A tiny results store of real evaluations and its leaderboard site (tests/report_data.py)."""
    from report_data import make_store
    from safe_bench.cli.main import main

    root = tmp_path_factory.mktemp("site")
    store = make_store(root / "tiny.sqlite")
    assert main(["report", str(store), "--out", str(root / "site"), "--title", "tiny <b>board</b>", "-q"]) == 0
    return store, root / "site"


@pytest.fixture
def break_metric(monkeypatch):
    """``break_metric("C.km")``: the registered metric raises when computed (for this test)."""
    import dataclasses

    from safe_bench.metrics.base import METRICS

    def broken(comparison):
        raise RuntimeError("deliberately broken for the test")

    def apply(metric_id: str) -> None:
        monkeypatch.setitem(METRICS, metric_id, dataclasses.replace(METRICS[metric_id], compute=broken))

    return apply


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks run faster on one torch thread, and the machine is shared (a module
    that fits them asks for it with ``pytestmark``)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
