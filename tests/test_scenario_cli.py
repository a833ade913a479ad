"""``safe-bench scenario``: the command's JSON (fixed keys, byte-identical across runs,
batch sizes and backends, resumed from its store), its pages, published values of the
bundled trials, and a named error for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from safe_bench.benchmark.store import Store
from safe_bench.cli.main import main

QUICK = ["--generator", "gaussian_copula", "--replicates", "6", "-q"]
OC_KEYS = {"type_i_error", "power", "coverage", "bias", "rmse", "mc_error", "replicates", "failed"}


def scenario(tmp_path: Path, name: str, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / f"{name}.json"
    code = main(["scenario", *args, "--json", str(out)])
    text = out.read_text() if out.exists() else ""
    return code, (json.loads(text) if text else {}), text


def test_control_arm_json_has_the_fixed_keys_and_is_the_same_across_runs_batches_and_backends(tmp_path) -> None:
    args = ["control-arm", "--dataset", "aids", *QUICK]
    code, first, text = scenario(tmp_path, "a", *args, "--store", str(tmp_path / "s.sqlite"))
    assert code == 0
    assert {"scenario", "dataset", "generator", "replicates", "replication", "operating_characteristics",
            "verdict"} <= set(first)
    assert first["scenario"] == "control_arm" and first["replicates"] == 6
    assert set(first["operating_characteristics"]) == {"real", "naive", "corrected"}
    for oc in first["operating_characteristics"].values():
        assert set(oc) == OC_KEYS and oc["replicates"] == 6
    assert set(first["replication"]) == {"real", "naive", "corrected"}
    assert isinstance(first["verdict"]["fit"], bool) and first["verdict"]["summary"]
    # the real trial: ACTG 320's indinavir hazard ratio 0.504 [0.331, 0.769]
    real = first["replication"]["real"]
    assert np.exp(real["estimate"]) == pytest.approx(0.504, abs=0.001)
    assert np.exp(real["estimate"] - 1.959964 * real["se"]) == pytest.approx(0.331, abs=0.001)
    # run again on its store: nothing recomputed, the same bytes
    with Store(tmp_path / "s.sqlite", readonly=True) as store:
        assert len(store.work(kind="control-arm")) == 1
    assert scenario(tmp_path, "b", *args, "--store", str(tmp_path / "s.sqlite"))[2] == text
    # other batch sizes, two processes, a fresh temporary store: the same bytes
    assert scenario(tmp_path, "c", *args, "--batch", "2", "--jobs", "2")[2] == text


def test_augmentation_reports_every_ratio_with_its_effective_size(tmp_path) -> None:
    code, out, _ = scenario(tmp_path, "aug", "augmentation", "--dataset", "mds_ipssr_sim", "--n", "60",
                            "--ratios", "1,0.5", *QUICK, "--html", str(tmp_path / "aug.html"),
                            "--markdown", str(tmp_path / "aug.md"))
    assert code == 0
    assert out["scenario"] == "augmentation" and "replication" not in out
    ratios = out["operating_characteristics"]["ratios"]
    assert [r["ratio"] for r in ratios] == [0.0, 0.5, 1.0]  # the real rows alone always included
    for r in ratios:
        assert {"naive", "corrected"} <= set(r) and OC_KEYS == set(r["naive"])
        assert r["nominal_n"] == 60 * (1 + r["ratio"])
    assert ratios[0]["ess"] == pytest.approx(60)
    assert out["estimand"]["source"].startswith("the strongest finding")
    html, md = (tmp_path / "aug.html").read_text(), (tmp_path / "aug.md").read_text()
    assert "Type I error and power" in html and "data:image/svg+xml" in html
    assert "| ratio | analysis | type I error | power |" in md


def test_veterans_is_a_natural_null_and_gbsg2_is_said_to_be_observational(tmp_path, capsys) -> None:
    code, out, _ = scenario(tmp_path, "v", "control-arm", "--dataset", "veterans", *QUICK)
    assert code == 0
    assert np.exp(out["replication"]["real"]["estimate"]) == pytest.approx(1.018, abs=0.001)
    code = main(["scenario", "control-arm", "--dataset", "gbsg2", "--generator", "gaussian_copula",
                 "--replicates", "2"])
    assert code == 0
    assert "was not randomised here (observational)" in capsys.readouterr().out


@pytest.fixture
def own_trial(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    n = 160
    arm = rng.choice(["A", "B"], size=n)
    time = rng.exponential(np.where(arm == "B", 1.5, 1.0)).round(3) + 0.001
    frame = pd.DataFrame({"age": rng.normal(60, 8, n).round(), "arm": arm, "os": time,
                          "died": (rng.random(n) < 0.8).astype(int)})
    path = tmp_path / "trial.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_users_own_trial_runs_with_named_columns(tmp_path, own_trial) -> None:
    code, out, _ = scenario(tmp_path, "own", "control-arm", "--real", str(own_trial), "--time", "os", "--event",
                            "died", "--treatment", "arm", "--control", "A", "--mode", "hybrid:0.5",
                            "--analysis", "rmst", *QUICK)
    assert code == 0
    assert out["arm"] == {"column": "arm", "control": "A"}
    assert out["design"]["synthetic_share"] == 0.5 and out["design"]["tau"] > 0


@pytest.mark.parametrize("args, message", [
    (["control-arm", "--dataset", "aids", "--mode", "hybrid:2"], "--mode must be 'replace' or 'hybrid:F'"),
    (["control-arm", "--dataset", "whas500"], "name the treatment column (--treatment)"),
    (["control-arm", "--dataset", "aids", "--treatment", "age"], "treatment column 'age' has"),
    (["control-arm", "--dataset", "aids", "--control", "7"], "control level '7' is not a level of 'tx'"),
    (["control-arm", "--dataset", "aids", "--bootstrap", "3"], "--bootstrap must be 0 (none) or at least 10"),
    (["augmentation", "--dataset", "aids", "--estimand", "nosuch"], "'nosuch' is not a covariate"),
    (["augmentation", "--dataset", "aids", "--estimand", "sex"], "needs the level it contrasts"),
    (["augmentation", "--dataset", "aids", "--estimand", "ivdrug=2"], "held by fewer than 5 rows"),
    (["augmentation", "--dataset", "gbsg2", "--estimand", "score:IPI"], "no prognostic score 'IPI' in the schema (scores: NPI)"),
    (["augmentation", "--dataset", "gbsg2", "--estimand", "score:NPI=best"], "'best' is not a risk group of score 'NPI'"),
    (["augmentation", "--dataset", "aids", "--n", "5000"], "--n must be at least 2 and below"),
    (["augmentation", "--dataset", "aids", "--estimand", "age", "--analysis", "logrank"], "needs two-group contrasts"),
])
def test_bad_input_is_named_with_exit_2(tmp_path, capsys, args, message) -> None:
    code, out, _ = scenario(tmp_path, "bad", *args, *QUICK)
    assert code == 2 and out == {}
    assert message in capsys.readouterr().err


def test_a_file_without_survival_columns_is_refused(tmp_path, capsys, own_trial) -> None:
    assert scenario(tmp_path, "bad", "control-arm", "--real", str(own_trial), "--treatment", "arm", *QUICK)[0] == 2
    assert "needs a survival endpoint (--time and --event)" in capsys.readouterr().err


def test_several_findings_report_their_false_discovery_rate(tmp_path) -> None:
    code, out, _ = scenario(tmp_path, "fdr", "augmentation", "--dataset", "aids", "--n", "300", "--ratios", "1",
                            "--estimand", "tx=1", "--estimand", "karnof=90", "--estimand", "age", *QUICK)
    assert code == 0
    assert out["estimand"]["term"] == "tx=1" and out["estimand"]["findings"] == ["karnof=90", "age"]
    assert len(out["estimand"]["population_effects"]) == 3
    for ratio in out["operating_characteristics"]["ratios"]:
        assert set(ratio["false_discovery_rate"]) == {"naive", "corrected"}
        assert 0 <= ratio["false_discovery_rate"]["naive"]["rate"] <= 1


def test_all_findings_leave_out_levels_too_rare_to_name(tmp_path) -> None:
    code, out, text = scenario(tmp_path, "all", "augmentation", "--dataset", "aids", "--n", "400", "--ratios", "1",
                               "--all-findings", "--generator", "gaussian_copula", "--replicates", "2", "-q")
    assert code == 0
    assert "ivdrug=1" in out["estimand"]["findings"]  # 4 patients have ivdrug=2: never named
    assert "ivdrug=2" not in text


def test_a_prognostic_score_is_an_estimand(tmp_path) -> None:
    """IPSS-R's "very high" group against the others: the truth is its log HR on the
    6,000 simulated patients, and the null permutes the score's inputs together."""
    from safe_bench.data.datasets import load_dataset
    from safe_bench.scenarios.analysis import estimate
    from safe_bench.scenarios.trial import Contrast

    mds = load_dataset("mds_ipssr_sim")
    contrast = Contrast.of(mds.schema, "score:IPSS-R", "very high", source="test", frame=mds.frame)
    assert set(contrast.columns) == {"cytogenetics", "blasts", "hb", "platelets", "anc"}
    score = mds.schema.scores[0]
    x = contrast.x(mds.frame)
    assert x.sum() == (score.groups(mds.frame) == "very high").sum() >= 5
    code, out, _ = scenario(tmp_path, "score", "augmentation", "--dataset", "mds_ipssr_sim", "--n", "150",
                            "--ratios", "1", "--estimand", "score:IPSS-R=very high", *QUICK)
    assert code == 0 and out["estimand"]["term"] == "score:IPSS-R=very high"
    expected = estimate("cox", mds.frame["os_months"], mds.frame["death"], x).value
    assert out["estimand"]["truth"] == pytest.approx(expected, rel=1e-9)
