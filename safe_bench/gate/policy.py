"""Release policies: a TOML file of rules on SAFE scores, read and checked before any work.

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
margin. How a rule is judged is :mod:`safe_bench.gate.judge`.

:func:`load_policy` reads and checks a policy file, :func:`parse_policy` its text; a
mistake is a :class:`PolicyError` naming the rule (its number, line and check).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from safe_bench.errors import InputError
from safe_bench.metrics.registry import METRICS, PILLARS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Judge = Literal["ci", "estimate"]
JUDGES: tuple[Judge, ...] = ("ci", "estimate")
Anchor = Literal["baseline", "reference"]
SUBJECTS_FIXED = ("SAFE", *PILLARS)

_POLICY_KEYS = {"name", "description", "judge", "baseline"}
_RULE_KEYS = {"check", "judge", "why"}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_CHECK = re.compile(r"^\s*(?P<subject>[A-Za-z][\w.]*)\s*(?P<op>>=|<=|>|<)\s*(?P<rhs>.*?)\s*$")
_RHS = re.compile(
    rf"^(?:(?P<anchor>baseline|reference)(?:\s*(?P<sign>[+-])\s*(?P<margin>{_NUMBER}))?|(?P<number>{_NUMBER}))$"
)


class PolicyError(InputError):
    """A policy that cannot be applied; the message names the rule and the problem."""


@dataclass(frozen=True)
class Rule:
    """One check of a policy, parsed."""

    number: int  # 1-based position in the policy
    check: str
    subject: str
    op: str
    judge: Judge
    threshold: float | None = None  # an absolute threshold
    anchor: Anchor | None = None
    margin: float = 0.0  # added to the anchor's score
    why: str = ""


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
    rule = Rule(number, " ".join(check.split()), subject, op, judge, why=why)
    if right["number"] is not None:
        threshold = float(right["number"])
        if threshold > 1:
            raise PolicyError(f"{where}: threshold {threshold:g} is not a score; scores lie in 0..1")
        return dataclasses.replace(rule, threshold=threshold)
    margin = float(right["margin"] or 0.0)
    if margin > 1:
        raise PolicyError(f"{where}: margin {margin:g} is larger than the whole score range 0..1")
    anchor: Anchor = "baseline" if right["anchor"] == "baseline" else "reference"
    return dataclasses.replace(rule, anchor=anchor, margin=-margin if right["sign"] == "-" else margin)
