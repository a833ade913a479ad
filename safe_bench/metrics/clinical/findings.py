"""C.findings: is the clinical message of train reproduced on the table under test?

The findings are the schema's, or else derived from train: every Cox term of the
multivariable model ("pnodes raises the hazard: HR > 1") and every group variable's
log-rank test ("survival differs across tgrade") with p < 0.05, Benjamini-Hochberg
adjusted over all those candidates.
A finding is reproduced when its verdict on the table equals its verdict on train:
for a hazard ratio, significant (at train's size) in the claimed direction or not;
for a log-rank difference, the agreement of :mod:`~safe_bench.metrics.clinical.logrank`
(both significant with the same ordering of groups, or neither).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import false_discovery_control

from safe_bench.comparison import Comparison
from safe_bench.errors import MetricSkipped
from safe_bench.findings import HAZARD_RATIO, LOGRANK, Finding
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import ALPHA, Group, cached, groups, require_events, size_factor
from safe_bench.metrics.clinical.cox import coefficient_draws
from safe_bench.metrics.clinical.coxmodel import CoxPair, cox_design, cox_pair, train_fit
from safe_bench.metrics.clinical.logrank import agree, describe_test, table_tests, train_test
from safe_bench.survival import LogRank, normal_p

_SALT = 0xF1D


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
        return [f for (f, _), q in zip(candidates, adjusted) if q < ALPHA], notes

    return cached(cmp, "derived_findings", derive)


@dataclass(frozen=True)
class _Claim:
    """A testable finding: its Cox term or its group variable (by index), and its verdict
    on train."""

    finding: Finding
    holds_in_train: bool
    term: int = -1
    group: Group | None = None
    group_index: int = -1


def _hazard_ratio_holds(finding: Finding, coef: float, p: float) -> bool:
    """Significant, in the claimed direction."""
    return bool(p < finding.alpha and np.sign(coef) == (1.0 if finding.direction == "higher" else -1.0))


def _claims(cmp: Comparison, findings: list[Finding], pair: CoxPair | None, cox_problem: str) -> tuple[list[_Claim], list[str]]:
    """The findings that can be re-tested, and why each other one cannot."""
    kept = groups(cmp)[0]
    index = {g.column: k for k, g in enumerate(kept)}
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
            claims.append(_Claim(finding, _hazard_ratio_holds(finding, pair.train.coef[i], pair.train.p[i]), term=i))
    return claims, untestable


@metric("C.findings", pillar="C", name="Findings reproduced", requires=("survival",), reference_details=True)
def findings_reproduced(cmp: Comparison) -> Measurement:
    """Each finding -- declared in the schema, or derived from train: every significant
    Cox hazard ratio and log-rank difference -- is re-tested on the table under test
    (significance judged at train's size). Score: share of findings reproduced.

    Interval: per replicate, hazard-ratio findings are re-judged on a parametric draw of
    the table's Cox coefficients (as C.cox) and log-rank findings on a row resample."""
    require_events(cmp, "train", "re-testing findings")
    require_events(cmp, "synthetic", "re-testing findings")
    declared = list(cmp.schema.findings)
    findings, notes = (declared, []) if declared else derived_findings(cmp)
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
    cox_factor = 1.0 if pair is None else pair.train.fitted_rows / pair.table.fitted_rows
    tests = table_tests(cmp) if any(c.group is not None for c in claims) else [[]] * (cmp.n_bootstrap + 1)

    def reproduced(coef: np.ndarray | None, table: list[LogRank | None]) -> list[bool]:
        """Each claim's verdict on the table against train's (``coef``: a draw of the
        table's Cox coefficients; ``table``: its log-rank tests)."""
        out = []
        for claim in claims:
            if claim.group is not None:
                on_train = train_test(cmp, claim.group)
                out.append(agree(on_train, table[claim.group_index], factor, claim.finding.alpha))
                continue
            assert pair is not None
            beta = (pair.table.coef if coef is None else coef)[claim.term]
            p = float(normal_p(beta / pair.table.se[claim.term] * np.sqrt(cox_factor)))
            out.append(_hazard_ratio_holds(claim.finding, beta, p) == claim.holds_in_train)
        return out

    point = reproduced(None, tests[0])
    draws = coefficient_draws(pair.table, cmp.rng(_SALT), cmp.n_bootstrap) if pair is not None else [None] * cmp.n_bootstrap
    reps = np.array([np.mean(reproduced(coef, table)) for coef, table in zip(draws, tests[1:])])
    details: dict[str, Any] = {
        "source": "declared" if declared else "derived from train",
        "alpha": ALPHA,
        "findings": [_describe(cmp, claim, ok, pair, tests[0], factor) for claim, ok in zip(claims, point)],
    }
    if pair is not None:
        details["cox_model"] = pair.describe()
    if notes or untestable:
        details["untestable"] = notes + untestable
    score = float(np.mean(point))
    return bootstrapped(score, score, reps, details)


def _describe(
    cmp: Comparison, claim: _Claim, reproduced: bool, pair: CoxPair | None, tests: list[LogRank | None], factor: float
) -> dict[str, Any]:
    """One finding for details: the claim, its statistics on train and on the table."""
    entry: dict[str, Any] = {
        "finding": claim.finding.describe(),
        "kind": claim.finding.kind,
        "column": claim.finding.column,
        "holds_in_train": claim.holds_in_train,
        "reproduced": reproduced,
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
    if cox_factor != 1.0:
        entry["table"]["p_at_train_size"] = pair.table.at_size(cox_factor).p[claim.term]
    return entry
