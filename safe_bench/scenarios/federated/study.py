"""A federated study: its settings (:class:`FederatedStudy`), one seed's scenarios as a unit
of work the benchmark runner runs and stores (:class:`SeedRun`), and the summary over
seeds (:class:`FederatedResult`, the JSON of ``safe-bench scenario federated``).

A unit of work is one seed and one group of scenarios (:meth:`FederatedStudy.groups`):
it partitions the table, trains the group round by
round and evaluates each round; its key hashes all of that depends on (the data, the generator, its provider
and settings, the partition, sites, rounds, epochs, scenarios, metrics, resamples, the
seed and the package version), so a study run again, or after a kill, computes only the
units the store lacks. The engine of FedAvg's rounds (Flower or the in-process loop) is
not part of the key: both give the same parameters (to 1e-14: the last bits of a float sum).
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
from safe_bench.benchmark.runner import require_all, run_work
from safe_bench.benchmark.seeds import Estimate
from safe_bench.benchmark.store import Store, data_hash, digest
from safe_bench.data.schema import Schema
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
    Engine,
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
    engine: Engine = "local"
    timeout: float = 6 * 3600.0

    def partition_of(self, seed: int) -> Partition:
        return partition(self.frame, self.schema, self.partition, self.sites, seed=seed)

    def groups(self) -> list[tuple[ScenarioName, ...]]:
        """The asked scenarios in the groups one unit of work trains: isolated with pooling
        (pooling pools the isolated models' tables), centralized with FedAvg (an exact
        federation gives the centralized tables again, judged once), sharing alone."""
        together = (("sharing",), ("isolated", "pooling"), ("centralized", "fedavg"))  # the longest first
        groups = [tuple(s for s in group if s in self.scenarios) for group in together]
        return [g for g in groups if g]

    def units(self) -> list[ScenarioRun]:
        """One unit of work per seed and group of scenarios, each keyed."""
        model = self.make()
        base = {
            "scenario": "federated", "data": data_hash(self.frame, self.schema), "generator": self.generator_name,
            "provider": provider(model), "params": dict(self.params), "partition": self.partition.text,
            "sites": self.sites, "rounds": self.rounds, "epochs": self.epochs,
            "metrics": None if self.metrics is None else list(self.metrics), "n_bootstrap": self.n_bootstrap,
            "version": __version__,
        }
        preload = (type(model).__module__,)
        return [ScenarioRun(digest({**plain(base), "seed": seed, "scenarios": list(group)}),
                            f"federated {self.dataset} x {self.generator_name}: {'+'.join(group)}, seed {seed}",
                            self.timeout, preload, self, seed, group)
                for seed in self.seeds for group in self.groups()]


def scenario_tables(study: FederatedStudy, group: Sequence[ScenarioName], part: Partition, training: Training
                    ) -> Iterator[tuple[ScenarioName, RoundTables]]:
    """A group's tables, round by round; pooling reuses the isolated models."""
    if "pooling" in group:
        for tables in run_scenario("isolated", study.make, part, study.schema, training):
            if "isolated" in group:
                yield "isolated", tables
            yield "pooling", pooled_shares(tables, part, training)
        return
    for scenario in group:
        yield from ((scenario, t) for t in run_scenario(scenario, study.make, part, study.schema, training))


@dataclass(frozen=True)
class ScenarioRun:
    """A group of a study's scenarios at one seed: a unit of work for the runner
    (:class:`safe_bench.benchmark.work.Work`) whose result is the partition and the
    measured rows as JSON."""

    key: str
    label: str
    timeout: float
    preload: tuple[str, ...]
    study: FederatedStudy = field(repr=False)
    seed: int
    group: tuple[ScenarioName, ...]

    def execute(self, notify: Callable[[str], None]) -> str:
        s = self.study
        notify("partition")
        part = s.partition_of(self.seed)
        judge = Judge(part, s.schema, self.seed, s.n_bootstrap, s.metrics)
        training = Training(s.rounds, s.epochs, self.seed, s.engine)
        rows: list[Measured] = []
        for scenario, tables in scenario_tables(s, self.group, part, training):
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
            "n_bootstrap": s.n_bootstrap, "engine": s.engine,
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
    require_all(units, summary, store, what=f"units of the federated study of {study.generator_name!r}")
    return gather(study, summary.results)


def gather(study: FederatedStudy, results: Mapping[str, str]) -> FederatedResult:
    """The study's result from its units' results (JSON text by key), every unit present."""
    partitions: dict[int, Any] = {}
    rows = []
    for u in study.units():
        data = json.loads(results[u.key])
        partitions.setdefault(u.seed, data["partition"])
        rows += [Measured.from_row(r) for r in data["rows"]]
    return FederatedResult(study, list(partitions.values()), rows)

