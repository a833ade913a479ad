"""Release gating: a policy of rules on SAFE scores, judged on their confidence intervals.

A policy is a TOML file::

    [policy]
    name = "clinical release"
    judge = "ci"                   # "ci": the whole 95 % interval must clear the threshold
                                   #   (its lower bound for >= and >, its upper bound for <= and <);
                                   # "estimate": the point estimate must
    baseline = "gaussian_copula"   # the generator whose stored results anchor `baseline` rules

    [[rule]]
    check = "SAFE >= baseline - 0.02"
    why = "no worse than the release we already trust"

    [[rule]]
    check = "P.mia >= 0.9"
    judge = "estimate"             # this rule's own judge

A check is ``SUBJECT OP THRESHOLD``: the subject is ``SAFE``, a pillar (``S``, ``C``,
``P``) or a metric id (``safe-bench metrics``); OP is ``>=``, ``>``, ``<=`` or ``<``; the
threshold is a score (0..1), or ``baseline`` (the baseline generator's score for the
same subject) or ``reference`` (the holdout's real-vs-real score) plus or minus a
margin. Relative thresholds are anchored on the anchor's point estimate; the candidate
is judged on its interval (a non-inferiority margin, as in Piaggio et al. 2012).

**A score that is not there does not hold**: a release cannot be shown safe on a
score that is missing. Two kinds are told apart. A subject whose score *failed* -- a
pillar or SAFE ``incomplete`` (a metric that applies errored, see
:mod:`safe_bench.evaluation.scoring`) or a metric with status ``error`` -- is an ``error``
verdict, "error: C incomplete: <reason>" (JUnit ``<error type="ScoreIncomplete">``):
the evaluation broke, and the partial number it could have given is never judged. A
subject that does not apply (a metric skipped, a pillar not scored, a subject not
evaluated) is ``missing`` (JUnit ``<error type="ScoreMissing">``). Neither is a
``fail`` (a score judged and found short: JUnit ``<failure>``).

**Seeds.** A generator's results over several seeds (``--store --generator``) are
judged *seed by seed*: a rule holds when it holds on every seed's own 95 % bootstrap
interval, and the verdict names the seed where it does not. This is an
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
makes the rule an error, one where it does not apply makes it missing; a cell that did
not finish (the generator failed) has no scores and is named in the report's notes.
The score shown beside a verdict is the mean over seeds with the interval of
:func:`safe_bench.benchmark.ranking.combine_seeds` (each seed's bootstrap and the spread between
seeds), the one the leaderboard shows; with one seed, that cell's own interval.

:func:`load_policy` checks a policy before any work starts; a mistake is a
:class:`PolicyError` naming the rule (its number, line and check). :func:`judge`
turns a policy and the scores of a candidate (and of a baseline) into a
:class:`GateReport`: verdicts, an exit code (0 every rule holds; 1 one does not, or
cannot be judged: there is no separate code, the verdicts say which; the command line
exits 2 on bad input), JUnit XML (one test case per rule), a Markdown summary for a
pull request, and JSON.
"""

from __future__ import annotations

import json
import math
import operator
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from safe_bench.benchmark.ranking import FAILED, combine_seeds, status_text
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, plain
from safe_bench.metrics.registry import METRICS, PILLARS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Judge = Literal["ci", "estimate"]
JUDGES: tuple[Judge, ...] = ("ci", "estimate")
SUBJECTS_FIXED = ("SAFE", *PILLARS)
OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}

_POLICY_KEYS = {"name", "description", "judge", "baseline"}
_RULE_KEYS = {"check", "judge", "why"}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_CHECK = re.compile(r"^\s*(?P<subject>[A-Za-z][\w.]*)\s*(?P<op>>=|<=|>|<)\s*(?P<rhs>.*?)\s*$")
_RHS = re.compile(
    rf"^(?:(?P<anchor>baseline|reference)(?:\s*(?P<sign>[+-])\s*(?P<margin>{_NUMBER}))?|(?P<number>{_NUMBER}))$"
)


class PolicyError(InputError):
    """A policy that cannot be applied; the message names the rule and the problem."""


# -- the policy ----------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One check of a policy, parsed."""

    number: int  # 1-based position in the policy
    check: str
    subject: str
    op: str
    judge: Judge
    threshold: float | None = None  # an absolute threshold
    anchor: Literal["baseline", "reference"] | None = None
    margin: float = 0.0  # added to the anchor's score
    why: str = ""

    @property
    def name(self) -> str:
        return self.check

    def bound(self, estimate: Estimate) -> tuple[float | None, str]:
        """The number this rule judges, and what it is (``estimate`` / ``95% CI lower bound`` / ...)."""
        if self.judge == "estimate":
            return estimate.score, "estimate"
        upper = self.op in ("<=", "<")
        value = estimate.ci_high if upper else estimate.ci_low
        if value is None:
            return estimate.score, "estimate (no interval)"
        return value, f"95% CI {'upper' if upper else 'lower'} bound"


@dataclass(frozen=True)
class Policy:
    """A checked release policy (see the module docstring for the file layout)."""

    name: str
    rules: tuple[Rule, ...]
    judge: Judge = "ci"
    baseline: str | None = None
    description: str = ""
    path: str = ""

    @property
    def needs_baseline(self) -> bool:
        return any(r.anchor == "baseline" for r in self.rules)


#: Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def load_policy(path: str | Path) -> Policy:
    """Read and check a policy file (TOML)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy file {str(path)!r} does not exist") from None
    except UnicodeDecodeError:
        raise PolicyError(f"policy file {str(path)!r} is not UTF-8 text") from None
    return parse_policy(text, source=path.name)


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    """Check a policy given as TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"policy", "rule"})
    if unknown:
        raise PolicyError(f"policy {source}: unknown key(s) {unknown}; expected [policy] and [[rule]] tables")
    head = data.get("policy", {})
    if not isinstance(head, dict):
        raise PolicyError(f"policy {source}: 'policy' must be a table ([policy])")
    unknown = sorted(set(head) - _POLICY_KEYS)
    if unknown:
        raise PolicyError(f"policy {source}: unknown key(s) {unknown} in [policy]; expected {sorted(_POLICY_KEYS)}")
    for key in ("name", "description", "baseline"):
        if key in head and not isinstance(head[key], str):
            raise PolicyError(f"policy {source}: [policy] {key} must be text")
    judge = _judge(head.get("judge", "ci"), f"policy {source}: [policy] judge")
    rules = data.get("rule")
    if not isinstance(rules, list) or not rules or not all(isinstance(r, dict) for r in rules):
        raise PolicyError(f"policy {source}: no rules; add [[rule]] tables, each with check = \"SUBJECT >= THRESHOLD\"")
    lines = [n for n, line in enumerate(text.splitlines(), 1) if re.match(r"^\s*\[\[\s*rule\s*\]\]", line)]
    parsed = []
    for i, entry in enumerate(rules, 1):
        where = f"policy {source}: rule {i}" + (f" (line {lines[i - 1]})" if len(lines) == len(rules) else "")
        parsed.append(_rule(i, entry, judge, where))
    name = head.get("name") or Path(source).stem
    return Policy(name=name, rules=tuple(parsed), judge=judge, baseline=head.get("baseline"),
                  description=head.get("description", ""), path=source)


def _judge(value: Any, where: str) -> Judge:
    if value not in JUDGES:
        raise PolicyError(f"{where} must be \"ci\" or \"estimate\", not {value!r}")
    return value


def _rule(number: int, entry: Mapping[str, Any], default_judge: Judge, where: str) -> Rule:
    unknown = sorted(set(entry) - _RULE_KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {unknown}; expected {sorted(_RULE_KEYS)}")
    check = entry.get("check")
    if not isinstance(check, str) or not check.strip():
        raise PolicyError(f"{where}: needs check = \"SUBJECT >= THRESHOLD\" (e.g. \"P.mia >= 0.9\")")
    where = f"{where} {check.strip()!r}"
    match = _CHECK.match(check)
    if not match:
        raise PolicyError(f"{where}: not SUBJECT OP THRESHOLD with OP one of >=, >, <=, <")
    subject, op, rhs = match["subject"], match["op"], match["rhs"]
    if subject not in SUBJECTS_FIXED and subject not in METRICS:
        raise PolicyError(
            f"{where}: unknown metric {subject!r}; use SAFE, a pillar (S, C, P) or a metric id: {', '.join(METRICS)}"
        )
    right = _RHS.match(rhs)
    if not right:
        raise PolicyError(
            f"{where}: threshold {rhs!r} is not a score (0..1) nor baseline/reference plus or minus a margin"
        )
    why = entry.get("why", "")
    if not isinstance(why, str):
        raise PolicyError(f"{where}: why must be text")
    judge = _judge(entry.get("judge", default_judge), f"{where}: judge")
    common = dict(number=number, check=" ".join(check.split()), subject=subject, op=op, judge=judge, why=why)
    if right["number"] is not None:
        threshold = float(right["number"])
        if threshold > 1:
            raise PolicyError(f"{where}: threshold {threshold:g} is not a score; scores lie in 0..1")
        return Rule(threshold=threshold, **common)  # type: ignore[arg-type]
    margin = float(right["margin"] or 0.0)
    if margin > 1:
        raise PolicyError(f"{where}: margin {margin:g} is larger than the whole score range 0..1")
    return Rule(anchor=right["anchor"], margin=-margin if right["sign"] == "-" else margin, **common)  # type: ignore[arg-type]


# -- what is judged --------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A score with its 95 % interval and the holdout's reference score; ``score`` is
    None when it could not be computed, ``status`` says why (``incomplete`` or ``error``:
    it failed; ``not scored``, ``skipped`` or ``missing``: it does not apply or was not
    evaluated) and ``reason`` how. Over several seeds, ``seeds`` holds each seed's own
    estimate and the score is their mean (see the module docstring)."""

    score: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    reference: float | None = None
    reason: str = ""
    status: str = "ok"
    seeds: tuple[SeedScore, ...] = ()

    @property
    def failed(self) -> bool:
        """The score failed (a metric errored), as opposed to not applying."""
        return self.status in FAILED


@dataclass(frozen=True)
class SeedScore:
    """One seed's estimate of a subject."""

    seed: int
    estimate: Estimate


#: Scores by subject (``SAFE``, pillars, metric ids).
Scores = Mapping[str, Estimate]


def _finite(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _estimate(score: Any, low: Any, high: Any, reference: Any, status: str, reason: str) -> Estimate:
    ok = status == "ok" and _finite(score) is not None
    return Estimate(_finite(score) if ok else None, _finite(low) if ok else None, _finite(high) if ok else None,
                    _finite(reference), "" if ok else reason, status if ok or status != "ok" else "missing")


def scores_from_result(result: EvaluationResult) -> dict[str, Estimate]:
    """The scores of one evaluation, by subject."""
    out = {key: _estimate(p.score, p.ci_low, p.ci_high, p.reference, p.status, p.reason)
           for key, p in result.pillars.items()}
    for m in result.metrics:
        out[m.id] = _estimate(m.score, m.ci_low, m.ci_high, m.reference, m.status, m.reason)
    return out


def over_seeds(seeds: Sequence[SeedScore]) -> Estimate:
    """A subject over seeds: with one seed, its own estimate; with more, the mean with the
    interval of :func:`safe_bench.benchmark.ranking.combine_seeds` and the seeds kept for judging.
    The mean exists only when every seed has a score: a seed whose score failed (or has
    none while others do) makes it ``incomplete``, none scored ``not scored``."""
    if len(seeds) == 1:
        return seeds[0].estimate
    unscored = [s for s in seeds if s.estimate.score is None]
    if unscored:
        failed = any(s.estimate.failed for s in unscored) or len(unscored) < len(seeds)
        why = "; ".join(f"seed {s.seed}: {status_text(s.estimate.status, s.estimate.reason)}" for s in unscored)
        return Estimate(None, reason=why, status="incomplete" if failed else unscored[0].estimate.status,
                        seeds=tuple(seeds))
    es = [s.estimate for s in seeds]
    c = combine_seeds([e.score for e in es], [e.ci_low for e in es], [e.ci_high for e in es])  # type: ignore[misc]
    refs = [e.reference for e in es if e.reference is not None]
    return Estimate(c.mean, c.ci_low, c.ci_high, float(sum(refs) / len(refs)) if len(refs) == len(es) else None,
                    seeds=tuple(seeds))


def scores_from_results(tidy: pd.DataFrame, generator: str) -> dict[str, dict[str, Estimate]]:
    """A generator's scores per dataset from a store's tidy results
    (:meth:`safe_bench.benchmark.store.Store.results`), each over the seeds that finished
    (:func:`over_seeds`)."""
    rows = tidy[tidy["generator"] == generator].sort_values("seed", kind="stable")
    out: dict[str, dict[str, Estimate]] = {}
    for (dataset, subject), group in rows.groupby(["dataset", "metric"], sort=True):
        seeds = [SeedScore(int(r["seed"]), _estimate(r["score"], r["ci_low"], r["ci_high"], r["reference"], str(r["status"]),
                                                      str(r["reason"])))
                 for r in group.to_dict("records")]
        out.setdefault(str(dataset), {})[str(subject)] = over_seeds(seeds)
    return out


# -- verdicts --------------------------------------------------------------------
Status = Literal["pass", "fail", "missing", "error"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "error", "missing")


@dataclass(frozen=True)
class Verdict:
    """One rule judged on one dataset (``dataset`` is empty for a single table). Over
    several seeds, ``seeds`` holds the verdict on each seed and the fields above are
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
    seeds: tuple[Verdict, ...] = ()

    @property
    def holds(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.number,
            "check": self.rule.check,
            "subject": self.rule.subject,
            "dataset": self.dataset,
            "status": self.status,
            "judge": self.rule.judge,
            "judged_on": self.judged_on,
            "observed": self.observed,
            "threshold": self.threshold,
            "anchor": self.rule.anchor,
            "anchor_score": self.anchor_score,
            "margin": self.rule.margin if self.rule.anchor else None,
            "score": self.estimate.score,
            "ci_low": self.estimate.ci_low,
            "ci_high": self.estimate.ci_high,
            "reference": self.estimate.reference,
            "score_status": self.estimate.status,
            "why": self.rule.why,
            "message": self.message,
            "seed": self.seed,
            "seeds": [
                {"seed": v.seed, "status": v.status, "judged_on": v.judged_on, "observed": v.observed,
                 "threshold": v.threshold, "score": v.estimate.score, "ci_low": v.estimate.ci_low,
                 "ci_high": v.estimate.ci_high, "reference": v.estimate.reference, "message": v.message}
                for v in self.seeds
            ],
        }


def _unscored(subject: str, estimate: Estimate, whose: str = "", where: str = "") -> tuple[Status, str]:
    """The verdict on a score that is not there: an error when it failed, else missing."""
    reason = estimate.reason or "not evaluated"
    if estimate.failed:
        what = "incomplete" if estimate.status == "incomplete" else "failed"
        return "error", f"error: {whose}{subject} {what}{where}: {reason.removeprefix('incomplete: ')}"
    return "missing", f"{whose}{subject} has no score{where} ({reason})"


def _judge_one(rule: Rule, estimate: Estimate, anchor_score: float | None, dataset: str,
               seed: int | None = None) -> Verdict:
    """Judge a rule on one estimate (one table, or one seed); ``anchor_score`` is the
    baseline's score for ``baseline`` rules."""
    where = "" if seed is None else f" in seed {seed}"
    if estimate.score is None:
        status, message = _unscored(rule.subject, estimate, where=where)
        return Verdict(rule, dataset, status, None, "", None, estimate, anchor_score, message, seed)
    if rule.anchor == "reference":
        anchor_score = estimate.reference
        if anchor_score is None:
            return Verdict(rule, dataset, "missing", None, "", None, estimate, None,
                           f"the holdout reference has no {rule.subject} score{where} (no holdout reference)", seed)
    threshold = rule.threshold if rule.anchor is None else anchor_score + rule.margin  # type: ignore[operator]
    assert threshold is not None
    observed, judged_on = rule.bound(estimate)
    assert observed is not None
    holds = OPERATORS[rule.op](observed, threshold)
    message = f"{judged_on} {observed:.3f} {rule.op if holds else _NEGATION[rule.op]} {threshold:.3f}"
    if rule.anchor:
        message += f" ({anchored(rule, anchor_score)})"
    return Verdict(rule, dataset, "pass" if holds else "fail", observed, judged_on, threshold, estimate,
                   anchor_score, message, seed)


def judge_rule(rule: Rule, scores: Scores, baseline: Scores | None, dataset: str = "") -> Verdict:
    """Judge one rule on a candidate's scores (and a baseline's, for ``baseline`` rules);
    over several seeds, on every seed (see the module docstring)."""
    estimate = scores.get(rule.subject, Estimate(None, reason="not evaluated", status="missing"))
    anchor_score = None
    if rule.anchor == "baseline":
        anchor = (baseline or {}).get(rule.subject, Estimate(None, reason="not in the baseline's results",
                                                             status="missing"))
        if anchor.score is None:
            status, message = _unscored(rule.subject, anchor, whose="the baseline's ")
            return Verdict(rule, dataset, status, None, "", None, estimate, None, message)
        anchor_score = anchor.score
    if not estimate.seeds:
        return _judge_one(rule, estimate, anchor_score, dataset)
    per_seed = tuple(_judge_one(rule, s.estimate, anchor_score, dataset, s.seed) for s in estimate.seeds)
    n = len(per_seed)
    for status in ("error", "missing", "fail"):
        bad = [v for v in per_seed if v.status == status]
        if bad:
            break
    if not bad:
        decided = min(per_seed, key=_slack)
        message = f"holds in every seed ({n}); closest, seed {decided.seed}: {decided.message}"
    elif status == "fail":
        decided = min(bad, key=_slack)
        seeds = ", ".join(str(v.seed) for v in bad)
        detail = bad[0].message if len(bad) == 1 else "; ".join(f"seed {v.seed}: {v.message}" for v in bad)
        message = f"fails in seed{'s' if len(bad) > 1 else ''} {seeds} of {n}: {detail}"
    else:
        decided = bad[0]
        message = "; ".join(v.message for v in bad)
    return Verdict(rule, dataset, decided.status if bad else "pass", decided.observed,
                   f"{decided.judged_on} of seed {decided.seed}" if decided.judged_on else "", decided.threshold,
                   estimate, anchor_score, message, decided.seed, per_seed)


def _slack(v: Verdict) -> float:
    """How far a judged number clears its threshold (negative: short of it)."""
    assert v.observed is not None and v.threshold is not None
    return v.observed - v.threshold if v.rule.op in (">=", ">") else v.threshold - v.observed


_NEGATION = {">=": "<", ">": "<=", "<=": ">", "<": ">="}


def anchored(rule: Rule, anchor_score: float | None) -> str:
    """How a relative threshold was formed, e.g. ``baseline 0.887 - 0.020``."""
    score = "–" if anchor_score is None else f"{anchor_score:.3f}"
    return f"{rule.anchor} {score} {'-' if rule.margin < 0 else '+'} {abs(rule.margin):.3f}"


@dataclass
class GateReport:
    """The verdicts of a policy on a candidate: exit code, JUnit, Markdown, JSON."""

    policy: Policy
    candidate: str
    verdicts: list[Verdict]
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(v.holds for v in self.verdicts)

    @property
    def exit_code(self) -> int:
        """0 when every rule holds, 1 when one does not or cannot be judged (missing or error)."""
        return 0 if self.passed else 1

    def counts(self) -> dict[str, int]:
        return {s: sum(v.status == s for v in self.verdicts) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": {"name": self.policy.name, "file": self.policy.path, "judge": self.policy.judge,
                       "description": self.policy.description},
            "candidate": self.candidate,
            "baseline": self.baseline,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "counts": self.counts(),
            "verdicts": [v.to_dict() for v in self.verdicts],
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return json.dumps(plain(self.to_dict()), indent=2, allow_nan=False, ensure_ascii=False) + "\n"

    def to_junit(self) -> str:
        """JUnit XML: one test suite, one test case per rule (per dataset); a rule that
        does not hold is a ``failure``, one whose score failed (``ScoreIncomplete``) or is
        missing (``ScoreMissing``) an ``error``."""
        counts = self.counts()
        attrs = {"tests": str(len(self.verdicts)), "failures": str(counts["fail"]),
                 "errors": str(counts["missing"] + counts["error"]), "skipped": "0", "time": "0"}
        root = ET.Element("testsuites", {"name": "safe-bench gate", **attrs})
        suite = ET.SubElement(root, "testsuite", {"name": f"safe-bench gate: {self.policy.name}", **attrs})
        props = ET.SubElement(suite, "properties")
        for key, value in (("candidate", self.candidate), ("baseline", self.baseline or ""),
                           ("policy", self.policy.path), ("judge", self.policy.judge)):
            ET.SubElement(props, "property", {"name": key, "value": value})
        for v in self.verdicts:
            classname = "safe_bench.gate" + (f".{v.dataset}" if v.dataset else "")
            case = ET.SubElement(suite, "testcase", {"name": v.rule.name, "classname": classname, "time": "0"})
            if v.status == "fail":
                ET.SubElement(case, "failure", {"message": v.message, "type": "RuleFailed"}).text = _explain(v)
            elif v.status in ("missing", "error"):
                kind = "ScoreMissing" if v.status == "missing" else "ScoreIncomplete"
                ET.SubElement(case, "error", {"message": v.message, "type": kind}).text = _explain(v)
            else:
                ET.SubElement(case, "system-out").text = _explain(v)
        ET.indent(root)
        # ElementTree writes control characters as they are, which no XML parser reads:
        # a rule's `why` or a candidate's label may hold one. Each becomes U+FFFD.
        text = _NOT_XML.sub("\ufffd", ET.tostring(root, encoding="unicode"))
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"

    def to_markdown(self) -> str:
        """A summary fit for a pull-request comment."""
        from safe_bench.report.markdown import gate_markdown

        return gate_markdown(self)

    def render_text(self) -> str:
        """One line per verdict, for the terminal."""
        mark = {"pass": "PASS", "fail": "FAIL", "missing": "MISSING", "error": "ERROR"}
        lines = [f"safe-bench gate: policy {self.policy.name!r} on {self.candidate}"
                 + (f" (baseline {self.baseline})" if self.baseline else "")]
        for v in self.verdicts:
            where = f"[{v.dataset}] " if v.dataset else ""
            lines.append(f"  {mark[v.status]:<7} {where}{v.rule.check}: {v.message}")
        c = self.counts()
        lines.append(f"{c['pass']} of {len(self.verdicts)} rule checks hold"
                     + ("" if self.passed else f"; {c['fail']} fail, {c['error']} error (a score failed), "
                                                f"{c['missing']} cannot be judged (no score)"))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _explain(v: Verdict) -> str:
    e = v.estimate
    parts = [f"{v.rule.check}: {v.message}"]
    if e.score is not None:
        ci = "" if e.ci_low is None or e.ci_high is None else f" [{e.ci_low:.3f}, {e.ci_high:.3f}]"
        over = (f", the mean over {len(e.seeds)} seeds (interval: each seed's bootstrap and the spread between seeds)"
                if e.seeds else "")
        judged = f", judged on the {v.judged_on}" if v.judged_on else ""
        parts.append(f"{v.rule.subject} = {e.score:.3f}{ci} (95% CI){over}{judged}")
    if e.reference is not None:
        parts.append(f"holdout reference {e.reference:.3f}")
    parts += [f"seed {s.seed}: {s.status}: {s.message}" for s in v.seeds]
    if v.rule.why:
        parts.append(f"why: {v.rule.why}")
    return "\n".join(parts)


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
) -> GateReport:
    """Judge every rule of ``policy`` on the candidate's scores per dataset (the key ``""``
    for a single table). ``baseline`` holds the baseline's scores per dataset, needed by
    ``baseline`` rules; a dataset the baseline lacks makes those rules missing there."""
    check_baseline(policy, baseline)
    if not candidate:
        raise InputError(f"no scores for {label}: nothing to judge")
    verdicts = []
    for dataset in sorted(candidate):
        base = None if baseline is None else baseline.get(dataset, {})
        verdicts += [judge_rule(rule, candidate[dataset], base, dataset) for rule in policy.rules]
    notes = []
    if baseline is not None:
        notes += [f"the baseline has no results on {d}" for d in sorted(set(candidate) - set(baseline))]
    return GateReport(policy, label, verdicts, baseline_label, notes)


def verdict_rows(report: GateReport) -> Sequence[Verdict]:
    """Verdicts in report order: errors, failing and missing first, then by rule."""
    order = {"error": 0, "fail": 1, "missing": 2, "pass": 3}
    return sorted(report.verdicts, key=lambda v: (order[v.status], v.rule.number, v.dataset))


__all__ = [
    "Estimate", "GateReport", "Policy", "PolicyError", "Rule", "SeedScore", "Verdict", "check_baseline", "judge",
    "judge_rule", "load_policy", "anchored", "over_seeds", "parse_policy", "scores_from_result", "scores_from_results",
    "verdict_rows",
]
