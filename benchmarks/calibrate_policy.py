"""The figures behind benchmarks/policies/default.toml: a sound baseline against a leak and a
broken clinical message, over split seeds, as the gate judges them (95 % CI lower bounds of
the pillars and SAFE, estimates of the metrics judged on estimates).

    python -m benchmarks.calibrate_policy --dataset gbsg2 --seeds 0 1 2 3 4

Each threshold of the policy must sit between the sound generator's row and the others'.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from benchmarks.known_answers import summarise
from safe_bench.data.datasets import load_dataset
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate_generator
from safe_bench.generator import load_generator

GENERATORS = ("gaussian_copula", "independent", "bootstrap_copy")
#: Pillars and SAFE by their interval's lower bound (the policy's ``judge = "ci"``).
LOWER_BOUNDS = ("P", "C", "S", "SAFE", "P.mia")
#: Metrics the policy judges on their estimate.
ESTIMATES = ("P.exact", "P.dcr_share", "C.km")


def row(result: EvaluationResult) -> dict[str, float | None]:
    cells: dict[str, float | None] = {}
    for key in LOWER_BOUNDS:
        cells[f"{key} low"] = result.pillars[key].ci_low if key in result.pillars else result.metric(key).ci_low
    for key in ESTIMATES:
        cells[key] = result.metric(key).score
    return cells


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="gbsg2")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    args = parser.parse_args(argv)
    ds = load_dataset(args.dataset)
    rows = []
    for seed in args.seeds:
        for name in GENERATORS:
            result = evaluate_generator(ds.frame, ds.schema, load_generator(name), seed=seed).result
            rows.append({"dataset": args.dataset, "seed": seed, "generator": name,
                         "verdict": result.extra["privacy_verdict"]["level"], **row(result)})
    columns = [f"{k} low" for k in LOWER_BOUNDS] + list(ESTIMATES)
    print(summarise(pd.DataFrame(rows), columns, by="generator"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
