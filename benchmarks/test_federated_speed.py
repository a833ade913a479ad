"""Speed of the federated scenarios (pytest-benchmark; not part of the test suite).

    python -m pytest benchmarks/test_federated_speed.py --benchmark-columns=median,min,max -s

- The gaussian_copula grid: 5 scenarios x 3 partitions of ``mds_ipssr_sim`` (its three
  centres, Dirichlet label skew alpha 0.5 on the death indicator over 3 sites, covariate
  skew on age 0.8/0.5/0.2) x 3 seeds, 3 rounds, every unit of work of the grid in one
  runner call on 2 worker processes. Target: 5 minutes. Each partition's JSON is written
  to ``benchmarks/results/federated-copula-<partition>.json`` (README's tables).
- ``tvae`` on the three centres: 5 rounds of 10 local epochs, every scenario, one seed,
  ``--jobs 2`` through the command line. Target: 10 minutes. JSON and page written to
  ``benchmarks/results/federated-tvae-site.{json,html}``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from safe_bench_generators.baselines import GaussianCopulaGenerator

from safe_bench.benchmark.backends import open_backend
from safe_bench.benchmark.runner import run_work
from safe_bench.benchmark.store import Store
from safe_bench.data.datasets import load_dataset
from safe_bench.scenarios.federated.partition import parse_partition
from safe_bench.scenarios.federated.study import FederatedStudy, gather

RESULTS = Path(__file__).parent / "results"
PARTITIONS = {"site": "site", "dirichlet": "dirichlet:0.5", "covariate": "covariate:age:0.8,0.5,0.2"}


def test_copula_grid(benchmark, tmp_path: Path) -> None:
    ds = load_dataset("mds_ipssr_sim")
    studies = {name: FederatedStudy("mds_ipssr_sim", ds.frame, ds.schema, GaussianCopulaGenerator, "gaussian_copula",
                                    {}, parse_partition(spec, ds.schema, None if spec == "site" else 3),
                                    None if spec == "site" else 3, rounds=3, epochs=1, seeds=(0, 1, 2))
               for name, spec in PARTITIONS.items()}
    seconds: dict[str, float] = {}

    def run() -> None:
        start = time.perf_counter()
        with Store(tmp_path / "grid.sqlite", create=True) as store, open_backend(jobs=2) as backend:
            units = [u for study in studies.values() for u in study.units()]
            summary = run_work(units, store, kind="federated", backend=backend)
        seconds["grid"] = time.perf_counter() - start
        RESULTS.mkdir(exist_ok=True)
        for name, study in studies.items():
            (RESULTS / f"federated-copula-{name}.json").write_text(gather(study, summary.results).to_json())

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(seconds=round(seconds["grid"], 1))
    print(f"\ngaussian_copula grid (5 scenarios x 3 partitions x 3 seeds, 3 rounds), 2 workers: {seconds['grid']:.1f} s")
    assert seconds["grid"] <= 300


def test_tvae_three_sites_five_rounds(benchmark) -> None:
    RESULTS.mkdir(exist_ok=True)
    seconds: dict[str, float] = {}

    def run() -> None:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "safe_bench.cli", "scenario", "federated", "--dataset", "mds_ipssr_sim",
                        "--partition", "site", "--rounds", "5", "--epochs", "10", "--generator", "tvae", "--seeds", "0",
                        "--jobs", "2", "--json", str(RESULTS / "federated-tvae-site.json"),
                        "--html", str(RESULTS / "federated-tvae-site.html"),
                        "--store", str(RESULTS / "federated-tvae-site.sqlite"), "-q"], check=True)
        seconds["tvae"] = time.perf_counter() - start

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(seconds=round(seconds["tvae"], 1))
    print(f"\ntvae, 3 centres x 5 rounds x 10 epochs, every scenario, --jobs 2: {seconds['tvae']:.1f} s")
    assert seconds["tvae"] <= 600
