"""``safe-bench results``: the leaderboard of a results store by any score, paired
comparisons of two generators, and the tidy results as CSV or JSON."""

from __future__ import annotations

import argparse

from safe_bench.benchmark.ranking import paired_difference
from safe_bench.benchmark.store import Store
from safe_bench.cli.options import BOOTSTRAP, alpha, output, write_json
from safe_bench.data.io import write_table
from safe_bench.errors import InputError
from safe_bench.report.leaderboard import leaderboard_page
from safe_bench.report.text import interval, leaderboard_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    rs = subparsers.add_parser("results", help="leaderboard of a results store; export CSV/JSON",
                               description="Rank the generators of a results store: mean over seeds with 95 % "
                               "intervals (each seed's bootstrap and the spread between seeds), "
                               "ranks per dataset, average rank, Friedman test and Nemenyi critical difference.",
                               epilog="examples:\n  safe-bench results smoke.sqlite\n"
                               "  safe-bench results smoke.sqlite --score P --compare gaussian_copula independent\n"
                               "  safe-bench results smoke.sqlite --csv tidy.csv --json leaderboard.json")
    rs.add_argument("store", help="results store written by `safe-bench run`")
    rs.add_argument("--score", default="SAFE", help="what to rank by: SAFE, a pillar (S, C, P) or a metric id (default SAFE)")
    rs.add_argument("--missing", choices=["last", "drop"], default="last",
                    help="a generator without a score on a dataset ranks last there (default) or the dataset is dropped")
    rs.add_argument("--alpha", type=alpha, default=0.05,
                    help="significance level of the Nemenyi test, between 0 and 1 (default 0.05)")
    rs.add_argument("--compare", nargs=2, action="append", default=[], metavar=("A", "B"),
                    help="paired bootstrap interval of the score difference A - B (repeatable)")
    rs.add_argument("--bootstrap", type=BOOTSTRAP, default=2000, metavar="B",
                    help="resamples for --compare, at least 10 (default 2000)")
    rs.add_argument("--csv", metavar="OUT", type=output(),
                    help="write the tidy results (one row per cell x metric) as CSV")
    rs.add_argument("--json", metavar="OUT", type=output(),
                    help="write the leaderboard, tests, cells and results as JSON")
    rs.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with Store(args.store, readonly=True) as store:
        scores = store.scores(args.score)
        if scores["score"].isna().all():
            raise InputError(f"no cell in {args.store} has a {args.score!r} score")
        page = leaderboard_page(store, title=str(args.store), score=args.score, missing=args.missing,
                                alpha=args.alpha)
        text = [leaderboard_text(page)]
        for a, b in args.compare:
            d = paired_difference(scores, a, b, n_bootstrap=args.bootstrap)
            text.append(f"{args.score}({a}) - {args.score}({b}) = {d.mean:.4f} {interval(d.ci_low, d.ci_high)} "
                        f"(paired bootstrap over {d.pairs} cells, {d.n_bootstrap} resamples)")
        if args.csv:
            write_table(store.results(), args.csv)
        write_json({"schema_version": 1, "store": str(args.store), "score": args.score, **page.ranking.to_dict(),
                    "cells": page.cells.to_dict(orient="records"), "results": store.results().to_dict(orient="records")},
                   args.json)
    print("\n\n".join(text))
    return 0
