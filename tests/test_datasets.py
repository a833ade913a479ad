"""Bundled datasets load offline from installed packages, with curated schemas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from scipy import stats
from sksurv import datasets as sk

from safe_bench import list_datasets, load_dataset
from safe_bench.data.datasets import mds_ipssr_sim as sim
from safe_bench.data.datasets import summary
from safe_bench.data.prognostic import Expression
from safe_bench.data.validation import conform

REAL = {
    "gbsg2": ("load_gbsg2", {}),
    "whas500": ("load_whas500", {}),
    "flchain": ("load_flchain", {}),
    "aids": ("load_aids", {"endpoint": "aids"}),
    "veterans": ("load_veterans_lung_cancer", {}),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_dataset_matches_its_source_and_schema(name):
    ds = load_dataset(name)
    loader, kwargs = REAL[name]
    X, y = getattr(sk, loader)(**kwargs)
    event_field, time_field = y.dtype.names
    assert len(ds.frame) == len(X)
    surv = ds.schema.survival
    assert surv is not None and (surv.time, surv.event) == (time_field, event_field)
    assert ds.frame[surv.event].mean() == pytest.approx(y[event_field].mean())
    assert (ds.frame[surv.time] > 0).all()
    assert ds.schema.quasi_identifiers and ds.schema.sensitive
    assert set(ds.schema.features) == set(ds.frame.columns)
    conform(ds.frame, ds.schema, table=name)  # already canonical


def test_flchain_drops_the_leaking_cause_of_death_and_aids_the_redundant_arm():
    assert "chapter" not in load_dataset("flchain").frame.columns
    assert "txgrp" not in load_dataset("aids").frame.columns


def test_summary_lists_every_bundled_dataset():
    table = summary()
    assert list(table["name"]) == list_datasets()
    assert set(REAL) <= set(table["name"])
    row = table.set_index("name").loc["gbsg2"]
    assert (row["rows"], row["columns"], row["endpoint"]) == (686, 10, "time / cens")
    assert row["event_rate"] == pytest.approx(299 / 686)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'nope'; bundled datasets: gbsg2"):
        load_dataset("nope")


# -- mds_ipssr_sim: the IPSS-M genes, score and centres ----------------------------------------
# One load for the tests below (the table is 6,000 rows; each test stays well under 10 s).
@pytest.fixture(scope="module")
def mds():
    return load_dataset("mds_ipssr_sim")


def test_mds_is_labelled_simulated_and_declares_ipssm_site_and_blocks(mds):
    assert "SIMULATED" in mds.description and "SIMULATED" in sim.__doc__
    assert "Bernard" in mds.source and "Greenberg" in mds.source
    assert [s.name for s in mds.schema.scores] == ["IPSS-R", "IPSS-M"]
    ipssm = mds.schema.scores[1]
    assert ipssm.cuts == (-1.5, -0.5, 0.0, 0.5, 1.5)
    assert ipssm.labels == ("very low", "low", "moderate low", "moderate high", "high", "very high")
    assert mds.schema.site == "site" and sorted(mds.frame["site"].unique()) == ["centre A", "centre B", "centre C"]
    clinical, genomic = mds.schema.blocks["clinical"], mds.schema.blocks["genomic"]
    assert set(clinical) == {"age", "sex", "hb", "platelets", "anc", "blasts", "cytogenetics", "del5q"}
    assert set(genomic) == {*sim.GENES, "residual_other"}
    assert not set(clinical) & set(genomic)
    assert set(mds.frame.columns) == {*clinical, *genomic, "site", "os_months", "death"}


def test_ipssm_expression_reproduces_the_authors_calculator():
    """Three patients of the IPSS-M study (papaemmelab/ipssm-api, test/data/
    Bernard_et_all_2022_NJEM_Evid.csv) and the scores its calculator gives them."""

    base = dict.fromkeys((*sim.GENES, "del5q", "residual_other"), 0)
    patients = pd.DataFrame([
        # I-H-132697: FLT3, ASXL1, DNMT3A, RUNX1, U2AF1 mutated -> 3.48, very high
        {**base, "hb": 7.6, "platelets": 119, "blasts": 14, "cytogenetics": "good",
         "FLT3": 1, "ASXL1": 1, "DNMT3A": 1, "RUNX1": 1, "U2AF1": 1},
        # E-H-106057: SF3B1 alone (SF3B1^alpha) -> -1.54, very low
        {**base, "hb": 10, "platelets": 197, "blasts": 1, "cytogenetics": "good", "SF3B1": 1},
        # I-H-132705: ASXL1, RUNX1, SF3B1 (not SF3B1^alpha: RUNX1, STAG2, BCOR) and three
        # residual genes (BCOR, STAG2, PHF6: Nres2 = 2) -> 2.16, very high
        {**base, "hb": 7.4, "platelets": 183, "blasts": 14, "cytogenetics": "good",
         "ASXL1": 1, "RUNX1": 1, "SF3B1": 1, "BCOR": 1, "STAG2": 1, "residual_other": 1},
    ])
    ipssm = sim.IPSS_M
    assert np.round(ipssm.values(patients), 2).tolist() == [3.48, -1.54, 2.16]
    assert ipssm.groups(patients).tolist() == ["very high", "very low", "very high"]


def test_mds_gene_frequencies_are_the_published_ones(mds):
    """Each gene's carriers are drawn in exact number (n x frequency, rounded); the derived
    SF3B1^5q, SF3B1^alpha and Nres2 are within 3 binomial standard errors of the model's
    means (they follow from several columns, so they are not set exactly)."""

    frame, n = mds.frame, len(mds.frame)
    for gene, frequency in sim.GENE_FREQUENCIES.items():
        assert frame[gene].sum() == round(frequency * n), gene
    assert (frame["residual_other"] >= 1).sum() == round(sim.RESIDUAL_OTHER_FREQUENCIES[0] * n)
    for name in ("SF3B1_5q", "SF3B1_alpha", "Nres2"):
        values = Expression(sim.IPSS_M_VARIABLES[name]).evaluate(frame)
        mean = sim.IPSS_M_BETAS[name][1]
        assert abs(values.mean() - mean) < 3 * values.std() / np.sqrt(n), (name, values.mean(), mean)
    # co-occurrence with the clinical features, as published
    very_poor = frame["cytogenetics"] == "very poor"
    assert frame["TP53_multihit"][very_poor].mean() > 5 * frame["TP53_multihit"].mean()
    blasts = frame["blasts"]
    assert blasts[frame["SF3B1"] == 1].median() < blasts[frame["SF3B1"] == 0].median()
    for gene in ("RUNX1", "ASXL1", "NRAS", "STAG2"):
        assert blasts[frame[gene] == 1].median() > blasts[frame[gene] == 0].median(), gene
    assert frame["SRSF2"][frame["SF3B1"] == 1].mean() < 0.25 * frame["SRSF2"].mean()


def test_mds_ipssm_categories_are_near_the_published_shares_and_medians(mds):
    """Not a target of the simulation (the IPSS-R groups are): the shares within 6 points,
    the Kaplan-Meier medians within 25 % and in order. The extreme categories are furthest
    off (high 2.1 vs 1.7, very high 0.78 vs 1.0 years): they inherit the IPSS-R groups'
    medians, which are Greenberg's, not the IPSS-M cohort's (see the module docstring)."""

    frame = mds.frame
    groups = sim.IPSS_M.groups(frame)
    shares = groups.value_counts(normalize=True).reindex(sim.IPSS_M_CATEGORIES).to_numpy()
    np.testing.assert_allclose(shares, sim.IPSS_M_SHARES, atol=0.06)
    medians = []
    for category, published in zip(sim.IPSS_M_CATEGORIES, sim.IPSS_M_MEDIAN_SURVIVAL_YEARS, strict=True):
        rows = (groups == category).to_numpy()
        medians.append(KaplanMeierFitter().fit(frame["os_months"][rows] / 12, frame["death"][rows]).median_survival_time_)
        assert medians[-1] == pytest.approx(published, rel=0.25), category
    assert np.all(np.diff(medians) < 0)


def test_mds_cox_recovers_the_ipssm_gene_betas(mds):
    """A Cox model stratified by IPSS-R group (the calibration scales each group's hazard)
    with the genetic IPSS-M variables and age is the simulation's own model: its estimates
    cover the betas used. Frequent variables (model mean >= 5 %) one by one, with
    Bonferroni-adjusted 95 % intervals (they are tested together); all of them jointly by
    a Wald test of estimate = beta (p > 0.01)."""

    frame = mds.frame
    genetic = list(sim.IPSS_M_BETAS)[4:]
    data = pd.DataFrame({name: Expression(sim.IPSS_M_VARIABLES[name]).evaluate(frame) for name in genetic})
    data["age10"] = (frame["age"] - 71) / 10
    data["group"] = sim.IPSS_R.group_codes(frame)
    data["time"], data["event"] = frame["os_months"], frame["death"]
    cox = CoxPHFitter().fit(data, "time", "event", strata=["group"])
    beta = np.array([sim.IPSS_M_BETAS[name][0] for name in genetic])
    estimate = cox.params_[genetic].to_numpy()
    se = cox.standard_errors_[genetic].to_numpy()
    frequent = [i for i, name in enumerate(genetic) if sim.IPSS_M_BETAS[name][1] >= 0.05]
    assert len(frequent) >= 8
    z = stats.norm.ppf(1 - 0.025 / len(frequent))
    for i in frequent:
        assert abs(estimate[i] - beta[i]) < z * se[i], (genetic[i], estimate[i], beta[i])
    cov = cox.variance_matrix_.loc[genetic, genetic].to_numpy()
    wald = (estimate - beta) @ np.linalg.solve(cov, estimate - beta)
    assert stats.chi2.sf(wald, len(genetic)) > 0.01
    assert cox.params_["age10"] == pytest.approx(np.log(sim.AGE_HR_PER_DECADE), abs=3 * cox.standard_errors_["age10"])


def test_mds_centres_differ_in_size_and_case_mix(mds):

    frame = mds.frame
    sizes = frame["site"].value_counts(normalize=True)
    assert sizes["centre A"] > sizes["centre B"] > sizes["centre C"] >= 0.1
    groups = sim.IPSS_R.group_codes(frame)
    table = pd.crosstab(frame["site"], groups)
    assert stats.chi2_contingency(table).pvalue < 1e-10
    higher = pd.Series(groups >= 3).groupby(frame["site"]).mean()
    assert higher.idxmax() == "centre A"  # the referral centre: more high and very high risk
    ages = frame.groupby("site")["age"].median()
    assert ages.idxmax() == "centre B"  # the centre of older patients
    assert stats.kruskal(*(frame["age"][frame["site"] == s] for s in sim.SITES)).pvalue < 1e-10
