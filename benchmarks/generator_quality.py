"""Do the reference generators beat ``independent`` on S and on C? (issue 7)

Reads the store written by ``safe-bench run benchmarks/generators.toml`` and prints, per
dataset and generator, the S, C, P and SAFE scores (mean over seeds with a 95 % t
interval), the fit + sample time (median over seeds, as the runner measured it), and
for every generator the paired difference to ``independent`` on S and on C (mean over
seeds, seeds won, paired bootstrap interval). Ends with the metrics that entered the
pillars, since the S and C pillars are the mean of whatever metrics applied.

    safe-bench run benchmarks/generators.toml --jobs 2
    python benchmarks/generator_quality.py generators.sqlite [--markdown OUT.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from safe_bench.benchmark.ranking import paired_difference, seed_means
from safe_bench.benchmark.store import Store
from safe_bench.report.markdown import table

BASELINE = "independent"
PILLARS = ("S", "C", "P", "SAFE")


def _cell(mean: float, low: float, high: float, status: str = "ok") -> str:
    if status != "ok":
        return status
    return "-" if pd.isna(mean) else f"{mean:.3f}" + ("" if pd.isna(low) else f" [{low:.3f}, {high:.3f}]")


def summary(store: Store) -> pd.DataFrame:
    """One row per (dataset, generator): pillar means over seeds with their 95 % intervals
    (:func:`safe_bench.benchmark.ranking.combine_seeds`) and the median time."""
    rows: dict[tuple[str, str], dict[str, object]] = {}
    for pillar in PILLARS:
        for r in seed_means(store.scores(pillar)).itertuples():
            rows.setdefault((r.dataset, r.generator), {})[pillar] = _cell(r.mean, r.ci_low, r.ci_high, r.status)
    cells = store.cells()
    cells["fit+sample s"] = cells["fit_seconds"] + cells["sample_seconds"]
    timing = cells.groupby(["dataset", "generator"])["fit+sample s"].median()
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["dataset", "generator"])
    return table.join(timing.round(1))


def against_baseline(store: Store) -> pd.DataFrame:
    """Per dataset and generator: S and C minus the baseline's, paired by seed."""
    scores = {pillar: store.scores(pillar) for pillar in ("S", "C")}
    cells = scores["S"]
    rows = []
    for dataset in sorted(cells["dataset"].unique()):
        for generator in sorted(set(cells["generator"]) - {BASELINE}):
            for pillar, frame in scores.items():
                d = paired_difference(frame, generator, BASELINE, dataset=dataset)
                wide = frame[frame["dataset"] == dataset].pivot(index="seed", columns="generator", values="score")
                won = int((wide[generator] > wide[BASELINE]).sum())
                rows.append({"dataset": dataset, "generator": generator, "pillar": pillar,
                             f"minus {BASELINE}": f"{d.mean:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}]",
                             "seeds won": f"{won}/{d.pairs}", "beats": d.mean > 0 and won == d.pairs})
    return pd.DataFrame(rows).set_index(["dataset", "generator", "pillar"])


def metrics_used(store: Store) -> dict[str, list[str]]:
    """Metric ids that scored (status ok) in at least one cell, per pillar."""
    results = store.results()
    ok = results[(results["kind"] == "metric") & (results["status"] == "ok")]
    return {p: sorted(ok.loc[ok["pillar"] == p, "metric"].unique()) for p in ("S", "C", "P")}


def markdown(frame: pd.DataFrame) -> str:
    """A frame with a (multi-)index as a Markdown table."""
    flat = frame.reset_index()
    return table(list(map(str, flat.columns)), [[str(v) for v in row] for row in flat.itertuples(index=False)])


def report(store: Store) -> str:
    lines = ["Scores (mean over seeds, 95 % interval: each seed's bootstrap and the spread between seeds) "
             "and fit + sample seconds (median over seeds)", "",
             markdown(summary(store)), "", f"Paired by seed against `{BASELINE}`", "",
             markdown(against_baseline(store)), "", "Metrics in the pillars:"]
    lines += [f"- {pillar}: {', '.join(ids)}" for pillar, ids in metrics_used(store).items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="results store of benchmarks/generators.toml")
    parser.add_argument("--markdown", help="also write the report to this file")
    args = parser.parse_args(argv)
    with Store(args.store, readonly=True) as store:
        text = report(store)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
