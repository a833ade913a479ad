"""The FedAvg round loop in this process (McMahan et al., "Communication-Efficient Learning
of Deep Networks from Decentralized Data", AISTATS 2017, Algorithm 1, with every site
taking part in every round: C = 1).

The sites and the server are :class:`~safe_bench_generators.federated.Federated` models, one
per site plus the server's own. :func:`start` runs the two steps before training (each site
summarises its own table; the server and every site start from all summaries with the same
seed); :func:`fedavg_round` is one round (the server's parameters to every site, ``epochs``
local epochs on each site, the average weighted by row count set on the server);
:func:`run_fedavg` runs both and calls ``on_round(round, server)`` after each round so the
caller can sample from the global model and measure it.

The same strategy run through Flower, so that a team's own Flower client plugs in, is
:mod:`~safe_bench.scenarios.federated.flower` (it needs the ``federated`` extra; this
module does not).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from safe_bench_generators.federated import Federated, Parameters, average

from safe_bench.data.schema import Schema
from safe_bench.errors import GeneratorError

#: Called after each round with the round (1-based) and the server, which holds the
#: global model of that round.
OnRound = Callable[[int, Federated], None]


def check(server: Federated, sites: Sequence[Federated], trains: Sequence[pd.DataFrame], *, rounds: int, epochs: int) -> None:
    """Raise :class:`GeneratorError` unless there is one distinct model per site, a distinct
    server, and at least one round of at least one epoch."""
    if not sites:
        raise GeneratorError("a federation needs at least one site")
    if len(sites) != len(trains):
        raise GeneratorError(f"{len(sites)} site models for {len(trains)} site tables")
    if len({id(m) for m in (server, *sites)}) != len(sites) + 1:
        raise GeneratorError("the server and every site need a model of their own")
    if rounds < 1 or epochs < 1:
        raise GeneratorError(f"rounds and epochs must be at least 1 (got {rounds} and {epochs})")


def start(server: Federated, sites: Sequence[Federated], trains: Sequence[pd.DataFrame], schema: Schema, *, seed: int) -> None:
    """Before the first round: every site summarises its own table (no row leaves it), then
    the server (``site=None``) and site ``k`` (``site=k``) start from all the summaries, in
    site order, with the same ``seed``: the same encoding and the same initial parameters."""
    summaries = [model.summarise(train, schema) for model, train in zip(sites, trains, strict=True)]
    server.start(summaries, schema, seed=seed, site=None)
    for k, model in enumerate(sites):
        model.start(summaries, schema, seed=seed, site=k)


def fedavg_round(server: Federated, sites: Sequence[Federated], trains: Sequence[pd.DataFrame], *, epochs: int) -> Parameters:
    """One FedAvg round: every site sets the server's parameters and trains ``epochs`` epochs
    on its own table; the server sets their average weighted by the sites' row counts
    (:func:`~safe_bench_generators.federated.average`), which is returned."""
    broadcast = server.get_parameters()
    results: list[tuple[Sequence, int]] = []
    for model, train in zip(sites, trains, strict=True):
        model.set_parameters(broadcast)
        model.fit_local(train, epochs=epochs)
        results.append((model.get_parameters(), len(train)))
    merged = average(results)
    server.set_parameters(merged)
    return merged


def run_fedavg(
    server: Federated,
    sites: Sequence[Federated],
    trains: Sequence[pd.DataFrame],
    schema: Schema,
    *,
    rounds: int,
    epochs: int,
    seed: int,
    on_round: OnRound | None = None,
) -> Parameters:
    """Train ``server`` by FedAvg over the sites (``sites[k]`` is site ``k``'s model, trained
    on ``trains[k]``): :func:`start`, then ``rounds`` rounds of :func:`fedavg_round` with
    ``epochs`` local epochs, ``on_round(round, server)`` after each. Returns the final global
    parameters (the server holds them too)."""
    check(server, sites, trains, rounds=rounds, epochs=epochs)
    start(server, sites, trains, schema, seed=seed)
    merged = server.get_parameters()
    for r in range(1, rounds + 1):
        merged = fedavg_round(server, sites, trains, epochs=epochs)
        if on_round is not None:
            on_round(r, server)
    return merged
