"""``safe-bench split``: a bundled dataset's train/holdout split by the SAFE protocol and
its schema, written to files to train a generator on."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safe_bench.cli.options import SEED, output
from safe_bench.data.datasets import list_datasets, load_dataset
from safe_bench.data.io import write_table, write_text
from safe_bench.data.protocol import split


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    sp = subparsers.add_parser("split", help="write a bundled dataset's train/holdout split and schema to files",
                               description="Split a bundled dataset by the SAFE protocol (70/30, stratified, seeded) "
                               "and write train, holdout and schema.json, to train your own generator on.")
    sp.add_argument("dataset", choices=list_datasets())
    sp.add_argument("--out", required=True, type=output(folder=True), help="output folder")
    sp.add_argument("--seed", type=SEED, default=0)
    sp.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    dataset = load_dataset(args.dataset)
    parts = split(dataset.frame, dataset.schema, seed=args.seed)
    out = Path(args.out)
    for name, frame in (("train", parts.train), ("holdout", parts.holdout)):
        write_table(frame, out / f"{name}.{args.format}")
    write_text(json.dumps(dataset.schema.to_dict(), indent=2) + "\n", out / "schema.json")
    print(f"{dataset.name}: train {len(parts.train)} rows, holdout {len(parts.holdout)} rows "
          f"(seed {args.seed}, stratified on {parts.stratified_on}) written to {out}/")
    return 0
