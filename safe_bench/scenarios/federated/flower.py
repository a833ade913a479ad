"""The FedAvg round loop through Flower (``flwr``, the ``federated`` extra), so that a team's
own Flower client plugs in where a bundled generator's sites do.

Flower runs the loop and the aggregation: its ``Server`` (``flwr.server.Server``, through
``flwr.server.compat.start_grid``, the path a Flower ``ServerApp`` takes for a strategy) asks
its ``FedAvg`` strategy (``flwr.server.strategy.FedAvg``: configure_fit, the size-weighted
average of aggregate_fit, evaluate_fn after each round) and sends each site a ``train``
message that the site's ``ClientApp`` answers. A team's own client is a ``ClientApp``
(``ClientApp(client_fn=...)`` around a ``NumPyClient``, as Flower's tutorials write it): give
it to :func:`flower_fedavg`; a client written to Flower's Message API (``@app.train()``) runs
under that API's ``FedAvg`` (``flwr.serverapp.strategy.FedAvg``) in
:func:`flower_message_fedavg`. The sites of a bundled generator are :class:`SiteClient`, a
``NumPyClient`` around a :class:`~safe_bench_generators.federated.Federated` model, and
:func:`run_flower_fedavg` runs them as :func:`~safe_bench.scenarios.federated.rounds.run_fedavg`
does, with the same result (to 1e-14: Flower's in-place weighted average computes what
:func:`~safe_bench_generators.federated.average` does, in the same site order; the last bit
of a float sum may differ).

Transport: Flower's simulation engine (``flwr.simulation.run_simulation``) needs Ray
(``flwr[simulation]``: 245 MB more) and runs each ``ClientApp`` in Ray actor processes, so a
site's model would not keep its own state between rounds as the contract asks; measured on
this 2-core machine it runs a 3-client 2-round toy in about 10 s and 1.1 GB of memory and is
deprecated in flwr 1.42. :class:`LocalGrid` is a Flower ``Grid`` that hands each message to
its node's ``ClientApp`` in this process instead (one ``Context`` per node, kept between
rounds, ``node_config`` with ``partition-id`` and ``num-partitions`` as the simulation
engine sets them); the server, strategy, client proxies and message handling are Flower's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import numpy as np
import pandas as pd
from safe_bench_generators.federated import Federated, Parameters

from safe_bench.data.schema import Schema
from safe_bench.errors import GeneratorError

from .rounds import OnRound, check, start

try:
    from flwr.app import ArrayRecord, ConfigRecord, Context, Error, Message, RecordDict
    from flwr.client import ClientApp, NumPyClient
    from flwr.common import NDArrays, Scalar, ndarrays_to_parameters
    from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode
    from flwr.server import Server, ServerConfig, SimpleClientManager
    from flwr.server.client_proxy import ClientProxy
    from flwr.server.compat import start_grid
    from flwr.server.criterion import Criterion
    from flwr.server.strategy import FedAvg
    from flwr.serverapp.grid import Grid
    from flwr.serverapp.strategy import FedAvg as MessageFedAvg
    from flwr.supercore.run import Run
    from flwr.supercore.task_identity import TaskIdentity
except ImportError as exc:  # pragma: no cover - the message is what matters
    raise ImportError(
        "the Flower round loop needs flwr (the federated extra): pip install 'safe-bench[federated]'"
    ) from exc

#: The config key the strategy sends each round: the local epochs (read by :class:`SiteClient`;
#: a team's own client may read it too).
EPOCHS_KEY = "local-epochs"
#: Node ids of the sites are ``FIRST_NODE + k`` (Flower's own server is node 1).
FIRST_NODE = 1000

#: Called after each round with the round (1-based) and the global parameters.
OnParameters = Callable[[int, Parameters], None]


class SiteClient(NumPyClient):
    """A Flower ``NumPyClient`` around one site's :class:`Federated` model and train table:
    ``fit`` sets the parameters it receives, trains ``config[EPOCHS_KEY]`` epochs (else
    ``epochs``) on the site's rows and answers with its parameters and row count."""

    def __init__(self, model: Federated, train: pd.DataFrame, *, epochs: int = 1):
        self.model = model
        self.train = train
        self.epochs = epochs

    def get_parameters(self, config: dict[str, Scalar]) -> NDArrays:
        return self.model.get_parameters()

    def fit(self, parameters: NDArrays, config: dict[str, Scalar]) -> tuple[NDArrays, int, dict[str, Scalar]]:
        self.model.set_parameters(parameters)
        self.model.fit_local(self.train, epochs=int(config.get(EPOCHS_KEY, self.epochs)))
        return self.model.get_parameters(), len(self.train), {}


class LocalGrid(Grid):
    """A Flower ``Grid`` whose nodes are ``ClientApp`` objects in this process: a message to
    node ``FIRST_NODE + k`` is answered by ``apps[k]`` with node ``k``'s ``Context``, at once
    and in node order. An exception a ``ClientApp`` raises is answered with an error reply
    (Flower's strategies count it a failure) and kept in :attr:`errors` (the run raises it)."""

    def __init__(self, apps: Sequence[ClientApp], *, run_id: int = 1):
        self._run = Run.create_empty(run_id)
        self.apps = list(apps)
        self.contexts = [
            Context(run_id=run_id, node_id=FIRST_NODE + k, node_config={"partition-id": k, "num-partitions": len(apps)},
                    state=RecordDict(), run_config={})
            for k in range(len(apps))
        ]
        self.errors: list[BaseException] = []
        self._replies: dict[str, Message] = {}

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return [FIRST_NODE + k for k in range(len(self.apps))]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for message in messages:
            k = message.metadata.dst_node_id - FIRST_NODE
            if not 0 <= k < len(self.apps):
                raise GeneratorError(f"no node {message.metadata.dst_node_id} in this grid")
            message_id = uuid4().hex
            message.metadata.__dict__["_message_id"] = message_id  # as Flower's InMemoryGrid does
            try:
                self._replies[message_id] = self.apps[k](message, self.contexts[k])
            except Exception as exc:  # answered as Flower's runtime answers it: an error reply
                self.errors.append(exc)
                self._replies[message_id] = Message(Error(ErrorCode.CLIENT_APP_RAISED_EXCEPTION, type(exc).__name__),
                                                    reply_to=message)
            ids.append(message_id)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i) for i in message_ids if i in self._replies]

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        """The replies, in node order whatever order the strategy sampled the nodes in."""
        ordered = sorted(messages, key=lambda m: m.metadata.dst_node_id)
        return self.pull_messages(self.push_messages(ordered))


class _InNodeOrder(SimpleClientManager):
    """Flower's client manager, handing out the sampled clients in node order (FedAvg with
    every site in every round samples them all), so that sites train in a fixed order."""

    def sample(self, num_clients: int, min_num_clients: int | None = None,
               criterion: Criterion | None = None) -> list[ClientProxy]:
        return sorted(super().sample(num_clients, min_num_clients, criterion), key=lambda c: int(c.cid))


@contextmanager
def _quiet(level: int = logging.WARNING) -> Iterator[None]:
    """Flower's own INFO log (a line per step) kept out of the run's output."""
    logger = logging.getLogger("flwr")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def flower_fedavg(
    client_app: ClientApp | Sequence[ClientApp],
    initial: Sequence[np.ndarray],
    *,
    sites: int,
    rounds: int,
    epochs: int,
    on_round: OnParameters | None = None,
) -> Parameters:
    """FedAvg by Flower's server and strategy over ``sites`` nodes answered by ``client_app``
    (one app for every node, as Flower deploys it, or one per node), from the global
    parameters ``initial``; every node trains in every round (``fraction_fit=1``) and is sent
    ``{EPOCHS_KEY: epochs}``; there is no federated evaluation. ``on_round(round, parameters)``
    is Flower's ``evaluate_fn`` after each round. Returns the final global parameters; a
    failed node raises (:class:`GeneratorError`, from its exception)."""
    if sites < 1 or rounds < 1 or epochs < 1:
        raise GeneratorError(f"sites, rounds and epochs must be at least 1 (got {sites}, {rounds}, {epochs})")
    apps = [client_app] * sites if isinstance(client_app, ClientApp) else list(client_app)
    if len(apps) != sites:
        raise GeneratorError(f"{len(apps)} client apps for {sites} sites")
    final: list[Parameters] = [[np.asarray(a) for a in initial]]
    grid = LocalGrid(apps)

    def evaluate(server_round: int, parameters: NDArrays, config: dict[str, Scalar]) -> tuple[float, dict[str, Scalar]] | None:
        # Flower evaluates the initial parameters as round 0; after a failed round it would
        # hand on the old ones, which are no round's global model
        if server_round > 0 and not grid.errors:
            final.append(list(parameters))
            if on_round is not None:
                on_round(server_round, list(parameters))
        return None

    strategy = FedAvg(
        fraction_fit=1.0, min_fit_clients=sites, min_available_clients=sites,
        fraction_evaluate=0.0, min_evaluate_clients=0, accept_failures=False,
        initial_parameters=ndarrays_to_parameters([np.asarray(a) for a in initial]),
        evaluate_fn=evaluate, on_fit_config_fn=lambda _round: {EPOCHS_KEY: epochs},
        fit_metrics_aggregation_fn=_no_metrics,
    )
    server = Server(client_manager=_InNodeOrder(), strategy=strategy)
    server.set_max_workers(1)  # the sites in turn, in node order: no thread races for the cores
    with _quiet():
        start_grid(grid=grid, server=server, config=ServerConfig(num_rounds=rounds))
    if grid.errors:
        raise GeneratorError(f"a Flower site failed: {type(grid.errors[0]).__name__}") from grid.errors[0]
    if len(final) != rounds + 1:
        raise GeneratorError(f"Flower ran {len(final) - 1} of {rounds} rounds")
    return final[-1]


def flower_message_fedavg(
    client_app: ClientApp | Sequence[ClientApp],
    initial: Sequence[np.ndarray],
    *,
    sites: int,
    rounds: int,
    epochs: int,
    on_round: OnParameters | None = None,
) -> Parameters:
    """:func:`flower_fedavg` for a team's client written to Flower's Message API (a ``ClientApp``
    whose ``@app.train()`` reads ``message.content["arrays"]`` and ``["config"][EPOCHS_KEY]``
    and replies ``"arrays"`` and ``"metrics"`` with ``"num-examples"``): the loop and the
    weighted average are then ``flwr.serverapp.strategy.FedAvg.start``'s."""
    if sites < 1 or rounds < 1 or epochs < 1:
        raise GeneratorError(f"sites, rounds and epochs must be at least 1 (got {sites}, {rounds}, {epochs})")
    apps = [client_app] * sites if isinstance(client_app, ClientApp) else list(client_app)
    if len(apps) != sites:
        raise GeneratorError(f"{len(apps)} client apps for {sites} sites")
    grid = LocalGrid(apps)
    # who sends the messages, as flwr.server.compat.start_grid says it for the legacy server
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, grid.run.run_id, SUPERLINK_NODE_ID
    seen: list[int] = []

    def evaluate(server_round: int, arrays: ArrayRecord) -> None:
        if server_round > 0 and not grid.errors:
            seen.append(server_round)
            if on_round is not None:
                on_round(server_round, arrays.to_numpy_ndarrays())

    with _quiet(logging.ERROR):  # also its warning that fraction_evaluate=0 skips federated evaluation
        strategy = MessageFedAvg(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=sites, min_available_nodes=sites)
        result = strategy.start(grid=grid, initial_arrays=ArrayRecord([np.asarray(a) for a in initial]), num_rounds=rounds,
                                train_config=ConfigRecord({EPOCHS_KEY: epochs}), evaluate_fn=evaluate)
    if grid.errors:
        raise GeneratorError(f"a Flower site failed: {type(grid.errors[0]).__name__}") from grid.errors[0]
    if seen != list(range(1, rounds + 1)):
        raise GeneratorError(f"Flower ran {len(seen)} of {rounds} rounds")
    return result.arrays.to_numpy_ndarrays()


def _no_metrics(metrics: list[tuple[int, dict[str, Scalar]]]) -> dict[str, Scalar]:
    return {}


def site_app(model: Federated, train: pd.DataFrame, *, epochs: int = 1) -> ClientApp:
    """A Flower ``ClientApp`` whose client is :class:`SiteClient` around ``model`` and ``train``."""
    client = SiteClient(model, train, epochs=epochs)

    def client_fn(context: Context) -> Any:
        return client.to_client()

    return ClientApp(client_fn=client_fn)


def run_flower_fedavg(
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
    """:func:`~safe_bench.scenarios.federated.rounds.run_fedavg` through Flower: the same
    start (:func:`~safe_bench.scenarios.federated.rounds.start`), then :func:`flower_fedavg`
    over one :func:`site_app` per site; after each round the server sets the global
    parameters and ``on_round(round, server)`` is called. Returns the final global parameters."""
    check(server, sites, trains, rounds=rounds, epochs=epochs)
    start(server, sites, trains, schema, seed=seed)

    def hook(r: int, parameters: Parameters) -> None:
        server.set_parameters(parameters)
        if on_round is not None:
            on_round(r, server)

    final = flower_fedavg([site_app(m, t, epochs=epochs) for m, t in zip(sites, trains, strict=True)], server.get_parameters(),
                          sites=len(sites), rounds=rounds, epochs=epochs, on_round=hook)
    server.set_parameters(final)
    return final
