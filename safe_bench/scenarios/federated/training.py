"""The five ways sites can make synthetic data, round by round.

- **centralized**: one model trained on the pooled train (the upper bound no federation
  beats: the sites give up their rows);
- **isolated**: every site trains a model on its own rows alone, on its own encoding;
- **fedavg**: Federated Averaging (McMahan et al., AISTATS 2017): each round every site
  trains ``epochs`` epochs from the global parameters, the server averages them weighted
  by the sites' row counts (:mod:`~safe_bench.scenarios.federated.rounds`);
- **sharing**: synthetic-data sharing (Apellániz, Parras & Zazo 2025): each round every
  site trains on its own rows plus the synthetic rows the other sites made the round
  before, then makes its own for them;
- **pooling**: the isolated models' synthetic tables pooled into one (Asti et al., Blood
  2025): what each site gets is a share of the pool.

Training is by rounds in every scenario, so the curves are comparable: a round is
``epochs`` epochs of local training (a one-site federation for centralized and
isolated). After each round the scenario gives each site the synthetic table it uses
(as many rows as its train) and the federation's table (as many rows as the pooled
train). When the sites are the levels of a site column the generators see, a site's
table holds that site's rows only: a model that makes rows of every site (centralized,
FedAvg, a site trained on the others' shared rows) is sampled until it has made as many
rows of the site as the site's train (rows of other sites are dropped), as a centre
would make synthetic patients of its own. Sample seeds depend on the seed and the site only, so two scenarios
whose models agree (centralized and FedAvg of an exact federated model) give the same
tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from safe_bench_generators.federated import Federated

from safe_bench.data.schema import Schema
from safe_bench.evaluation.uncertainty import Stream, seeds, stream
from safe_bench.scenarios.federated.partition import BySite, Partition
from safe_bench.scenarios.federated.rounds import OnRound, fedavg_round, run_fedavg, start

ScenarioName = Literal["centralized", "isolated", "fedavg", "sharing", "pooling"]
SCENARIOS: tuple[ScenarioName, ...] = ("centralized", "isolated", "fedavg", "sharing", "pooling")
#: A new model, the same each call (the generator with its settings).
Make = Callable[[], Federated]
#: Samples drawn at most to find a site's rows in a model that makes every site's.
MAX_SITE_DRAWS = 8
#: The largest of those samples.
MAX_SITE_ROWS = 200_000


#: What runs FedAvg's rounds: Flower's server and FedAvg strategy
#: (:mod:`~safe_bench.scenarios.federated.flower`, the ``federated`` extra) or the same
#: loop in this process (:mod:`~safe_bench.scenarios.federated.rounds`); they give the
#: same parameters to 1e-14, the last bits of a float sum (tests/test_federated_rounds.py).
Engine = Literal["flower", "local"]
ENGINES: tuple[Engine, ...] = ("flower", "local")


def default_engine() -> Engine:
    """Flower when it is installed, else the in-process loop."""
    try:
        import flwr  # noqa: F401
    except ImportError:
        return "local"
    return "flower"


@dataclass(frozen=True)
class Training:
    """Rounds, local epochs per round, the seed of every model and sample, and the engine
    of FedAvg's rounds."""

    rounds: int
    epochs: int
    seed: int
    engine: Engine = "local"

    def fedavg(self, server: Federated, sites: Sequence[Federated], trains: Sequence[pd.DataFrame], schema: Schema,
               seed: int, on_round: OnRound) -> None:
        """FedAvg's rounds on the engine, ``on_round(round, server)`` after each."""
        if self.engine == "flower":
            from safe_bench.scenarios.federated.flower import run_flower_fedavg

            run_flower_fedavg(server, sites, trains, schema, rounds=self.rounds, epochs=self.epochs, seed=seed,
                              on_round=on_round)
        else:
            run_fedavg(server, sites, trains, schema, rounds=self.rounds, epochs=self.epochs, seed=seed,
                       on_round=on_round)


@dataclass(frozen=True)
class Lost:
    """A site's table that could not be made, and why (a model that no longer makes the
    site's rows: it is judged not scored, never dropped silently)."""

    reason: str


@dataclass(frozen=True)
class RoundTables:
    """A scenario after one round: the synthetic table each site uses (``sites[k]``, as
    many rows as site ``k``'s train, or :class:`Lost`) and the federation's (``pooled``,
    as many as the pooled train)."""

    round: int
    sites: tuple[pd.DataFrame | Lost, ...]
    pooled: pd.DataFrame


def _stack(tables: Sequence[pd.DataFrame | Lost]) -> pd.DataFrame:
    return pd.concat([t for t in tables if isinstance(t, pd.DataFrame)], ignore_index=True)


def sample_seed(training: Training, site: int | None) -> int:
    """The seed of a sample, by seed and site (None: the federation's table), the same at
    every round: a curve follows the model, not fresh sampling noise, and a model that
    does not change between rounds gives the same table (evaluated once)."""
    word = 0 if site is None else site + 1
    return seeds(training.seed, Stream.FEDERATED_SAMPLE, word, count=1)[0]


def _model_seed(training: Training, site: int | None) -> int:
    return seeds(training.seed, Stream.FEDERATED_MODEL, 0 if site is None else site + 1, count=1)[0]


def _one_site(make: Make, train: pd.DataFrame, schema: Schema, seed: int) -> tuple[Federated, Federated]:
    """A model trained alone, as a one-site federation (server, site)."""
    server, site = make(), make()
    start(server, [site], [train], schema, seed=seed)
    return server, site


def run_scenario(scenario: ScenarioName, make: Make, part: Partition, schema: Schema, training: Training
                 ) -> Iterator[RoundTables]:
    """The synthetic tables of ``scenario`` after each of ``training.rounds`` rounds."""
    trains = [s.train for s in part.sites]
    sizes = [len(t) for t in trains]
    pooled_rows = sum(sizes)
    r_seed = _model_seed(training, None)

    def from_one(model: Federated, r: int) -> RoundTables:
        tables = tuple(site_sample(model, part, k, n, sample_seed(training, k)) for k, n in enumerate(sizes))
        return RoundTables(r, tables, model.sample(pooled_rows, seed=sample_seed(training, None)))

    if scenario in ("centralized", "fedavg"):
        # centralized: the federation of one site holding the pooled train
        tables = [part.pooled_train] if scenario == "centralized" else trains
        tables_after: list[RoundTables] = []
        training.fedavg(make(), [make() for _ in tables], tables, schema, r_seed, lambda r, server: tables_after.append(
            from_one(server, r)))
        yield from tables_after
    elif scenario == "isolated":
        alone = [_one_site(make, t, schema, _model_seed(training, k)) for k, t in enumerate(trains)]
        for r in range(1, training.rounds + 1):
            for (server, site), train in zip(alone, trains, strict=True):
                fedavg_round(server, [site], [train], epochs=training.epochs)
            own = tuple(site_sample(server, part, k, n, sample_seed(training, k))
                        for k, ((server, _), n) in enumerate(zip(alone, sizes, strict=True)))
            yield RoundTables(r, own, _stack(own))
    elif scenario == "pooling":
        yield from (pooled_shares(t, part, training) for t in run_scenario("isolated", make, part, schema, training))
    else:
        yield from _sharing(make, part, schema, training)


def site_column(part: Partition) -> str | None:
    """The column whose levels are the sites, when the partition is by one."""
    return part.spec.column if isinstance(part.spec, BySite) else None


def site_sample(model: Federated, part: Partition, site: int, n: int, seed: int) -> pd.DataFrame | Lost:
    """``n`` synthetic rows for site ``site``: the model's rows of that site when the sites
    are a column's levels (sampled in rounds of growing size, at most
    :data:`MAX_SITE_DRAWS`; :class:`Lost` when the model has all but stopped making
    them), else its first ``n`` rows."""
    column = site_column(part)
    if column is None:
        return model.sample(n, seed=seed)
    level = part.sites[site].train[column].iloc[0]
    kept: list[pd.DataFrame] = []
    have, ask, asked = 0, n, 0
    for attempt in range(MAX_SITE_DRAWS):
        batch = model.sample(ask, seed=seed + attempt)
        mine = batch[batch[column] == level]
        kept.append(mine)
        have, asked = have + len(mine), asked + len(batch)
        if have >= n:
            return pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)
        ask = min(max(2 * ask, int(1.2 * (n - have) * len(batch) / max(len(mine), 1))), MAX_SITE_ROWS)
    return Lost(f"the model made {have} rows of site {part.sites[site].name!r} in {asked} synthetic rows, {n} were "
                "needed: it has all but stopped making that site's patients")


def _sharing(make: Make, part: Partition, schema: Schema, training: Training) -> Iterator[RoundTables]:
    """Synthetic-data sharing: the sites start from every site's summary (one encoding,
    so another site's synthetic rows fit it); round ``r`` trains site ``k`` on its rows and
    the others' synthetic rows of round ``r - 1``."""
    trains = [s.train for s in part.sites]
    server, sites = make(), [make() for _ in trains]
    start(server, sites, trains, schema, seed=_model_seed(training, None))
    shared: list[pd.DataFrame | Lost] = []
    for r in range(1, training.rounds + 1):
        for k, (model, train) in enumerate(zip(sites, trains, strict=True)):
            others = [table for j, table in enumerate(shared) if j != k and isinstance(table, pd.DataFrame)]
            model.fit_local(pd.concat([train, *others], ignore_index=True) if others else train, epochs=training.epochs)
        shared = [site_sample(model, part, k, len(train), sample_seed(training, k))
                  for k, (model, train) in enumerate(zip(sites, trains, strict=True))]
        yield RoundTables(r, tuple(shared), _stack(shared))


def pooled_shares(isolated: RoundTables, part: Partition, training: Training) -> RoundTables:
    """Pooling after a round of isolated training: the federation's table is the pool of the
    sites' synthetic tables, and each site gets as many rows as its own, drawn from the pool
    without replacement (seeded by site: the same rows of the pool at every round)."""
    pool = isolated.pooled

    def share(site: int, n: int) -> pd.DataFrame:
        rows = stream(training.seed, Stream.FEDERATED_SAMPLE, site + 1, 0xB00).permutation(len(pool))[:n]
        return pool.iloc[np.sort(rows)].reset_index(drop=True)

    sizes = [len(site.train) for site in part.sites]
    return RoundTables(isolated.round, tuple(share(k, n) for k, n in enumerate(sizes)), pool)
