"""``safe-bench run``: every (dataset, generator, seed) cell of a suite run and stored as
it finishes, resuming where a run stopped; then the leaderboard by SAFE."""

from __future__ import annotations

import argparse
from pathlib import Path

from safe_bench.benchmark.backends import open_backend
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.runner import run_suite
from safe_bench.benchmark.store import Store
from safe_bench.benchmark.suite import load_suite
from safe_bench.cli.options import output
from safe_bench.report.leaderboard import leaderboard_page
from safe_bench.report.text import leaderboard_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    rn = subparsers.add_parser("run", help="benchmark generators x datasets x seeds from a suite file",
                               description="Run every (dataset, generator, seed) cell of a suite (TOML, see "
                               "safe_bench.benchmark.suite): split, fit, sample, evaluate, each cell stored as it "
                               "finishes. Running the same command again skips the cells already stored.",
                               epilog="examples:\n  safe-bench run benchmarks/smoke.toml --store smoke.sqlite --jobs 2\n"
                               "  safe-bench run benchmarks/generators.toml --retry-failed   # resume, failed cells again")
    rn.add_argument("suite", help="suite file (.toml), e.g. benchmarks/smoke.toml")
    rn.add_argument("--store", type=output(), help="results store (SQLite; default <suite name>.sqlite)")
    where = rn.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster of N workers")
    rn.add_argument("--retry-failed", action="store_true", help="run failed and timed-out cells again")
    rn.add_argument("--log", type=output(), help="log file (default: the store's name with .log)")
    rn.add_argument("-q", "--quiet", action="store_true", help="no progress, no leaderboard")
    rn.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    path = Path(args.store or f"{suite.name}.sqlite")
    progress = Progress(quiet=args.quiet, log=args.log or path.with_suffix(".log"))
    with Store(path, create=True) as store, \
            open_backend(jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local) as backend:
        run_suite(suite, store, backend=backend, progress=progress, retry_failed=args.retry_failed)
        if not args.quiet:
            print(leaderboard_text(leaderboard_page(store, title=suite.name)))
            print(f"\nresults in {path} (see `safe-bench results {path}`)")
    return 0
