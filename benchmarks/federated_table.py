"""README's tables of the federated scenarios, from the JSON that
``benchmarks/test_federated_speed.py`` writes (or any ``safe-bench scenario federated --json``).

    python -m benchmarks.federated_table benchmarks/results/federated-*.json [--figures docs/img]

One table per file: per scenario and site, SAFE, CSF, GSF and NNDR at the last round
(mean over seeds [interval]), the share of the centralized gain recovered, and the
partition's heterogeneity; then the Welch tests. With ``--figures``, each file's CSF, GSF
and NNDR round by round (a panel per site, a line per scenario) as SVG files there.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _cell(entry: dict) -> str:
    if entry["mean"] is None:
        return entry.get("status", "–")
    low, high = entry["ci_low"], entry["ci_high"]
    return f"{entry['mean']:.3f}" + ("" if low is None or high is None else f" [{low:.3f}, {high:.3f}]")


def table(data: dict) -> str:
    h = data["partition"]["heterogeneity"]
    lines = [f"**{data['generator']} on {data['dataset']}, partition `{data['partition']['spec']}`** "
             f"(H = {h['mean']:.4f}; {data['sites']} sites, {data['rounds']} rounds of {data['epochs']} epoch(s), "
             f"seeds {', '.join(map(str, data['seeds']))}; last round):", "",
             "| scenario | site | SAFE | CSF | GSF | NNDR | P other sites | recovered gain |",
             "|---|---|---|---|---|---|---|---|"]
    for scenario, result in data["scenarios"].items():
        for site, entry in result["sites"].items():
            last = entry["rounds"][-1]
            gain = entry.get("recovered_gain")
            gain_text = "" if "recovered_gain" not in entry else (f"{gain:.2f}" if gain is not None else "–")
            lines.append(f"| {scenario} | {site} | " + " | ".join(_cell(last[q]) for q in
                                                                 ("SAFE", "CSF", "GSF", "NNDR", "P_other_sites"))
                         + f" | {gain_text} |")
    worst = [f"{s}: {r['worst_site']['site']}" for s, r in data["scenarios"].items() if r["worst_site"]]
    lines += ["", "Worst site: " + "; ".join(worst) + "."]
    return "\n".join(lines)


def tests(data: dict) -> str:
    lines = ["| a | b | site | SAFE a - b | Welch t | p |", "|---|---|---|---|---|---|"]
    for t in data["tests"]:
        diff = "–" if t["difference"] is None else f"{t['difference']:+.3f}"
        lines.append(f"| {t['a']} | {t['b']} | {t['site']} | {diff} | "
                     f"{'–' if t['t'] is None else format(t['t'], '.2f')} | "
                     f"{t['note'] if t['p'] is None else format(t['p'], '.3g')} |")
    return "\n".join(lines)


def figures(data: dict, folder: Path, stem: str) -> list[Path]:
    """CSF, GSF and NNDR by round, drawn by the page's own figure (SVG files)."""
    from urllib.parse import unquote

    from safe_bench.metrics.charts import Curve
    from safe_bench.report.figures import line_panels

    written = []
    rounds = list(range(1, data["rounds"] + 1))
    for quantity in ("CSF", "GSF", "NNDR"):
        panels = {}
        for site in (*data["site_names"], "global"):
            lines = []
            for scenario, result in data["scenarios"].items():
                points = [r[quantity] for r in result["sites"][site]["rounds"]]
                if all(p["mean"] is not None for p in points):
                    lines.append(Curve(scenario, rounds, [p["mean"] for p in points],
                                       [p["ci_low"] if p["ci_low"] is not None else p["mean"] for p in points],
                                       [p["ci_high"] if p["ci_high"] is not None else p["mean"] for p in points]))
            panels[site] = lines
        figure = line_panels(f"{quantity} by round", panels, xlabel="round", ylabel=quantity)
        if figure.image:
            path = folder / f"{stem}-{quantity.lower()}.svg"
            path.write_text(unquote(figure.image.removeprefix("data:image/svg+xml,")))
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--figures", type=Path, help="folder for the SVG curves")
    args = parser.parse_args()
    for path in args.files:
        data = json.loads(path.read_text())
        print(table(data), "", tests(data), "", sep="\n")
        if args.figures:
            args.figures.mkdir(parents=True, exist_ok=True)
            for written in figures(data, args.figures, path.stem):
                print(f"wrote {written}")


if __name__ == "__main__":
    main()
