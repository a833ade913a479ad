"""Judging a release policy on a candidate's scores: one :class:`RuleCheck` per rule and
dataset, gathered in a :class:`GateOutcome` with the exit code.

A rule is judged on the candidate's 95 % confidence interval (its lower bound for
``>=`` and ``>``, its upper bound for ``<=`` and ``<``) or, with ``judge = "estimate"``,
on its point estimate. Relative thresholds (``baseline`` or ``reference`` plus or minus
a margin) are anchored on the anchor's point estimate; the candidate is judged on its
interval (a non-inferiority margin, as in Piaggio et al. 2012).

**A score that is not there does not hold**: a release cannot be shown safe on a
score that is missing. Two kinds are told apart. A subject whose score *failed* -- a
pillar or SAFE ``incomplete`` (a metric that applies errored, see
:mod:`safe_bench.evaluation.scoring`) or a metric with status ``error`` -- is an ``error``
check, "error: C incomplete: <reason>": the evaluation broke, and the partial number it
could have given is never judged. A subject that does not apply (a metric skipped, a
pillar not scored, a subject not evaluated) is ``missing``. Neither is a ``fail`` (a
score judged and found short).

**Seeds.** A generator's results over several seeds (``--store --generator``) are
judged *seed by seed*: a rule holds when it holds on every seed's own 95 % bootstrap
interval, and the check names the seed where it does not. This is an
intersection-union test (Berger, Technometrics 24 (1982) 295–300; Berger & Hsu,
Statistical Science 11 (1996) 283–319): the claim "the rule holds for every seed" is
the intersection of the per-seed claims, and judging each at the 95 % level judges the
intersection at that level too, with no multiplicity correction and no estimate of the
between-seed variance -- which two or three seeds cannot give (a Student t interval
over 2 seeds has quantile 12.7 and spans [0, 1]). It is also what a release means: the
table shipped comes from one seed, and the policy should hold whichever seed it was.
The cost is on the generator: more seeds, more chances for one to fall short.
``reference`` rules anchor each seed on its own holdout (the split follows the seed);
``baseline`` rules on the baseline's mean over its seeds. A seed whose subject failed
makes the rule an error, one where it does not apply makes it missing. The score shown
beside a check is the mean over seeds (:mod:`safe_bench.benchmark.seeds`); with one
seed, that cell's own estimate.

:func:`judge` turns a policy and the scores of a candidate (and of a baseline) into a
:class:`GateOutcome`: the checks and an exit code (0 every rule holds; 1 one does not,
or cannot be judged: there is no separate code, the checks say which; the command line
exits 2 on bad input). Its text, JUnit XML, Markdown and JSON are written by
:mod:`safe_bench.report.gate`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from safe_bench.benchmark.seeds import Estimate, Scores
from safe_bench.errors import InputError
from safe_bench.gate.policy import Policy, PolicyError, Rule

OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}
_NEGATION = {">=": "<", ">": "<=", "<=": ">", "<": ">="}

Status = Literal["pass", "fail", "missing", "error"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "missing")


@dataclass(frozen=True)
class RuleCheck:
    """One rule judged on one dataset (``dataset`` is empty for a single table). Over
    several seeds, ``seeds`` holds the check of each seed and the fields above are
    those of the seed that decided (the one that failed, or came closest to)."""

    rule: Rule
    dataset: str
    status: Status
    observed: float | None  # the number judged (estimate or a CI bound)
    judged_on: str
    threshold: float | None
    estimate: Estimate
    anchor_score: float | None = None
    message: str = ""
    seed: int | None = None
    seeds: tuple[RuleCheck, ...] = ()

    @property
    def holds(self) -> bool:
        return self.status == "pass"


@dataclass
class GateOutcome:
    """The checks of a policy on a candidate, and the exit code they give."""

    policy: Policy
    candidate: str
    checks: list[RuleCheck]
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.holds for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every rule holds, 1 when one does not or cannot be judged (missing or error)."""
        return 0 if self.passed else 1

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in STATUSES}


def judged_number(rule: Rule, estimate: Estimate) -> tuple[float | None, str]:
    """The number a rule judges, and what it is (``estimate`` / ``95% CI lower bound`` / ...)."""
    if rule.judge == "estimate":
        return estimate.score, "estimate"
    upper = rule.op in ("<=", "<")
    value = estimate.ci_high if upper else estimate.ci_low
    if value is None:
        return estimate.score, "estimate (no interval)"
    return value, f"95% CI {'upper' if upper else 'lower'} bound"


def anchored(rule: Rule, anchor_score: float | None) -> str:
    """How a relative threshold was formed, e.g. ``baseline 0.887 - 0.020``."""
    score = "–" if anchor_score is None else f"{anchor_score:.3f}"
    return f"{rule.anchor} {score} {'-' if rule.margin < 0 else '+'} {abs(rule.margin):.3f}"


def _unscored(subject: str, estimate: Estimate, whose: str = "", where: str = "") -> tuple[Status, str]:
    """The check of a score that is not there: an error when it failed, else missing."""
    reason = estimate.reason or "not evaluated"
    if estimate.failed:
        what = "incomplete" if estimate.status == "incomplete" else "failed"
        return "error", f"error: {whose}{subject} {what}{where}: {reason.removeprefix('incomplete: ')}"
    return "missing", f"{whose}{subject} has no score{where} ({reason})"


def _judge_one(rule: Rule, estimate: Estimate, anchor_score: float | None, dataset: str,
               seed: int | None = None) -> RuleCheck:
    """Judge a rule on one estimate (one table, or one seed); ``anchor_score`` is the
    baseline's score for ``baseline`` rules."""
    where = "" if seed is None else f" in seed {seed}"
    if estimate.score is None:
        status, message = _unscored(rule.subject, estimate, where=where)
        return RuleCheck(rule, dataset, status, None, "", None, estimate, anchor_score, message, seed)
    if rule.anchor == "reference":
        anchor_score = estimate.reference
        if anchor_score is None:
            return RuleCheck(rule, dataset, "missing", None, "", None, estimate, None,
                             f"the holdout reference has no {rule.subject} score{where} (no holdout reference)", seed)
    if rule.anchor is None:
        threshold = rule.threshold
    else:
        assert anchor_score is not None  # the baseline's score, or the holdout reference read above
        threshold = anchor_score + rule.margin
    assert threshold is not None
    observed, judged_on = judged_number(rule, estimate)
    assert observed is not None
    holds = OPERATORS[rule.op](observed, threshold)
    message = f"{judged_on} {observed:.3f} {rule.op if holds else _NEGATION[rule.op]} {threshold:.3f}"
    if rule.anchor:
        message += f" ({anchored(rule, anchor_score)})"
    return RuleCheck(rule, dataset, "pass" if holds else "fail", observed, judged_on, threshold, estimate,
                     anchor_score, message, seed)


def judge_rule(rule: Rule, scores: Scores, baseline: Scores | None, dataset: str = "") -> RuleCheck:
    """Judge one rule on a candidate's scores (and a baseline's, for ``baseline`` rules);
    over several seeds, on every seed (see the module docstring)."""
    estimate = scores.get(rule.subject, Estimate(None, reason="not evaluated", status="missing"))
    anchor_score = None
    if rule.anchor == "baseline":
        anchor = (baseline or {}).get(rule.subject, Estimate(None, reason="not in the baseline's results",
                                                             status="missing"))
        if anchor.score is None:
            status, message = _unscored(rule.subject, anchor, whose="the baseline's ")
            return RuleCheck(rule, dataset, status, None, "", None, estimate, None, message)
        anchor_score = anchor.score
    if not estimate.seeds:
        return _judge_one(rule, estimate, anchor_score, dataset)
    per_seed = tuple(_judge_one(rule, s.estimate, anchor_score, dataset, s.seed) for s in estimate.seeds)
    n = len(per_seed)
    for status in ("error", "missing", "fail"):
        bad = [c for c in per_seed if c.status == status]
        if bad:
            break
    if not bad:
        decided = min(per_seed, key=_slack)
        message = f"holds in every seed ({n}); closest, seed {decided.seed}: {decided.message}"
    elif status == "fail":
        decided = min(bad, key=_slack)
        seeds = ", ".join(str(c.seed) for c in bad)
        detail = bad[0].message if len(bad) == 1 else "; ".join(f"seed {c.seed}: {c.message}" for c in bad)
        message = f"fails in seed{'s' if len(bad) > 1 else ''} {seeds} of {n}: {detail}"
    else:
        decided = bad[0]
        message = "; ".join(c.message for c in bad)
    return RuleCheck(rule, dataset, decided.status if bad else "pass", decided.observed,
                     f"{decided.judged_on} of seed {decided.seed}" if decided.judged_on else "", decided.threshold,
                     estimate, anchor_score, message, decided.seed, per_seed)


def _slack(c: RuleCheck) -> float:
    """How far a judged number clears its threshold (negative: short of it)."""
    assert c.observed is not None and c.threshold is not None
    return c.observed - c.threshold if c.rule.op in (">=", ">") else c.threshold - c.observed


def check_baseline(policy: Policy, baseline: Mapping[str, Scores] | None) -> None:
    """Refuse a policy with ``baseline`` rules when no baseline was given."""
    if policy.needs_baseline and baseline is None:
        first = next(r for r in policy.rules if r.anchor == "baseline")
        raise PolicyError(
            f"policy {policy.path or policy.name}: rule {first.number} {first.check!r} needs a baseline: pass "
            "--store STORE holding the baseline generator's results (named by [policy] baseline or --baseline), "
            "or --baseline-result RESULT.json"
        )


def judge(
    policy: Policy,
    candidate: Mapping[str, Scores],
    *,
    label: str,
    baseline: Mapping[str, Scores] | None = None,
    baseline_label: str | None = None,
) -> GateOutcome:
    """Judge every rule of ``policy`` on the candidate's scores per dataset (the key ``""``
    for a single table). ``baseline`` holds the baseline's scores per dataset, needed by
    ``baseline`` rules; a dataset the baseline lacks makes those rules missing there."""
    check_baseline(policy, baseline)
    if not candidate:
        raise InputError(f"no scores for {label}: nothing to judge")
    checks = []
    for dataset in sorted(candidate):
        base = None if baseline is None else baseline.get(dataset, {})
        checks += [judge_rule(rule, candidate[dataset], base, dataset) for rule in policy.rules]
    notes = []
    if baseline is not None:
        notes += [f"the baseline has no results on {d}" for d in sorted(set(candidate) - set(baseline))]
    return GateOutcome(policy, label, checks, baseline_label, notes)
