"""C.findings: is the clinical message of train reproduced on the table under test?

The findings are the schema's, or else derived from train: every Cox term of the
multivariable model ("pnodes raises the hazard: HR > 1") and every group variable's
log-rank test ("survival differs across tgrade") with p < 0.05, Benjamini-Hochberg
adjusted over all those candidates. The schema's primary effect (treatment or
exposure) is always a finding, listed first, and weighs as much as all the others
together (:func:`~safe_bench.data.claims.claim_weights`).

Each finding is judged by direction and effect size, not by significance alone:

- a hazard ratio by the standardized difference of its log hazard ratio on the table
  and on train (Chassat et al. 2025; :func:`~safe_bench.metrics.clinical.cox.
  standardized_difference`), scored 1 up to 1.96 and ``1.96 / d`` beyond, beside the
  interval overlap (Karr et al. 2006);
- a log-rank difference by the distance between the groups' log O/E
  (:func:`~safe_bench.metrics.clinical.logrank.agreement`).

A hazard ratio that the table shows with the opposite sign, significant on train or
beyond real sampling (or a significant log-rank difference whose best and worst groups
swap places) is **reversed** and scores 0, however many other
findings agree. Verdicts: ``reproduced`` (within real sampling), ``differs`` (same
direction, larger difference than real sampling gives), ``reversed``, ``lost`` (the
table lost a group level).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control

from safe_bench.data.claims import (
    HAZARD_RATIO,
    LOGRANK,
    Finding,
    claim_weights,
    weighted_score,
)
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream, within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import (
    ALPHA,
    Group,
    groups,
    require_events,
    size_factor,
)
from safe_bench.metrics.clinical.cox import (
    coefficient_draws,
    overlaps,
    reversed_terms,
    standardized_difference,
)
from safe_bench.metrics.clinical.coxmodel import (
    Z95,
    CoxPair,
    cox_design,
    cox_pair,
    train_fit,
)
from safe_bench.metrics.clinical.estimators import LogRank
from safe_bench.metrics.clinical.logrank import (
    agreement,
    describe_test,
    reversed_order,
    table_tests,
    train_test,
)


def derived_findings(cmp: Comparison) -> tuple[list[Finding], list[str]]:
    """Every significant Cox hazard ratio and log-rank difference on train, and a note
    for each kind of finding that could not be derived. Significance is judged on
    Benjamini-Hochberg adjusted p-values (Benjamini & Hochberg, JRSS B 1995): the
    derived findings are many tests, and a clinical message should not rest on the
    false discoveries among them."""

    def derive() -> tuple[list[Finding], list[str]]:
        candidates: list[tuple[Finding, float]] = []
        notes: list[str] = []
        try:
            fit, design = train_fit(cmp), cox_design(cmp)
            for i, (_, column, level) in enumerate(design.parts()):
                direction = "higher" if fit.coef[i] > 0 else "lower"
                candidates.append((Finding(HAZARD_RATIO, column, level, direction), float(fit.p[i])))
        except MetricSkipped as exc:
            notes.append(f"no hazard-ratio finding: {exc}")
        for group in groups(cmp)[0]:
            candidates.append((Finding(LOGRANK, group.column), float(train_test(cmp, group).p_value)))
        if not candidates:
            return [], notes
        adjusted = false_discovery_control(np.array([p for _, p in candidates]), method="bh")
        return [f for (f, _), q in zip(candidates, adjusted, strict=True) if q < ALPHA], notes

    return cmp.cached("derived_findings", derive)


@dataclass(frozen=True)
class _Claim:
    """A testable finding: its Cox term or its group variable (by index), and its verdict
    on train."""

    finding: Finding
    holds_in_train: bool
    term: int = -1
    group: Group | None = None
    group_index: int = -1
    primary: bool = False


def _hazard_ratio_holds(finding: Finding, coef: float, p: float) -> bool:
    """Significant, in the claimed direction."""
    return bool(p < finding.alpha and np.sign(coef) == (1.0 if finding.direction == "higher" else -1.0))


def _claims(cmp: Comparison, findings: list[Finding], pair: CoxPair | None, cox_problem: str) -> tuple[list[_Claim], list[str]]:
    """The findings that can be re-tested, and why each other one cannot."""
    kept = groups(cmp)[0]
    index = {g.column: k for k, g in enumerate(kept)}
    primary_term = None if cmp.schema.primary is None else cmp.schema.primary.term
    claims: list[_Claim] = []
    untestable: list[str] = []
    for finding in findings:
        if finding.kind == LOGRANK:
            if finding.column not in index:
                untestable.append(f"{finding.describe()}: {finding.column} has fewer than 2 levels with enough train rows")
                continue
            k = index[finding.column]
            holds = train_test(cmp, kept[k]).p_value < finding.alpha
            claims.append(_Claim(finding, bool(holds), group=kept[k], group_index=k))
        elif pair is None:
            untestable.append(f"{finding.describe()}: {cox_problem}")
        elif (term := pair.design.term_of(finding.column, finding.level)) is None:
            untestable.append(f"{finding.describe()}: {pair.design.why_not(finding.column, finding.level)}")
        else:
            i = pair.train.terms.index(term)
            holds = _hazard_ratio_holds(finding, pair.train.coef[i], pair.train.p[i])
            claims.append(_Claim(finding, holds, term=i, primary=finding.term == primary_term))
    return sorted(claims, key=lambda c: not c.primary), untestable


def _with_primary(cmp: Comparison, findings: list[Finding]) -> list[Finding]:
    """The findings with the schema's primary effect among them (its direction as on
    train when the findings do not claim it)."""
    primary = cmp.schema.primary
    if primary is None or any(f.kind == HAZARD_RATIO and f.term == primary.term for f in findings):
        return findings
    try:
        fit, design = train_fit(cmp), cox_design(cmp)
    except MetricSkipped:
        return findings
    term = design.term_of(primary.column, primary.level)
    if term is None:
        return findings
    coef = fit.coef[fit.terms.index(term)]
    return [Finding(HAZARD_RATIO, primary.column, primary.level, "higher" if coef > 0 else "lower"), *findings]


@metric("C.findings", pillar="C", name="Findings reproduced", requires=("survival",), reference_details=True)
def findings_reproduced(cmp: Comparison) -> Measurement:
    """Each finding -- the primary effect, and the findings declared in the schema or
    derived from train (every significant Cox hazard ratio and log-rank difference) --
    is re-tested on the table under test by direction and effect size (module
    docstring): 1 when within real sampling, 0 when reversed. Score: the weighted mean
    over findings, the primary effect weighing as much as all others. Value: the share
    of findings reproduced.

    Interval: per replicate, hazard-ratio findings are re-judged on a parametric draw of
    the table's Cox coefficients (as C.cox) and log-rank findings on a row resample."""
    require_events(cmp, "train", "re-testing findings")
    require_events(cmp, "synthetic", "re-testing findings")
    declared = list(cmp.schema.findings)
    findings, notes = (declared, []) if declared else derived_findings(cmp)
    findings = _with_primary(cmp, findings)
    pair: CoxPair | None = None
    cox_problem = ""
    if any(f.kind == HAZARD_RATIO for f in findings):
        try:
            pair = cox_pair(cmp)
        except MetricSkipped as exc:
            cox_problem = str(exc)
    claims, untestable = _claims(cmp, findings, pair, cox_problem)
    if not claims:
        why = "; ".join(notes + untestable) or "train shows no significant hazard ratio or log-rank difference"
        raise MetricSkipped(f"no finding to re-test ({why})")

    factor = size_factor(cmp)
    tests = table_tests(cmp) if any(c.group is not None for c in claims) else [[]] * (cmp.n_bootstrap + 1)
    weights = claim_weights([c.primary for c in claims])

    def judged(coef: np.ndarray | None, table: list[LogRank | None]) -> list[tuple[float, str]]:
        """Each claim's (score, verdict) on the table (``coef``: a draw of the table's Cox
        coefficients; ``table``: its log-rank tests)."""
        out = []
        for claim in claims:
            if claim.group is not None:
                on_train, on_table = train_test(cmp, claim.group), table[claim.group_index]
                if on_table is None:
                    out.append((0.0, "lost"))
                    continue
                score = agreement(on_train, on_table, factor, claim.finding.alpha)
                verdict = "reversed" if reversed_order(on_train, on_table, claim.finding.alpha) else None
                out.append((score, verdict or ("reproduced" if score == 1.0 else "differs")))
                continue
            assert pair is not None
            table_coef = pair.table.coef if coef is None else coef
            if reversed_terms(pair.train, pair.table, table_coef, claim.finding.alpha)[claim.term]:
                out.append((0.0, "reversed"))
                continue
            score = float(within_sampling(standardized_difference(pair.train, pair.table, table_coef)[claim.term], Z95))
            out.append((score, "reproduced" if score == 1.0 else "differs"))
        return out

    point = judged(None, tests[0])
    draws = (
        coefficient_draws(pair.table, cmp.rng(Stream.FINDINGS_DRAWS), cmp.n_bootstrap) if pair is not None
        else [None] * cmp.n_bootstrap
    )
    reps = np.array([
        weighted_score(weights, np.array([s for s, _ in judged(coef, table)]))
        for coef, table in zip(draws, tests[1:], strict=True)
    ])
    details: dict[str, Any] = {
        "source": "declared" if declared else "derived from train",
        "alpha": ALPHA,
        "findings": [_describe(cmp, claim, judgement, w, pair, tests[0], factor)
                     for claim, judgement, w in zip(claims, point, weights, strict=True)],
    }
    if pair is not None:
        details["cox_model"] = pair.describe()
    if notes or untestable:
        details["untestable"] = notes + untestable
    scores = np.array([s for s, _ in point])
    return bootstrapped(float(np.mean(scores == 1.0)), weighted_score(weights, scores), reps, details)


def _describe(
    cmp: Comparison, claim: _Claim, judgement: tuple[float, str], weight: float, pair: CoxPair | None,
    tests: list[LogRank | None], factor: float,
) -> dict[str, Any]:
    """One finding for details: the claim, its verdict, its statistics on train and on the table."""
    entry: dict[str, Any] = {
        "finding": claim.finding.describe(),
        "kind": claim.finding.kind,
        "column": claim.finding.column,
        **({"primary": True} if claim.primary else {}),
        "holds_in_train": claim.holds_in_train,
        "verdict": judgement[1],
        "reproduced": judgement[1] == "reproduced",
        "score": judgement[0],
        "weight": weight,
    }
    if claim.group is not None:
        labels = claim.group.labels
        entry["train"] = describe_test(train_test(cmp, claim.group), labels)
        entry["table"] = describe_test(tests[claim.group_index], labels, factor)
        return entry
    assert pair is not None
    term = pair.train.terms[claim.term]
    cox_factor = pair.train.fitted_rows / pair.table.fitted_rows
    entry["term"] = term
    entry["train"] = pair.train.table()[term]
    entry["table"] = pair.table.table()[term]
    entry["standardized_difference"] = standardized_difference(pair.train, pair.table, pair.table.coef)[claim.term]
    entry["ci_overlap"] = overlaps(pair.train, pair.table, pair.table.coef)[claim.term]
    if cox_factor != 1.0:
        entry["table"]["p_at_train_size"] = pair.table.at_size(cox_factor).p[claim.term]
    return entry
