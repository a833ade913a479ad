"""TVAE, CT-WGAN and TabDDPM trained by federated averaging (generators/federated_models.py):
FedAvg on one site is centralized training bit for bit, parameters travel and average as
FedAvg says, one full-batch step per round is centralized gradient descent, and a 3-site
federation samples a checked table, the same for the same seed. Tiny tables and networks:
these check the contract, not quality."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
import torch
from safe_bench_generators.codec import TabularCodec
from safe_bench_generators.conformance import RepairWarning
from safe_bench_generators.federated import Federated, FederatedSchemaGenerator, average
from safe_bench_generators.federated_models import (
    FederatedCTWGAN,
    FederatedTabDDPM,
    FederatedTVAE,
    Mixture,
    TableSummary,
    discrete_counts,
    federated,
    shared_codec,
    shared_mixture,
    shared_quantiles,
)

from safe_bench.data.datasets import load_dataset
from safe_bench.data.validation import conform
from safe_bench.errors import InputError
from safe_bench.generator import load_generator

NEURAL = ("tvae", "ctwgan", "tabddpm")
ROWS = 200
#: Tiny settings; CPU so that the same seed gives the same table.
TINY = {
    "tvae": {"batch_size": 50, "embedding_dim": 16, "compress_dims": (32,), "decompress_dims": (32,),
             "max_steps": None, "device": "cpu"},
    "ctwgan": {"batch_size": 50, "embedding_dim": 16, "generator_dim": (32,), "discriminator_dim": (32,),
               "discriminator_steps": 2, "max_steps": None, "device": "cpu"},
    "tabddpm": {"batch_size": 64, "num_timesteps": 20, "layers": (32, 32), "dim_t": 16, "steps": 100, "device": "cpu"},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def quiet_repairs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)  # tiny networks may undershoot times
        yield


@pytest.fixture(scope="module")
def gbsg2():
    ds = load_dataset("gbsg2")
    frame = conform(ds.frame, ds.schema, table="real").sample(n=ROWS, random_state=0).reset_index(drop=True)
    return frame, ds.schema


def cut(frame: pd.DataFrame, sizes: Sequence[int]) -> list[pd.DataFrame]:
    ends = np.cumsum(sizes)
    return [frame.iloc[end - size : end].reset_index(drop=True) for size, end in zip(sizes, ends, strict=True)]


def fedavg(name: str, options: dict, tables: list[pd.DataFrame], schema, *, seed: int, rounds: int, epochs: int):
    """FedAvg as the contract describes it: summaries, start, then get -> set -> fit_local -> average."""
    server, sites = federated(name, **options), [federated(name, **options) for _ in tables]
    summaries = [site.summarise(t, schema) for site, t in zip(sites, tables, strict=True)]
    server.start(summaries, schema, seed=seed, site=None)
    for k, site in enumerate(sites):
        site.start(summaries, schema, seed=seed, site=k)
    for _ in range(rounds):
        sent = server.get_parameters()
        results = []
        for site, table in zip(sites, tables, strict=True):
            site.set_parameters(sent)
            site.fit_local(table, epochs=epochs)
            results.append((site.get_parameters(), len(table)))
        server.set_parameters(average(results))
    return server, sites


def assert_same_parameters(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


# -- FedAvg on one site is centralized training ------------------------------------------------
@pytest.mark.parametrize("name", NEURAL)
def test_one_site_fedavg_is_centralized_training(name, gbsg2):
    """R rounds of E epochs on one site: the parameters and the sample of one R x E-epoch fit."""
    frame, schema = gbsg2
    rounds, epochs = 2, 2
    options: dict[str, object] = dict(TINY[name])
    if name == "tabddpm":  # TabDDPM's budget is steps; the one-go fit takes exactly R x E epochs of them
        options["steps"] = rounds * epochs * -(-ROWS // 64)
    else:
        options["epochs"] = rounds * epochs
    centralized = federated(name, **options)
    centralized.fit(frame, schema, seed=3)
    server, (site,) = fedavg(name, options, [frame], schema, seed=3, rounds=rounds, epochs=epochs)
    assert_same_parameters(server.get_parameters(), centralized.get_parameters())
    assert_same_parameters(site.get_parameters(), centralized.get_parameters())
    pd.testing.assert_frame_equal(server.sample(150, seed=8), centralized.sample(150, seed=8))


def test_one_site_encoding_is_the_sites_own(gbsg2):
    """With one site the shared codec, categories, mixtures and quantiles are that site's own."""
    frame, schema = gbsg2
    frame = frame.copy()
    frame.loc[::7, "horTh"] = np.nan  # a categorical gap: the missing label
    frame.loc[::5, "tsize"] = np.nan  # a numeric gap: a presence flag
    frame = conform(frame, schema, table="train")
    table = TableSummary.fit(frame, schema)
    codec = shared_codec([table], schema)
    assert codec == TabularCodec.fit(frame, schema)
    encoded = codec.encode(frame)
    counts = discrete_counts([table], codec)
    assert list(counts) == codec.discrete
    for col in codec.discrete:
        assert list(counts[col]) == sorted(encoded[col].unique()), col
        assert counts[col] == encoded[col].value_counts().to_dict(), col
    mixture = Mixture.fit(encoded["age"].to_numpy(), "age")
    assert shared_mixture([mixture], [ROWS], "age", seed=1, index=0) is mixture
    site = federated("tabddpm")._summarise(frame, schema).quantiles
    np.testing.assert_array_equal(shared_quantiles([site], [ROWS]).quantiles_, site.quantiles_)


def test_sites_share_nothing_random(gbsg2):
    """A site trains the same whether or not another site trains between its rounds."""
    frame, schema = gbsg2
    a, b = cut(frame, (120, 80))
    models = [federated("ctwgan", **TINY["ctwgan"]) for _ in range(3)]
    summaries = [models[0].summarise(a, schema), models[1].summarise(b, schema)]
    for model, site in zip(models, (0, 1, 0), strict=True):
        model.start(summaries, schema, seed=4, site=site)
    alone, other, interleaved = models
    alone.fit_local(a, epochs=2)
    interleaved.fit_local(a, epochs=1)
    other.fit_local(b, epochs=1)
    interleaved.fit_local(a, epochs=1)
    assert_same_parameters(interleaved.get_parameters(), alone.get_parameters())


# -- parameters --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NEURAL)
def test_parameters_round_trip_and_average_by_size(name, gbsg2):
    frame, schema = gbsg2
    tables = cut(frame, (130, 70))
    server, sites = fedavg(name, TINY[name], tables, schema, seed=5, rounds=1, epochs=1)
    # Round trip: what one model sends, another sets and sends back unchanged (copies, not views).
    sent = sites[0].get_parameters()
    server.set_parameters(sent)
    assert_same_parameters(server.get_parameters(), sent)
    sent[0][...] = 0
    assert not np.array_equal(server.get_parameters()[0], sent[0])
    # Two sites trained on different tables, averaged: the size-weighted mean of their parameters.
    first, second = sites[0].get_parameters(), sites[1].get_parameters()
    assert any(not np.array_equal(x, y) for x, y in zip(first, second, strict=True))
    server.set_parameters(average([(first, 130), (second, 70)]))
    for mine, x, y in zip(server.get_parameters(), first, second, strict=True):
        expected = (130 * x.astype(float) + 70 * y.astype(float)) / 200
        if np.issubdtype(mine.dtype, np.floating):
            np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=1e-7)
        else:  # batch-norm's step counter
            np.testing.assert_array_equal(mine, np.rint(expected))
    with pytest.raises(ValueError, match="parameter arrays"):
        server.set_parameters(first[:-1])
    with pytest.raises(ValueError, match="shape"):
        server.set_parameters([np.zeros(3), *first[1:]])


def test_one_gradient_step_per_round_is_centralized_gradient_descent():
    """FedSGD: one full-batch step of plain SGD per site and round, averaged by size, is
    full-batch gradient descent on the pooled rows (the pooled mean loss's gradient is the
    size-weighted mean of the sites' mean-loss gradients)."""
    rng = np.random.default_rng(0)
    sizes = (50, 30, 120)
    x = rng.normal(size=(sum(sizes), 4))
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(size=len(x)) > 0).astype(float)
    cuts = np.cumsum((0, *sizes))
    sites = [(torch.tensor(x[a:b]), torch.tensor(y[a:b])) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]

    def model() -> torch.nn.Linear:
        torch.manual_seed(0)
        return torch.nn.Linear(4, 1).double()

    def step(net: torch.nn.Linear, features: torch.Tensor, labels: torch.Tensor) -> None:
        optimiser = torch.optim.SGD(net.parameters(), lr=0.5)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(features)[:, 0], labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    def get(net: torch.nn.Linear) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in net.parameters()]

    def put(net: torch.nn.Linear, values: Sequence[np.ndarray]) -> None:
        with torch.no_grad():
            for p, v in zip(net.parameters(), values, strict=True):
                p.copy_(torch.as_tensor(v))

    central, server, local = model(), model(), model()
    for _ in range(8):
        step(central, torch.tensor(x), torch.tensor(y))
        sent, results = get(server), []
        for features, labels in sites:
            put(local, sent)
            step(local, features, labels)
            results.append((get(local), len(labels)))
        put(server, average(results))
    for mine, theirs in zip(get(server), get(central), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-6)
    assert not np.allclose(get(central)[0], get(model())[0])  # it did learn


# -- a federation of three sites -----------------------------------------------------------
@pytest.mark.parametrize("name", NEURAL)
def test_three_site_federation_samples_a_checked_table(name, gbsg2):
    frame, schema = gbsg2
    tables = cut(frame, (90, 70, 40))
    server, sites = fedavg(name, TINY[name], tables, schema, seed=7, rounds=2, epochs=1)
    assert isinstance(server, Federated)
    # Every site built the server's encoding from the same summaries.
    for site in sites:
        assert site.codec_ == server.codec_
    if name != "tabddpm":
        means = [[info.transform._bgm_transformer.means_ for info in m.transformer_._column_transform_info_list
                  if info.column_type == "continuous"] for m in (server, *sites)]
        for other in means[1:]:
            assert_same_parameters(other, means[0])
    sample = server.sample(150, seed=2)  # through TrainProfile.finish: it raises on a broken table
    assert list(sample.columns) == schema.features and len(sample) == 150
    pd.testing.assert_frame_equal(conform(sample, schema, table="synthetic"), sample)
    for col in schema.categorical:
        assert set(sample[col].dropna()) <= set(frame[col].dropna()), col
    assert (sample["time"] > 0).all()
    again, _ = fedavg(name, TINY[name], tables, schema, seed=7, rounds=2, epochs=1)
    assert_same_parameters(again.get_parameters(), server.get_parameters())
    pd.testing.assert_frame_equal(again.sample(150, seed=2), sample)
    assert not server.sample(150, seed=3).equals(sample)


def test_shared_encoding_of_several_sites(gbsg2):
    """Several sites: categories from the summed counts, the global mixture and quantiles
    close to the pooled column's."""
    frame, schema = gbsg2
    tables = cut(frame, (120, 50, 30))
    summaries = [TableSummary.fit(t, schema) for t in tables]
    codec = shared_codec(summaries, schema)
    counts = discrete_counts(summaries, codec)
    encoded = codec.encode(frame)
    for col in codec.discrete:
        assert counts[col] == {k: int(v) for k, v in sorted(encoded[col].value_counts().items())}
    ages = [t["age"].to_numpy(dtype=float) for t in tables]
    mixture = shared_mixture([Mixture.fit(a, "age") for a in ages], [len(a) for a in ages], "age", seed=0, index=0)
    draws = mixture.draw(20_000, np.random.default_rng(0))
    assert abs(np.mean(draws) - frame["age"].mean()) < 1.5 and abs(np.std(draws) - frame["age"].std()) < 1.5
    model = FederatedTabDDPM()
    quantiles = shared_quantiles([model._summarise(t, schema).quantiles for t in tables], [len(t) for t in tables])
    pooled = np.quantile(encoded[codec.continuous].to_numpy(dtype=float), quantiles.references_, axis=0)
    spread = pooled[-1] - pooled[0]
    assert np.all(np.abs(quantiles.quantiles_ - pooled)[1:-1] <= 0.1 * spread)


# -- the lookup, and the registered generators unchanged -------------------------------------
def test_federated_lookup():
    tvae = federated("tvae", epochs=7, batch_size=40)
    assert isinstance(tvae, FederatedTVAE) and tvae.options["epochs"] == 7 and tvae.name == "tvae"
    assert isinstance(federated("ctwgan"), FederatedCTWGAN) and isinstance(federated("tabddpm", steps=5), FederatedTabDDPM)
    assert isinstance(federated("gaussian_copula"), Federated)  # a registered generator keeping the contract
    for name in NEURAL:  # the registered neural generators keep ctgan's and TabDDPM's own fit
        assert not isinstance(load_generator(name), FederatedSchemaGenerator)
    with pytest.raises(InputError, match="cannot be trained by federated averaging"):
        federated("independent")
    with pytest.raises(InputError, match="rejected its settings"):
        federated("tvae", no_such_setting=1)
    with pytest.raises(InputError, match="multiple of pac"):
        federated("ctwgan", batch_size=30, pac=20)


def test_tabddpm_budget_is_its_steps(gbsg2):
    frame, schema = gbsg2
    model = federated("tabddpm", **{**TINY["tabddpm"], "steps": 8})
    model.start([model.summarise(frame, schema)], schema, seed=0, site=0)
    model.fit_local(frame, epochs=2)  # 4 steps an epoch
    with pytest.raises(InputError, match="raise steps"):
        model.fit_local(frame, epochs=1)
