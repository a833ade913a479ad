"""``safe-bench demo``: two baselines fitted on GBSG2, evaluated, and ranked by SAFE."""

from __future__ import annotations

import argparse

from safe_bench.cli.console import StatusLine
from safe_bench.cli.options import SEED, output, write_json
from safe_bench.data.datasets import DEFAULT_DATASET, load_dataset
from safe_bench.evaluation.evaluate import Stages, evaluate_generator
from safe_bench.generator import load_generator
from safe_bench.report.scores import best_first, ranked
from safe_bench.report.text import READING_GUIDE, ranking_text

#: The baselines the demo fits, in the order it fits them.
BASELINES = ("independent", "gaussian_copula")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo", help="fit two baselines on GBSG2, evaluate them, print the leaderboard",
        description="Fits `independent` and `gaussian_copula` on the bundled GBSG2 data (686 breast-cancer "
        "patients), evaluates both with SAFE against real patients they never saw, prints the leaderboard with a "
        "guide to reading it and writes the results as JSON.",
        epilog="examples:\n  safe-bench demo\n  safe-bench demo --seed 3 --out demo-seed3.json")
    demo.add_argument("--out", default="safe-bench-demo.json", type=output(),
                      help="results JSON (default safe-bench-demo.json)")
    demo.add_argument("--seed", type=SEED, default=0,
                      help="seed of the split, the fits, the samples and the bootstrap (default 0)")
    demo.add_argument("-q", "--quiet", action="store_true", help="no status line on a terminal")
    demo.set_defaults(func=run)


#: What to do after the demo, printed under its results.
NEXT_STEPS = """Next:
  safe-bench evaluate --dataset gbsg2 --generator gaussian_copula --html gbsg2.html   (every metric, with figures)
  safe-bench split YOUR.csv --time TIME --event EVENT --out split/                    (your own cohort)
  safe-bench evaluate --real split/train.csv --holdout split/holdout.csv --schema split/schema.json \\
      --synthetic YOUR_SYNTHETIC.csv --html report.html"""


def run(args: argparse.Namespace) -> int:
    dataset = load_dataset(DEFAULT_DATASET)
    runs = []
    for name in BASELINES:
        with StatusLine(quiet=args.quiet, prefix=f"{name}: ") as status:
            generator = load_generator(name)
            status.follow(generator)
            fitted = evaluate_generator(dataset.frame, dataset.schema, generator, seed=args.seed,
                                        label=name, stages=Stages(status.stage), progress=status.metric)
        runs.append(fitted)
        print(f"{name}: fitted in {fitted.fit_seconds:.2f} s, sampled in {fitted.sample_seconds:.2f} s")
    print(f"\nSAFE leaderboard on {dataset.name} ({len(dataset.frame)} rows, seed {args.seed})\n")
    results = best_first([r.result for r in runs])
    print(ranking_text(ranked(results)))
    print("\n" + READING_GUIDE)
    write_json({"dataset": dataset.name, "results": [r.to_dict() for r in results]}, args.out)
    print(f"\nResults: {args.out} (JSON: every metric, interval and detail)\n\n{NEXT_STEPS}")
    return 0
