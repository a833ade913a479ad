"""``safe-bench schema infer``: the schema safe-bench would use for a table, written as a
TOML file to edit, each column commented with why its kind was chosen."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safe_bench.cli.options import add_role_options, file_schema, output, read_real
from safe_bench.data.io import write_text
from safe_bench.data.schema import MAX_INTEGER_CATEGORIES, read_schema_file, survival_hint
from safe_bench.data.schema_toml import kind_reasons, schema_toml
from safe_bench.provenance import __version__

EXAMPLES = """examples:
  safe-bench schema infer cohort.csv --out schema.toml
  safe-bench schema infer cohort.csv --time os_months --event death --qi age,sex --sensitive diagnosis --out schema.toml
  safe-bench schema infer cohort.csv --schema mine.toml --out schema.toml   # complete a partial schema
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    sc = subparsers.add_parser("schema", help="infer a table's schema and write it as an annotated TOML file",
                               description="Work with schema files (column kinds and roles).")
    commands = sc.add_subparsers(dest="schema_command", required=True, metavar="COMMAND")
    inf = commands.add_parser(
        "infer", help="write the inferred schema of a CSV/Parquet file, commented",
        description="Infer the kind of every column of FILE (numeric, categorical, boolean, datetime, id) and write "
        "the schema as TOML, each column commented with the rule that chose its kind. Edit it and pass it to "
        "`evaluate --schema`: a schema file may list only the columns it sets, the others are inferred. Roles come "
        "from the flags (survival endpoint, target, quasi-identifiers, sensitive columns) or from --schema.",
        epilog=EXAMPLES)
    inf.add_argument("file", metavar="FILE", help="CSV/TSV/Parquet table of real rows")
    inf.add_argument("--schema", help="a partial schema file (.toml/.json) to complete")
    add_role_options(inf)
    inf.add_argument("--out", type=output(), help="write the TOML here (default: print it)")
    inf.add_argument("-q", "--quiet", action="store_true", help="print no hint")
    sc.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the schema command asked for (``infer``, the only one)."""
    return infer(args)


def infer(args: argparse.Namespace) -> int:
    frame = read_real(args, args.file, table="real")
    schema = file_schema(args, frame)
    listed = read_schema_file(args.schema).get("columns", {}) if args.schema else {}
    declared = {str(c): f"set in {Path(args.schema).name}" for c in listed}
    if schema.survival is not None:
        declared[schema.survival.time] = "survival time (--time)"
        declared[schema.survival.event] = "survival event: 1 = event, 0 = censored (--event)"
    header = [f"Schema of {Path(args.file).name} ({len(frame)} rows), inferred by safe-bench {__version__}.",
              "Kinds: numeric, categorical, boolean, datetime, id (id columns are left out of every metric).",
              f"Whole numbers with at most {MAX_INTEGER_CATEGORIES} distinct values are read as codes (categorical);",
              "change any kind below. A schema file may list only the columns it sets: the rest are inferred.",
              "Use it with: safe-bench evaluate --schema THIS_FILE --real ... --synthetic ... --holdout ..."]
    hint = survival_hint(frame) if schema.survival is None else None
    if hint:
        header += ["", f"{hint},", "or add a [survival] section naming its time and event columns to this file."]
    text = schema_toml(schema, comments=kind_reasons(frame, schema, declared), header=header)
    if args.out:
        write_text(text, args.out)
        if not args.quiet:
            print(f"schema of {len(schema.kinds)} columns written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
