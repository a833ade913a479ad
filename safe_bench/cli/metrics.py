"""``safe-bench metrics``: every registered SAFE metric by pillar, and the metric plug-ins
that could not be loaded."""

from __future__ import annotations

import argparse
import sys
import textwrap

from safe_bench.metrics.plugins import FAILED as PLUGIN_FAILURES
from safe_bench.metrics.registry import METRICS
from safe_bench.report.text import table

SCORES_NOTE = (
    "Every metric is reported as a score from 0 to 1, higher is better, judged against real patients "
    "the generator never saw (the holdout). Privacy metrics measure a risk; their score is the protection: "
    "1 when the synthetic table reveals no more than the holdout does, 0 for copies of the training rows."
)
_MEASURES = {"maximize": "agreement", "minimize": "risk"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    ml = subparsers.add_parser(
        "metrics",
        help="list the SAFE metrics",
        description="List every registered SAFE metric, by pillar. " + SCORES_NOTE,
        epilog="example:\n  safe-bench metrics",
    )
    ml.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = [
        [m.id, m.pillar, m.name, _MEASURES[m.goal], ", ".join(sorted(m.requires)) or "-"]
        for m in METRICS.values()
    ]
    rows.sort(key=lambda r: ("SCP".index(r[1]), r[0]))
    print(textwrap.fill(SCORES_NOTE, width=100))
    print()
    print(table(rows, ["metric", "pillar", "name", "measures", "needs"]))
    for plugin, error in PLUGIN_FAILURES.items():
        print(f"safe-bench: warning: metric plug-in {plugin} cannot be loaded: {error}", file=sys.stderr)
    return 0
