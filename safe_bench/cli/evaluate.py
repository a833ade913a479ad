"""``safe-bench evaluate``: synthetic tables evaluated against the real rows they were
trained on, from files (several are ranked in one leaderboard), or a registered
generator fitted on a bundled dataset and evaluated; printed as text with a guide to
reading it, written as JSON or HTML pages."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from safe_bench.cli.console import StatusLine
from safe_bench.cli.options import BOOTSTRAP, SEED, add_file_options, file_schema, output, read_real, settings, whole
from safe_bench.data.datasets import DEFAULT_DATASET, list_datasets, load_dataset
from safe_bench.data.io import check_output, write_table, write_text
from safe_bench.data.schema import load_schema
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, Stages, evaluate, evaluate_generator, plain
from safe_bench.generator import load_generator
from safe_bench.report.scores import best_first, evaluation_scores, ranked
from safe_bench.report.text import READING_GUIDE, evaluation_text, ranking_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser(
        "evaluate", help="evaluate synthetic tables (or fit a generator and evaluate it)",
        description="Evaluate a synthetic table against the real rows it was trained on. Either files (--real, "
        "--synthetic, optional --holdout; several --synthetic files are ranked in one leaderboard) or a bundled "
        "dataset and a generator (--dataset, --generator), which splits, fits, samples and evaluates. A status line "
        "on a terminal's standard error says which stage and metric is running.",
        epilog="examples:\n"
        "  safe-bench split cohort.csv --time os_months --event death --out split/\n"
        "  safe-bench evaluate --real split/train.csv --holdout split/holdout.csv --schema split/schema.json \\\n"
        "      --synthetic ctgan.csv tvae.csv --html pages/\n"
        "  safe-bench evaluate --dataset gbsg2 --generator gaussian_copula --json result.json --html result.html")
    add_file_options(ev.add_argument_group("synthetic files"), several=True)
    gen = ev.add_argument_group("a generator on a bundled dataset")
    gen.add_argument("--dataset", choices=list_datasets(), help=f"bundled dataset (default {DEFAULT_DATASET})")
    gen.add_argument("--generator", help="registered generator name (see `safe-bench generators`)")
    gen.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="generator setting (repeatable)")
    gen.add_argument("--n", type=whole(1), help="synthetic rows to sample (default: as many as train)")
    gen.add_argument("--save-synthetic", metavar="PATH", type=output(),
                     help="also write the sampled table (CSV/Parquet)")
    ev.add_argument("--schema", help="schema file (.toml, .json, or SDV metadata .json); may list only what it sets")
    ev.add_argument("--metrics", type=lambda s: s.split(","),
                    help="comma-separated metric ids or pillars (S,C,P) (default: all; see `safe-bench metrics`)")
    ev.add_argument("--seed", type=SEED, default=0, help="seed for every random choice (default 0)")
    ev.add_argument("--bootstrap", type=BOOTSTRAP, default=100, metavar="B",
                    help="bootstrap resamples, at least 10 (default 100)")
    ev.add_argument("--jobs", type=whole(1), default=2, metavar="N",
                    help="processes sharing the metrics of tables of 10,000 rows or more (default 2; "
                    "the results are the same whatever N)")
    ev.add_argument("--json", metavar="OUT", type=output(),
                    help="write the result as JSON (several files: {\"results\": [...]}, best SAFE first)")
    ev.add_argument("--html", metavar="OUT",
                    help="write a self-contained HTML page (figures inline, opens offline); several files: a folder "
                    "with one page per file")
    ev.add_argument("-q", "--quiet", action="store_true", help="print nothing, no status line")
    ev.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    several = bool(args.synthetic) and len(args.synthetic) > 1
    if args.html:
        try:
            check_output(args.html, folder=several)
        except InputError as exc:
            raise InputError(f"argument --html: {exc}") from None
    with StatusLine(quiet=args.quiet) as status:
        common: dict[str, Any] = dict(seed=args.seed, n_bootstrap=args.bootstrap, metrics=args.metrics,
                                      progress=status.metric, jobs=args.jobs)
        if args.dataset or args.generator:
            if args.real or args.synthetic or args.holdout:
                raise InputError("use either --real/--synthetic/--holdout or --dataset/--generator, not both")
            if not args.generator:
                raise InputError("--dataset needs --generator (a registered generator name)")
            dataset = load_dataset(args.dataset or DEFAULT_DATASET)
            schema = load_schema(args.schema) if args.schema else dataset.schema
            generator = load_generator(args.generator, **settings(args.option))
            status.follow(generator)
            fitted = evaluate_generator(dataset.frame, schema, generator, n=args.n,
                                        label=f"{args.generator} on {dataset.name}", stages=Stages(status.stage), **common)
            results = [fitted.result]
            if args.save_synthetic:
                write_table(fitted.synthetic, args.save_synthetic)
        else:
            if not (args.real and args.synthetic):
                raise InputError("give --real and --synthetic files, or --dataset and --generator")
            results = evaluate_files(args, status=status, **common)
    for result in results:
        _warn(result, several)
    written = _write(results, args, several)
    if not args.quiet:
        _print(results, written, several)
    return 0


def evaluate_files(args: argparse.Namespace, *, status: StatusLine | None = None,
                   **common: Any) -> list[EvaluationResult]:
    """Evaluate each --synthetic file against --real (and --holdout), with --schema or an
    inferred one, read once for all (also how ``safe-bench gate`` evaluates its one file);
    each result is labelled by its file's name (its path when two names are alike)."""
    real = read_real(args, args.real, table="real")
    holdout = read_real(args, args.holdout, table="holdout") if args.holdout else None
    schema = file_schema(args, real)
    paths = args.synthetic if isinstance(args.synthetic, list) else [args.synthetic]
    names = [Path(p).name for p in paths]
    results = []
    for i, path in enumerate(paths):
        label = names[i] if names.count(names[i]) == 1 else path
        if status is not None:
            status.prefix = f"{label} ({i + 1}/{len(paths)}): " if len(paths) > 1 else ""
            status.stage("read")
        synthetic = read_real(args, path, table="synthetic")
        results.append(evaluate(real, synthetic, holdout, schema, label=label, **common))
    return results


def _write(results: list[EvaluationResult], args: argparse.Namespace, several: bool) -> list[str]:
    """Write the JSON and HTML outputs asked for; the paths written, for the reader."""
    written = []
    if args.json:
        text = (json.dumps({"results": [plain(r.to_dict()) for r in best_first(results)]}, indent=2, allow_nan=False,
                           ensure_ascii=False) if several else results[0].to_json())
        write_text(text + "\n", args.json)
        written.append(f"{args.json} (JSON)")
    if args.html:
        from safe_bench.report.html import write_evaluation_page  # jinja2 and matplotlib, only when asked for

        if several:
            for result in results:
                write_evaluation_page(result, Path(args.html) / (re.sub(r"[^\w.-]+", "_", result.label) + ".html"))
            written.append(f"{args.html}/ (one HTML page per file)")
        else:
            write_evaluation_page(results[0], args.html)
            written.append(f"{args.html} (HTML page)")
    return written


def _print(results: list[EvaluationResult], written: list[str], several: bool) -> None:
    if several:
        print(f"SAFE leaderboard of {len(results)} synthetic tables against the same real rows "
              f"(seed {results[0].seed})\n")
        print(ranking_text(ranked(results), what="synthetic table"))
        verdicts = [(r.label, r.extra["privacy_verdict"]["text"]) for r in best_first(results)
                    if "privacy_verdict" in r.extra]
        if verdicts:
            print("\nPrivacy verdicts:\n" + "\n".join(f"  {label}: {text}" for label, text in verdicts))
    else:
        print(evaluation_text(evaluation_scores(results[0])))
    print("\n" + READING_GUIDE)
    print("\nResults: " + ("; ".join(written) if written else "printed only; --json OUT and --html OUT write them"))
    if several and not written:
        print("Each table's metrics: --html FOLDER writes one page per table.")


def _warn(result: EvaluationResult, several: bool) -> None:
    """Print the evaluation's notes (e.g. a column coded otherwise than in train) to
    stderr, each after its table's label when there are several."""
    for note in result.extra.get("notes", []):
        print(f"safe-bench: warning: {result.label + ': ' if several else ''}{note}", file=sys.stderr)
