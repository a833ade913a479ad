"""``safe-bench evaluate``: one synthetic table evaluated against the real rows it was
trained on, from files, or a registered generator fitted on a bundled dataset and
evaluated; printed as text, written as JSON or an HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from safe_bench.cli.options import BOOTSTRAP, SEED, add_file_options, file_schema, output, read_real, settings, whole
from safe_bench.data.datasets import DEFAULT_DATASET, list_datasets, load_dataset
from safe_bench.data.io import write_table, write_text
from safe_bench.data.schema import load_schema
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate, evaluate_generator
from safe_bench.generator import load_generator
from safe_bench.report.scores import evaluation_scores
from safe_bench.report.text import evaluation_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser("evaluate", help="evaluate one synthetic table (or fit a generator and evaluate it)",
                               description="Evaluate a synthetic table against the real rows it was trained on. "
                               "Either files (--real, --synthetic, optional --holdout) or a bundled dataset and a "
                               "generator (--dataset, --generator), which splits, fits, samples and evaluates.")
    add_file_options(ev.add_argument_group("a synthetic file"))
    gen = ev.add_argument_group("a generator on a bundled dataset")
    gen.add_argument("--dataset", choices=list_datasets(), help=f"bundled dataset (default {DEFAULT_DATASET})")
    gen.add_argument("--generator", help="registered generator name (see `safe-bench generators`)")
    gen.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="generator setting (repeatable)")
    gen.add_argument("--n", type=whole(1), help="synthetic rows to sample (default: as many as train)")
    gen.add_argument("--save-synthetic", metavar="PATH", type=output(),
                     help="also write the sampled table (CSV/Parquet)")
    ev.add_argument("--schema", help="schema file (.toml, .json, or SDV metadata .json)")
    ev.add_argument("--metrics", type=lambda s: s.split(","), help="comma-separated metric ids or pillars (S,C,P)")
    ev.add_argument("--seed", type=SEED, default=0, help="seed for every random choice (default 0)")
    ev.add_argument("--bootstrap", type=BOOTSTRAP, default=100, metavar="B",
                    help="bootstrap resamples, at least 10 (default 100)")
    ev.add_argument("--json", metavar="OUT", type=output(), help="write the result as JSON")
    ev.add_argument("--html", metavar="OUT", type=output(),
                    help="write a self-contained HTML report (figures inline, opens offline)")
    ev.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    ev.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    common = dict(seed=args.seed, n_bootstrap=args.bootstrap, metrics=args.metrics)
    if args.dataset or args.generator:
        if args.real or args.synthetic or args.holdout:
            raise InputError("use either --real/--synthetic/--holdout or --dataset/--generator, not both")
        if not args.generator:
            raise InputError("--dataset needs --generator (a registered generator name)")
        dataset = load_dataset(args.dataset or DEFAULT_DATASET)
        schema = load_schema(args.schema) if args.schema else dataset.schema
        generator = load_generator(args.generator, **settings(args.option))
        fitted = evaluate_generator(
            dataset.frame, schema, generator, n=args.n, label=f"{args.generator} on {dataset.name}", **common
        )
        result = fitted.result
        if args.save_synthetic:
            write_table(fitted.synthetic, args.save_synthetic)
    else:
        if not (args.real and args.synthetic):
            raise InputError("give --real and --synthetic files, or --dataset and --generator")
        result = evaluate_files(args, **common)
    _warn(result)
    if args.json:
        write_text(result.to_json() + "\n", args.json)
    if args.html:
        from safe_bench.report.html import write_evaluation_page  # jinja2 and matplotlib, only when asked for

        write_evaluation_page(result, args.html)
    if not args.quiet:
        print(evaluation_text(evaluation_scores(result)))
    return 0


def evaluate_files(args: argparse.Namespace, **common: Any) -> EvaluationResult:
    """Evaluate --synthetic against --real (and --holdout), with --schema or an inferred one
    (also how ``safe-bench gate`` evaluates files)."""
    real = read_real(args, args.real, table="real")
    synthetic = read_real(args, args.synthetic, table="synthetic")
    holdout = read_real(args, args.holdout, table="holdout") if args.holdout else None
    return evaluate(real, synthetic, holdout, file_schema(args, real), label=Path(args.synthetic).name, **common)


def _warn(result: EvaluationResult) -> None:
    """Print the evaluation's notes (e.g. a column coded otherwise than in train) to stderr."""
    for note in result.extra.get("notes", []):
        print(f"safe-bench: warning: {note}", file=sys.stderr)
