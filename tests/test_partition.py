"""Partitions of one table into hospital sites (issue 17, item 3): known answers on GBSG2."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from safe_bench.data.schema import Kind, Schema
from safe_bench.errors import InputError
from safe_bench.scenarios.federated.partition import (
    MAX_DRAWS,
    BySite,
    CovariateSkew,
    LabelSkew,
    QuantitySkew,
    apportion,
    column_divergences,
    jsd,
    parse_partition,
    partition,
)


def site_frames(part):
    """Each site's whole table (train and holdout)."""
    return [pd.concat([s.train, s.holdout], ignore_index=True) for s in part.sites]


def class_counts(part, column):
    return pd.DataFrame({s.name: f[column].value_counts() for s, f in zip(part.sites, site_frames(part), strict=True)}).fillna(0)


# -- label skew: Dirichlet(alpha) ----------------------------------------------------------
@pytest.mark.parametrize(("label", "sites"), [("cens", 2), ("cens", 3), ("tgrade", 4)])
def test_a_huge_alpha_gives_every_site_the_global_class_shares(gbsg2, label, sites):
    part = partition(gbsg2.frame, gbsg2.schema, f"dirichlet:1e6:{label}", sites, seed=1)
    counts = class_counts(part, label)
    totals = gbsg2.frame[label].value_counts()
    for value, row in counts.iterrows():
        # each class dealt in K equal shares: within one row of n_class / K (floor rounding)
        assert (abs(row - totals[value] / sites) <= 1).all(), (value, row.tolist())
    shares = counts / counts.sum()
    assert (abs(shares.sub(totals / totals.sum(), axis=0)) < 0.01).all().all()


@pytest.mark.parametrize("seed", range(4))
def test_a_tiny_alpha_gives_one_class_per_site(gbsg2, seed):
    """alpha -> 0: each class's Dirichlet shares put all its rows at one site (at alpha = 1e-3
    about 1 class draw in 80 still leaves a row of a 444-row class elsewhere; at 1e-6 none does)."""
    for label, sites in [("cens", 2), ("tgrade", 3)]:
        part = partition(gbsg2.frame, gbsg2.schema, f"dirichlet:1e-6:{label}", sites, seed=seed)
        counts = class_counts(part, label)
        assert ((counts > 0).sum(axis=1) == 1).all(), counts  # each class's rows at one site
        assert ((counts > 0).sum(axis=0) == 1).all(), counts  # each site one class


def test_a_dirichlet_partition_that_cannot_fill_every_site_is_refused(gbsg2):
    # two classes and a tiny alpha: three sites leave one empty, draw after draw
    with pytest.raises(InputError, match=f"no draw in {MAX_DRAWS} gave every site a splittable table.*site [123]: 0 rows"):
        partition(gbsg2.frame, gbsg2.schema, "dirichlet:1e-3", 3, seed=0)


def test_the_default_label_is_the_survival_event(gbsg2):
    assert parse_partition("dirichlet:0.5", gbsg2.schema, 4) == LabelSkew(0.5, "cens")
    no_endpoint = Schema(kinds=gbsg2.schema.kinds)
    with pytest.raises(InputError, match="no survival event or categorical target"):
        parse_partition("dirichlet:0.5", no_endpoint, 4)
    target = Schema(kinds=gbsg2.schema.kinds, target="tgrade")
    assert parse_partition("dirichlet:0.5", target, 4) == LabelSkew(0.5, "tgrade")


# -- by site, quantity skew, covariate skew --------------------------------------------------
def with_hospital(gbsg2):
    """GBSG2 with a hospital column of three levels of unequal size (a function of the row number)."""
    frame = gbsg2.frame.copy()
    row = np.arange(len(frame)) % 5
    frame["hospital"] = np.where(row == 0, "Zurich", np.where(row < 3, "Bern", "Basel"))
    schema = Schema(kinds={**gbsg2.schema.kinds, "hospital": Kind.CATEGORICAL}, survival=gbsg2.schema.survival,
                    site="hospital")
    return frame, schema


def test_the_site_partition_follows_the_site_column(gbsg2):
    frame, schema = with_hospital(gbsg2)
    part = partition(frame, schema, "site", seed=0)
    assert [s.name for s in part.sites] == ["Basel", "Bern", "Zurich"]  # sorted level order
    for site, rows in zip(part.sites, site_frames(part), strict=True):
        assert set(rows["hospital"]) == {site.name}
        assert site.rows == (frame["hospital"] == site.name).sum()
    assert "hospital" not in part.divergences  # H leaves out the column partitioned on
    named = partition(frame.rename(columns={"hospital": "centre"}),
                      Schema(kinds={**gbsg2.schema.kinds, "centre": Kind.CATEGORICAL}, survival=gbsg2.schema.survival),
                      "site:centre", 3, seed=0)
    assert [s.rows for s in named.sites] == [s.rows for s in part.sites]
    with pytest.raises(InputError, match="'hospital' has 3 levels, not 4 sites"):
        partition(frame, schema, "site", 4)
    frame.loc[3, "hospital"] = None
    with pytest.raises(InputError, match="site column 'hospital' is missing in 1 rows"):
        partition(frame, schema, "site")


def test_a_site_too_small_to_split_is_named(gbsg2):
    frame, schema = with_hospital(gbsg2)
    frame.loc[frame.index[:5], "hospital"] = "Chur"
    with pytest.raises(InputError, match=r"site 3 of 4 \(in sorted level order of 'hospital'\) cannot be split: 5 rows"):
        partition(frame, schema, "site")


def test_quantity_shares_are_respected(gbsg2):
    n = len(gbsg2.frame)
    part = partition(gbsg2.frame, gbsg2.schema, "quantity:0.6,0.3,0.1", 3, seed=0)
    assert [s.rows for s in part.sites] == apportion(n, [0.6, 0.3, 0.1]).tolist()
    assert all(abs(s.rows - w * n) < 1 for s, w in zip(part.sites, [0.6, 0.3, 0.1], strict=True))
    drawn = partition(gbsg2.frame, gbsg2.schema, "quantity:0.5", 4, seed=0)  # Dirichlet(0.5) shares
    rows = [s.rows for s in drawn.sites]
    assert sum(rows) == n and min(rows) >= 10 and max(rows) > 2 * min(rows)


def test_apportion_is_by_largest_remainder():
    assert apportion(10, [1 / 3, 1 / 3, 1 / 3]).tolist() == [4, 3, 3]
    assert apportion(7, [0.5, 0.25, 0.25]).tolist() == [3, 2, 2]
    assert apportion(686, [0.6, 0.3, 0.1]).tolist() == [412, 206, 68]  # 411.6 and 68.6 tie: the earlier site
    assert apportion(686, [0.6, 0.3, 0.1]).sum() == 686


def test_covariate_skew_moves_the_columns_median_per_site(gbsg2):
    part = partition(gbsg2.frame, gbsg2.schema, "covariate:age:0.8,0.5,0.2", 3, seed=0)
    frames = site_frames(part)
    assert [len(f) for f in frames] == [229, 228, 229]  # the shares average 1/2: equal sites
    medians = [f["age"].median() for f in frames]
    assert medians[0] < medians[1] < medians[2]
    # a share P_k of site k's rows from the low half: rows below the median are a subset of it
    median = gbsg2.frame["age"].median()
    for f, p in zip(frames, [0.8, 0.5, 0.2], strict=True):
        assert (f["age"] < median).mean() <= p + 0.01
        assert (f["age"] <= median).mean() >= p - 0.01
    # shares that do not average 1/2: every row still dealt, the larger P_k the younger
    uneven = site_frames(partition(gbsg2.frame, gbsg2.schema, "covariate:age:0.9,0.6", 2, seed=0))
    assert sum(map(len, uneven)) == len(gbsg2.frame) and uneven[0]["age"].median() < uneven[1]["age"].median()
    # categorical: ranked by its levels in sorted order (I < II < III)
    graded = site_frames(partition(gbsg2.frame, gbsg2.schema, "covariate:tgrade:0.9,0.1", 2, seed=0))
    codes = [f["tgrade"].map({"I": 1, "II": 2, "III": 3}).mean() for f in graded]
    assert codes[0] < codes[1]
    share = lambda f, level: (f["tgrade"] == level).mean()  # noqa: E731
    assert share(graded[0], "I") > share(graded[1], "I") and share(graded[0], "III") < share(graded[1], "III")


# -- heterogeneity ---------------------------------------------------------------------------
def test_the_jensen_shannon_divergence_by_hand():
    schema = Schema(kinds={"grade": Kind.CATEGORICAL})
    sites = [pd.DataFrame({"grade": ["a", "a", "a", "b"]}), pd.DataFrame({"grade": ["b", "b", "b", "b"]})]
    pooled = (3 / 8, 5 / 8)

    def by_hand(p, q):
        m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
        kl = lambda x, y: sum(a * math.log2(a / b) for a, b in zip(x, y, strict=True) if a > 0)  # noqa: E731
        return (kl(p, m) + kl(q, m)) / 2

    expected = (by_hand((3 / 4, 1 / 4), pooled) + by_hand((0, 1), pooled)) / 2
    assert column_divergences(sites, schema) == {"grade": pytest.approx(expected, abs=1e-12)}
    assert jsd([1, 0], [0, 1]) == pytest.approx(1.0)  # in bits: disjoint supports give 1
    assert jsd([2, 2], [1, 1]) == pytest.approx(0.0, abs=1e-12)  # counts are normalised


def test_numeric_columns_are_compared_in_the_pooled_deciles():
    schema = Schema(kinds={"x": Kind.NUMERIC})
    low, high = pd.DataFrame({"x": np.arange(50.0)}), pd.DataFrame({"x": np.arange(50.0, 100.0)})
    # each site fills five of the ten pooled deciles: P_k = (1/5 x 5, 0 x 5), P = (1/10 x 10),
    # M = (3/20 x 5, 1/20 x 5); JSD = (log2(4/3) + (log2(2/3) + log2(2)) / 2) / 2 bits
    expected = (math.log2(4 / 3) + (math.log2(2 / 3) + 1) / 2) / 2
    assert column_divergences([low, high], schema)["x"] == pytest.approx(expected)
    mixed = [pd.DataFrame({"x": np.arange(0.0, 100.0, 2)}), pd.DataFrame({"x": np.arange(1.0, 100.0, 2)})]
    assert column_divergences(mixed, schema)["x"] == pytest.approx(0.0, abs=1e-12)
    gaps = [pd.DataFrame({"x": [np.nan] * 10 + list(range(10))}), pd.DataFrame({"x": np.arange(20.0)})]
    assert column_divergences(gaps, schema)["x"] > 0  # a missing value is a bin of its own


def test_heterogeneity_is_about_zero_for_an_iid_split_and_grows_with_label_skew(gbsg2):
    iid = partition(gbsg2.frame, gbsg2.schema, "quantity:0.5,0.5", 2, seed=0)
    assert iid.heterogeneity < 0.01
    assert set(iid.divergences) == set(gbsg2.schema.features)
    for seed in range(3):
        skewed = partition(gbsg2.frame, gbsg2.schema, "dirichlet:0.1", 4, seed=seed).heterogeneity
        mild = partition(gbsg2.frame, gbsg2.schema, "dirichlet:100", 4, seed=seed).heterogeneity
        assert skewed > 2 * mild, (seed, skewed, mild)


# -- the result: determinism, pooled tables, JSON ------------------------------------------------
@pytest.mark.parametrize("spec", ["dirichlet:0.5", "quantity:0.6,0.3,0.1", "quantity:1", "covariate:age:0.8,0.5,0.2"])
def test_the_same_seed_gives_the_same_partition(gbsg2, spec):
    a, b = (partition(gbsg2.frame, gbsg2.schema, spec, 3, seed=5) for _ in range(2))
    assert a.to_dict() == b.to_dict()
    for x, y in zip(a.sites, b.sites, strict=True):
        pd.testing.assert_frame_equal(x.train, y.train)
        pd.testing.assert_frame_equal(x.holdout, y.holdout)
    other = partition(gbsg2.frame, gbsg2.schema, spec, 3, seed=6)
    assert not all(x.train.equals(y.train) for x, y in zip(a.sites, other.sites, strict=True))


def test_every_site_is_split_by_the_protocol_and_pooled_in_site_order(gbsg2):
    part = partition(gbsg2.frame, gbsg2.schema, "dirichlet:1", 3, seed=2, holdout_fraction=0.25)
    for site in part.sites:
        assert len(site.holdout) == math.ceil(0.25 * site.rows)
        assert set(site.train["cens"]) == set(site.holdout["cens"])  # stratified on the event
    pooled = pd.concat([part.pooled_train, part.pooled_holdout], ignore_index=True)
    assert len(pooled) == len(gbsg2.frame)
    key = lambda f: sorted(map(tuple, f.astype(str).to_numpy()))  # noqa: E731
    assert key(pooled) == key(gbsg2.frame)  # every row once
    pd.testing.assert_frame_equal(part.pooled_train.iloc[: len(part.sites[0].train)], part.sites[0].train)


def test_to_dict_is_json_with_counts_and_no_rows(gbsg2):
    part = partition(gbsg2.frame, gbsg2.schema, "covariate:age:0.8,0.5,0.2", 3, seed=0)
    data = json.loads(json.dumps(part.to_dict()))
    assert data["method"] == "covariate" and data["spec"] == "covariate:age:0.8,0.5,0.2"
    assert data["parameters"] == {"column": "age", "shares": [0.8, 0.5, 0.2]}
    assert [s["rows"] for s in data["sites"]] == [229, 228, 229]
    assert all(s["train_rows"] + s["holdout_rows"] == s["rows"] for s in data["sites"])
    assert data["heterogeneity"] == pytest.approx(part.heterogeneity)
    assert set(data) == {"method", "spec", "parameters", "seed", "holdout_fraction", "sites", "heterogeneity", "divergences"}


# -- parsing and bad input -----------------------------------------------------------------------
def test_the_command_line_forms(gbsg2):
    schema = gbsg2.schema
    assert parse_partition("dirichlet:0.5", schema, 3) == LabelSkew(0.5, "cens")
    assert parse_partition(" Dirichlet : 2 : tgrade ", schema, 3) == LabelSkew(2.0, "tgrade")
    assert parse_partition("quantity:0.6,0.3,0.1", schema, 3) == QuantitySkew((0.6, 0.3, 0.1))
    assert parse_partition("quantity:0.7", schema, 3) == QuantitySkew(beta=0.7)
    assert parse_partition("covariate:age:0.8,0.5,0.2", schema, 3) == CovariateSkew("age", (0.8, 0.5, 0.2))
    site_schema = schema.with_roles(site="tgrade")
    assert parse_partition("site", site_schema, None) == BySite("tgrade")
    for text in ["dirichlet:0.5:cens", "quantity:0.6,0.3,0.1", "covariate:age:0.8,0.5,0.2"]:
        assert parse_partition(text, schema, 3).text == text


@pytest.mark.parametrize(
    ("text", "sites", "message"),
    [
        ("bogus:1", 3, "unknown partition method 'bogus' in 'bogus:1'"),
        ("dirichlet:0.5", 1, "a dirichlet partition needs at least 2 sites, got 1"),
        ("quantity:0.5", None, "a quantity partition needs at least 2 sites, got None"),
        ("dirichlet:0", 3, "alpha must be a positive number, got 0"),
        ("dirichlet:-1", 3, "alpha must be a positive number, got -1"),
        ("dirichlet:nan", 3, "alpha must be a positive number"),
        ("dirichlet:abc", 3, "alpha 'abc' is not a number"),
        ("dirichlet", 3, "dirichlet needs its alpha"),
        ("dirichlet:0.5:nope", 3, "dirichlet label column 'nope' is not a column of the schema"),
        ("dirichlet:0.5:age", 3, "dirichlet label column 'age' must be categorical or boolean, not numeric"),
        ("quantity:0.5,0.3,0.1", 3, "shares must sum to 1, they sum to 0.9"),
        ("quantity:0.5,0.5", 3, "2 shares given for 3 sites"),
        ("quantity:1.2,-0.2", 2, "each site's share must be a positive number, got -0.2"),
        ("quantity:0", 3, "beta must be a positive number"),
        ("quantity:", 3, "quantity needs its shares or one beta"),
        ("quantity:0.5,x", 2, "share 'x' is not a number"),
        ("covariate:weight:0.8,0.2", 2, "covariate column 'weight' is not a column of the schema"),
        ("covariate:age:1.5,0.2", 2, "between 0 and 1, got 1.5"),
        ("covariate:age:1,1", 2, "cannot be all 0 or all 1"),
        ("covariate:age:0.8,0.2", 3, "2 shares given for 3 sites"),
        ("covariate:0.8,0.2", 2, "covariate needs a column and one share per site"),
        ("site", 2, "the schema declares no site column"),
        ("site:nope", 2, "site column 'nope' is not a column of the schema"),
        ("dirichlet:0.5", 2.5, "the number of sites must be a whole number"),
    ],
)
def test_bad_input_is_named(gbsg2, text, sites, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        partition(gbsg2.frame, gbsg2.schema, text, sites)


def test_too_many_sites_for_the_rows(gbsg2):
    with pytest.raises(InputError, match="too many sites for the rows: 6 sites of at least 10 rows need 60 rows, "
                                         "the real table has 50"):
        partition(gbsg2.frame.iloc[:50], gbsg2.schema, "dirichlet:1", 6)
    with pytest.raises(InputError, match="quantity:0.98,0.01,0.01: site 2 would hold 7 rows, fewer than the 10"):
        partition(gbsg2.frame, gbsg2.schema, "quantity:0.98,0.01,0.01", 3)
    with pytest.raises(InputError, match="holdout fraction must be between 0 and 1"):
        partition(gbsg2.frame, gbsg2.schema, "dirichlet:1", 2, holdout_fraction=1.0)
    with pytest.raises(InputError, match=r"lacks the schema's column\(s\) \['tsize'\]"):
        partition(gbsg2.frame.drop(columns="tsize"), gbsg2.schema, "dirichlet:1", 2)
