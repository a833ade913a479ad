"""The page of a scenario study (:class:`ScenarioPage`), rendered as terminal text,
Markdown and HTML from the one model: the estimand, the replication of the real trial
(control arm), the operating characteristics of each analysis with their Monte-Carlo
errors (per ratio for augmentation, with the effective sample size), the verdict and
its checks. Figures: the real and synthetic-control estimates as a forest plot, and
type I error and power with Monte-Carlo intervals beside the 0.05 line. A power is
never shown without its type I error beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from safe_bench.report.markdown import escape
from safe_bench.report.markdown import table as markdown_table
from safe_bench.report.text import table as text_table
from safe_bench.scenarios.inference import OperatingCharacteristics
from safe_bench.scenarios.study import StudyResult
from safe_bench.scenarios.verdict import Check

if TYPE_CHECKING:
    from safe_bench.report.figures import Figure

#: The analyses' names on the page.
ANALYSIS_NAMES = {"real": "real controls", "naive": "naive", "corrected": "corrected (synthesis variance)",
                  "bootstrap": "generator-aware bootstrap"}


@dataclass(frozen=True)
class RateCell:
    """A Monte-Carlo estimate and its error."""

    value: float | None
    mc_error: float | None

    def text(self, digits: int = 3) -> str:
        if self.value is None:
            return "-"
        return f"{self.value:.{digits}f}" + ("" if self.mc_error is None else f" +/- {self.mc_error:.{digits}f}")


@dataclass(frozen=True)
class OcRow:
    """One analysis (at one ratio) of the operating-characteristics table."""

    ratio: float | None
    analysis: str
    type_i_error: RateCell
    power: RateCell
    coverage: RateCell
    bias: RateCell
    rmse: RateCell
    failed: int
    ess: float | None = None
    nominal: float | None = None
    ess_flagged: bool = False
    fdr: RateCell | None = None


@dataclass(frozen=True)
class ReplicationRow:
    """The real trial's estimate, or one analysis with synthetic controls and how it agrees."""

    analysis: str
    estimate: float
    low: float
    high: float
    agreement: tuple[bool, bool, float, float] | None  # estimate, decision, std. difference, CI overlap


@dataclass(frozen=True)
class ScenarioPage:
    """What a scenario's pages show (see the module docstring)."""

    title: str
    facts: tuple[str, ...]
    hazard_ratio: bool
    replication: tuple[ReplicationRow, ...]
    rows: tuple[OcRow, ...]
    verdict: str
    fit: bool
    checks: tuple[Check, ...]
    notes: tuple[str, ...]


def _row(oc: OperatingCharacteristics, analysis: str, ratio: float | None) -> OcRow:
    mc = oc.mc_error
    return OcRow(ratio, analysis, RateCell(oc.type_i_error, mc.type_i_error), RateCell(oc.power, mc.power),
                 RateCell(oc.coverage, mc.coverage), RateCell(oc.bias, mc.bias), RateCell(oc.rmse, mc.rmse),
                 oc.failed)


def scenario_page(result: StudyResult, notes: Sequence[str] = ()) -> ScenarioPage:
    """The page model of a study's result."""
    s = result.study
    hazard = s.design.analysis != "rmst"
    scale = "log hazard ratio" if hazard else "RMST difference"
    facts = [f"{s.dataset} x {s.generator_name}: {s.replicates} replicates, seed {s.seed}",
             f"estimand: {s.estimand} ({s.estimand_source}), {s.design.analysis} analysis on the {scale} scale",
             "truth judged against: " + ("0, under the null (randomised)" if s.scenario == "control_arm"
                                         else f"{s.truth:.4g}, the estimate on the full table")]
    replication: list[ReplicationRow] = []
    if result.replication is not None:
        rep = result.replication
        (low, high) = rep.real.interval()
        replication.append(ReplicationRow("real controls", rep.real.value, low, high, None))
        for name, a in (("naive", rep.naive), ("corrected", rep.corrected), ("bootstrap", rep.bootstrap)):
            if a is not None:
                lo, hi = a.estimate.interval()
                replication.append(ReplicationRow(ANALYSIS_NAMES[name], a.estimate.value, lo, hi,
                                                  (a.estimate_agreement, a.decision_agreement,
                                                   a.standardized_difference, a.ci_overlap)))
    rows = [_row(oc, ANALYSIS_NAMES[name], None) for name, oc in result.analyses.items()]
    for r in result.ratios:
        # at ratio 0 every analysis is the real rows' own
        analyses = {"naive": r.analyses["naive"]} if r.size.ratio == 0 else r.analyses
        for name, oc in analyses.items():
            row = _row(oc, "real rows only" if r.size.ratio == 0 else ANALYSIS_NAMES[name], r.size.ratio)
            found = r.false_discovery.get(name)
            rows.append(OcRow(**{**row.__dict__, "ess": r.size.ess, "nominal": r.size.nominal,
                                 "ess_flagged": r.size.flagged,
                                 "fdr": None if found is None else RateCell(found.rate, found.mc_error)}))
    title = f"{'Synthetic control arm' if s.scenario == 'control_arm' else 'Augmentation'}: {s.generator_name} on {s.dataset}"
    return ScenarioPage(title, tuple(facts), hazard, tuple(replication), tuple(rows), result.verdict.summary,
                        result.verdict.fit, result.verdict.checks, tuple(notes))


def _replication_cells(r: ReplicationRow, hazard: bool) -> list[str]:
    shown = np.exp([r.estimate, r.low, r.high]) if hazard else np.array([r.estimate, r.low, r.high])
    cells = [r.analysis, f"{shown[0]:.3f} [{shown[1]:.3f}, {shown[2]:.3f}]"]
    if r.agreement is None:
        return [*cells, "", "", "", ""]
    inside, decision, std, overlap = r.agreement
    return [*cells, "yes" if inside else "no", "yes" if decision else "no", f"{std:.2f}", f"{overlap:.2f}"]


REPLICATION_HEADER = ("analysis", "HR [95% CI]", "in real CI", "same decision", "std. difference", "CI overlap")
OC_HEADER = ("ratio", "analysis", "type I error", "power", "coverage", "bias", "RMSE", "ESS (nominal)", "FDR (BH)",
             "failed")


def _oc_cells(r: OcRow) -> list[str]:
    ess = "" if r.nominal is None else (f"{r.ess:.0f} ({r.nominal:.0f})" if r.ess is not None else f"- ({r.nominal:.0f})")
    if r.ess_flagged:
        ess += " flagged"
    return ["" if r.ratio is None else f"{r.ratio:g}", r.analysis, r.type_i_error.text(), r.power.text(),
            r.coverage.text(), r.bias.text(), r.rmse.text(), ess, "" if r.fdr is None else r.fdr.text(),
            str(r.failed)]


def _header(page: ScenarioPage, header: Sequence[str]) -> list[str]:
    return [h if h != "HR [95% CI]" or page.hazard_ratio else "estimate [95% CI]" for h in header]


def _columns(page: ScenarioPage) -> list[int]:
    """The operating-characteristics columns this page fills (no ratio or ESS for a control arm)."""
    augmentation = any(r.ratio is not None for r in page.rows)
    findings = any(r.fdr is not None for r in page.rows)
    return [i for i, h in enumerate(OC_HEADER)
            if (augmentation or h not in ("ratio", "ESS (nominal)")) and (findings or h != "FDR (BH)")]


def scenario_text(result: StudyResult, notes: Sequence[str] = ()) -> str:
    """The study for the terminal."""
    page = scenario_page(result, notes)
    parts = [page.title, *page.facts, ""]
    if page.replication:
        parts += ["Replication of the real trial:",
                  text_table([_replication_cells(r, page.hazard_ratio) for r in page.replication],
                        _header(page, REPLICATION_HEADER)), ""]
    keep = _columns(page)
    parts += ["Operating characteristics (Monte-Carlo error after +/-):",
              text_table([[_oc_cells(r)[i] for i in keep] for r in page.rows], [OC_HEADER[i] for i in keep]), "",
              f"verdict: {page.verdict}"]
    parts += [f"note: {n}" for n in page.notes]
    return "\n".join(parts)


def scenario_markdown(result: StudyResult, notes: Sequence[str] = ()) -> str:
    """The study as Markdown, its figures inline (SVG data URIs)."""
    page = scenario_page(result, notes)
    figures = scenario_figures(page)
    keep = _columns(page)
    parts = [f"# {escape(page.title)}", "", *[f"- {escape(f)}" for f in page.facts], ""]
    if page.replication:
        parts += ["## Replication of the real trial", "",
                  markdown_table([escape(h) for h in _header(page, REPLICATION_HEADER)],
                        [[escape(c) for c in _replication_cells(r, page.hazard_ratio)] for r in page.replication]),
                  ""]
    parts += ["## Operating characteristics", "", "Monte-Carlo error after +/-.", "",
              markdown_table([escape(OC_HEADER[i]) for i in keep],
                             [[escape(_oc_cells(r)[i]) for i in keep] for r in page.rows]),
              "", f"**Verdict:** {escape(page.verdict)}", ""]
    parts += [f"- note: {escape(n)}" for n in page.notes]
    for f in figures:
        if f.image:
            parts += ["", f"### {escape(f.title)}", "", f'<img alt="{escape(f.title)}" src="{f.image}">', "",
                      escape(f.caption)]
    return "\n".join(parts).rstrip() + "\n"


def scenario_figures(page: ScenarioPage) -> list[Figure]:
    """The forest plot of the replication and the rates chart."""
    from safe_bench.metrics.charts import Effect
    from safe_bench.report.figures import forest, rates

    figures = []
    if page.replication:
        real = page.replication[0]
        as_hr = (lambda v: float(np.exp(v))) if page.hazard_ratio else float
        triple = (as_hr(real.estimate), as_hr(real.low), as_hr(real.high))
        effects = [Effect(r.analysis, triple, (as_hr(r.estimate), as_hr(r.low), as_hr(r.high)))
                   for r in page.replication[1:]]
        figures.append(forest("Real and synthetic controls", effects, log=page.hazard_ratio,
                              null=1.0 if page.hazard_ratio else 0.0, labels=("real controls", "synthetic controls", ""),
                              xlabel="hazard ratio (log scale)" if page.hazard_ratio else "RMST difference",
                              caption="The trial's estimate with its real control arm (grey), and with synthetic "
                              f"controls analysed {len(effects)} way(s) (blue); 95 % intervals."))
    figures.append(rates("Type I error and power", page.rows))
    return figures


def scenario_html(result: StudyResult, notes: Sequence[str] = ()) -> str:
    """The study as a self-contained HTML page."""
    from safe_bench.report.html import render

    page = scenario_page(result, notes)
    keep = _columns(page)
    return render("scenario.html", title=page.title, page=page, figures=scenario_figures(page),
                  replication_header=_header(page, REPLICATION_HEADER),
                  replication=[_replication_cells(r, page.hazard_ratio) for r in page.replication],
                  oc_header=[OC_HEADER[i] for i in keep], oc=[[_oc_cells(r)[i] for i in keep] for r in page.rows])
