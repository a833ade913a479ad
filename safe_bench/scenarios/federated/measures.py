"""What a federated scenario is judged by, per site and round, and its summary over seeds.

Per round, each site's synthetic table is judged for the site (``F_k``, after Apellániz,
Parras & Zazo 2025: per-node fidelity against the node's own held-out data): S and C
against the site's **holdout** (its fresh patients, the population it serves: a model
that only reproduces the site's few train rows is not rewarded for their sampling
noise; C.tstr, which needs a test set apart, does not apply), P against the site's
**train** with its holdout as the fresh reference (as every SAFE evaluation does), and
SAFE, CSF, GSF and NNDR (P.nndr's score) from those. The federation's table is judged
the same way against the pooled holdout and train (``global``). Privacy is also judged
against the *other* sites' rows (``P_other_sites``: the copy metrics with the other
sites' trains as the rows that must not leak and their holdouts as the fresh
reference), since sharing synthetic data, or a global model, can carry one site's
patients to another.

Over seeds (:func:`estimate`, :func:`recovered_gain`, :func:`worst_site`, :func:`welch`):
each quantity's mean with the interval the leaderboard gives (each seed's bootstrap and
the spread between seeds); the share of the centralized gain a strategy recovers at site
``k``, ``G_k = (F_k^strategy - F_k^isolated) / (F_k^centralized - F_k^isolated)`` on
SAFE at the last round (not given unless centralized is above isolated by 0.01); the
worst site; and Welch's t test (unequal variances) between scenarios over seeds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.benchmark.seeds import Estimate, SeedScore, over_seeds
from safe_bench.data.schema import Schema
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate, select_metrics
from safe_bench.evaluation.scoring import PillarScore, score_pillars
from safe_bench.metrics.registry import MetricResult
from safe_bench.scenarios.federated.partition import Partition
from safe_bench.scenarios.federated.training import Lost, RoundTables

#: The quantities of a curve, in the order tables show them.
QUANTITIES = ("SAFE", "S", "C", "P", "CSF", "GSF", "NNDR", "P_other_sites")
#: Where the federation's own table is judged (against the pooled train and holdout).
GLOBAL = "global"
#: Decimals to which two synthetic tables must agree to be judged once.
DECIMALS = 9
#: A centralized gain smaller than this (on SAFE; or a loss) is no gain to recover: G_k is not given.
MIN_GAIN = 0.01


#: A quantity as one evaluation measured it: its score and 95 % interval (None: not scored).
Value = tuple[float | None, float | None, float | None]
NOT_SCORED: Value = (None, None, None)


@dataclass(frozen=True)
class Measured:
    """One site's (or the federation's) synthetic table at one round."""

    scenario: str
    seed: int
    round: int
    site: str
    values: Mapping[str, Value]
    note: str = ""

    def to_row(self) -> dict[str, Any]:
        return {**asdict(self), "values": {q: list(v) for q, v in self.values.items()}}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Measured:
        values = {q: (v[0], v[1], v[2]) for q, v in row["values"].items()}
        return cls(row["scenario"], row["seed"], row["round"], row["site"], values, row.get("note", ""))


def _value(score: PillarScore | MetricResult | None) -> Value:
    return NOT_SCORED if score is None or score.score is None else (score.score, score.ci_low, score.ci_high)


#: The copy metrics that judge a site's table against the other sites' rows.
OTHER_SITES = ("P.exact", "P.dcr_share", "P.dcr_p5", "P.nndr")


@dataclass
class Judge:
    """Evaluates a round's tables; a table met before (two scenarios whose models agree)
    is not evaluated again."""

    part: Partition
    schema: Schema
    seed: int
    n_bootstrap: int
    metrics: Sequence[str] | None = None
    _seen: dict[tuple[str, str], dict[str, Value]] = field(default_factory=dict)

    def round(self, scenario: str, tables: RoundTables) -> list[Measured]:
        out = []
        for k, (site, table) in enumerate(zip(self.part.sites, tables.sites, strict=True)):
            if isinstance(table, Lost):
                out.append(Measured(scenario, self.seed, tables.round, site.name, {}, table.reason))
                continue
            values = self._cached(site.name, table, lambda t, k=k: self._site(k, t))
            out.append(Measured(scenario, self.seed, tables.round, site.name, values))
        pooled = self._cached(GLOBAL, tables.pooled, lambda t: self._judge(self.part.pooled_train,
                                                                            self.part.pooled_holdout, t))
        out.append(Measured(scenario, self.seed, tables.round, GLOBAL, pooled))
        return out

    def _cached(self, where: str, table: pd.DataFrame, compute: Any) -> dict[str, Value]:
        """``compute(table)`` once per place and table; tables equal to 9 decimals are one
        (two exact federations of one model differ in the last bits of their floats)."""
        rows = pd.util.hash_pandas_object(table.round(DECIMALS), index=False).to_numpy()
        key = (where, hashlib.sha256(rows.tobytes()).hexdigest())
        if key not in self._seen:
            self._seen[key] = compute(table)
        return dict(self._seen[key])

    def _evaluate(self, train: pd.DataFrame, table: pd.DataFrame, holdout: pd.DataFrame | None,
                  metrics: Sequence[str]) -> EvaluationResult:
        return evaluate(train, table, holdout, self.schema, seed=self.seed, n_bootstrap=self.n_bootstrap, metrics=metrics,
                        references=False)

    def _ids(self, pillars: str) -> list[str]:
        return [m.id for m in select_metrics(self.metrics) if m.pillar in pillars]

    def _judge(self, train: pd.DataFrame, holdout: pd.DataFrame, table: pd.DataFrame) -> dict[str, Value]:
        """S and C against ``holdout``, P against ``train`` with ``holdout`` as reference."""
        fidelity = self._evaluate(holdout, table, None, self._ids("SC"))
        privacy = self._evaluate(train, table, holdout, self._ids("P"))
        pillars = score_pillars([*fidelity.metrics, *privacy.metrics], n_bootstrap=self.n_bootstrap, seed=self.seed)
        values = {p: _value(pillars[p]) for p in ("SAFE", "S", "C", "P")}
        labels = {b.label: b.pillar for b in fidelity.blocks.values()}
        values["CSF"], values["GSF"] = _value(labels.get("CSF")), _value(labels.get("GSF"))
        values["NNDR"] = _value(next((m for m in privacy.metrics if m.id == "P.nndr"), None))
        values["P_other_sites"] = NOT_SCORED
        return values

    def _site(self, k: int, table: pd.DataFrame) -> dict[str, Value]:
        site = self.part.sites[k]
        values = self._judge(site.train, site.holdout, table)
        others = [s for j, s in enumerate(self.part.sites) if j != k]
        if others:
            train = pd.concat([s.train for s in others], ignore_index=True)
            holdout = pd.concat([s.holdout for s in others], ignore_index=True)
            values["P_other_sites"] = _value(self._evaluate(train, table, holdout, OTHER_SITES).pillars["P"])
        return values


# -- over seeds ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Welch:
    """Welch's t test of a quantity between two scenarios over seeds."""

    a: str
    b: str
    site: str
    quantity: str
    difference: float | None
    t: float | None
    p: float | None
    note: str = ""


def _at(rows: Sequence[Measured], scenario: str, site: str, round: int) -> list[Measured]:
    return sorted((m for m in rows if m.scenario == scenario and m.site == site and m.round == round),
                  key=lambda m: m.seed)


def estimate(rows: Sequence[Measured], scenario: str, site: str, quantity: str, round: int) -> Estimate:
    """A quantity at one round over seeds (:func:`safe_bench.benchmark.seeds.over_seeds`: the
    mean, with an interval from each seed's bootstrap and the spread between seeds)."""
    measured = _at(rows, scenario, site, round)
    if not measured:
        return Estimate(None, reason="not run", status="missing")
    seeds = []
    for m in measured:
        score, low, high = m.values.get(quantity, NOT_SCORED)
        seeds.append(SeedScore(m.seed, Estimate(score, low, high) if score is not None
                               else Estimate(None, reason=m.note or "not scored", status="not scored")))
    return over_seeds(seeds)


def last(rows: Sequence[Measured], scenario: str, site: str, quantity: str, rounds: int) -> list[float]:
    """A quantity at the last round, one value per seed that scored it (seed order)."""
    return [v for m in _at(rows, scenario, site, rounds) if (v := m.values.get(quantity, NOT_SCORED)[0]) is not None]


def recovered_gain(rows: Sequence[Measured], strategy: str, site: str, rounds: int, quantity: str = "SAFE"
                   ) -> tuple[float | None, str]:
    """``G_k`` at the last round from the means over seeds, or None and why."""
    means = {s: estimate(rows, s, site, quantity, rounds).score for s in ("centralized", "isolated", strategy)}
    if any(v is None for v in means.values()):
        return None, "needs the centralized, isolated and strategy scenarios scored"
    gain = means["centralized"] - means["isolated"]  # type: ignore[operator]
    if gain < MIN_GAIN:
        return None, f"no gain to recover: centralized - isolated {quantity} = {gain:+.3f}"
    return (means[strategy] - means["isolated"]) / gain, ""  # type: ignore[operator]


def worst_site(rows: Sequence[Measured], scenario: str, sites: Sequence[str], rounds: int, quantity: str = "SAFE"
               ) -> tuple[str, Estimate] | None:
    """The site with the lowest mean ``quantity`` at the last round."""
    scored = [(s, estimate(rows, scenario, s, quantity, rounds)) for s in sites]
    kept = [(s, e) for s, e in scored if e.score is not None]
    return min(kept, key=lambda se: (se[1].score, se[0])) if kept else None


def welch(rows: Sequence[Measured], a: str, b: str, site: str, quantity: str, rounds: int) -> Welch:
    """Welch's t test of ``quantity`` at the last round, scenario ``a`` against ``b``."""
    x, y = last(rows, a, site, quantity, rounds), last(rows, b, site, quantity, rounds)
    if len(x) < 2 or len(y) < 2:
        return Welch(a, b, site, quantity, None, None, None, "needs two seeds or more in each scenario")
    difference = float(np.mean(x) - np.mean(y))
    if x == y:
        return Welch(a, b, site, quantity, 0.0, None, None, "identical on every seed")
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return Welch(a, b, site, quantity, difference, None, None, "no spread over seeds: the difference is exact")
    test = stats.ttest_ind(x, y, equal_var=False)
    return Welch(a, b, site, quantity, difference, float(test.statistic), float(test.pvalue))


#: The pairs of scenarios compared by Welch's test.
PAIRS = (("centralized", "fedavg"), ("fedavg", "isolated"), ("sharing", "isolated"), ("pooling", "isolated"),
         ("centralized", "isolated"))
