"""Federated scenarios: the five ways of training across sites, what each site is judged
by, the study's JSON and the command (issue 17)."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import pytest
from safe_bench_generators.baselines import GaussianCopulaGenerator
from safe_bench_generators.federated_models import federated

from safe_bench.cli.main import main
from safe_bench.data.datasets import load_dataset
from safe_bench.scenarios.federated.measures import Judge
from safe_bench.scenarios.federated.partition import Partition, Site, partition
from safe_bench.scenarios.federated.training import RoundTables, Training, run_scenario


def gbsg2_sites(spec: str = "quantity:0.5,0.3,0.2", sites: int = 3, seed: int = 0) -> tuple[Partition, object]:
    ds = load_dataset("gbsg2")
    return partition(ds.frame, ds.schema, spec, sites, seed=seed), ds.schema


def one_site(part: Partition) -> Partition:
    """The federation of one site holding every site's rows."""
    site = Site("all", part.pooled_train, part.pooled_holdout)
    return Partition(part.spec, (site,), 0.0, {}, part.seed, part.holdout_fraction)


def tables_of(scenario: str, make, part: Partition, schema, training: Training) -> list[RoundTables]:
    return list(run_scenario(scenario, make, part, schema, training))


def test_one_site_fedavg_is_centralized_training_in_the_scenario():
    part, schema = gbsg2_sites()
    single = one_site(part)
    make = partial(federated, "tvae", epochs=2, batch_size=50, embedding_dim=16, compress_dims=(16,),
                   decompress_dims=(16,))
    training = Training(rounds=2, epochs=1, seed=4)
    fed = tables_of("fedavg", make, single, schema, training)
    cent = tables_of("centralized", make, single, schema, training)
    assert [t.round for t in fed] == [1, 2]
    for a, b in zip(fed, cent, strict=True):
        pd.testing.assert_frame_equal(a.pooled, b.pooled)
        pd.testing.assert_frame_equal(a.sites[0], b.sites[0])
    # and the rounds are training: round 2's table is not round 1's
    assert not fed[0].pooled.equals(fed[1].pooled)


def test_fedavg_of_the_copula_is_the_centralized_copula_on_three_sites():
    ds = load_dataset("mds_ipssr_sim")
    part = partition(ds.frame, ds.schema, "site", None, seed=1)
    training = Training(rounds=1, epochs=1, seed=1)
    (fed,) = tables_of("fedavg", GaussianCopulaGenerator, part, ds.schema, training)
    (cent,) = tables_of("centralized", GaussianCopulaGenerator, part, ds.schema, training)
    pd.testing.assert_frame_equal(fed.pooled, cent.pooled, check_exact=False, atol=1e-9)
    for a, b, site in zip(fed.sites, cent.sites, part.sites, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-9)
        # sites are a column's levels: each site's table holds its own centre's rows
        assert set(a["site"]) == set(site.train["site"]) and len(a) == len(site.train)


def test_flower_and_the_local_loop_give_the_same_tables():
    part, schema = gbsg2_sites()
    by = {engine: tables_of("fedavg", GaussianCopulaGenerator, part, schema,
                            Training(rounds=2, epochs=1, seed=3, engine=engine))
          for engine in ("flower", "local")}
    for a, b in zip(by["flower"], by["local"], strict=True):  # the copula's moments are BLAS products: to 1e-9
        pd.testing.assert_frame_equal(a.pooled, b.pooled, check_exact=False, atol=1e-9)


class OneCentre(GaussianCopulaGenerator):
    """A model that has lost every centre but the first."""

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        out = super()._sample(n, seed)
        out["centre"] = "A"
        return out


def test_a_site_the_model_no_longer_makes_is_not_scored_with_its_reason():
    ds = load_dataset("gbsg2")
    frame = ds.frame.assign(centre=np.where(np.arange(len(ds.frame)) % 3 == 0, "B", "A"))
    schema = ds.schema.with_roles(kinds={**ds.schema.kinds, "centre": "categorical"}, site="centre")
    part = partition(frame, schema, "site", None, seed=0)
    (tables,) = tables_of("centralized", OneCentre, part, schema, Training(rounds=1, epochs=1, seed=0))
    assert isinstance(tables.sites[0], pd.DataFrame) and set(tables.sites[0]["centre"]) == {"A"}
    assert "it has all but stopped making that site's patients" in tables.sites[1].reason
    rows = Judge(part, schema, seed=0, n_bootstrap=10, metrics=["S.ks", "P.exact"]).round("centralized", tables)
    lost = [m for m in rows if m.site == "B"][0]
    assert lost.values == {} and "site 'B'" in lost.note


def test_isolated_pooling_and_sharing_tables():
    part, schema = gbsg2_sites()
    training = Training(rounds=2, epochs=1, seed=0)
    isolated = tables_of("isolated", GaussianCopulaGenerator, part, schema, training)
    pooling = tables_of("pooling", GaussianCopulaGenerator, part, schema, training)
    sharing = tables_of("sharing", GaussianCopulaGenerator, part, schema, training)
    sizes = [len(s.train) for s in part.sites]
    for tables in (isolated, pooling, sharing):
        assert [len(t) for t in tables[-1].sites] == sizes and len(tables[-1].pooled) == sum(sizes)
    # the pool is the isolated sites' tables stacked; a site's share is drawn from it
    pd.testing.assert_frame_equal(pooling[0].pooled, isolated[0].pooled)
    pool_rows = set(map(tuple, isolated[0].pooled.astype(str).to_numpy()))
    assert set(map(tuple, pooling[0].sites[2].astype(str).to_numpy())) <= pool_rows
    # sharing: round 1 trains on the sites' own rows, round 2 on the others' synthetic rows too
    assert not sharing[0].sites[0].equals(sharing[1].sites[0])


def test_a_site_table_of_another_sites_patients_fails_privacy_against_the_other_sites():
    """Privacy is judged against the site's own train and against the other sites' rows:
    a site whose table is another site's train rows passes the first and fails the second."""
    part, schema = gbsg2_sites("quantity:0.5,0.5", sites=2)
    judge = Judge(part, schema, seed=0, n_bootstrap=10)
    a, b = part.sites
    fresh = GaussianCopulaGenerator()
    fresh.fit(a.train, schema, seed=0)
    honest = fresh.sample(len(a.train), seed=1)
    carried = b.train.sample(len(a.train), replace=True, random_state=0).reset_index(drop=True)
    leak = a.train.copy()
    tables = RoundTables(1, (honest, b.train.iloc[: len(b.train)].copy()), pd.concat([honest, b.train]))
    honest_row, own_copy_row, _ = judge.round("x", tables)
    carried_row, *_ = judge.round("y", RoundTables(1, (carried, b.train), pd.concat([carried, b.train])))
    leak_row, *_ = judge.round("z", RoundTables(1, (leak, b.train), pd.concat([leak, b.train])))
    other = "P_other_sites"
    assert honest_row.values[other][0] > 0.8 and honest_row.values["P"][0] > 0.8
    assert carried_row.values[other][0] < 0.3 < carried_row.values["P"][0]
    assert leak_row.values["P"][0] < 0.3 < leak_row.values[other][0]
    # site b's table is its own train: P against its train falls, against site a's rows it does not
    assert own_copy_row.values["P"][0] < 0.3
    assert np.isfinite(honest_row.values["SAFE"][0])


def test_federated_command_writes_the_json_the_issue_asks_for(tmp_path, capsys):
    out = tmp_path / "fed.json"
    code = main(["scenario", "federated", "--dataset", "gbsg2", "--partition", "dirichlet:1.0", "--sites", "2",
                 "--rounds", "2", "--generator", "gaussian_copula", "--seeds", "0", "1", "--resamples", "10",
                 "--scenarios", "centralized,fedavg", "--json", str(out), "--html", str(tmp_path / "f.html")])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["scenario"] == "federated" and data["sites"] == 2 and data["rounds"] == 2
    assert data["engine"] == "flower"  # the federated extra is installed: Flower runs FedAvg's rounds
    assert data["partition"]["method"] == "dirichlet" and 0 < data["partition"]["heterogeneity"]["mean"] < 1
    fed = data["scenarios"]["fedavg"]
    for site in (*data["site_names"], "global"):
        assert [r["round"] for r in fed["sites"][site]["rounds"]] == [1, 2]
        assert {"SAFE", "CSF", "GSF", "NNDR"} <= set(fed["sites"][site]["rounds"][0])
    assert "recovered_gain" in fed["sites"]["site1"] and fed["worst_site"]["site"] in data["site_names"]
    # the copula's federation is exact: its tables are the centralized ones, judged once
    same = [t for t in data["tests"] if t["a"] == "centralized" and t["b"] == "fedavg"]
    assert same and all(t["note"] == "identical on every seed" for t in same)
    page = (tmp_path / "f.html").read_text()
    assert "SAFE by round" in page and "Welch" in page
    assert "Worst site" in capsys.readouterr().out


def test_a_researchers_own_file_with_its_site_column(tmp_path):
    ds = load_dataset("gbsg2")
    frame = ds.frame.assign(hospital=np.where(np.arange(len(ds.frame)) % 3 == 0, "north", "south"))
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    out = tmp_path / "fed.json"
    code = main(["scenario", "federated", "--real", str(tmp_path / "cohort.csv"), "--time", "time", "--event", "cens",
                 "--site", "hospital", "--generator", "gaussian_copula", "--rounds", "1", "--seeds", "0",
                 "--scenarios", "centralized,isolated", "--resamples", "10", "--json", str(out), "-q"])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["site_names"] == ["north", "south"] and data["partition"]["method"] == "site"
    rows = {s["name"]: s["rows"] for s in data["partition"]["per_seed"][0]["sites"]}
    assert rows == {"north": int((frame["hospital"] == "north").sum()), "south": int((frame["hospital"] == "south").sum())}


@pytest.mark.parametrize("args, message", [
    (["--dataset", "gbsg2", "--partition", "bogus", "--sites", "2"], "bogus"),
    (["--dataset", "gbsg2", "--sites", "2"], "give --partition"),
    (["--dataset", "gbsg2", "--partition", "quantity:0.5,0.5", "--sites", "2", "--site", "age"], "--site names"),
])
def test_federated_command_names_bad_input(args, message, capsys):
    code = main(["scenario", "federated", *args, "--generator", "gaussian_copula", "--seeds", "0", "-q"])
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_generator_without_the_contract_is_named(capsys):
    code = main(["scenario", "federated", "--dataset", "gbsg2", "--partition", "quantity:0.5,0.5", "--sites", "2",
                 "--generator", "independent", "--seeds", "0", "-q"])
    assert code == 2
    assert "cannot be trained by federated averaging" in capsys.readouterr().err
