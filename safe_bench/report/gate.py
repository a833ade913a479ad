"""The release gate's outcome as people and CI systems read it: a line per rule check for
the terminal, JUnit XML, a Markdown summary for a pull request, and JSON.

JUnit holds one test suite and one test case per rule (per dataset): a rule that does
not hold is a ``failure`` (``RuleFailed``), one whose score failed an ``error`` of type
``ScoreIncomplete``, one whose score is missing an ``error`` of type ``ScoreMissing``.
The Markdown summary leads with the outcome and lists errors, failing and missing
checks before those that hold (:func:`worst_first`).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from safe_bench.evaluation.evaluate import plain
from safe_bench.gate.judge import GateOutcome, RuleCheck, anchored
from safe_bench.report.format import fmt
from safe_bench.report.markdown import code, escape, estimate_text, table

#: Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_MARK = {"pass": "PASS", "fail": "FAIL", "missing": "MISSING", "error": "ERROR"}
_MARKDOWN_MARK = {"pass": "✅ pass", "fail": "❌ fail", "missing": "⚠️ missing", "error": "⛔ error"}
_ORDER = {"error": 0, "fail": 1, "missing": 2, "pass": 3}


def worst_first(outcome: GateOutcome) -> list[RuleCheck]:
    """The checks in report order: errors, failing and missing first, then by rule."""
    return sorted(outcome.checks, key=lambda c: (_ORDER[c.status], c.rule.number, c.dataset))


def gate_text(outcome: GateOutcome) -> str:
    """One line per check, for the terminal."""
    lines = [f"safe-bench gate: policy {outcome.policy.name!r} on {outcome.candidate}"
             + (f" (baseline {outcome.baseline})" if outcome.baseline else "")]
    for c in outcome.checks:
        where = f"[{c.dataset}] " if c.dataset else ""
        lines.append(f"  {_TEXT_MARK[c.status]:<7} {where}{c.rule.check}: {c.message}")
    n = outcome.counts()
    lines.append(f"{n['pass']} of {len(outcome.checks)} rule checks hold"
                 + ("" if outcome.passed else f"; {n['fail']} fail, {n['error']} error (a score failed), "
                                              f"{n['missing']} cannot be judged (no score)"))
    lines += [f"note: {note}" for note in outcome.notes]
    return "\n".join(lines)


def _check_dict(c: RuleCheck) -> dict[str, Any]:
    return {
        "rule": c.rule.number,
        "check": c.rule.check,
        "subject": c.rule.subject,
        "dataset": c.dataset,
        "status": c.status,
        "judge": c.rule.judge,
        "judged_on": c.judged_on,
        "observed": c.observed,
        "threshold": c.threshold,
        "anchor": c.rule.anchor,
        "anchor_score": c.anchor_score,
        "margin": c.rule.margin if c.rule.anchor else None,
        "score": c.estimate.score,
        "ci_low": c.estimate.ci_low,
        "ci_high": c.estimate.ci_high,
        "reference": c.estimate.reference,
        "score_status": c.estimate.status,
        "why": c.rule.why,
        "message": c.message,
        "seed": c.seed,
        "seeds": [
            {"seed": s.seed, "status": s.status, "judged_on": s.judged_on, "observed": s.observed,
             "threshold": s.threshold, "score": s.estimate.score, "ci_low": s.estimate.ci_low,
             "ci_high": s.estimate.ci_high, "reference": s.estimate.reference, "message": s.message}
            for s in c.seeds
        ],
    }


def _outcome_dict(outcome: GateOutcome) -> dict[str, Any]:
    """The outcome as plain data (the checks under ``verdicts``, the name the JSON has always used)."""
    return {
        "policy": {"name": outcome.policy.name, "file": outcome.policy.path, "judge": outcome.policy.judge,
                   "description": outcome.policy.description},
        "candidate": outcome.candidate,
        "baseline": outcome.baseline,
        "passed": outcome.passed,
        "exit_code": outcome.exit_code,
        "counts": outcome.counts(),
        "verdicts": [_check_dict(c) for c in outcome.checks],
        "notes": outcome.notes,
    }


def gate_json(outcome: GateOutcome) -> str:
    """The outcome as JSON."""
    return json.dumps(plain(_outcome_dict(outcome)), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def gate_junit(outcome: GateOutcome) -> str:
    """JUnit XML: one test suite, one test case per check (see the module docstring)."""
    counts = outcome.counts()
    attrs = {"tests": str(len(outcome.checks)), "failures": str(counts["fail"]),
             "errors": str(counts["missing"] + counts["error"]), "skipped": "0", "time": "0"}
    root = ET.Element("testsuites", {"name": "safe-bench gate", **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": f"safe-bench gate: {outcome.policy.name}", **attrs})
    props = ET.SubElement(suite, "properties")
    for key, value in (("candidate", outcome.candidate), ("baseline", outcome.baseline or ""),
                       ("policy", outcome.policy.path), ("judge", outcome.policy.judge)):
        ET.SubElement(props, "property", {"name": key, "value": value})
    for c in outcome.checks:
        classname = "safe_bench.gate" + (f".{c.dataset}" if c.dataset else "")
        case = ET.SubElement(suite, "testcase", {"name": c.rule.check, "classname": classname, "time": "0"})
        if c.status == "fail":
            ET.SubElement(case, "failure", {"message": c.message, "type": "RuleFailed"}).text = _explain(c)
        elif c.status in ("missing", "error"):
            kind = "ScoreMissing" if c.status == "missing" else "ScoreIncomplete"
            ET.SubElement(case, "error", {"message": c.message, "type": kind}).text = _explain(c)
        else:
            ET.SubElement(case, "system-out").text = _explain(c)
    ET.indent(root)
    # ElementTree writes control characters as they are, which no XML parser reads:
    # a rule's `why` or a candidate's label may hold one. Each becomes U+FFFD.
    text = _NOT_XML.sub("\ufffd", ET.tostring(root, encoding="unicode"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"


def _explain(c: RuleCheck) -> str:
    """A check in full: the rule, the score judged and how, the reference, each seed, the why."""
    e = c.estimate
    parts = [f"{c.rule.check}: {c.message}"]
    if e.score is not None:
        ci = "" if e.ci_low is None or e.ci_high is None else f" [{e.ci_low:.3f}, {e.ci_high:.3f}]"
        over = (f", the mean over {len(e.seeds)} seeds (interval: each seed's bootstrap and the spread between seeds)"
                if e.seeds else "")
        judged = f", judged on the {c.judged_on}" if c.judged_on else ""
        parts.append(f"{c.rule.subject} = {e.score:.3f}{ci} (95% CI){over}{judged}")
    if e.reference is not None:
        parts.append(f"holdout reference {e.reference:.3f}")
    parts += [f"seed {s.seed}: {s.status}: {s.message}" for s in c.seeds]
    if c.rule.why:
        parts.append(f"why: {c.rule.why}")
    return "\n".join(parts)


def gate_markdown(outcome: GateOutcome) -> str:
    """The outcome as a pull-request comment: the outcome first, failing rules first."""
    counts = outcome.counts()
    total = len(outcome.checks)
    if outcome.passed:
        head = f"## ✅ safe-bench gate: release allowed ({total} of {total} rule checks hold)"
    else:
        head = (f"## ❌ safe-bench gate: release blocked ({counts['fail']} failing, {counts['error']} in error "
                f"(a score failed), {counts['missing']} cannot be judged, {counts['pass']} of {total} hold)")
    policy = outcome.policy
    intro = (f"Policy **{escape(policy.name)}**" + (f" ({code(policy.path)})" if policy.path else "")
             + f" on **{escape(outcome.candidate)}**"
             + (f", baseline **{escape(outcome.baseline)}**" if outcome.baseline else "") + ". "
             + ("Rules are judged on the 95 % confidence interval (its lower bound for ≥, upper for ≤)"
                if policy.judge == "ci" else "Rules are judged on the point estimate")
             + " unless a rule says otherwise"
             + ("; over several seeds a rule must hold in every seed, and the score shown is the mean over seeds."
                if any(c.seeds for c in outcome.checks) else "."))
    with_dataset = any(c.dataset for c in outcome.checks)
    header = ["", "rule", *(["dataset"] if with_dataset else []), "judged", "threshold", "score [95 % CI]",
              "holdout ref", "why / note"]
    rows = []
    for c in worst_first(outcome):
        e = c.estimate
        judged = "–" if c.observed is None else f"{fmt(c.observed)} ({escape(c.judged_on)})"
        threshold = "–" if c.threshold is None else fmt(c.threshold)
        if c.rule.anchor and c.anchor_score is not None:
            threshold += f" ({anchored(c.rule, c.anchor_score)})"
        note = escape(c.message if c.status in ("missing", "error") or c.seeds else c.rule.why)
        rows.append([_MARKDOWN_MARK[c.status], code(c.rule.check), *([escape(c.dataset)] if with_dataset else []),
                     judged, threshold, estimate_text(e), fmt(e.reference), note])
    parts = [head, intro, table(header, rows)]
    parts += [f"> note: {escape(n)}" for n in outcome.notes]
    return "\n\n".join(parts) + "\n"
