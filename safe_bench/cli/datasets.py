"""``safe-bench datasets``: the bundled real datasets, as a table (and JSON)."""

from __future__ import annotations

import argparse

from safe_bench.cli.options import output, write_json
from safe_bench.data.datasets import summary
from safe_bench.report.text import table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    ds = subparsers.add_parser("datasets", help="list the bundled datasets",
                               description="List the bundled datasets (real cohorts from the packages that ship them, "
                               "and simulated ones, marked), their size and endpoint.",
                               epilog="example:\n  safe-bench datasets --json datasets.json")
    ds.add_argument("--json", metavar="OUT", type=output(), help="also write the list as JSON")
    ds.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    frame = summary()
    if args.json:
        write_json(frame.to_dict(orient="records"), args.json)
    rows = [[r.name, "SIMULATED" if r.simulated else "real", str(r.rows), str(r.columns), r.endpoint,
             f"{r.event_rate:.3f}"] for r in frame.itertuples()]
    print(table(rows, ["name", "patients", "rows", "columns", "endpoint (time / event)", "event rate"]))
    return 0
