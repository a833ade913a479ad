"""``safe-bench split``: a real table split by the SAFE protocol into train and holdout,
written to files with its schema, to train a generator on: a bundled dataset by name, or
a user's own CSV or Parquet file with its roles given by flags or a schema file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from safe_bench.cli.options import SEED, add_role_options, file_schema, output, read_real
from safe_bench.data.datasets import list_datasets, load_dataset
from safe_bench.data.io import write_table, write_text
from safe_bench.data.protocol import HOLDOUT_FRACTION, split
from safe_bench.data.validation import conform
from safe_bench.errors import InputError

EXAMPLES = """examples:
  safe-bench split gbsg2 --out gbsg2-split
  safe-bench split cohort.csv --time os_months --event death --out cohort-split
  safe-bench split lung.csv --time time --event status --event-value 2 --format parquet --out lung-split
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    sp = subparsers.add_parser(
        "split", help="split a real table (a bundled dataset or your CSV/Parquet) into train and holdout files",
        description=f"Split a real table by the SAFE protocol ({1 - HOLDOUT_FRACTION:.0%} train / "
        f"{HOLDOUT_FRACTION:.0%} holdout, seeded, stratified on the survival event or the target) and write "
        "train, holdout and schema.json: train your generator on train, keep the holdout for `safe-bench evaluate "
        "--holdout`. The files hold the rows as read (whole numbers stay whole); identifier columns are kept in "
        "them and left out of every metric.",
        epilog=EXAMPLES)
    sp.add_argument("table", metavar="DATASET_OR_FILE",
                    help=f"a bundled dataset ({', '.join(list_datasets())}) or a CSV/TSV/Parquet file")
    sp.add_argument("--out", required=True, type=output(folder=True), help="output folder")
    sp.add_argument("--seed", type=SEED, default=0, help="seed of the split (default 0)")
    sp.add_argument("--format", choices=["csv", "parquet"],
                    help="format of the written tables (default: the input file's, csv for a bundled dataset)")
    sp.add_argument("--schema", help="schema file (.toml/.json) for a file; may list only the columns it sets")
    add_role_options(sp)
    sp.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.table in list_datasets():
        if args.schema or args.time or args.event or args.target or args.qi or args.sensitive or args.event_value:
            raise InputError(f"{args.table!r} is a bundled dataset with its own schema: --schema and the role flags "
                             "are for a file of your own")
        dataset = load_dataset(args.table)
        name, frame, schema, fmt = dataset.name, dataset.frame, dataset.schema, "csv"
    else:
        path = Path(args.table)
        if not path.is_file():
            raise InputError(f"{args.table!r} is neither a bundled dataset ({', '.join(list_datasets())}) "
                             "nor an existing file")
        frame = read_real(args, args.table, table="real")
        name, schema = path.stem, file_schema(args, frame)
        fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    parts = split(conform(frame, schema, table="real"), schema, seed=args.seed)
    out, fmt = Path(args.out), args.format or fmt
    for part, rows in (("train", parts.train_rows), ("holdout", parts.holdout_rows)):
        write_table(frame.iloc[rows].reset_index(drop=True), out / f"{part}.{fmt}")
    write_text(json.dumps(schema.to_dict(), indent=2) + "\n", out / "schema.json")
    how = f"stratified on {parts.stratified_on}" if parts.stratified_on else "not stratified"
    print(f"{name}: train {len(parts.train)} rows, holdout {len(parts.holdout)} rows "
          f"(seed {args.seed}, {how}) written to {out}/\n"
          f"next: fit your generator on {out}/train.{fmt}, then\n"
          f"  safe-bench evaluate --real {out}/train.{fmt} --holdout {out}/holdout.{fmt} "
          f"--schema {out}/schema.json --synthetic YOUR_SYNTHETIC.csv --html report.html")
    return 0
