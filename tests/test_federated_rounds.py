"""The FedAvg round loop (issue 17, item 4): in this process (rounds.py) and through Flower
(flower.py) with toy models written here, numpy only.

- the in-process loop and Flower's server and FedAvg strategy give the same parameters,
  round by round;
- FedAvg over one site is that site trained for rounds x epochs epochs;
- the server's step is the average weighted by row counts (hand-worked numbers);
- ``on_round`` is called once per round with the server holding that round's global model;
- a team's own Flower ``NumPyClient`` (not our contract) runs in the same Flower loop.

flwr is the ``federated`` extra, which CI installs: without it the Flower tests fail and say so.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from safe_bench_generators.federated import Federated, average

from safe_bench.errors import GeneratorError
from safe_bench.scenarios.federated.rounds import fedavg_round, run_fedavg
from safe_bench.scenarios.federated.rounds import start as start_federation

#: The toy models read no schema.
SCHEMA: Any = None


def flower() -> ModuleType:
    """The Flower round loop, or a failure that says how to install it (never a skip)."""
    try:
        from safe_bench.scenarios.federated import flower as module
    except ImportError as exc:
        pytest.fail(f"flwr is not installed, so the Flower round loop cannot be tested: "
                    f"pip install -e '.[federated]' ({exc})")
    return module


class MeanToy:
    """Parameters: one number, the mean of the rows. ``fit_local`` replaces it by the mean of
    the site's rows, so one round of FedAvg gives the row-weighted mean of the site means."""

    name = "mean_toy"

    def summarise(self, train: pd.DataFrame, schema: Any) -> int:
        return len(train)

    def start(self, summaries: Sequence[Any], schema: Any, *, seed: int, site: int | None) -> None:
        self.value = np.array([float(seed)])

    def get_parameters(self) -> list[np.ndarray]:
        return [self.value.copy()]

    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        self.value = np.asarray(parameters[0], dtype=float).copy()

    def fit_local(self, train: pd.DataFrame, *, epochs: int) -> None:
        self.value = np.array([train["x"].mean()])

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        return pd.DataFrame({"x": np.full(n, self.value[0])})


class LinearToy:
    """A linear regression y ~ a + b x trained by full-batch gradient steps (one a epoch), from
    initial parameters drawn with the seed; the site keeps its step count between rounds."""

    name = "linear_toy"
    rate = 0.1

    def summarise(self, train: pd.DataFrame, schema: Any) -> dict[str, int]:
        return {"rows": len(train)}

    def start(self, summaries: Sequence[Any], schema: Any, *, seed: int, site: int | None) -> None:
        self.coef = np.random.default_rng(seed).normal(size=2)
        self.site = site
        self.steps = 0

    def get_parameters(self) -> list[np.ndarray]:
        return [self.coef.copy()]

    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        self.coef = np.asarray(parameters[0], dtype=float).copy()

    def fit_local(self, train: pd.DataFrame, *, epochs: int) -> None:
        design = np.column_stack([np.ones(len(train)), train["x"].to_numpy(float)])
        target = train["y"].to_numpy(float)
        for _ in range(epochs):
            residual = (design * self.coef).sum(axis=1) - target
            self.coef = self.coef - self.rate * (design * residual[:, None]).sum(axis=0) / len(train)
            self.steps += 1

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        x = np.random.default_rng(seed).normal(size=n)
        return pd.DataFrame({"x": x, "y": self.coef[0] + self.coef[1] * x})


def linear_sites(sizes: Sequence[int], seed: int = 0) -> list[pd.DataFrame]:
    """Site tables of different sizes and slopes (so the weighting matters)."""
    rng = np.random.default_rng(seed)
    tables = []
    for k, n in enumerate(sizes):
        x = rng.normal(loc=k, size=n)
        tables.append(pd.DataFrame({"x": x, "y": 1.0 + (2.0 + k) * x + rng.normal(scale=0.1, size=n)}))
    return tables


def recorder() -> tuple[list[tuple[int, Any, list[float]]], Any]:
    calls: list[tuple[int, Any, list[float]]] = []

    def on_round(r: int, model: Any) -> None:
        calls.append((r, model, model.get_parameters()[0].tolist()))

    return calls, on_round


def test_the_toys_keep_the_contract() -> None:
    assert isinstance(MeanToy(), Federated) and isinstance(LinearToy(), Federated)


def test_the_server_step_is_the_row_weighted_average() -> None:
    # two sites of 1 and 3 rows: weights 1/4 and 3/4
    merged = average([([np.array([1.0, 2.0]), np.array([[0.0]])], 1), ([np.array([4.0, 8.0]), np.array([[4.0]])], 3)])
    np.testing.assert_array_equal(merged[0], [0.25 * 1 + 0.75 * 4, 0.25 * 2 + 0.75 * 8])  # [3.25, 6.5]
    np.testing.assert_array_equal(merged[1], [[3.0]])
    # a round of the mean toy: site means 2 (3 rows) and 10 (1 row) -> (3 x 2 + 1 x 10) / 4 = 4, not their mean 6
    trains = [pd.DataFrame({"x": [0.0, 2.0, 4.0]}), pd.DataFrame({"x": [10.0]})]
    server, sites = MeanToy(), [MeanToy(), MeanToy()]
    start_federation(server, sites, trains, SCHEMA, seed=7)
    assert server.get_parameters()[0].tolist() == [7.0]
    assert fedavg_round(server, sites, trains, epochs=1)[0].tolist() == [4.0]
    assert server.get_parameters()[0].tolist() == [4.0]


def test_the_flower_strategy_weights_by_rows_too() -> None:
    fl = flower()
    trains = [pd.DataFrame({"x": [0.0, 2.0, 4.0]}), pd.DataFrame({"x": [10.0]})]
    calls, on_round = recorder()
    final = fl.run_flower_fedavg(MeanToy(), [MeanToy(), MeanToy()], trains, SCHEMA, rounds=2, epochs=1, seed=7,
                                 on_round=on_round)
    assert final[0].tolist() == [4.0]
    assert [(r, p) for r, _, p in calls] == [(1, [4.0]), (2, [4.0])]


@pytest.mark.parametrize("rounds, epochs", [(3, 2), (1, 4)])
def test_one_site_is_centralized_training(rounds: int, epochs: int) -> None:
    train = linear_sites([40])
    server, site = LinearToy(), LinearToy()
    federated = run_fedavg(server, [site], train, SCHEMA, rounds=rounds, epochs=epochs, seed=3)
    central = LinearToy()
    central.start([central.summarise(train[0], SCHEMA)], SCHEMA, seed=3, site=0)
    central.fit_local(train[0], epochs=rounds * epochs)
    np.testing.assert_array_equal(federated[0], central.get_parameters()[0])
    assert site.steps == central.steps == rounds * epochs
    # and through Flower
    via_flower = flower().run_flower_fedavg(LinearToy(), [LinearToy()], train, SCHEMA, rounds=rounds, epochs=epochs, seed=3)
    np.testing.assert_array_equal(via_flower[0], central.get_parameters()[0])


def test_on_round_sees_each_round_s_global_model() -> None:
    trains = linear_sites([30, 10, 60])
    server, sites = LinearToy(), [LinearToy() for _ in trains]
    calls, on_round = recorder()
    final = run_fedavg(server, sites, trains, SCHEMA, rounds=4, epochs=2, seed=1, on_round=on_round)
    assert [r for r, _, _ in calls] == [1, 2, 3, 4]
    assert all(model is server for _, model, _ in calls)
    # round by round, the same as stepping the rounds by hand
    server2, sites2 = LinearToy(), [LinearToy() for _ in trains]
    start_federation(server2, sites2, trains, SCHEMA, seed=1)
    for _, _, seen in calls:
        assert seen == fedavg_round(server2, sites2, trains, epochs=2)[0].tolist()
    assert calls[-1][2] == final[0].tolist()
    assert len({tuple(p) for _, _, p in calls}) == 4  # the model moves every round
    assert [s.site for s in sites] == [0, 1, 2] and server.site is None


def test_flower_and_the_in_process_loop_agree() -> None:
    fl = flower()
    trains = linear_sites([30, 10, 60])
    runs = {}
    for name, run in [("in-process", run_fedavg), ("flower", fl.run_flower_fedavg)]:
        server, sites = LinearToy(), [LinearToy() for _ in trains]
        calls, on_round = recorder()
        final = run(server, sites, trains, SCHEMA, rounds=5, epochs=3, seed=11, on_round=on_round)
        assert [r for r, _, _ in calls] == [1, 2, 3, 4, 5] and all(m is server for _, m, _ in calls)
        runs[name] = (final, [p for _, _, p in calls], [s.steps for s in sites], server.get_parameters())
    (final, per_round, steps, held), (final_fl, per_round_fl, steps_fl, held_fl) = runs["in-process"], runs["flower"]
    # the same sites in the same order and Flower's in-place weighted average: the same numbers
    # to the last bits (a float sum's last bit can follow the array's memory alignment, so a
    # run under load may differ in one unit of the last place: seen once in CI)
    np.testing.assert_allclose(final_fl[0], final[0], rtol=1e-14, atol=0)
    np.testing.assert_allclose(held_fl[0], held[0], rtol=1e-14, atol=0)
    np.testing.assert_allclose(per_round_fl, per_round, rtol=1e-14, atol=0)
    assert steps_fl == steps == [15, 15, 15]


def test_a_team_s_own_flower_client_plugs_in() -> None:
    fl = flower()
    from flwr.client import ClientApp, NumPyClient
    from flwr.common import Context

    data = [np.array([1.0, 2.0, 3.0]), np.array([10.0]), np.array([4.0, 4.0])]
    configs: list[dict[str, Any]] = []

    class TeamClient(NumPyClient):
        """A team's own client: moves halfway to its data's mean each local epoch."""

        def __init__(self, rows: np.ndarray):
            self.rows = rows

        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict[str, Any]]:
            configs.append(dict(config))
            value = parameters[0]
            for _ in range(int(config["local-epochs"])):
                value = value + 0.5 * (self.rows.mean() - value)
            return [value], len(self.rows), {"mean": float(self.rows.mean())}

    def client_fn(context: Context) -> Any:
        return TeamClient(data[int(context.node_config["partition-id"])]).to_client()

    seen: list[tuple[int, list[float]]] = []
    final = fl.flower_fedavg(ClientApp(client_fn=client_fn), [np.zeros(1)], sites=3, rounds=3, epochs=2,
                             on_round=lambda r, p: seen.append((r, p[0].tolist())))
    # by hand: each site moves 3/4 of the way to its mean in two epochs, then the 3:1:2 average
    expected, value = [], np.zeros(1)
    for _ in range(3):
        value = average([([value + 0.75 * (rows.mean() - value)], len(rows)) for rows in data])[0]
        expected.append(value.tolist())
    np.testing.assert_allclose([p for _, p in seen], expected, rtol=1e-12)
    assert [r for r, _ in seen] == [1, 2, 3]
    np.testing.assert_allclose(final[0], expected[-1], rtol=1e-12)
    assert len(configs) == 9 and all(c["local-epochs"] == 2 for c in configs)


def test_a_team_s_message_api_client_plugs_in() -> None:
    """The same team, its client written to Flower's Message API (``@app.train()``), under that
    API's FedAvg: the same rounds as the NumPyClient under the legacy server's FedAvg."""
    fl = flower()
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    data = [np.array([1.0, 2.0, 3.0]), np.array([10.0]), np.array([4.0, 4.0])]
    app = ClientApp()

    @app.train()
    def train(message: Message, context: Context) -> Message:
        rows = data[int(context.node_config["partition-id"])]
        value = message.content["arrays"].to_numpy_ndarrays()[0]
        for _ in range(int(message.content["config"]["local-epochs"])):
            value = value + 0.5 * (rows.mean() - value)
        reply = RecordDict({"arrays": ArrayRecord([value]), "metrics": MetricRecord({"num-examples": len(rows)})})
        return Message(reply, reply_to=message)

    seen: list[tuple[int, list[float]]] = []
    final = fl.flower_message_fedavg(app, [np.zeros(1)], sites=3, rounds=3, epochs=2,
                                     on_round=lambda r, p: seen.append((r, p[0].tolist())))
    expected, value = [], np.zeros(1)
    for _ in range(3):
        value = average([([value + 0.75 * (rows.mean() - value)], len(rows)) for rows in data])[0]
        expected.append(value.tolist())
    assert [r for r, _ in seen] == [1, 2, 3]
    np.testing.assert_allclose([p for _, p in seen], expected, rtol=1e-12)
    np.testing.assert_allclose(final[0], expected[-1], rtol=1e-12)

    def broken(message: Message, context: Context) -> Message:
        raise RuntimeError("site down")

    broken_app = ClientApp()
    broken_app.train()(broken)
    with pytest.raises(GeneratorError, match="RuntimeError"):
        fl.flower_message_fedavg([app, broken_app, app], [np.zeros(1)], sites=3, rounds=2, epochs=1)


def test_a_failing_flower_site_fails_the_run() -> None:
    fl = flower()

    class Broken(LinearToy):
        def fit_local(self, train: pd.DataFrame, *, epochs: int) -> None:
            raise RuntimeError("site down")

    trains = linear_sites([10, 10])
    calls, on_round = recorder()
    with pytest.raises(GeneratorError, match="RuntimeError") as failed:
        fl.run_flower_fedavg(LinearToy(), [LinearToy(), Broken()], trains, SCHEMA, rounds=2, epochs=1, seed=0,
                             on_round=on_round)
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert calls == []  # no round's global model came of it


def test_bad_federations_are_refused() -> None:
    trains = linear_sites([10, 10])
    site = LinearToy()
    with pytest.raises(GeneratorError, match="model of their own"):
        run_fedavg(LinearToy(), [site, site], trains, SCHEMA, rounds=1, epochs=1, seed=0)
    with pytest.raises(GeneratorError, match="site tables"):
        run_fedavg(LinearToy(), [LinearToy()], trains, SCHEMA, rounds=1, epochs=1, seed=0)
    with pytest.raises(GeneratorError, match="at least 1"):
        run_fedavg(LinearToy(), [LinearToy(), LinearToy()], trains, SCHEMA, rounds=0, epochs=1, seed=0)


def test_the_in_process_loop_needs_no_flwr_and_flower_says_what_is_missing() -> None:
    blocked = "import sys; sys.modules['flwr'] = None; "
    ok = subprocess.run([sys.executable, "-c", blocked + "import safe_bench.scenarios.federated.rounds"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    missing = subprocess.run([sys.executable, "-c", blocked + "import safe_bench.scenarios.federated.flower"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "safe-bench[federated]" in missing.stderr


def test_the_flower_loop_is_quick() -> None:
    """Flower's server over the in-process grid: 3 sites, 20 rounds well under a second's
    overhead per round (Ray's simulation engine took about 10 s for 2 rounds here)."""
    fl = flower()
    trains = linear_sites([20, 20, 20])
    began = time.perf_counter()
    fl.run_flower_fedavg(LinearToy(), [LinearToy() for _ in trains], trains, SCHEMA, rounds=20, epochs=1, seed=0)
    assert time.perf_counter() - began < 10
