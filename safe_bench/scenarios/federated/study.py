"""A federated study: its settings (:class:`FederatedStudy`), one seed's scenarios as a unit
of work the benchmark runner runs and stores (:class:`SeedRun`), and the summary over
seeds (:class:`FederatedResult`, the JSON of ``safe-bench scenario federated``).

A seed's unit partitions the table, trains every scenario round by round and evaluates
each round; its key hashes all of that depends on (the data, the generator, its provider
and settings, the partition, sites, rounds, epochs, scenarios, metrics, resamples, the
seed and the package version), so a study run again, or after a kill, computes only the
seeds the store lacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from safe_bench_generators.federated import Federated

from safe_bench.benchmark.backends import Backend
from safe_bench.benchmark.plan import provider
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.runner import run_work
from safe_bench.benchmark.seeds import Estimate
from safe_bench.benchmark.store import Store, data_hash, digest
from safe_bench.data.schema import Schema
from safe_bench.errors import GeneratorError
from safe_bench.evaluation.evaluate import plain
from safe_bench.provenance import __version__
from safe_bench.scenarios.federated.measures import (
    GLOBAL,
    PAIRS,
    QUANTITIES,
    Judge,
    Measured,
    Welch,
    estimate,
    recovered_gain,
    welch,
    worst_site,
)
from safe_bench.scenarios.federated.partition import Partition, PartitionSpec, partition
from safe_bench.scenarios.federated.training import (
    SCENARIOS,
    RoundTables,
    ScenarioName,
    Training,
    pooled_shares,
    run_scenario,
)

#: Bootstrap resamples of each evaluation (the curves' intervals come from the seeds).
N_BOOTSTRAP = 20


@dataclass(frozen=True)
class FederatedStudy:
    """One table cut into sites, one generator, the scenarios to compare, over seeds."""

    dataset: str
    frame: pd.DataFrame
    schema: Schema
    make: Callable[[], Federated]
    generator_name: str
    params: Mapping[str, Any]
    partition: PartitionSpec
    sites: int | None
    rounds: int
    epochs: int
    seeds: tuple[int, ...]
    scenarios: tuple[ScenarioName, ...] = SCENARIOS
    metrics: tuple[str, ...] | None = None
    n_bootstrap: int = N_BOOTSTRAP
    timeout: float = 6 * 3600.0

    def partition_of(self, seed: int) -> Partition:
        return partition(self.frame, self.schema, self.partition, self.sites, seed=seed)

    def units(self) -> list[SeedRun]:
        """One unit of work per seed, each keyed."""
        base = {
            "scenario": "federated", "data": data_hash(self.frame, self.schema), "generator": self.generator_name,
            "provider": provider(self.make()), "params": dict(self.params), "partition": self.partition.text,
            "sites": self.sites, "rounds": self.rounds, "epochs": self.epochs, "scenarios": list(self.scenarios),
            "metrics": None if self.metrics is None else list(self.metrics), "n_bootstrap": self.n_bootstrap,
            "version": __version__,
        }
        preload = (type(self.make()).__module__,)
        return [SeedRun(digest({**plain(base), "seed": seed}),
                        f"federated {self.dataset} x {self.generator_name}: seed {seed}", self.timeout, preload, self, seed)
                for seed in self.seeds]


def scenario_tables(study: FederatedStudy, part: Partition, training: Training
                    ) -> Iterator[tuple[ScenarioName, RoundTables]]:
    """Every asked scenario's tables, round by round; pooling reuses the isolated models."""
    isolated = "isolated" in study.scenarios or "pooling" in study.scenarios
    for scenario in study.scenarios:
        if scenario == "pooling" and "isolated" in study.scenarios:
            continue  # made beside isolated below
        if scenario in ("isolated", "pooling") and isolated:
            for tables in run_scenario("isolated", study.make, part, study.schema, training):
                if "isolated" in study.scenarios:
                    yield "isolated", tables
                if "pooling" in study.scenarios:
                    yield "pooling", pooled_shares(tables, training)
            isolated = False
            continue
        yield from ((scenario, t) for t in run_scenario(scenario, study.make, part, study.schema, training))


@dataclass(frozen=True)
class SeedRun:
    """Every scenario of a study at one seed: a unit of work for the runner
    (:class:`safe_bench.benchmark.work.Work`) whose result is the measured rows as JSON."""

    key: str
    label: str
    timeout: float
    preload: tuple[str, ...]
    study: FederatedStudy = field(repr=False)
    seed: int

    def execute(self, notify: Callable[[str], None]) -> str:
        s = self.study
        notify("partition")
        part = s.partition_of(self.seed)
        judge = Judge(part, s.schema, self.seed, s.n_bootstrap, s.metrics)
        training = Training(s.rounds, s.epochs, self.seed)
        rows: list[Measured] = []
        for scenario, tables in scenario_tables(s, part, training):
            notify(f"{scenario} round {tables.round}/{s.rounds}")
            rows += judge.round(scenario, tables)
        out = {"partition": part.to_dict(), "rows": [m.to_row() for m in rows]}
        return json.dumps(plain(out), allow_nan=False, separators=(",", ":"))


# -- the result ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FederatedResult:
    """The measured rows of every seed and the partitions they were measured on."""

    study: FederatedStudy
    partitions: Sequence[Mapping[str, Any]]
    rows: Sequence[Measured]

    @property
    def site_names(self) -> list[str]:
        return [s["name"] for s in self.partitions[0]["sites"]]

    def curves(self, scenario: str, site: str) -> dict[str, list[Estimate]]:
        """Each quantity's estimate at each round, over seeds."""
        return {q: [estimate(self.rows, scenario, site, q, r) for r in range(1, self.study.rounds + 1)]
                for q in QUANTITIES}

    def tests(self) -> list[Welch]:
        """Welch's tests on SAFE at the last round, on the worst isolated site and globally."""
        s = self.study
        worst = worst_site(self.rows, "isolated", self.site_names, s.rounds)
        places = ([worst[0]] if worst else []) + [GLOBAL]
        return [welch(self.rows, a, b, place, "SAFE", s.rounds) for a, b in PAIRS
                if a in s.scenarios and b in s.scenarios for place in places]

    def to_dict(self) -> dict[str, Any]:
        s = self.study
        names = self.site_names
        h = [float(p["heterogeneity"]) for p in self.partitions]
        scenarios: dict[str, Any] = {}
        for scenario in s.scenarios:
            sites: dict[str, Any] = {}
            for name in [*names, GLOBAL]:
                curves = self.curves(scenario, name)
                entry: dict[str, Any] = {"rounds": [{"round": r + 1, **{q: _estimate_dict(est[r]) for q, est in curves.items()}}
                                                    for r in range(s.rounds)]}
                if scenario not in ("centralized", "isolated") and name != GLOBAL:
                    gain, why = recovered_gain(self.rows, scenario, name, s.rounds)
                    entry["recovered_gain"] = gain
                    if why:
                        entry["recovered_gain_note"] = why
                sites[name] = entry
            worst = worst_site(self.rows, scenario, names, s.rounds)
            scenarios[scenario] = {"sites": sites,
                                   "worst_site": None if worst is None else {"site": worst[0],
                                                                             "SAFE": _estimate_dict(worst[1])}}
        return {
            "scenario": "federated", "dataset": s.dataset, "generator": s.generator_name, "params": dict(s.params),
            "sites": len(names), "site_names": names, "rounds": s.rounds, "epochs": s.epochs, "seeds": list(s.seeds),
            "n_bootstrap": s.n_bootstrap,
            "partition": {"spec": s.partition.text, "method": s.partition.method,
                          "heterogeneity": {"mean": sum(h) / len(h), "min": min(h), "max": max(h)},
                          "per_seed": list(self.partitions)},
            "scenarios": scenarios,
            "tests": [asdict(t) for t in self.tests()],
        }

    def to_json(self) -> str:
        return json.dumps(plain(self.to_dict()), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _estimate_dict(e: Estimate) -> dict[str, Any]:
    """An estimate over seeds for JSON: mean and interval, each seed's score, or why not."""
    out: dict[str, Any] = {"mean": e.score, "ci_low": e.ci_low, "ci_high": e.ci_high,
                           "per_seed": [s.estimate.score for s in e.seeds] if e.seeds else [e.score]}
    if e.score is None:
        out.update(status=e.status, reason=e.reason)
    return out


def run_federated(study: FederatedStudy, store: Store, *, backend: Backend | None = None,
                  progress: Progress | None = None) -> FederatedResult:
    """Run the study's seeds through the benchmark runner (stored as they finish, those
    already stored skipped) and gather them. A seed that failed leaves the study
    incomplete: a GeneratorError says how many and why, never a summary of part."""
    units = study.units()
    summary = run_work(units, store, kind="federated", backend=backend, progress=progress,
                       manifest={"dataset": study.dataset, "generator": study.generator_name, "seeds": list(study.seeds)})
    missing = [u for u in units if u.key not in summary.results]
    if missing:
        stored = store.work(kind="federated")
        reasons = stored.set_index("key").reindex([u.key for u in missing])["reason"].dropna()
        first = f" (first: {reasons.iloc[0]})" if len(reasons) else ""
        raise GeneratorError(f"{len(missing)} of {len(units)} seeds of the federated study of {study.generator_name!r} "
                             f"did not finish{first}; run the command again to retry them")
    partitions, rows = [], []
    for u in units:
        data = json.loads(summary.results[u.key])
        partitions.append(data["partition"])
        rows += [Measured.from_row(r) for r in data["rows"]]
    return FederatedResult(study, partitions, rows)

