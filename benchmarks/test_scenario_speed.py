"""Speed of the use-case scenarios (pytest-benchmark; not part of the test suite).

    python -m pytest benchmarks/test_scenario_speed.py --benchmark-columns=median,min,max -s

- 1,000 replicates of the control arm of ACTG 320 (AIDS) with ``gaussian_copula`` through
  the command line (``safe-bench scenario control-arm``, Cox analysis, null and
  alternative in every replicate), on both cores (``--jobs 2``) and on one, a fresh
  store each round, Python start-up included. Target: 2 minutes with both cores busy.
  The serial run beside it gives the speed-up of the two processes as a ratio from one
  run.
- 50 replicates of a deep generator (``tvae``, 100 epochs per fit) on the same trial,
  ``--jobs 2``, batches of 5: a run that refits a neural network 50 times finishes
  (README's table holds full-size runs of every bundled deep generator).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

CONTROL_ARM = ["scenario", "control-arm", "--dataset", "aids", "--analysis", "cox", "-q"]
TIMES: dict[int, float] = {}


@pytest.mark.parametrize("jobs", [2, 1])
def test_control_arm_thousand_replicates(benchmark, tmp_path: Path, jobs: int) -> None:
    stores = iter(range(100))

    def fresh() -> tuple[tuple[Path], dict]:
        return (tmp_path / f"ca{next(stores)}.sqlite",), {}

    def run(store: Path) -> None:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "safe_bench.cli", *CONTROL_ARM, "--generator", "gaussian_copula",
                        "--replicates", "1000", "--store", str(store), "--jobs", str(jobs)], check=True)
        TIMES[jobs] = time.perf_counter() - start

    benchmark.pedantic(run, setup=fresh, rounds=1, iterations=1)
    benchmark.extra_info.update(seconds=round(TIMES[jobs], 1))
    print(f"\n1,000 control-arm replicates, gaussian_copula on AIDS, --jobs {jobs}: {TIMES[jobs]:.1f} s")
    if jobs == 1 and 2 in TIMES:
        print(f"speed-up of --jobs 2 over --jobs 1: {TIMES[1] / TIMES[2]:.2f}")
        benchmark.extra_info.update(speedup_2_over_1=round(TIMES[1] / TIMES[2], 2))
    if jobs == 2:
        assert TIMES[2] <= 120


def test_control_arm_deep_generator_finishes(benchmark, tmp_path: Path) -> None:
    def run() -> None:
        subprocess.run([sys.executable, "-m", "safe_bench.cli", *CONTROL_ARM, "--generator", "tvae",
                        "--option", "epochs=100", "--replicates", "50", "--batch", "5", "--jobs", "2",
                        "--store", str(tmp_path / "deep.sqlite")], check=True)

    benchmark.pedantic(run, rounds=1, iterations=1)
