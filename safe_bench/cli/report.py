"""``safe-bench report``: the leaderboard site of a results store (HTML, Markdown, JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path

from safe_bench.cli.options import output


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    rp = subparsers.add_parser("report", help="write the leaderboard site of a results store (HTML, Markdown, JSON)",
                               description="Write the leaderboard site of a results store: index.html (sortable "
                               "table of generators, critical-difference diagram, fidelity vs privacy with the Pareto "
                               "front), one page per dataset and per cell, leaderboard.md and leaderboard.json. Every "
                               "page is self-contained and opens offline.",
                               epilog="example:\n  safe-bench report smoke.sqlite --out site/")
    rp.add_argument("store", help="results store written by `safe-bench run`")
    rp.add_argument("--out", required=True, type=output(folder=True), help="output folder")
    rp.add_argument("--title", help="leaderboard title (default: the store's name)")
    rp.add_argument("--no-cells", action="store_true", help="do not write the per-cell pages")
    rp.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    rp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from safe_bench.report.site import write_site  # jinja2 and matplotlib, only for this command

    files = write_site(args.store, args.out, title=args.title, cells=not args.no_cells)
    if not args.quiet:
        print(f"leaderboard site of {args.store}: {len(files)} files written to {args.out}/ "
              f"(open {Path(args.out) / 'index.html'})")
    return 0
