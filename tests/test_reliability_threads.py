"""Torch generators fit on a fixed number of CPU threads (default 1), so a table does
not depend on the threads the environment asks for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safe_bench_generators.tabddpm import TabDDPMGenerator

from safe_bench import load_generator
from safe_bench.errors import InputError

ROOT = Path(__file__).parents[1]
#: Fits CT-WGAN for two epochs on GBSG2's train split; prints the threads torch had
#: outside the fit, a hash of the trained generator's weights and one of its sample.
FIT = """
import hashlib, json, torch
import pandas as pd
from safe_bench import load_dataset, load_generator, split
ds = load_dataset("gbsg2")
parts = split(ds.frame, ds.schema, seed=0)
g = load_generator("ctwgan", epochs=2, device="cpu")
g.fit(parts.train, ds.schema, seed=0)
sample = g.sample(200, seed=1)
weights = b"".join(p.detach().numpy().tobytes() for p in g.model_._generator.parameters())
print(json.dumps({"threads": torch.get_num_threads(), "weights": hashlib.sha256(weights).hexdigest(),
                  "sample": hashlib.sha256(pd.util.hash_pandas_object(sample).to_numpy().tobytes()).hexdigest()}))
"""


def _fit_with(threads: int) -> dict[str, object]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", FIT], capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_ctwgan_gives_the_same_weights_and_table_whatever_threads_the_environment_asks_for() -> None:
    """Without the pinning, two threads give other weights after two epochs."""
    one, two = _fit_with(1), _fit_with(2)
    assert (one["threads"], two["threads"]) == (1, 2), "the environment's request is kept outside the fit"
    assert one["weights"] == two["weights"]
    assert one["sample"] == two["sample"]


def test_a_torch_fit_runs_on_its_threads_setting_and_restores_the_environments(gbsg2, monkeypatch) -> None:
    import torch

    seen = []
    monkeypatch.setattr(TabDDPMGenerator, "_train", lambda self, *args: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    for threads in (1, 2):
        generator = load_generator("tabddpm", layers=(8,), dim_t=8, device="cpu", threads=threads)
        generator.fit(gbsg2.frame.head(60), gbsg2.schema, seed=0)
    assert seen == [1, 2] and torch.get_num_threads() == before


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
@pytest.mark.parametrize("name", ["ctwgan", "tvae", "tabddpm"])
def test_threads_must_be_a_positive_integer(name: str, threads: object) -> None:
    with pytest.raises(InputError, match=rf"{name}: threads must be an integer >= 1, got"):
        load_generator(name, threads=threads)
