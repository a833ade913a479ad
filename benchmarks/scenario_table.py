"""README's tables of the use-case scenarios: every bundled generator as a synthetic
control arm of ACTG 320 (AIDS) and as augmentation of mds_ipssr_sim at n = 100.

    python -m benchmarks.scenario_table --out scenario-runs     # about 40 minutes on 2 cores

Each run is one ``safe-bench scenario`` command (``--jobs 2``, a store per run in
``--out``, so an interrupted run resumes); fast generators get 1,000 control-arm and 500
augmentation replicates, deep ones 50 (their default settings; ``ctwgan`` at 100
epochs). The Markdown tables are printed from the runs' JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

FAST = ("gaussian_copula", "independent", "bootstrap_copy")
DEEP = {"tvae": [], "ctwgan": ["--option", "epochs=100"], "tabddpm": []}
AUGMENTED_DEEP = ("tvae",)


def _run(out: Path, name: str, args: list[str]) -> None:
    if (out / f"{name}.json").exists():
        return
    subprocess.run([sys.executable, "-m", "safe_bench.cli", "scenario", *args, "--jobs", "2", "-q",
                    "--store", str(out / f"{name}.sqlite"), "--json", str(out / f"{name}.json")], check=True)


def run_all(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    control = ["control-arm", "--dataset", "aids"]
    augment = ["augmentation", "--dataset", "mds_ipssr_sim", "--n", "100", "--ratios", "0,0.5,1,3"]
    for g in FAST:
        _run(out, f"ca-{g}", [*control, "--generator", g, "--replicates", "1000"])
        _run(out, f"aug-{g}", [*augment, "--generator", g, "--replicates", "500"])
    for g, options in DEEP.items():
        _run(out, f"ca-{g}", [*control, "--generator", g, *options, "--replicates", "50", "--batch", "5"])
    for g in AUGMENTED_DEEP:
        _run(out, f"aug-{g}", [*augment, "--generator", g, *DEEP[g], "--replicates", "50", "--batch", "5"])


def _num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _pm(oc: dict, key: str) -> str:
    return f"{_num(oc[key])} ± {_num(oc['mc_error'][key])}"


def _name(d: dict) -> str:
    return d["generator"] + ("" if not d["params"] else " (" + ", ".join(f"{k}={v}" for k, v in d["params"].items()) + ")")


def tables(out: Path) -> str:
    lines = ["| generator | R | HR, synthetic controls | type I naive | type I corrected | power real / naive / "
             "corrected | coverage naive / corrected | bias (naive) | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for g in [*FAST, *DEEP]:
        path = out / f"ca-{g}.json"
        if not path.exists():
            continue
        d = json.loads(path.read_text())
        oc, v = d["operating_characteristics"], d["verdict"]
        lines.append(f"| {_name(d)} | {d['replicates']} | {math.exp(d['replication']['naive']['estimate']):.3f} | "
                     f"{_pm(oc['naive'], 'type_i_error')} | {_pm(oc['corrected'], 'type_i_error')} | "
                     f"{_num(oc['real']['power'], 2)} / {_num(oc['naive']['power'], 2)} / "
                     f"{_num(oc['corrected']['power'], 2)} | {_num(oc['naive']['coverage'], 2)} / "
                     f"{_num(oc['corrected']['coverage'], 2)} | {_num(oc['naive']['bias'])} | "
                     f"{'fit (' + v['analysis'] + ')' if v['fit'] else 'not fit'} |")
    lines += ["", "| generator | R | ratio | type I naive | type I corrected | power naive | power corrected | "
              "ESS (nominal) |", "|---|---|---|---|---|---|---|---|"]
    for g in [*FAST, *AUGMENTED_DEEP]:
        path = out / f"aug-{g}.json"
        if not path.exists():
            continue
        d = json.loads(path.read_text())
        for r in d["operating_characteristics"]["ratios"]:
            ess = f"{_num(r['ess'], 0)} ({r['nominal_n']:.0f})" + (" flagged" if r["ess_flagged"] else "")
            lines.append(f"| {_name(d)} | {d['replicates']} | {r['ratio']:g} | {_pm(r['naive'], 'type_i_error')} | "
                         f"{_pm(r['corrected'], 'type_i_error')} | {_num(r['naive']['power'], 2)} | "
                         f"{_num(r['corrected']['power'], 2)} | {ess} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("scenario-runs"), help="folder of the runs' stores and JSON")
    parser.add_argument("--tables-only", action="store_true", help="print the tables of the runs already in --out")
    args = parser.parse_args()
    if not args.tables_only:
        run_all(args.out)
    print(tables(args.out))


if __name__ == "__main__":
    main()
