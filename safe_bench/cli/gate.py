"""``safe-bench gate``: one candidate (a synthetic table from files, an evaluation JSON,
or a generator's stored results) judged against a release policy; the outcome printed
and written as JUnit XML, Markdown and JSON; exit 0 when every rule holds, 1 when one
does not or cannot be judged, 2 on bad input."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from safe_bench.benchmark.seeds import Scores, scores_from_result, scores_from_results
from safe_bench.benchmark.store import Store
from safe_bench.cli.evaluate import evaluate_files
from safe_bench.cli.options import BOOTSTRAP, SEED, add_file_options, output
from safe_bench.data.io import write_text
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.gate.judge import check_baseline, judge
from safe_bench.gate.policy import Policy, load_policy
from safe_bench.report.gate import gate_json, gate_junit, gate_markdown, gate_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    gt = subparsers.add_parser("gate", help="judge a release against a policy; exit 0 pass, 1 fail, 2 bad input",
                               description="Judge a synthetic table (files or an evaluation JSON) or a generator's "
                               "stored results against a release policy (TOML, see safe_bench.gate.policy and "
                               "benchmarks/policies/default.toml); over several seeds a rule must hold in every seed. "
                               "Exit 0 when every rule holds, 1 when one does not or cannot be judged (a score "
                               "missing, or incomplete because a metric failed: the verdict says 'error'), "
                               "2 on bad input. Writes JUnit XML, a Markdown summary and JSON.",
                               epilog="examples:\n"
                               "  safe-bench gate --policy benchmarks/policies/default.toml --real split/train.csv \\\n"
                               "      --holdout split/holdout.csv --synthetic synthetic.csv --junit gate.xml\n"
                               "  safe-bench gate --policy benchmarks/policies/default.toml --result result.json\n"
                               "  safe-bench gate --policy benchmarks/policies/regression.toml --store smoke.sqlite "
                               "--generator tvae")
    gt.add_argument("--policy", required=True, help="policy file (.toml)")
    one = gt.add_argument_group("a synthetic table")
    add_file_options(one)
    one.add_argument("--schema", help="schema file (.toml, .json, or SDV metadata .json)")
    one.add_argument("--result", metavar="RESULT.json", help="an evaluation already written by `evaluate --json`")
    one.add_argument("--seed", type=SEED, default=0, help="evaluation seed (default 0)")
    one.add_argument("--bootstrap", type=BOOTSTRAP, default=100, metavar="B",
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
    out.add_argument("--junit", metavar="OUT.xml", type=output(), help="JUnit XML, one test case per rule")
    out.add_argument("--markdown", metavar="OUT.md", type=output(), help="Markdown summary for a pull-request comment")
    out.add_argument("--json", metavar="OUT.json", type=output(), help="verdicts as JSON")
    out.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    gt.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    _check_one_candidate(args)
    tidy = cells = None
    if args.store:
        with Store(args.store, readonly=True) as store:
            tidy, cells = store.results(), store.cells()
    baseline, baseline_label = _baseline(args, policy, tidy)
    check_baseline(policy, baseline)
    candidate, label, notes = _candidate(args, tidy)
    outcome = judge(policy, candidate, label=label, baseline=baseline, baseline_label=baseline_label)
    outcome.notes += notes
    if cells is not None and args.generator:
        unfinished = cells[(cells["generator"] == args.generator) & (cells["status"] != "ok")]
        outcome.notes += [f"{c.dataset} seed {c.seed}: no result ({c.status} during {c.stage}: {c.reason}); "
                          "judged on the seeds that finished"
                          for c in unfinished.itertuples() if c.dataset in candidate]
    for path, render in ((args.junit, gate_junit), (args.markdown, gate_markdown), (args.json, gate_json)):
        if path:
            write_text(render(outcome), path)
    if not args.quiet:
        print(gate_text(outcome))
    return outcome.exit_code


def _check_one_candidate(args: argparse.Namespace) -> None:
    """Exactly one candidate: files, a result file, or a generator in a store."""
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


def _baseline(args: argparse.Namespace, policy: Policy,
              tidy: pd.DataFrame | None) -> tuple[Mapping[str, Scores] | None, str | None]:
    """The baseline's scores per dataset (the key ``""`` for one table) and its label:
    from --baseline-result, or the baseline generator's results in --store when the
    policy has ``baseline`` rules; None when there is none."""
    if args.baseline_result:
        if args.generator:
            raise InputError("--baseline-result goes with one table (files or --result); "
                             "in store mode name a baseline generator with --baseline")
        return {"": scores_from_result(_read_result(args.baseline_result))}, args.baseline_result
    name = args.baseline or policy.baseline
    if not (policy.needs_baseline and name and tidy is not None):
        return None, None
    if name not in set(tidy["generator"]):
        raise InputError(f"baseline generator {name!r} has no results in {args.store}; "
                         f"stored: {', '.join(sorted(set(tidy['generator']))) or 'none'}")
    per_dataset = scores_from_results(tidy, name)
    if not args.generator:
        per_dataset = {"": per_dataset.get(_store_dataset(args.dataset, per_dataset, args.store), {})}
    return per_dataset, f"{name} in {args.store}"


def _candidate(args: argparse.Namespace, tidy: pd.DataFrame | None) -> tuple[Mapping[str, Scores], str, list[str]]:
    """The candidate's scores per dataset, its label and the notes of its evaluation."""
    if args.generator:
        assert tidy is not None
        if args.generator not in set(tidy["generator"]):
            raise InputError(f"generator {args.generator!r} has no results in {args.store}; "
                             f"stored: {', '.join(sorted(set(tidy['generator']))) or 'none'}")
        candidate = scores_from_results(tidy, args.generator)
        if args.dataset:
            candidate = {args.dataset: candidate[_store_dataset(args.dataset, candidate, args.store)]}
        return candidate, f"{args.generator} in {args.store}", []
    if args.result:
        result = _read_result(args.result)
    else:
        (result,) = evaluate_files(args, seed=args.seed, n_bootstrap=args.bootstrap, metrics=args.metrics)
    label = result.label or Path(args.result or args.synthetic).name
    return {"": scores_from_result(result)}, label, list(result.extra.get("notes", []))


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
