"""The page of a federated study (:class:`FederatedPage`), rendered as terminal text,
Markdown and HTML from the one model: the partition and its heterogeneity, a table per
site and scenario at the last round (SAFE, CSF, GSF, NNDR, privacy against the other
sites' rows, the share of the centralized gain recovered), the worst site of each
scenario, Welch's tests between scenarios, and the round-by-round curves (SAFE, CSF,
GSF, NNDR: one panel per site, one line per scenario, bands over seeds).
"""

from __future__ import annotations

from dataclasses import dataclass

from safe_bench.benchmark.seeds import Estimate
from safe_bench.metrics.charts import Curve
from safe_bench.report.figures import Figure, line_panels
from safe_bench.report.format import ci_text, fmt
from safe_bench.report.markdown import escape
from safe_bench.report.markdown import table as markdown_table
from safe_bench.report.text import table as text_table
from safe_bench.scenarios.federated.measures import GLOBAL, Welch, recovered_gain, worst_site
from safe_bench.scenarios.federated.study import FederatedResult

#: The quantities of the site table and of the curves, with what they mean.
SHOWN = {"SAFE": "SAFE", "CSF": "clinical synthetic fidelity", "GSF": "genomic synthetic fidelity",
         "NNDR": "nearest-neighbour distance ratio (P.nndr score)", "P_other_sites": "privacy against the other sites"}
CURVES = ("SAFE", "CSF", "GSF", "NNDR")
SITE_HEADER = ("scenario", "site", "SAFE", "CSF", "GSF", "NNDR", "P other sites", "recovered gain")
TEST_HEADER = ("a", "b", "site", "difference in SAFE (a - b)", "Welch t", "p", "note")


@dataclass(frozen=True)
class FederatedPage:
    """What a federated study's pages show (see the module docstring)."""

    title: str
    facts: tuple[str, ...]
    sites: tuple[tuple[str, ...], ...]
    worst: tuple[str, ...]
    tests: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


def _cell(e: Estimate) -> str:
    if e.score is None:
        return e.status
    interval = ci_text(e.ci_low, e.ci_high)
    return fmt(e.score) + (f" {interval}" if interval else "")


def _test_cells(t: Welch) -> tuple[str, ...]:
    return (t.a, t.b, t.site, "–" if t.difference is None else f"{t.difference:+.3f}",
            "–" if t.t is None else f"{t.t:.2f}", "–" if t.p is None else f"{t.p:.3g}", t.note)


def federated_page(result: FederatedResult) -> FederatedPage:
    """The page model of a federated study's result."""
    s = result.study
    names = result.site_names
    h = [float(p["heterogeneity"]) for p in result.partitions]
    sizes = ", ".join(f"{site['name']} {site['train_rows']}+{site['holdout_rows']}"
                      for site in result.partitions[0]["sites"])
    facts = (f"{s.dataset} x {s.generator_name}: {len(names)} sites, {s.rounds} round(s) of {s.epochs} local epoch(s), "
             f"seeds {', '.join(map(str, s.seeds))}, {s.n_bootstrap} bootstrap resamples per evaluation",
             f"partition {s.partition.text}: heterogeneity H = mean JSD(site || pool) = "
             + (f"{h[0]:.4f}" if len(h) == 1 else f"{sum(h) / len(h):.4f} (seeds {min(h):.4f}-{max(h):.4f})"),
             f"sites (train+holdout rows, seed {s.seeds[0]}): {sizes}",
             "F_k: a site's table judged for the site (S and C against its holdout, P against its train); global: "
             "the federation's table against the pooled holdout and train; intervals over seeds.")
    rows = []
    for scenario in s.scenarios:
        for name in [*names, GLOBAL]:
            curves = result.curves(scenario, name)
            gain = ""
            if scenario not in ("centralized", "isolated") and name != GLOBAL:
                value, why = recovered_gain(result.rows, scenario, name, s.rounds)
                gain = f"{value:.2f}" if value is not None else why
            rows.append((scenario, name, *(_cell(curves[q][-1]) for q in SHOWN), gain))
    worst = []
    for scenario in s.scenarios:
        found = worst_site(result.rows, scenario, names, s.rounds)
        if found is not None:
            worst.append(f"{scenario}: {found[0]} (SAFE {_cell(found[1])})")
    lost: dict[tuple[str, str], list[str]] = {}
    for m in result.rows:
        if m.note:
            lost.setdefault((m.scenario, m.site), []).append(m.note)
    notes = tuple(f"{scenario}, {site}: not scored in {len(why)} round(s) over the seeds; first: {why[0]}"
                  for (scenario, site), why in lost.items())
    return FederatedPage(f"Federated: {s.generator_name} on {s.dataset}", facts, tuple(rows), tuple(worst),
                         tuple(_test_cells(t) for t in result.tests()), notes)


def federated_figures(result: FederatedResult) -> list[Figure]:
    """SAFE, CSF, GSF and NNDR round by round: a panel per site, a line per scenario."""
    s = result.study
    figures = []
    rounds = list(range(1, s.rounds + 1))
    for quantity in CURVES:
        panels = {}
        for name in [*result.site_names, GLOBAL]:
            lines = []
            for scenario in s.scenarios:
                est = result.curves(scenario, name)[quantity]
                if all(e.score is not None for e in est):
                    lines.append(Curve(scenario, rounds, [e.score for e in est],  # type: ignore[misc]
                                       [e.ci_low if e.ci_low is not None else e.score for e in est],  # type: ignore[misc]
                                       [e.ci_high if e.ci_high is not None else e.score for e in est]))  # type: ignore[misc]
            panels[name] = lines
        figures.append(line_panels(f"{quantity} by round: {SHOWN[quantity]}", panels, xlabel="round", ylabel=quantity,
                                   caption=f"{SHOWN[quantity]} of each site's synthetic table (its own holdout) and of the "
                                   "federation's (global), per round; bands: 95 % intervals over seeds."))
    return figures


def federated_text(result: FederatedResult) -> str:
    page = federated_page(result)
    parts = [page.title, *page.facts, "", "At the last round:", text_table(page.sites, SITE_HEADER), "",
             "Worst site (lowest SAFE at the last round):", *[f"  {w}" for w in page.worst], ""]
    if page.notes:
        parts += ["Not scored:", *[f"  {n}" for n in page.notes], ""]
    if page.tests:
        parts += ["Welch tests over seeds (SAFE at the last round):", text_table(page.tests, TEST_HEADER)]
    return "\n".join(parts).rstrip() + "\n"


def federated_markdown(result: FederatedResult) -> str:
    page = federated_page(result)
    parts = [f"# {escape(page.title)}", "", *[f"- {escape(f)}" for f in page.facts], "", "## At the last round", "",
             markdown_table([escape(h) for h in SITE_HEADER], [[escape(c) for c in r] for r in page.sites]), "",
             "## Worst site", "", *[f"- {escape(w)}" for w in page.worst], ""]
    if page.notes:
        parts += ["## Not scored", "", *[f"- {escape(n)}" for n in page.notes], ""]
    if page.tests:
        parts += ["## Welch tests over seeds", "",
                  markdown_table([escape(h) for h in TEST_HEADER], [[escape(c) for c in r] for r in page.tests]), ""]
    for f in federated_figures(result):
        if f.image:
            parts += [f"### {escape(f.title)}", "", f'<img alt="{escape(f.title)}" src="{f.image}">', "",
                      escape(f.caption), ""]
    return "\n".join(parts).rstrip() + "\n"


def federated_html(result: FederatedResult) -> str:
    from safe_bench.report.html import render

    page = federated_page(result)
    return render("federated.html", title=page.title, page=page, figures=federated_figures(result),
                  site_header=SITE_HEADER, test_header=TEST_HEADER)
