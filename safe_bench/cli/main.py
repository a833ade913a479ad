"""The ``safe-bench`` command line: the parser, to which each command's module adds its
own subcommand, and :func:`main`, which runs the command chosen. Bad input (a file that
does not load, a policy that does not parse, a generator that refuses its settings) is
an error message and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from safe_bench.cli import (
    datasets,
    demo,
    evaluate,
    gate,
    generators,
    metrics,
    report,
    results,
    run,
    scenario,
    schema,
    split,
)
from safe_bench.cli.console import closed_pipe_is_not_an_error
from safe_bench.cli.options import Parser
from safe_bench.errors import GeneratorError, InputError
from safe_bench.provenance import __version__

#: The commands, in the order ``safe-bench --help`` lists them.
COMMANDS = (evaluate, demo, split, schema, datasets, generators, metrics, run, scenario, results, gate, report)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="safe-bench",
        description="SAFE: statistical fidelity, clinical utility and privacy of synthetic health data.",
        epilog="examples:\n  safe-bench demo                 # two baselines on GBSG2, ranked by SAFE\n"
        "  safe-bench split cohort.csv --time os_months --event death --out split/\n"
        "  safe-bench COMMAND --help       # each command's options, defaults and examples",
    )
    parser.add_argument("--version", action="version", version=f"safe-bench {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with closed_pipe_is_not_an_error():
        try:
            return int(args.func(args))
        except (InputError, GeneratorError) as exc:
            print(f"safe-bench: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("safe-bench: interrupted; nothing half-written (a benchmark run resumes where it stopped)",
                  file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
