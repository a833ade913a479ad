"""The ``safe-bench`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from safe_bench.benchmark.backends import open_backend
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.ranking import Ranking, paired_difference, rank_generators
from safe_bench.benchmark.runner import run_suite
from safe_bench.benchmark.store import Store
from safe_bench.benchmark.suite import load_suite
from safe_bench.cli.console import closed_pipe_is_not_an_error
from safe_bench.data.datasets import DEFAULT_DATASET, list_datasets, load_dataset, summary
from safe_bench.data.io import check_output, read_table, write_table, write_text
from safe_bench.data.protocol import split
from safe_bench.data.schema import complete_schema, infer_schema, load_schema
from safe_bench.data.validation import MAX_SEED
from safe_bench.errors import GeneratorError, InputError
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate, evaluate_generator, plain
from safe_bench.evaluation.scoring import PillarScore
from safe_bench.generator import available_generators, describe_generator, load_generator
from safe_bench.metrics.plugins import FAILED as PLUGIN_FAILURES
from safe_bench.metrics.registry import METRICS, PILLAR_NAMES
from safe_bench.provenance import __version__


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ci(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def _pillar_score(p: PillarScore) -> str:
    """A pillar's score, or ``incomplete`` / ``not scored`` when it has none."""
    return _fmt(p.score) if p.score is not None or p.ok else p.status


def render_table(rows: Sequence[Sequence[object]], header: list[str]) -> str:
    """Plain aligned text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def render_result(result: EvaluationResult) -> str:
    """The pillar table and the metric table of one evaluation, as text."""
    rows = result.rows
    head = (
        f"SAFE evaluation{' of ' + result.label if result.label else ''}: "
        f"synthetic {rows['synthetic']} rows vs train {rows['train']} rows, "
        f"holdout {rows['holdout'] or 'none'} (seed {result.seed}, {result.n_bootstrap} bootstrap resamples)"
    )
    scores = {r.id: r.score for r in result.metrics}
    pillar_rows = []
    for key, p in result.pillars.items():
        composite = f"weighted {p.composite or 'arithmetic'} mean of S, C, P"
        label = f"{key}  {PILLAR_NAMES.get(key, composite)}"
        worst = f"{p.worst} {_fmt(scores[p.worst])}" if p.worst in scores else (p.worst or "")
        pillar_rows.append([label, _pillar_score(p), _ci(p.ci_low, p.ci_high), _fmt(p.reference), worst, p.reason])
    metric_rows = [
        [r.id, _fmt(r.score), _ci(r.ci_low, r.ci_high), _fmt(r.reference), r.status, r.reason]
        for r in result.metrics
    ]
    parts = [
        head,
        render_table(pillar_rows, ["pillar", "score", "95% CI", "holdout ref", "worst", "note"]),
        render_table(metric_rows, ["metric", "score", "95% CI", "holdout ref", "status", "reason"]),
    ]
    verdict = result.extra.get("privacy_verdict")
    if verdict:
        parts.append("Privacy verdict: " + verdict["text"])
    return "\n\n".join(parts)


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values parsed as JSON when they can be (numbers, booleans)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"generator option {pair!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _write_json(data: dict[str, Any] | list[Any], path: str | None) -> None:
    if path:
        write_text(json.dumps(plain(data), indent=2, allow_nan=False, ensure_ascii=False) + "\n", path)


# -- commands ------------------------------------------------------------------
def cmd_evaluate(args: argparse.Namespace) -> int:
    common = dict(seed=args.seed, n_bootstrap=args.bootstrap, metrics=args.metrics)
    if args.dataset or args.generator:
        if args.real or args.synthetic or args.holdout:
            raise InputError("use either --real/--synthetic/--holdout or --dataset/--generator, not both")
        if not args.generator:
            raise InputError("--dataset needs --generator (a registered generator name)")
        dataset = load_dataset(args.dataset or DEFAULT_DATASET)
        schema = load_schema(args.schema) if args.schema else dataset.schema
        generator = load_generator(args.generator, **_options(args.option))
        run = evaluate_generator(
            dataset.frame, schema, generator, n=args.n, label=f"{args.generator} on {dataset.name}", **common
        )
        result = run.result
        if args.save_synthetic:
            write_table(run.synthetic, args.save_synthetic)
    else:
        if not (args.real and args.synthetic):
            raise InputError("give --real and --synthetic files, or --dataset and --generator")
        result = _evaluate_files(args, **common)
    _warn(result)
    if args.json:
        write_text(result.to_json() + "\n", args.json)
    if args.html:
        from safe_bench.report import write_evaluation_page

        write_evaluation_page(result, args.html)
    if not args.quiet:
        print(render_result(result))
    return 0


def _evaluate_files(args: argparse.Namespace, **common: Any) -> EvaluationResult:
    """Evaluate --synthetic against --real (and --holdout), with --schema or an inferred one."""
    real = read_table(args.real, table="real")
    synthetic = read_table(args.synthetic, table="synthetic")
    holdout = read_table(args.holdout, table="holdout") if args.holdout else None
    survival = (args.time, args.event) if args.time or args.event else None
    if survival and not all(survival):
        raise InputError("--time and --event go together")
    if args.schema:
        schema = complete_schema(load_schema(args.schema), survival=survival, target=args.target,
                                 source=f"schema file {Path(args.schema).name!r}")
    else:
        schema = infer_schema(real, survival=survival, target=args.target)
    return evaluate(real, synthetic, holdout, schema, label=Path(args.synthetic).name, **common)


def _warn(result: EvaluationResult) -> None:
    """Print the evaluation's notes (e.g. a column coded otherwise than in train) to stderr."""
    for note in result.extra.get("notes", []):
        print(f"safe-bench: warning: {note}", file=sys.stderr)


def cmd_split(args: argparse.Namespace) -> int:
    dataset = load_dataset(args.dataset)
    parts = split(dataset.frame, dataset.schema, seed=args.seed)
    out = Path(args.out)
    for name, frame in (("train", parts.train), ("holdout", parts.holdout)):
        write_table(frame, out / f"{name}.{args.format}")
    write_text(json.dumps(dataset.schema.to_dict(), indent=2) + "\n", out / "schema.json")
    print(f"{dataset.name}: train {len(parts.train)} rows, holdout {len(parts.holdout)} rows "
          f"(seed {args.seed}, stratified on {parts.stratified_on}) written to {out}/")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    dataset = load_dataset(DEFAULT_DATASET)
    runs = []
    for name in ("independent", "gaussian_copula"):
        run = evaluate_generator(dataset.frame, dataset.schema, load_generator(name), seed=args.seed, label=name)
        runs.append(run)
        print(f"{name}: fitted in {run.fit_seconds:.2f} s, sampled in {run.sample_seconds:.2f} s")
    runs.sort(key=lambda r: -(r.result.score() or 0.0))
    rows = []
    for rank, run in enumerate(runs, 1):
        p = run.result.pillars
        rows.append(
            [str(rank), run.result.label, f"{_pillar_score(p['SAFE'])} {_ci(p['SAFE'].ci_low, p['SAFE'].ci_high)}",
             _pillar_score(p["S"]), _pillar_score(p["C"]), _pillar_score(p["P"])]
        )
    ref = runs[0].result.pillars
    rows.append(["", "holdout (real reference)", _fmt(ref["SAFE"].reference),
                 _fmt(ref["S"].reference), _fmt(ref["C"].reference), _fmt(ref["P"].reference)])
    print(f"\nSAFE leaderboard on {dataset.name} ({len(dataset.frame)} rows, seed {args.seed})\n")
    print(render_table(rows, ["rank", "generator", "SAFE [95% CI]", "S", "C", "P"]))
    _write_json({"dataset": dataset.name, "results": [r.result.to_dict() for r in runs]}, args.out)
    print(f"\nresults written to {args.out}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    table = summary()
    if args.json:
        _write_json(table.to_dict(orient="records"), args.json)
    rows = [[r.name, str(r.rows), str(r.columns), r.endpoint, f"{r.event_rate:.3f}"] for r in table.itertuples()]
    print(render_table(rows, ["name", "rows", "columns", "endpoint (time / event)", "event rate"]))
    return 0


def cmd_generators(args: argparse.Namespace) -> int:
    rows = [[name, describe_generator(name), source] for name, source in available_generators().items()]
    print(render_table(rows, ["generator", "description", "provided by"]))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    rows = [
        [m.id, m.pillar, m.name, m.goal, ", ".join(sorted(m.requires)) or "-"] for m in METRICS.values()
    ]
    rows.sort(key=lambda r: ("SCP".index(r[1]), r[0]))
    print(render_table(rows, ["metric", "pillar", "name", "raw value goal", "needs"]))
    for plugin, error in PLUGIN_FAILURES.items():
        print(f"safe-bench: warning: metric plug-in {plugin} cannot be loaded: {error}", file=sys.stderr)
    return 0


def render_leaderboard(board: Ranking, score: str, cells: pd.DataFrame) -> str:
    """The leaderboard, the per-dataset means and ranks, the tests and the failed cells, as text."""
    rows = [[str(r["rank"]), r["generator"], f"{r['average_rank']:.2f}", _fmt(r["mean_score"]), str(r["datasets"]),
             str(r["missing_cells"])] for r in board.table.to_dict("records")]
    parts = [
        f"Leaderboard by {score}: {len(board.ranks)} dataset(s) ranked, {len(board.table)} generators, "
        f"{len(cells)} cells ({(cells['status'] == 'ok').sum()} ok)",
        render_table(rows, ["rank", "generator", "average rank", f"mean {score}", "datasets", "cells without score"]),
    ]
    means = board.means
    generators = list(board.table["generator"])
    per_dataset, unscored = [], []
    for dataset, group in means.groupby("dataset"):
        by_gen = group.set_index("generator")
        row = [str(dataset)]
        for gen in generators:
            rank = board.ranks.loc[dataset, gen] if dataset in board.ranks.index else None
            suffix = "" if rank is None or pd.isna(rank) else f" ({rank:g})"
            if gen not in by_gen.index:  # the generator was never run on this dataset
                row.append("no cell" + suffix)
                continue
            m = by_gen.loc[gen]
            low, high = (None, None) if pd.isna(m.ci_low) else (m.ci_low, m.ci_high)
            text = f"{m['mean']:.3f} {_ci(low, high)}".rstrip() if m.status == "ok" else m.status
            row.append(text + suffix)
            if m.status in ("incomplete", "not scored"):
                unscored.append(f"  {dataset} x {gen}: {m.reason}")
        per_dataset.append(row)
    parts.append(f"{score} per dataset: mean over seeds [95% interval: each seed's bootstrap and the spread "
                 "between seeds] (rank)\n" + render_table(per_dataset, ["dataset", *generators]))
    if unscored:
        parts.append(f"{score} without a score (ranked last):\n" + "\n".join(unscored))
    if board.friedman is None:
        parts.append(board.note)
    else:
        f = board.friedman
        parts.append(f"Friedman chi2 = {f.statistic:.3f} (p = {f.pvalue:.3g}), Iman-Davenport F = {f.f_statistic:.3f} "
                     f"(p = {f.f_pvalue:.3g}) over {f.n_datasets} datasets and {f.k} generators.\n"
                     f"Nemenyi critical difference (alpha {board.alpha:g}): {board.critical_difference:.3f}; "
                     "generators whose average ranks differ by less are not significantly different.")
    failed = cells[cells["status"] != "ok"]
    if len(failed):
        lines = [f"  {c.dataset} x {c.generator} x seed {c.seed}: {c.status} during {c.stage}: {c.reason}"
                 for c in failed.itertuples()]
        parts.append("Cells without a result:\n" + "\n".join(lines))
    return "\n\n".join(parts)


def cmd_run(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    path = Path(args.store or f"{suite.name}.sqlite")
    progress = Progress(quiet=args.quiet, log=args.log or path.with_suffix(".log"))
    with Store(path, create=True) as store, \
            open_backend(jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local) as backend:
        run_suite(suite, store, backend=backend, progress=progress, retry_failed=args.retry_failed)
        if not args.quiet:
            print(render_leaderboard(rank_generators(store.scores()), "SAFE", store.cells()))
            print(f"\nresults in {path} (see `safe-bench results {path}`)")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    with Store(args.store, readonly=True) as store:
        scores, cells = store.scores(args.score), store.cells()
        if scores["score"].isna().all():
            raise InputError(f"no cell in {args.store} has a {args.score!r} score")
        board = rank_generators(scores, missing=args.missing, alpha=args.alpha)
        text = [render_leaderboard(board, args.score, cells)]
        for a, b in args.compare:
            d = paired_difference(scores, a, b, n_bootstrap=args.bootstrap)
            text.append(f"{args.score}({a}) - {args.score}({b}) = {d.mean:.4f} {_ci(d.ci_low, d.ci_high)} "
                        f"(paired bootstrap over {d.pairs} cells, {d.n_bootstrap} resamples)")
        if args.csv:
            write_table(store.results(), args.csv)
        _write_json({"schema_version": 1, "store": str(args.store), "score": args.score, **board.to_dict(),
                     "cells": cells.to_dict(orient="records"), "results": store.results().to_dict(orient="records")},
                    args.json)
    print("\n\n".join(text))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from safe_bench.benchmark.seeds import scores_from_result, scores_from_results
    from safe_bench.gate.judge import check_baseline, judge
    from safe_bench.gate.policy import load_policy
    from safe_bench.report.gate import gate_json, gate_junit, gate_markdown, gate_text

    policy = load_policy(args.policy)
    modes = {"--real/--synthetic": bool(args.real or args.synthetic or args.holdout), "--result": bool(args.result),
             "--store/--generator": bool(args.generator)}
    if sum(modes.values()) != 1:
        raise InputError("gate one candidate: --real/--synthetic[/--holdout] files, --result RESULT.json, "
                         f"or --store STORE --generator NAME (got {' and '.join(k for k, v in modes.items() if v) or 'none'})")
    if args.generator and not args.store:
        raise InputError("--generator needs --store (the results store holding its cells)")
    if args.real or args.synthetic or args.holdout:
        if not (args.real and args.synthetic):
            raise InputError("give both --real and --synthetic (and --holdout for the privacy metrics)")
    baseline_name = args.baseline or policy.baseline
    baseline = baseline_label = None
    tidy = unfinished = None
    if args.store:
        with Store(args.store, readonly=True) as store:
            tidy, cells = store.results(), store.cells()
        unfinished = cells[(cells["generator"] == args.generator) & (cells["status"] != "ok")]
    if args.baseline_result:
        if args.generator:
            raise InputError("--baseline-result goes with one table (files or --result); "
                             "in store mode name a baseline generator with --baseline")
        baseline = {"": scores_from_result(_read_result(args.baseline_result))}
        baseline_label = args.baseline_result
    elif policy.needs_baseline and baseline_name and tidy is not None:
        if baseline_name not in set(tidy["generator"]):
            raise InputError(f"baseline generator {baseline_name!r} has no results in {args.store}; "
                             f"stored: {', '.join(sorted(set(tidy['generator']))) or 'none'}")
        per_dataset = scores_from_results(tidy, baseline_name)
        if args.generator:
            baseline = per_dataset
        else:
            baseline = {"": per_dataset.get(_store_dataset(args.dataset, per_dataset, args.store), {})}
        baseline_label = f"{baseline_name} in {args.store}"
    check_baseline(policy, baseline)
    notes: list[str] = []
    if args.generator:
        assert tidy is not None
        if args.generator not in set(tidy["generator"]):
            raise InputError(f"generator {args.generator!r} has no results in {args.store}; "
                             f"stored: {', '.join(sorted(set(tidy['generator']))) or 'none'}")
        candidate = scores_from_results(tidy, args.generator)
        if args.dataset:
            candidate = {args.dataset: candidate[_store_dataset(args.dataset, candidate, args.store)]}
        label = f"{args.generator} in {args.store}"
    else:
        if args.result:
            result = _read_result(args.result)
        else:
            result = _evaluate_files(args, seed=args.seed, n_bootstrap=args.bootstrap, metrics=args.metrics)
        notes = list(result.extra.get("notes", []))
        candidate, label = {"": scores_from_result(result)}, result.label or Path(args.result or args.synthetic).name
    outcome = judge(policy, candidate, label=label, baseline=baseline, baseline_label=baseline_label)
    outcome.notes += notes
    if unfinished is not None and args.generator:
        outcome.notes += [f"{c.dataset} seed {c.seed}: no result ({c.status} during {c.stage}: {c.reason}); "
                         "judged on the seeds that finished"
                         for c in unfinished.itertuples() if c.dataset in candidate]
    for path, render in ((args.junit, gate_junit), (args.markdown, gate_markdown), (args.json, gate_json)):
        if path:
            write_text(render(outcome), path)
    if not args.quiet:
        print(gate_text(outcome))
    return outcome.exit_code


def cmd_report(args: argparse.Namespace) -> int:
    from safe_bench.report.site import write_site

    files = write_site(args.store, args.out, title=args.title, cells=not args.no_cells)
    if not args.quiet:
        print(f"leaderboard site of {args.store}: {len(files)} files written to {args.out}/ "
              f"(open {Path(args.out) / 'index.html'})")
    return 0


def _read_result(path: str) -> EvaluationResult:
    """An evaluation written by ``evaluate --json``; anything else is an InputError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read result file {path!r}: {type(exc).__name__}") from None
    return EvaluationResult.from_json(text, source=f"result file {path!r}")


def _store_dataset(name: str | None, per_dataset: dict[str, Any], store: str) -> str:
    """The dataset asked for, or the only one stored."""
    if name is None and len(per_dataset) == 1:
        return next(iter(per_dataset))
    if name not in per_dataset:
        raise InputError(f"{'dataset ' + repr(name) + ' is not' if name else 'several datasets are'} in {store}; "
                         f"pass --dataset, one of: {', '.join(sorted(per_dataset))}")
    return name


def _whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            most = "" if maximum is None else f" and at most {maximum}"
            raise argparse.ArgumentTypeError(f"must be at least {minimum}{most}, not {value}")
        return value
    return parse


#: Seeds numpy and scikit-learn accept; bootstrap resamples enough for an interval.
_SEED, _BOOTSTRAP = _whole(0, MAX_SEED), _whole(10)


def _alpha(text: str) -> float:
    """An argparse type: a significance level, strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, not {text}")
    return value


def _output(*, folder: bool = False) -> Callable[[str], str]:
    """An argparse type: a path an output file (or folder) can be written to, checked
    before any work starts (see :func:`safe_bench.data.io.check_output`)."""
    def check(text: str) -> str:
        try:
            check_output(text, folder=folder)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return check


def _add_file_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--real", help="CSV/Parquet: the real rows the generator was trained on")
    group.add_argument("--synthetic", help="CSV/Parquet: the synthetic table")
    group.add_argument("--holdout", help="CSV/Parquet: real rows the generator never saw")
    group.add_argument("--time", help="survival time column (also completes a --schema that declares none)")
    group.add_argument("--event", help="survival event column, 0/1 (also completes a --schema that declares none)")
    group.add_argument("--target", help="target column (also completes a --schema that declares none)")


# -- parser --------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safe-bench",
        description="SAFE: statistical fidelity, clinical utility and privacy of synthetic health data.",
    )
    parser.add_argument("--version", action="version", version=f"safe-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ev = sub.add_parser("evaluate", help="evaluate one synthetic table (or fit a generator and evaluate it)",
                        description="Evaluate a synthetic table against the real rows it was trained on. "
                        "Either files (--real, --synthetic, optional --holdout) or a bundled dataset and a "
                        "generator (--dataset, --generator), which splits, fits, samples and evaluates.")
    _add_file_options(ev.add_argument_group("a synthetic file"))
    gen = ev.add_argument_group("a generator on a bundled dataset")
    gen.add_argument("--dataset", choices=list_datasets(), help=f"bundled dataset (default {DEFAULT_DATASET})")
    gen.add_argument("--generator", help="registered generator name (see `safe-bench generators`)")
    gen.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="generator setting (repeatable)")
    gen.add_argument("--n", type=_whole(1), help="synthetic rows to sample (default: as many as train)")
    gen.add_argument("--save-synthetic", metavar="PATH", type=_output(),
                     help="also write the sampled table (CSV/Parquet)")
    ev.add_argument("--schema", help="schema file (.toml, .json, or SDV metadata .json)")
    ev.add_argument("--metrics", type=lambda s: s.split(","), help="comma-separated metric ids or pillars (S,C,P)")
    ev.add_argument("--seed", type=_SEED, default=0, help="seed for every random choice (default 0)")
    ev.add_argument("--bootstrap", type=_BOOTSTRAP, default=100, metavar="B",
                    help="bootstrap resamples, at least 10 (default 100)")
    ev.add_argument("--json", metavar="OUT", type=_output(), help="write the result as JSON")
    ev.add_argument("--html", metavar="OUT", type=_output(),
                    help="write a self-contained HTML report (figures inline, opens offline)")
    ev.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    ev.set_defaults(func=cmd_evaluate)

    demo = sub.add_parser("demo", help="fit two baselines on GBSG2, evaluate them, print the leaderboard",
                          description="Fits `independent` and `gaussian_copula` on the bundled GBSG2 data, "
                          "evaluates both with SAFE and prints the leaderboard.")
    demo.add_argument("--out", default="safe-bench-demo.json", type=_output(),
                      help="results JSON (default safe-bench-demo.json)")
    demo.add_argument("--seed", type=_SEED, default=0)
    demo.set_defaults(func=cmd_demo)

    sp = sub.add_parser("split", help="write a bundled dataset's train/holdout split and schema to files",
                        description="Split a bundled dataset by the SAFE protocol (70/30, stratified, seeded) "
                        "and write train, holdout and schema.json, to train your own generator on.")
    sp.add_argument("dataset", choices=list_datasets())
    sp.add_argument("--out", required=True, type=_output(folder=True), help="output folder")
    sp.add_argument("--seed", type=_SEED, default=0)
    sp.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sp.set_defaults(func=cmd_split)

    ds = sub.add_parser("datasets", help="list the bundled datasets", description="List the bundled real datasets.")
    ds.add_argument("--json", metavar="OUT", type=_output(), help="also write the list as JSON")
    ds.set_defaults(func=cmd_datasets)

    gl = sub.add_parser("generators", help="list the registered generators",
                        description="List generators registered in the safe_bench.generators entry-point group.")
    gl.set_defaults(func=cmd_generators)

    ml = sub.add_parser("metrics", help="list the SAFE metrics", description="List every registered SAFE metric.")
    ml.set_defaults(func=cmd_metrics)

    rn = sub.add_parser("run", help="benchmark generators x datasets x seeds from a suite file",
                        description="Run every (dataset, generator, seed) cell of a suite (TOML, see "
                        "safe_bench.benchmark.suite): split, fit, sample, evaluate, each cell stored as it finishes. "
                        "Running the same command again skips the cells already stored.")
    rn.add_argument("suite", help="suite file (.toml), e.g. benchmarks/smoke.toml")
    rn.add_argument("--store", type=_output(), help="results store (SQLite; default <suite name>.sqlite)")
    where = rn.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster of N workers")
    rn.add_argument("--retry-failed", action="store_true", help="run failed and timed-out cells again")
    rn.add_argument("--log", type=_output(), help="log file (default: the store's name with .log)")
    rn.add_argument("-q", "--quiet", action="store_true", help="no progress, no leaderboard")
    rn.set_defaults(func=cmd_run)

    rs = sub.add_parser("results", help="leaderboard of a results store; export CSV/JSON",
                        description="Rank the generators of a results store: mean over seeds with 95 % intervals "
                        "(each seed's bootstrap and the spread between seeds), "
                        "ranks per dataset, average rank, Friedman test and Nemenyi critical difference.")
    rs.add_argument("store", help="results store written by `safe-bench run`")
    rs.add_argument("--score", default="SAFE", help="what to rank by: SAFE, a pillar (S, C, P) or a metric id")
    rs.add_argument("--missing", choices=["last", "drop"], default="last",
                    help="a generator without a score on a dataset ranks last there (default) or the dataset is dropped")
    rs.add_argument("--alpha", type=_alpha, default=0.05,
                    help="significance level of the Nemenyi test, between 0 and 1 (default 0.05)")
    rs.add_argument("--compare", nargs=2, action="append", default=[], metavar=("A", "B"),
                    help="paired bootstrap interval of the score difference A - B (repeatable)")
    rs.add_argument("--bootstrap", type=_BOOTSTRAP, default=2000, metavar="B",
                    help="resamples for --compare, at least 10 (default 2000)")
    rs.add_argument("--csv", metavar="OUT", type=_output(),
                    help="write the tidy results (one row per cell x metric) as CSV")
    rs.add_argument("--json", metavar="OUT", type=_output(),
                    help="write the leaderboard, tests, cells and results as JSON")
    rs.set_defaults(func=cmd_results)

    gt = sub.add_parser("gate", help="judge a release against a policy; exit 0 pass, 1 fail, 2 bad input",
                        description="Judge a synthetic table (files or an evaluation JSON) or a generator's stored "
                        "results against a release policy (TOML, see safe_bench.gate.policy and "
                        "benchmarks/policies/default.toml); over several seeds a rule must hold in every seed. "
                        "Exit 0 when every rule holds, 1 when one does not or cannot be judged (a score "
                        "missing, or incomplete because a metric failed: the verdict says 'error'), "
                        "2 on bad input. Writes JUnit XML, a Markdown summary and JSON.")
    gt.add_argument("--policy", required=True, help="policy file (.toml)")
    one = gt.add_argument_group("a synthetic table")
    _add_file_options(one)
    one.add_argument("--schema", help="schema file (.toml, .json, or SDV metadata .json)")
    one.add_argument("--result", metavar="RESULT.json", help="an evaluation already written by `evaluate --json`")
    one.add_argument("--seed", type=_SEED, default=0, help="evaluation seed (default 0)")
    one.add_argument("--bootstrap", type=_BOOTSTRAP, default=100, metavar="B",
                     help="bootstrap resamples, at least 10 (default 100)")
    one.add_argument("--metrics", type=lambda s: s.split(","),
                     help="comma-separated metric ids or pillars to evaluate (default: all)")
    st = gt.add_argument_group("a generator in a results store")
    st.add_argument("--store", help="results store written by `safe-bench run` (also where a baseline is looked up)")
    st.add_argument("--generator", help="the generator (suite label) to judge")
    st.add_argument("--dataset", help="judge this dataset only (needed to pick a baseline for one table "
                    "when the store holds several)")
    base = gt.add_argument_group("the baseline of `baseline` rules")
    base.add_argument("--baseline", metavar="NAME", help="baseline generator in --store (default: the policy's)")
    base.add_argument("--baseline-result", metavar="RESULT.json", help="the baseline's evaluation JSON")
    out = gt.add_argument_group("outputs")
    out.add_argument("--junit", metavar="OUT.xml", type=_output(), help="JUnit XML, one test case per rule")
    out.add_argument("--markdown", metavar="OUT.md", type=_output(), help="Markdown summary for a pull-request comment")
    out.add_argument("--json", metavar="OUT.json", type=_output(), help="verdicts as JSON")
    out.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    gt.set_defaults(func=cmd_gate)

    rp = sub.add_parser("report", help="write the leaderboard site of a results store (HTML, Markdown, JSON)",
                        description="Write the leaderboard site of a results store: index.html (sortable table "
                        "of generators, critical-difference diagram, fidelity vs privacy with the Pareto front), "
                        "one page per dataset and per cell, leaderboard.md and leaderboard.json. Every page is "
                        "self-contained and opens offline.")
    rp.add_argument("store", help="results store written by `safe-bench run`")
    rp.add_argument("--out", required=True, type=_output(folder=True), help="output folder")
    rp.add_argument("--title", help="leaderboard title (default: the store's name)")
    rp.add_argument("--no-cells", action="store_true", help="do not write the per-cell pages")
    rp.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    rp.set_defaults(func=cmd_report)
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
