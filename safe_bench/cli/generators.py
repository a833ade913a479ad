"""``safe-bench generators``: the generators registered as entry points, what each needs
installed, and (with ``--verbose``) who provides each; fits a 100-column terminal."""

from __future__ import annotations

import argparse
import re
import textwrap

from safe_bench.generator import available_generators, describe_generator
from safe_bench.report.text import table

#: Width of the listing (a terminal of 100 columns).
WIDTH = 100


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    gl = subparsers.add_parser(
        "generators", help="list the registered generators",
        description="List the generators registered in the safe_bench.generators entry-point group (the bundled ones "
        "and any plug-in), with the extra that installs what each needs.",
        epilog="examples:\n  safe-bench generators\n  safe-bench evaluate --dataset gbsg2 --generator tvae "
        "--option epochs=50")
    gl.add_argument("-v", "--verbose", action="store_true", help="also say which module provides each generator")
    gl.set_defaults(func=run)


def plain(text: str) -> str:
    """A docstring line as plain text: reStructuredText literals and roles unmarked."""
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "").replace("`", "")


def run(args: argparse.Namespace) -> int:
    infos = [describe_generator(name) for name in available_generators()]
    needs = {i.name: f"[{i.extra}] extra" if i.extra else ("-" if i.loads else "not loadable") for i in infos}
    fixed = max(len(n) for n in [*needs, "generator"]) + max(len(v) for v in [*needs.values(), "needs"]) + 4
    rows = []
    for info in infos:
        lines = textwrap.wrap(plain(info.description), WIDTH - fixed) or [""]
        if args.verbose:
            lines += textwrap.wrap(f"provided by {info.source}", WIDTH - fixed)
        rows += [[info.name, needs[info.name], lines[0]], *([["", "", line] for line in lines[1:]])]
    print(table(rows, ["generator", "needs", "description"]))
    extras = sorted({i.extra for i in infos if i.extra})
    if extras:
        print(f"\nAn extra installs with: pip install 'safe-bench[{','.join(extras)}]' (or [all])")
    return 0
