"""The known-answer sweep: every scenario of :mod:`safe_bench.evaluation.known_answers` evaluated
over split seeds, as a table of scenario x score (min-max over seeds).

    python benchmarks/known_answers.py --datasets gbsg2 aids flchain --seeds 0 1 2 3 4

``--real FILE --time COL --event COL [--primary COL[=LEVEL]]`` runs it on a table the
project does not bundle (a primary effect is needed for the ``flipped`` scenario).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence

import pandas as pd

from safe_bench.data.claims import PrimaryEffect
from safe_bench.data.datasets import load_dataset
from safe_bench.data.io import read_table
from safe_bench.data.schema import Survival, infer_schema
from safe_bench.data.validation import conform
from safe_bench.evaluation.evaluate import evaluate
from safe_bench.evaluation.known_answers import SCENARIOS, known_split, scenario_table

COLUMNS = ("SAFE", "S", "C", "P", "C.km", "C.rmst", "C.logrank", "C.cox", "C.findings", "C.tstr",
           "P.exact", "P.mia", "P.singling_out")


def _cell(result, column: str) -> float | None:
    if column in result.pillars:
        return result.pillars[column].score
    try:
        return result.metric(column).score
    except KeyError:
        return None


def sweep(name: str, frame: pd.DataFrame, schema, seeds: Sequence[int], n_bootstrap: int,
          scenarios: Sequence[str] = SCENARIOS) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        parts = known_split(frame, schema, seed)
        for scenario in scenarios:
            if scenario == "flipped" and schema.primary is None:
                continue
            result = evaluate(parts.train, scenario_table(parts, scenario), parts.holdout, schema,
                              seed=seed, n_bootstrap=n_bootstrap)
            row = {"dataset": name, "seed": seed, "scenario": scenario,
                   "verdict": result.extra["privacy_verdict"]["level"]}
            row.update({c: _cell(result, c) for c in COLUMNS})
            rows.append(row)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame, columns: Sequence[str] = COLUMNS, by: str = "scenario") -> str:
    """A Markdown table per dataset: one row per ``by`` value, each column's min-max over seeds."""
    lines = []
    for name, part in table.groupby("dataset", sort=False):
        lines.append(f"\n## {name} ({part.seed.nunique()} seeds; min-max over seeds)\n")
        lines.append(f"| {by} | " + " | ".join(columns) + " | privacy verdict |")
        lines.append("|---" * (len(columns) + 2) + "|")
        for scenario, rows in part.groupby(by, sort=False):
            cells = []
            for c in columns:
                v = rows[c].dropna()
                cells.append("-" if v.empty else f"{v.min():.2f}-{v.max():.2f}")
            verdicts = defaultdict(int)
            for v in rows.verdict:
                verdicts[v] += 1
            lines.append(f"| {scenario} | " + " | ".join(cells) + " | "
                         + ", ".join(f"{k} x{n}" for k, n in verdicts.items()) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=["gbsg2", "aids", "flchain"])
    parser.add_argument("--real", help="a CSV or Parquet table the project does not bundle")
    parser.add_argument("--time")
    parser.add_argument("--event")
    parser.add_argument("--primary", help="COL or COL=LEVEL: the primary effect of --real")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--bootstrap", type=int, default=30)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--csv", help="write every row of the sweep here")
    args = parser.parse_args(argv)
    tables = []
    if args.real:
        frame = read_table(args.real)
        schema = infer_schema(frame).with_roles(survival=Survival(args.time, args.event))
        if args.primary:
            column, _, level = args.primary.partition("=")
            schema = schema.with_roles(primary=PrimaryEffect(column, level or None))
        tables.append(sweep(args.real, conform(frame, schema, table="real"), schema, args.seeds, args.bootstrap,
                            args.scenarios))
    else:
        for name in args.datasets:
            ds = load_dataset(name)
            tables.append(sweep(name, ds.frame, ds.schema, args.seeds, args.bootstrap, args.scenarios))
    table = pd.concat(tables, ignore_index=True)
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(summarise(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
