"""``safe-bench scenario control-arm|augmentation|federated``: is a generator's synthetic
data fit for a synthetic control arm, or for augmenting a small cohort? Type I error,
power, coverage, bias and RMSE over Monte-Carlo replicates, naive and corrected, and a
verdict. And how does it fare trained across hospital sites: centralized, isolated,
FedAvg, synthetic-data sharing and pooling, with SAFE, CSF, GSF and NNDR per site and round.

Replicates (and a federated study's seeds) run through the benchmark runner: stored as
they finish (in ``--store``, or a temporary store), skipped when the command runs again,
on local processes (``--jobs``) or Dask (``--scheduler``, ``--dask-local``)."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from safe_bench.benchmark.backends import open_backend
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.store import Store
from safe_bench.cli.options import SEED, file_schema, output, settings, whole
from safe_bench.data.datasets import list_datasets, load_dataset
from safe_bench.data.io import read_table, write_text
from safe_bench.data.schema import Schema
from safe_bench.errors import InputError
from safe_bench.generator import load_generator
from safe_bench.scenarios.analysis import ANALYSES
from safe_bench.scenarios.build import MAX_REPLICATES, augmentation_study, control_arm_study
from safe_bench.scenarios.federated.study import N_BOOTSTRAP as FEDERATED_BOOTSTRAP
from safe_bench.scenarios.federated.study import FederatedStudy, run_federated
from safe_bench.scenarios.federated.training import ENGINES, SCENARIOS, ScenarioName, default_engine
from safe_bench.scenarios.study import BATCH, run_study

EXAMPLES = {
    "control-arm": "example:\n  safe-bench scenario control-arm --dataset aids --generator gaussian_copula "
                   "--replicates 200 --json aids-control.json",
    "augmentation": "example:\n  safe-bench scenario augmentation --dataset mds_ipssr_sim --generator gaussian_copula "
                    "--n 100 --ratios 0,0.5,1,3 --replicates 200",
    "federated": "example:\n  safe-bench scenario federated --dataset mds_ipssr_sim --partition site --rounds 5 "
                 "--epochs 10 --generator tvae --seeds 0 1 2 --jobs 2 --html federated.html",
}


def _ratios(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or any(not (v >= 0 and v < float("inf")) for v in values):
        raise argparse.ArgumentTypeError(f"ratios must be numbers >= 0, not {text!r}")
    return values


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _table_and_generator(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    data = p.add_argument_group("the real table")
    data.add_argument("--dataset", choices=list_datasets(), help="bundled dataset")
    data.add_argument("--real", metavar="FILE", help="CSV/Parquet: your own table (instead of --dataset)")
    data.add_argument("--schema", help="schema file (.toml, .json, or SDV metadata .json); inferred when absent")
    data.add_argument("--time", help="survival time column (with --real)")
    data.add_argument("--event", help="survival event column, 0/1 (with --real)")
    gen = p.add_argument_group("the generator")
    gen.add_argument("--generator", required=True, help="registered generator name (see `safe-bench generators`)")
    gen.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="generator setting (repeatable)")
    return data


def _running(p: argparse.ArgumentParser, unit: str) -> None:
    run = p.add_argument_group("running and output")
    run.add_argument("--store", type=output(), help=f"results store (SQLite) keeping the {unit}; default: temporary")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed scheduler")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a Dask LocalCluster of N workers")
    run.add_argument("--json", metavar="OUT", type=output(), help="write the result as JSON")
    run.add_argument("--html", metavar="OUT", type=output(), help="write the result as an HTML page")
    run.add_argument("--markdown", metavar="OUT", type=output(), help="write the result as Markdown")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")


def _common(p: argparse.ArgumentParser) -> None:
    _table_and_generator(p)
    study = p.add_argument_group("the study")
    study.add_argument("--analysis", choices=ANALYSES, default="cox",
                       help="Cox log hazard ratio (default), log-rank (Peto's log HR) or RMST difference at --tau")
    study.add_argument("--tau", type=_number, help="RMST horizon (default: the last time both groups are observed)")
    study.add_argument("--replicates", type=whole(1, MAX_REPLICATES), default=200, metavar="R",
                       help="Monte-Carlo replicates (default 200: Monte-Carlo error 0.015 on a type I error of 0.05)")
    study.add_argument("--syntheses", type=whole(1), default=1, metavar="M",
                       help="synthetic tables per replicate, averaged (default 1)")
    study.add_argument("--bootstrap", type=whole(0), default=0, metavar="B",
                       help="generator-aware bootstrap resamples per replicate (default 0: none; B refits each)")
    study.add_argument("--seed", type=SEED, default=0, help="seed of every replicate (default 0)")
    study.add_argument("--batch", type=whole(1), default=BATCH, metavar="N",
                       help=f"replicates per stored unit of work (default {BATCH}; smaller spreads a deep "
                       "generator's replicates over more workers)")
    _running(p, "replicates")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    sc = subparsers.add_parser(
        "scenario", help="use-case validation: synthetic control arm, augmentation (type I error, power, coverage)",
        description="Judge a generator for a use that rests on inference, by Monte Carlo: `control-arm` (the "
        "control arm of a trial replaced, or partly replaced, by synthetic patients) and `augmentation` (a small "
        "cohort enlarged with synthetic rows). Each reports type I error, power, coverage, bias and RMSE with their "
        "Monte-Carlo errors, for the analysis that treats synthetic rows as real (naive) and for one that accounts "
        "for the synthesis (corrected), and a verdict.")
    sc.set_defaults(func=run)
    kinds = sc.add_subparsers(dest="scenario", metavar="{control-arm,augmentation,federated}", required=True)
    ca = kinds.add_parser("control-arm", help="synthetic control arm of a two-arm survival trial",
                          epilog=EXAMPLES["control-arm"],
                          description="Replicate the trial with synthetic controls, then estimate the operating "
                          "characteristics: the real control arm split at random into pseudo-treated and "
                          "pseudo-control patients (null by randomisation), the generator fitted on the "
                          "pseudo-controls only; under the alternative the pseudo-treated outcomes are drawn with "
                          "the chosen hazard ratio.")
    _common(ca)
    arm = ca.add_argument_group("the trial")
    arm.add_argument("--treatment", metavar="COL", help="treatment column (default: the schema's primary effect)")
    arm.add_argument("--control", metavar="VALUE", help="control level of the treatment column (default: the other "
                     "level than the primary effect's, else the first in sorted order)")
    arm.add_argument("--mode", default="replace", help="'replace' (the whole control arm synthetic, default) or "
                     "'hybrid:F' (a fraction F of the real controls dropped and regenerated)")
    arm.add_argument("--k", type=whole(1), help="synthetic controls per table (default: as many as they replace)")
    arm.add_argument("--effect", type=_number, metavar="LOG_HR",
                     help="log hazard ratio of the alternative (default: the real trial's Cox estimate)")
    ca.set_defaults(func=run, make=_control_arm)
    au = kinds.add_parser("augmentation", help="a small cohort enlarged with synthetic rows",
                          epilog=EXAMPLES["augmentation"],
                          description="Draw --n real rows from the table (the population), fit the generator on "
                          "them, add r*n synthetic rows for each ratio r and estimate; the truth is the estimate "
                          "on the full table, the null permutes the estimand's column.")
    _common(au)
    est = au.add_argument_group("the estimand")
    est.add_argument("--estimand", metavar="COL[=LEVEL]", action="append", default=[],
                     help="a covariate (a level of a categorical one), or score:NAME[=GROUP] for a prognostic score of the "
                     "schema (its value, or a risk group against the others); default: the schema's primary effect, else the "
                     "strongest finding of the real table. Repeated: the first is the estimand, the others further "
                     "findings tested with it (false-discovery rate under Benjamini-Hochberg)")
    est.add_argument("--all-findings", action="store_true",
                     help="test every covariate contrast of the table with the estimand (false-discovery rate)")
    est.add_argument("--n", type=whole(2), default=100, help="real rows per replicate (default 100)")
    est.add_argument("--ratios", type=_ratios, default=[0.0, 0.5, 1.0, 3.0],
                     help="synthetic rows per real row, comma-separated (default 0,0.5,1,3)")
    au.set_defaults(func=run, make=_augmentation)
    fe = kinds.add_parser("federated", help="a generator trained across hospital sites (FedAvg and its alternatives)",
                          epilog=EXAMPLES["federated"],
                          description="Cut the table into sites (by a site column, or by label, quantity or covariate "
                          "skew), split each site into train and holdout, and train the generator five ways: centralized "
                          "(pooled train), isolated (one model per site), FedAvg (local epochs per round, the server's "
                          "size-weighted average), synthetic-data sharing and pooling of local synthetic data. Each "
                          "round, every site's synthetic table is judged against the site's own holdout (F_k: SAFE, "
                          "CSF, GSF, NNDR) and the federation's against the pooled holdout; privacy also against the "
                          "other sites' rows. Over seeds: the share of the centralized gain each strategy recovers, "
                          "the worst site, and Welch tests between scenarios.")
    data = _table_and_generator(fe)
    data.add_argument("--site", metavar="COL", help="the site column of --real (the sites are its levels)")
    fed = fe.add_argument_group("the federation")
    fed.add_argument("--partition", metavar="SPEC",
                     help="site[:COL] (default when the schema has a site column), dirichlet:ALPHA[:COL] (label skew), "
                     "quantity:W1,...,WK or quantity:BETA (sizes), covariate:COL:P1,...,PK (site k holds a share P_k of "
                     "the rows below COL's median)")
    fed.add_argument("--sites", type=whole(1), metavar="K", help="number of sites (not with a site column: its levels)")
    fed.add_argument("--rounds", type=whole(1), default=5, metavar="R", help="federated rounds (default 5)")
    fed.add_argument("--epochs", type=whole(1), default=1, metavar="E", help="local epochs per round (default 1)")
    fed.add_argument("--scenarios", type=_scenario_list, default=list(SCENARIOS), metavar="LIST",
                     help=f"comma-separated, of {', '.join(SCENARIOS)} (default: all)")
    fed.add_argument("--seeds", type=SEED, nargs="+", default=[0, 1, 2], metavar="SEED",
                     help="seeds of the partition, the models and the samples (default 0 1 2; two or more for the "
                     "intervals and Welch tests)")
    fed.add_argument("--engine", choices=ENGINES, default=default_engine(),
                     help="what runs FedAvg's rounds: Flower's server and FedAvg strategy (default when the "
                     "`federated` extra is installed) or the same loop in this process; both give the same result")
    fed.add_argument("--resamples", type=whole(10), default=FEDERATED_BOOTSTRAP, metavar="B",
                     help=f"bootstrap resamples of each evaluation (default {FEDERATED_BOOTSTRAP})")
    _running(fe, "seeds")
    fe.set_defaults(func=run_federated_command)


def _table(args: argparse.Namespace) -> tuple[Any, Schema, str, bool | None]:
    """The real table, its schema, its name, and whether its treatment was randomised."""
    if bool(args.dataset) == bool(args.real):
        raise InputError("give either --dataset NAME or --real FILE")
    if args.dataset:
        dataset = load_dataset(args.dataset)
        schema = file_schema(args, dataset.frame) if args.schema else dataset.schema
        return dataset.frame, schema, dataset.name, dataset.randomised
    frame = read_table(args.real, table="real")
    return frame, file_schema(args, frame), Path(args.real).stem, None


def _control_arm(args: argparse.Namespace, frame: Any, schema: Schema, name: str, randomised: bool | None,
                 common: dict[str, Any]) -> Any:
    return control_arm_study(frame, schema, dataset=name, arm=args.treatment, control=args.control, mode=args.mode,
                             k=args.k, effect=args.effect, randomised=randomised, **common)


def _augmentation(args: argparse.Namespace, frame: Any, schema: Schema, name: str, randomised: bool | None,
                  common: dict[str, Any]) -> Any:
    estimands = [(column, rest or None) for column, _, rest in (e.partition("=") for e in args.estimand)]
    return augmentation_study(frame, schema, dataset=name, n=args.n, ratios=args.ratios, estimands=estimands,
                              all_findings=args.all_findings, **common)


@contextmanager
def _store(path: str | None) -> Iterator[Store]:
    """The store the replicates are kept in: ``path``, or a temporary one removed after."""
    if path:
        with Store(path, create=True) as store:
            yield store
        return
    with tempfile.TemporaryDirectory(prefix="safe-bench-scenario-") as folder, \
            Store(Path(folder) / "scenario.sqlite", create=True) as store:
        yield store


def run(args: argparse.Namespace) -> int:
    frame, schema, name, randomised = _table(args)
    params = settings(args.option)
    generator = load_generator(args.generator, **params)
    common = dict(generator=generator, generator_name=args.generator, params=params, seed=args.seed,
                  replicates=args.replicates, analysis=args.analysis, m=args.syntheses, bootstrap=args.bootstrap,
                  tau=args.tau)
    study, notes = args.make(args, frame, schema, name, randomised, common)
    progress = Progress(quiet=args.quiet)
    with _store(args.store) as store, \
            open_backend(jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local) as backend:
        result = run_study(study, store, backend=backend, progress=progress, batch=args.batch)
    from safe_bench.report import scenario as pages

    _write(args, result.to_json(), lambda: pages.scenario_html(result), lambda: pages.scenario_markdown(result))
    if not args.quiet:
        from safe_bench.report.scenario import scenario_text

        print(scenario_text(result, notes))
    return 0


def _write(args: argparse.Namespace, json_text: str, html: Callable[[], str], markdown: Callable[[], str]) -> None:
    """The result as JSON, and its page as HTML and Markdown, where the options ask."""
    if args.json:
        write_text(json_text, args.json)
    if args.html:
        write_text(html(), args.html)
    if args.markdown:
        write_text(markdown(), args.markdown)


def _scenario_list(text: str) -> list[ScenarioName]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown scenario(s) {unknown or text!r}; choose from {', '.join(SCENARIOS)}")
    return [n for n in SCENARIOS if n in names]


def run_federated_command(args: argparse.Namespace) -> int:
    from safe_bench_generators.federated_models import federated

    from safe_bench.scenarios.federated.partition import parse_partition

    if args.site and not args.real:
        raise InputError("--site names the site column of --real; a bundled dataset declares its own")
    frame, schema, name, _ = _table(args)
    if args.site:
        if args.site not in schema.kinds:
            raise InputError(f"--site column {args.site!r} is not a column of the table", column=args.site)
        schema = schema.with_roles(site=args.site)
    spec_text = args.partition or ("site" if schema.site else None)
    if spec_text is None:
        raise InputError("give --partition (the table declares no site column): site:COL, dirichlet:ALPHA, "
                         "quantity:..., or covariate:COL:...")
    spec = parse_partition(spec_text, schema, args.sites)
    params = settings(args.option)
    federated(args.generator, **params)  # a generator that cannot be federated is named before any work
    study = FederatedStudy(name, frame, schema, partial(federated, args.generator, **params), args.generator, params,
                           spec, args.sites, args.rounds, args.epochs, tuple(args.seeds), tuple(args.scenarios),
                           n_bootstrap=args.resamples, engine=args.engine)
    progress = Progress(quiet=args.quiet)
    with _store(args.store) as store, \
            open_backend(jobs=args.jobs, scheduler=args.scheduler, dask_local=args.dask_local) as backend:
        result = run_federated(study, store, backend=backend, progress=progress)
    from safe_bench.report import federated as fed_pages

    _write(args, result.to_json(), lambda: fed_pages.federated_html(result), lambda: fed_pages.federated_markdown(result))
    if not args.quiet:
        from safe_bench.report.federated import federated_text

        print(federated_text(result))
    return 0
