"""``safe-bench generators``: the generators registered as entry points, and who provides each."""

from __future__ import annotations

import argparse

from safe_bench.generator import available_generators, describe_generator
from safe_bench.report.text import table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    gl = subparsers.add_parser("generators", help="list the registered generators",
                               description="List generators registered in the safe_bench.generators entry-point group.")
    gl.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = [[name, describe_generator(name), source] for name, source in available_generators().items()]
    print(table(rows, ["generator", "description", "provided by"]))
    return 0
