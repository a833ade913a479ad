"""Speed of the benchmark runner (pytest-benchmark; not part of the test suite).

    python -m pytest benchmarks/test_runner_speed.py --benchmark-columns=median,min,max

- ``smoke.toml`` end to end through the command line (``safe-bench run``), serial and
  with ``--jobs 2``: a fresh store each round, Python start-up included;
- the runner's own overhead per cell: wall time of a run minus the fit, sample and
  evaluate time its cells report, per cell (planning, hashing, the cell process,
  pickling, Parquet and SQLite writes, progress), on cells that do almost nothing else.
  Target: below 0.5 s per cell.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.runner import run_suite
from safe_bench.benchmark.store import Store
from safe_bench.benchmark.suite import load_suite

SMOKE = Path(__file__).with_name("smoke.toml")
TINY = """\
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
[metrics]
n_bootstrap = 10
select = ["S.ks"]
[datasets.gbsg2]
[generators.bootstrap_copy]
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_smoke_suite_end_to_end(benchmark, tmp_path: Path, jobs: int) -> None:
    stores = iter(range(100))

    def fresh() -> tuple[tuple[Path], dict]:
        return (tmp_path / f"smoke{next(stores)}.sqlite",), {}

    def run(store: Path) -> None:
        subprocess.run([sys.executable, "-m", "safe_bench.cli", "run", str(SMOKE), "--store", str(store),
                        "--jobs", str(jobs), "-q"], check=True)

    benchmark.pedantic(run, setup=fresh, rounds=2, iterations=1)


def test_runner_overhead_per_cell(benchmark, tmp_path: Path) -> None:
    suite_file = tmp_path / "tiny.toml"
    suite_file.write_text(TINY, encoding="utf-8")
    suite = load_suite(suite_file)
    stores = iter(range(100))
    overheads: list[float] = []

    def fresh() -> tuple[tuple[Path], dict]:
        return (tmp_path / f"tiny{next(stores)}.sqlite",), {}

    def run(path: Path) -> None:
        with Store(path, create=True) as store:
            start = time.perf_counter()
            summary = run_suite(suite, store, progress=Progress(quiet=True))
            wall = time.perf_counter() - start
            work = store.cells()[["fit_seconds", "sample_seconds", "evaluate_seconds"]].to_numpy().sum()
        overheads.append((wall - work) / summary.total)

    start = time.perf_counter()
    run(tmp_path / "warm-up.sqlite")  # the first run imports what every cell process inherits
    warm_up = time.perf_counter() - start
    overheads.clear()
    benchmark.pedantic(run, setup=fresh, rounds=5, iterations=1)
    median = sorted(overheads)[len(overheads) // 2]
    benchmark.extra_info.update(overhead_per_cell_s=round(median, 4), first_run_s=round(warm_up, 2),
                                cells=len(suite.cells()))
    print(f"\nrunner overhead per cell: median {median:.3f} s over {len(overheads)} runs of "
          f"{len(suite.cells())} cells (first run, warm-up included: {warm_up:.2f} s)")
    assert median < 0.5
