"""``safe-bench metrics``: every registered SAFE metric by pillar, and the metric plug-ins
that could not be loaded."""

from __future__ import annotations

import argparse
import sys

from safe_bench.metrics.plugins import FAILED as PLUGIN_FAILURES
from safe_bench.metrics.registry import METRICS
from safe_bench.report.text import table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    ml = subparsers.add_parser("metrics", help="list the SAFE metrics", description="List every registered SAFE metric.")
    ml.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = [
        [m.id, m.pillar, m.name, m.goal, ", ".join(sorted(m.requires)) or "-"] for m in METRICS.values()
    ]
    rows.sort(key=lambda r: ("SCP".index(r[1]), r[0]))
    print(table(rows, ["metric", "pillar", "name", "raw value goal", "needs"]))
    for plugin, error in PLUGIN_FAILURES.items():
        print(f"safe-bench: warning: metric plug-in {plugin} cannot be loaded: {error}", file=sys.stderr)
    return 0
