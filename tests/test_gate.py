"""Release gating: policies, verdicts on intervals, exit codes, JUnit, Markdown, JSON.

Candidates are real evaluations (GBSG2 split, baselines fitted on train) and a tiny
results store built from them; thresholds are derived from the scores, never typed in.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from junitparser import Error, Failure, JUnitXml
from scipy import stats

from safe_bench import evaluate, load_generator
from safe_bench.benchmark.seeds import Estimate, scores_from_result
from safe_bench.benchmark.store import CellRecord, Store
from safe_bench.cli.main import main
from safe_bench.data.io import write_table
from safe_bench.gate.judge import judge, judge_rule
from safe_bench.gate.policy import PolicyError, parse_policy
from safe_bench.report.gate import gate_markdown

#: The metrics the shipped default policy names, and only those: fast to compute.
#: A quick metric set with more than one metric per pillar: the shipped policy is calibrated on
#: pillars of several metrics (a pillar of one metric has a wider interval).
FAST = ["S.ks", "S.tv", "C.km", "C.logrank", "C.rmst", "P.exact", "P.dcr_share", "P.mia"]
DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "benchmarks" / "policies" / "default.toml"
SEEDS = (0, 1)
GENERATORS = ("gaussian_copula", "independent", "bootstrap_copy")


@pytest.fixture(scope="module")
def runs(gbsg2, gbsg2_split):
    """(generator, seed) -> (EvaluationResult, synthetic table)."""
    out = {}
    for name in GENERATORS:
        for seed in SEEDS:
            gen = load_generator(name)
            gen.fit(gbsg2_split.train, gbsg2.schema, seed=seed)
            synthetic = gen.sample(len(gbsg2_split.train), seed=seed)
            result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, seed=seed,
                              n_bootstrap=20, metrics=FAST, label=f"{name} seed {seed}")
            out[name, seed] = (result, synthetic)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory, gbsg2, gbsg2_split, runs):
    root = tmp_path_factory.mktemp("gate")
    write_table(gbsg2_split.train, root / "train.csv")
    write_table(gbsg2_split.holdout, root / "holdout.csv")
    (root / "schema.json").write_text(json.dumps(gbsg2.schema.to_dict()))
    for (name, seed), (result, synthetic) in runs.items():
        write_table(synthetic, root / f"{name}-{seed}.csv")
        (root / f"{name}-{seed}.json").write_text(result.to_json())
    return root


@pytest.fixture(scope="module")
def store_path(files, runs):
    path = files / "results.sqlite"
    with Store(path, create=True) as store:
        for (name, seed), (result, _) in runs.items():
            store.record(CellRecord(key=f"{name}-{seed}", synthetic_key=f"s-{name}-{seed}", dataset="gbsg2",
                                    generator=name, generator_name=name, params={}, seed=seed, data_hash="h",
                                    version="test", status="ok", result_json=result.to_json()))
    return path


def write_policy(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text)
    return path


def gate(*args: str) -> int:
    return main(["gate", "-q", *[str(a) for a in args]])


# -- policy parsing ---------------------------------------------------------------
def test_policy_parses_absolute_and_relative_rules():
    policy = parse_policy(
        '[policy]\nname = "p"\njudge = "estimate"\nbaseline = "gaussian_copula"\n'
        '[[rule]]\ncheck = "P.dcr_share >= 0.9"\n'
        '[[rule]]\ncheck = "SAFE>=baseline-0.02"\njudge = "ci"\nwhy = "no regression"\n'
        '[[rule]]\ncheck = "S < reference + .1"\n'
    )
    a, b, c = policy.rules
    assert (a.subject, a.op, a.threshold, a.anchor, a.judge) == ("P.dcr_share", ">=", 0.9, None, "estimate")
    assert (b.subject, b.anchor, b.margin, b.judge, b.why, b.check) == (
        "SAFE", "baseline", -0.02, "ci", "no regression", "SAFE>=baseline-0.02")
    assert (c.op, c.anchor, c.margin) == ("<", "reference", 0.1)
    assert policy.needs_baseline and policy.baseline == "gaussian_copula"


def test_the_shipped_policies_and_the_ci_example_agree():
    from safe_bench.cli.main import build_parser
    from safe_bench.gate.policy import load_policy

    policy = load_policy(DEFAULT_POLICY)
    assert policy.judge == "ci" and len(policy.rules) >= 5
    assert {r.subject for r in policy.rules} >= {"SAFE", "S", "C", "P"}
    root = DEFAULT_POLICY.parents[2]
    example = (root / "docs" / "ci-gate-example.yml").read_text()
    commands = re.findall(r"(?m)^\s*(?:- )?(?:run: )?(safe-bench (?:gate|run|report)\b[^\n]*(?:\n\s+--[^\n]*)*)",
                          example)
    assert len(commands) >= 4
    for command in commands:
        argv = command.split()[1:]
        build_parser().parse_args(argv)  # every documented command line parses
        if "--policy" in argv:
            assert load_policy(root / argv[argv.index("--policy") + 1]).rules


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]]\ncheck = "P.zzz >= 0.9"\n', "rule 1 (line 1) 'P.zzz >= 0.9': unknown metric 'P.zzz'"),
        ('[[rule]]\ncheck = "SAFE >= 0.8"\n[[rule]]\ncheck = "S => 0.8"\n', "rule 2 (line 3) 'S => 0.8': not SUBJECT OP"),
        ('[[rule]]\ncheck = "SAFE >= 1.5"\n', "threshold 1.5 is not a score"),
        ('[[rule]]\ncheck = "SAFE >= basline - 0.02"\n', "threshold 'basline - 0.02' is not a score"),
        ('[[rule]]\ncheck = "SAFE >= 0.8"\njudge = "lower"\n', "rule 1 (line 1) 'SAFE >= 0.8': judge must be"),
        ('[[rule]]\nchek = "SAFE >= 0.8"\n', "rule 1 (line 1): unknown key(s) ['chek']"),
        ('[[rule]]\nwhy = "x"\n', "rule 1 (line 1): needs check"),
        ('[policy]\nname = "x"\n', "no rules"),
        ('[policy]\nthreshold = 1\n[[rule]]\ncheck = "S >= 0.8"\n', "unknown key(s) ['threshold'] in [policy]"),
        ('[[rule]\ncheck = "S >= 0.8"\n', "not valid TOML"),
    ],
)
def test_malformed_policies_are_refused_naming_the_rule(text, message):
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("policy p.toml")


# -- judging -------------------------------------------------------------------------
def test_ci_judge_uses_the_conservative_bound_and_estimate_judge_the_point(runs):
    scores = scores_from_result(runs["gaussian_copula", 0][0])
    safe = scores["SAFE"]
    assert safe.ci_low < safe.score < safe.ci_high
    between = (safe.ci_low + safe.score) / 2  # the estimate clears it, the lower bound does not
    ci_rule, est_rule = (parse_policy(f'[[rule]]\ncheck = "SAFE >= {between!r}"\njudge = "{j}"\n').rules[0]
                         for j in ("ci", "estimate"))
    assert judge_rule(ci_rule, scores, None).status == "fail"
    assert judge_rule(est_rule, scores, None).status == "pass"
    assert judge_rule(ci_rule, scores, None).observed == pytest.approx(safe.ci_low)
    above = (safe.ci_high + safe.score) / 2  # '<=' is judged on the upper bound
    upper = parse_policy(f'[[rule]]\ncheck = "SAFE <= {above!r}"\n').rules[0]
    check = judge_rule(upper, scores, None)
    assert check.status == "fail" and check.observed == pytest.approx(safe.ci_high)


def test_reference_rule_is_anchored_on_the_holdout_score(runs):
    scores = scores_from_result(runs["gaussian_copula", 0][0])
    c = scores["C"]
    rule = parse_policy('[[rule]]\ncheck = "C >= reference - 0.1"\n').rules[0]
    check = judge_rule(rule, scores, None)
    assert check.threshold == pytest.approx(c.reference - 0.1)
    assert check.status == ("pass" if c.ci_low >= c.reference - 0.1 else "fail")


def test_a_skipped_metric_cannot_hold(runs, gbsg2, gbsg2_split):
    synthetic = runs["gaussian_copula", 0][1]
    no_holdout = evaluate(gbsg2_split.train, synthetic, None, gbsg2.schema, n_bootstrap=10, metrics=FAST)
    policy = parse_policy('[[rule]]\ncheck = "P.dcr_share >= 0.5"\n[[rule]]\ncheck = "S >= 0.1"\n')
    outcome = judge(policy, {"": scores_from_result(no_holdout)}, label="no holdout")
    missing, holds = outcome.checks
    assert missing.status == "missing" and "no holdout" in missing.message
    assert holds.status == "pass" and outcome.exit_code == 1


# -- the command: exit codes and outputs -------------------------------------------------
def test_exit_0_when_every_rule_holds_on_files(files):
    out = files / "pass"
    code = gate("--policy", DEFAULT_POLICY, "--real", files / "train.csv", "--synthetic",
                files / "gaussian_copula-0.csv", "--holdout", files / "holdout.csv", "--schema",
                files / "schema.json", "--bootstrap", "20", "--metrics", ",".join(FAST), "--junit", f"{out}.xml",
                "--markdown", f"{out}.md", "--json", f"{out}.json")
    report = json.loads(Path(f"{out}.json").read_text())
    assert code == 0, report
    assert report["passed"] and report["counts"]["pass"] == len(report["verdicts"])
    assert Path(f"{out}.md").read_text().startswith("## ✅ safe-bench gate: release allowed")


@pytest.fixture(scope="module")
def leak(files):
    """The shipped policy on bootstrap_copy (resampled training rows): exit code and output paths."""
    out = files / "leak"
    code = gate("--policy", DEFAULT_POLICY, "--result", files / "bootstrap_copy-0.json",
                "--junit", f"{out}.xml", "--markdown", f"{out}.md", "--json", f"{out}.json")
    return code, Path(f"{out}.xml"), Path(f"{out}.md"), json.loads(Path(f"{out}.json").read_text())


def test_exit_1_when_a_copy_of_the_training_rows_is_released(leak):
    code, _, md_path, report = leak
    assert code == 1 and not report["passed"]
    failing = {v["check"] for v in report["verdicts"] if v["status"] == "fail"}
    assert {"P.exact >= 0.99", "P.dcr_share >= 0.75", "P.mia >= 0.80"} <= failing
    md = md_path.read_text()
    assert md.startswith("## ❌ safe-bench gate: release blocked")
    first_row = next(line for line in md.splitlines() if line.startswith("| ❌") or line.startswith("| ✅"))
    assert first_row.startswith("| ❌ fail")  # failing rules come first


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory):
    """The smoke suite (GBSG2, three baselines, seeds 0 and 1, every metric) run as a user would."""
    path = tmp_path_factory.mktemp("smoke") / "smoke.sqlite"
    assert main(["run", str(DEFAULT_POLICY.parents[1] / "smoke.toml"), "--store", str(path), "-q"]) == 0
    return path


@pytest.mark.parametrize("generator, expected", [("gaussian_copula", 0), ("independent", 1), ("bootstrap_copy", 1)])
def test_shipped_policy_over_seeds_passes_a_sound_generator_and_blocks_the_others(tmp_path, smoke_store, generator,
                                                                                 expected):
    """Judged seed by seed over the smoke suite's seeds: the sound baseline passes,
    independent columns (the clinical message lost) and resampled training rows (a leak)
    are blocked."""
    out = tmp_path / "gate.json"
    code = gate("--policy", DEFAULT_POLICY, "--store", smoke_store, "--generator", generator, "--json", out)
    report = json.loads(out.read_text())
    assert code == expected, [(v["check"], v["status"], v["message"]) for v in report["verdicts"]]


def test_junit_is_valid_junit_with_one_case_per_rule(leak):
    from safe_bench.gate.policy import load_policy

    _, path, _, report = leak
    n_rules = len(load_policy(DEFAULT_POLICY).rules)
    failures = sum(v["status"] == "fail" for v in report["verdicts"])

    root = ET.parse(path).getroot()  # JUnit structure: testsuites > testsuite > testcase
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == n_rules == int(suite.get("tests")) == int(root.get("tests"))
    assert int(suite.get("failures")) == failures
    assert all(c.get("name") and c.get("classname") for c in cases)

    xml = JUnitXml.fromfile(str(path))  # and an independent JUnit reader agrees
    parsed = [case for s in xml for case in s]
    assert len(parsed) == n_rules
    failed = [c for c in parsed if any(isinstance(r, Failure) for r in c.result)]
    assert {c.name for c in failed} == {v["check"] for v in report["verdicts"] if v["status"] == "fail"}
    assert all(r.message for c in failed for r in c.result)


def test_missing_score_is_a_junit_error_and_exit_1(files, gbsg2, gbsg2_split, runs):
    no_holdout = evaluate(gbsg2_split.train, runs["gaussian_copula", 0][1], None, gbsg2.schema,
                          n_bootstrap=10, metrics=FAST)
    (files / "noholdout.json").write_text(no_holdout.to_json())
    policy = write_policy(files, "priv.toml", '[[rule]]\ncheck = "P.exact >= 0.9"\n')
    assert gate("--policy", policy, "--result", files / "noholdout.json", "--junit", files / "nh.xml") == 1
    (case,) = [c for s in JUnitXml.fromfile(str(files / "nh.xml")) for c in s]
    assert isinstance(case.result[0], Error) and "no holdout" in case.result[0].message


@pytest.mark.parametrize(
    ("policy_text", "extra", "message"),
    [
        ('[[rule]]\ncheck = "P.mia2 >= 0.9"\n', [], "unknown metric 'P.mia2'"),
        ("[[rule]\n", [], "not valid TOML"),
        ('[[rule]]\ncheck = "SAFE >= baseline - 0.02"\n', [], "rule 1 'SAFE >= baseline - 0.02' needs a baseline"),
        ('[[rule]]\ncheck = "SAFE >= 0.5"\n', ["--store", "{d}/results.sqlite", "--generator", "nope"],
         "generator 'nope' has no results"),
        ('[[rule]]\ncheck = "SAFE >= baseline"\n',
         ["--baseline", "nope", "--store", "{d}/results.sqlite", "--generator", "independent"],
         "baseline generator 'nope' has no results"),
        ('[[rule]]\ncheck = "SAFE >= 0.5"\n', ["--real", "{d}/train.csv"], "give both --real and --synthetic"),
    ],
)
def test_exit_2_on_bad_input_naming_the_problem_and_writing_nothing(files, store_path, policy_text, extra,
                                                                    message, capsys):
    policy = write_policy(files, "bad.toml", policy_text)
    default = [] if "--store" in extra or "--real" in extra else ["--result", str(files / "gaussian_copula-0.json")]
    args = ["--policy", str(policy), *default, *[a.format(d=files) for a in extra], "--junit", str(files / "never.xml")]
    assert gate(*args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("safe-bench: error: ")
    assert not (files / "never.xml").exists()


def test_the_process_exits_2_without_a_traceback(files):
    policy = write_policy(files, "unknown.toml", '[[rule]]\ncheck = "SAFE >= 0.5"\n[[rule]]\ncheck = "C.kmm >= 0.5"\n')
    proc = subprocess.run([sys.executable, "-m", "safe_bench.cli", "gate", "--policy", str(policy), "--result",
                           str(files / "gaussian_copula-0.json")], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "rule 2 (line 3) 'C.kmm >= 0.5': unknown metric 'C.kmm'" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- baseline-relative rules against a results store -----------------------------------------
def seed_interval(runs, name: str, subject: str) -> tuple[float, float, float]:
    """Mean over seeds and its 95 % interval, computed here independently: variance =
    (mean within-seed variance, read off each seed's interval, + between-seed variance,
    S^2 minus that, floored at 0) / k, normal quantile, held within 0..1."""
    pillars = [runs[name, s][0].pillars[subject] for s in SEEDS]
    values = np.array([p.score for p in pillars])
    z = stats.norm.ppf(0.975)
    within = np.mean([((p.ci_high - p.ci_low) / (2 * z)) ** 2 for p in pillars])
    half = z * np.sqrt((within + max(0.0, values.var(ddof=1) - within)) / len(values))
    return float(values.mean()), max(0.0, float(values.mean() - half)), min(1.0, float(values.mean() + half))


@pytest.mark.parametrize("margin", [0.0, 0.02, 0.2])
def test_baseline_rule_in_store_mode_matches_a_hand_computation(files, store_path, runs, margin):
    policy = write_policy(files, "regression.toml",
                          f'[policy]\nbaseline = "gaussian_copula"\n[[rule]]\ncheck = "SAFE >= baseline - {margin}"\n')
    out = files / f"regression-{margin}.json"
    code = gate("--policy", policy, "--store", store_path, "--generator", "independent", "--json", out)
    (verdict,) = json.loads(out.read_text())["verdicts"]
    base_mean, _, _ = seed_interval(runs, "gaussian_copula", "SAFE")
    mean, low, high = seed_interval(runs, "independent", "SAFE")
    assert verdict["dataset"] == "gbsg2"
    assert verdict["anchor_score"] == pytest.approx(base_mean)
    assert verdict["threshold"] == pytest.approx(base_mean - margin)
    assert (verdict["score"], verdict["ci_low"], verdict["ci_high"]) == pytest.approx((mean, low, high))
    lows = {s: runs["independent", s][0].pillars["SAFE"].ci_low for s in SEEDS}
    holds = all(lo >= base_mean - margin for lo in lows.values())  # judged on every seed's own interval
    assert verdict["status"] == ("pass" if holds else "fail")
    assert [v["seed"] for v in verdict["seeds"]] == list(SEEDS)
    assert [v["observed"] for v in verdict["seeds"]] == pytest.approx(list(lows.values()))
    assert code == (0 if holds else 1)


def test_baseline_rule_on_a_file_with_a_baseline_result(files, runs):
    """The candidate equals the baseline: it holds on the estimate with any margin >= 0,
    and fails `SAFE > baseline` judged on the interval."""
    baseline = files / "gaussian_copula-0.json"
    ok = write_policy(files, "same.toml", '[policy]\njudge = "estimate"\n[[rule]]\ncheck = "SAFE >= baseline - 0.02"\n')
    strict = write_policy(files, "strict.toml", '[[rule]]\ncheck = "SAFE > baseline"\n')
    assert gate("--policy", ok, "--result", baseline, "--baseline-result", baseline) == 0
    assert gate("--policy", strict, "--result", baseline, "--baseline-result", baseline) == 1


def test_baseline_from_the_store_for_one_table(files, store_path, runs):
    """A new synthetic file gated against a generator's stored results (the only dataset in the store)."""
    policy = write_policy(files, "vs-store.toml", '[policy]\nbaseline = "independent"\njudge = "estimate"\n'
                          '[[rule]]\ncheck = "S >= baseline"\n')
    out = files / "vs-store.json"
    code = gate("--policy", policy, "--result", files / "gaussian_copula-1.json", "--store", store_path, "--json", out)
    (verdict,) = json.loads(out.read_text())["verdicts"]
    base_mean, _, _ = seed_interval(runs, "independent", "S")
    assert verdict["anchor_score"] == pytest.approx(base_mean)
    s = runs["gaussian_copula", 1][0].score("S")
    assert code == (0 if s >= base_mean else 1)


def test_store_mode_judges_every_dataset_as_its_own_test_case(files, runs):
    """Two datasets in the store: one JUnit test case per rule per dataset; --dataset keeps one."""
    path = files / "two-datasets.sqlite"
    with Store(path, create=True) as store:
        for dataset in ("cohort_a", "cohort_b"):
            for seed in SEEDS:
                result = runs["gaussian_copula", seed][0]
                store.record(CellRecord(key=f"{dataset}-{seed}", synthetic_key=f"{dataset}-{seed}", dataset=dataset,
                                        generator="gaussian_copula", generator_name="gaussian_copula", params={},
                                        seed=seed, data_hash="h", version="test", status="ok",
                                        result_json=result.to_json()))
    policy = write_policy(files, "two.toml",
                          '[[rule]]\ncheck = "S >= 0.5"\n[[rule]]\ncheck = "P.exact >= 0.99"\njudge = "estimate"\n')
    assert gate("--policy", policy, "--store", path, "--generator", "gaussian_copula", "--junit", files / "two.xml",
                "--markdown", files / "two.md") == 0
    cases = [c for s in JUnitXml.fromfile(str(files / "two.xml")) for c in s]
    assert sorted((c.classname, c.name) for c in cases) == [
        (f"safe_bench.gate.{d}", r) for d in ("cohort_a", "cohort_b") for r in ("P.exact >= 0.99", "S >= 0.5")]
    assert "| dataset |" in (files / "two.md").read_text()
    assert gate("--policy", policy, "--store", path, "--generator", "gaussian_copula", "--dataset", "cohort_b",
                "--junit", files / "one.xml") == 0
    assert {c.classname for s in JUnitXml.fromfile(str(files / "one.xml")) for c in s} == {"safe_bench.gate.cohort_b"}


def test_markdown_escapes_what_it_quotes():
    policy = parse_policy('[policy]\nname = "a|b <script>"\n[[rule]]\ncheck = "S >= 0.5"\nwhy = "x | <b>y</b>"\n')
    md = gate_markdown(judge(policy, {"": {"S": Estimate(0.7, 0.6, 0.8, 0.9)}}, label="t<a>|"))
    assert "<script>" not in md and "<b>" not in md and "&lt;script&gt;" in md
    row = next(line for line in md.splitlines() if line.startswith("| ✅"))
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 7 and cells[-1].strip() == "x \\| &lt;b&gt;y&lt;/b&gt;"  # the escaped '|' breaks no cell


# -- seeds and incomplete scores ---------------------------------------------------------------
def test_over_two_seeds_a_rule_is_judged_on_every_seeds_own_interval(files, store_path, runs):
    """Not a t interval over two seeds (quantile 12.7): a rule that holds on each seed's
    bootstrap interval passes, one that fails on one seed fails naming that seed."""
    lows = {s: runs["gaussian_copula", s][0].pillars["SAFE"].ci_low for s in SEEDS}
    worst = min(lows, key=lows.get)
    outcomes = {}
    for name, threshold in (("every", min(lows.values()) - 0.005), ("one", (min(lows.values()) + max(lows.values())) / 2)):
        policy = write_policy(files, f"seeds-{name}.toml", f'[[rule]]\ncheck = "SAFE >= {threshold:.4f}"\n')
        code = gate("--policy", policy, "--store", store_path, "--generator", "gaussian_copula",
                    "--json", files / f"seeds-{name}.json")
        (verdict,) = json.loads((files / f"seeds-{name}.json").read_text())["verdicts"]
        outcomes[name] = code, verdict
    code, verdict = outcomes["every"]
    assert code == 0 and verdict["status"] == "pass" and "holds in every seed (2)" in verdict["message"]
    mean, low, high = seed_interval(runs, "gaussian_copula", "SAFE")
    assert (verdict["score"], verdict["ci_low"], verdict["ci_high"]) == pytest.approx((mean, low, high))
    assert 0.0 < verdict["ci_low"] < verdict["score"] < verdict["ci_high"] < 1.0
    t_low = mean - stats.t.ppf(0.975, 1) * np.std([runs["gaussian_copula", s][0].score() for s in SEEDS], ddof=1) / np.sqrt(2)
    assert verdict["ci_low"] != pytest.approx(t_low, abs=1e-3)  # not the t interval over the two seeds
    code, verdict = outcomes["one"]
    assert code == 1 and verdict["status"] == "fail" and verdict["seed"] == worst
    assert verdict["message"].startswith(f"fails in seed {worst} of 2: 95% CI lower bound {lows[worst]:.3f} <")
    assert [v["status"] for v in verdict["seeds"]].count("pass") == 1


@pytest.fixture
def broken_km(break_metric, gbsg2, gbsg2_split, runs):
    """gaussian_copula seed 0 evaluated again with C.km raising: C and SAFE incomplete."""
    break_metric("C.km")
    synthetic = runs["gaussian_copula", 0][1]
    return evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, seed=0, n_bootstrap=20,
                    metrics=FAST, label="C.km broken")


BROKEN_POLICY = ('[[rule]]\ncheck = "C >= 0.1"\n[[rule]]\ncheck = "SAFE >= 0.1"\n[[rule]]\ncheck = "C.km >= 0.1"\n'
                 '[[rule]]\ncheck = "S >= 0.1"\n')


def test_an_incomplete_pillar_is_an_error_not_a_failure(files, broken_km, runs):
    intact = runs["gaussian_copula", 0][0]
    assert intact.score("C") is not None and intact.score("C") >= 0.1  # C holds when its metric runs
    assert broken_km.pillars["C"].status == "incomplete" and broken_km.pillars["SAFE"].status == "incomplete"
    (files / "broken.json").write_text(broken_km.to_json())
    policy = write_policy(files, "broken.toml", BROKEN_POLICY)
    out = files / "broken"
    code = main(["gate", "--policy", str(policy), "--result", str(files / "broken.json"), "--junit", f"{out}.xml",
                 "--json", f"{out}.json", "--markdown", f"{out}.md"])
    assert code == 1
    verdicts = {v["check"]: v for v in json.loads(Path(f"{out}.json").read_text())["verdicts"]}
    assert {c: v["status"] for c, v in verdicts.items()} == {
        "C >= 0.1": "error", "SAFE >= 0.1": "error", "C.km >= 0.1": "error", "S >= 0.1": "pass"}
    c = verdicts["C >= 0.1"]
    assert c["message"].startswith("error: C incomplete: 1 metric(s) failed (C.km: RuntimeError; its message and traceback")
    assert c["score"] is None and c["observed"] is None  # no number from the metrics that ran
    assert verdicts["SAFE >= 0.1"]["message"].startswith("error: SAFE incomplete: ")
    assert verdicts["C.km >= 0.1"]["message"].startswith("error: C.km failed: RuntimeError; its message and traceback (")
    assert "deliberately broken" not in verdicts["C.km >= 0.1"]["message"]  # a library's message is kept private
    cases = {case.name: case for s in JUnitXml.fromfile(f"{out}.xml") for case in s}
    for check in ("C >= 0.1", "SAFE >= 0.1", "C.km >= 0.1"):
        (result,) = cases[check].result
        assert isinstance(result, Error) and result.type == "ScoreIncomplete"
    assert not cases["S >= 0.1"].result
    assert not any(isinstance(r, Failure) for case in cases.values() for r in case.result)
    assert "| ⛔ error | `C >= 0.1` |" in Path(f"{out}.md").read_text()


def test_an_incomplete_seed_makes_the_rule_an_error_naming_the_seed(files, broken_km, runs, capsys):
    path = files / "one-broken-seed.sqlite"
    with Store(path, create=True) as store:
        for seed, result in ((0, runs["gaussian_copula", 1][0]), (1, broken_km)):
            store.record(CellRecord(key=f"k{seed}", synthetic_key=f"s{seed}", dataset="gbsg2", generator="g",
                                    generator_name="g", params={}, seed=seed, data_hash="h", version="test",
                                    status="ok", result_json=result.to_json()))
    policy = write_policy(files, "broken-seeds.toml", BROKEN_POLICY)
    code = main(["gate", "--policy", str(policy), "--store", str(path), "--generator", "g",
                 "--junit", str(files / "seeds.xml")])
    text = capsys.readouterr().out
    assert code == 1
    assert "ERROR   [gbsg2] C >= 0.1: error: C incomplete in seed 1: 1 metric(s) failed (C.km: RuntimeError" in text
    assert "PASS    [gbsg2] S >= 0.1: holds in every seed (2)" in text
    assert "3 error (a score failed)" in text
    errors = [r for s in JUnitXml.fromfile(str(files / "seeds.xml")) for case in s for r in case.result]
    assert len(errors) == 3 and all(isinstance(r, Error) and r.type == "ScoreIncomplete" for r in errors)
