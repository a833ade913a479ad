"""Use-case scenarios on known answers: the analyses against lifelines and
scikit-survival, the synthesis variance against its closed forms, and the operating
characteristics of generators whose answer is known (identity, oracle, a correctly
specified parametric model) against the analytic type I errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from safe_bench.data.claims import PrimaryEffect
from safe_bench.data.schema import Kind, Schema, Survival
from safe_bench.scenarios.analysis import Estimate, common_tau, estimate, information
from safe_bench.scenarios.augmentation import AugmentationDesign, Cohort, effective_sizes
from safe_bench.scenarios.augmentation import replicate as augmentation_replicate
from safe_bench.scenarios.control_arm import ControlArmDesign, replication
from safe_bench.scenarios.control_arm import replicate as control_replicate
from safe_bench.scenarios.inference import Draw, Parts, summarise, synthesis_variance
from safe_bench.scenarios.trial import Contrast, OutcomeModel, Trial

RATE, CENSORING = 1.0, 0.3


def survival_draws(rng: np.random.Generator, n: int, rate: float | np.ndarray, censoring: float | np.ndarray):
    """Exponential event and censoring times: (time, event)."""
    t, c = rng.exponential(1 / np.asarray(rate), size=n), rng.exponential(1 / np.asarray(censoring), size=n)
    return np.minimum(t, c), (t <= c).astype(float)


def trial_table(n_per_arm: int, log_hr: float, seed: int) -> tuple[pd.DataFrame, Schema]:
    rng = np.random.default_rng(seed)
    arm = np.repeat(["control", "treated"], n_per_arm)
    rate = np.where(arm == "treated", RATE * np.exp(log_hr), RATE)
    time, event = survival_draws(rng, 2 * n_per_arm, rate, CENSORING)
    schema = Schema(kinds={"arm": Kind.CATEGORICAL, "time": Kind.NUMERIC, "event": Kind.BOOLEAN},
                    survival=Survival("time", "event"), primary=PrimaryEffect("arm", "treated"))
    return pd.DataFrame({"arm": arm, "time": time, "event": event}), schema


class Exponential:
    """A correctly specified parametric generator for exponential survival: event and
    censoring rates by maximum likelihood (d / sum t, (n - d) / sum t), per level of the
    one categorical covariate when there is one (its level drawn with the observed shares)."""

    name = "exponential"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self.columns = list(train.columns)
        self.group = next((c for c in schema.covariates if c in schema.categorical), None)
        groups = train.groupby(self.group) if self.group else [(None, train)]
        self.levels = {level: (len(rows) / len(train), rows["event"].sum() / rows["time"].sum(),
                               (1 - rows["event"]).sum() / rows["time"].sum()) for level, rows in groups}

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        names = list(self.levels)
        shares = np.array([self.levels[k][0] for k in names])
        which = rng.choice(len(names), size=n, p=shares / shares.sum())
        rate = np.array([self.levels[names[i]][1] for i in which])
        censor = np.array([self.levels[names[i]][2] for i in which])
        time, event = survival_draws(rng, n, rate, censor)
        out = pd.DataFrame({"time": time, "event": event})
        if self.group:
            out[self.group] = [names[i] for i in which]
        return out[self.columns]


class Oracle(Exponential):
    """Samples the true data-generating process, whatever it was fitted on."""

    name = "oracle"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self.columns, self.group, self.levels = list(train.columns), None, {None: (1.0, RATE, CENSORING)}


class Identity:
    """Returns the rows it was fitted on (the real controls themselves)."""

    name = "identity"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self.train = train.reset_index(drop=True)

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        assert n == len(self.train)
        return self.train.copy()


def normal_limit(factor: float) -> float:
    """2 Phi(-1.96 factor): the rejection rate of a Wald test whose z is ``factor`` times too large."""
    return float(2 * stats.norm.cdf(-stats.norm.ppf(0.975) * factor))


def within(p: float, expected: float, replicates: int, sigmas: float = 3.0) -> bool:
    return abs(p - expected) <= sigmas * np.sqrt(expected * (1 - expected) / replicates)


# -- the analyses ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = np.repeat([0.0, 1.0], 150)
    time, event = survival_draws(rng, 300, RATE * np.exp(0.5 * x), CENSORING)
    return np.round(time, 2) + 0.01, event, x  # ties, as in real data


def test_cox_agrees_with_scikit_survival(sample) -> None:
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    time, event, x = sample
    ours = estimate("cox", time, event, x)
    theirs = CoxPHSurvivalAnalysis(ties="efron").fit(x[:, None], Surv.from_arrays(event.astype(bool), time))
    assert ours.value == pytest.approx(theirs.coef_[0], abs=1e-5)


def test_peto_is_the_log_rank_test(sample) -> None:
    from lifelines.statistics import logrank_test

    time, event, x = sample
    ours = estimate("logrank", time, event, x)
    theirs = logrank_test(time[x == 1], time[x == 0], event[x == 1], event[x == 0])
    assert (ours.value / ours.se) ** 2 == pytest.approx(theirs.test_statistic, rel=1e-9)
    # Peto's one-step estimate is close to the Cox log hazard ratio near the null
    assert ours.value == pytest.approx(estimate("cox", time, event, x).value, abs=0.05)


def test_rmst_difference_agrees_with_lifelines_and_its_variance_with_the_uncensored_formula(sample) -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    time, event, x = sample
    tau = common_tau(time, x)
    ours = estimate("rmst", time, event, x, tau=tau)
    means = [restricted_mean_survival_time(KaplanMeierFitter().fit(time[x == g], event[x == g]), t=tau)
             for g in (1, 0)]
    assert ours.value == pytest.approx(means[0] - means[1], rel=1e-6)
    # without censoring the variance is var(min(T, tau)) / n in each group
    uncensored = np.ones_like(event)
    full = estimate("rmst", time, uncensored, x, tau=1.5)
    expected = sum(np.var(np.minimum(time[x == g], 1.5)) / np.sum(x == g) for g in (0, 1))
    assert full.variance == pytest.approx(expected, rel=1e-9)


def test_information_counts_events_for_hazard_ratios_and_rows_for_rmst() -> None:
    event = np.array([1.0, 0.0, 1.0, 1.0])
    assert information("cox", event) == information("logrank", event) == 3
    assert information("rmst", event) == 4


# -- the synthesis variance ---------------------------------------------------------------


def test_synthesis_variance_is_raabs_rule_for_a_fully_synthetic_table() -> None:
    naive = Estimate(0.3, 0.02)
    for k, n, m in [(100, 100, 1), (500, 100, 1), (200, 100, 5)]:
        corrected = synthesis_variance(naive, Parts(fixed=0, kept=0, trained=n, synthetic=k), m)
        assert corrected.value == naive.value
        assert corrected.variance == pytest.approx(naive.variance * (k / n + 1 / m))


def test_synthesis_variance_gives_the_augmentation_factor() -> None:
    for r in (0.5, 1.0, 3.0):
        corrected = synthesis_variance(Estimate(0.0, 1.0), Parts(fixed=0, kept=100, trained=100, synthetic=100 * r), 1)
        assert corrected.variance == pytest.approx((1 + r) + r / (1 + r))


def test_synthesis_variance_of_a_replaced_control_arm_gives_the_analytic_limit() -> None:
    d_t, d_c = 40.0, 60.0
    corrected = synthesis_variance(Estimate(0.0, 1 / d_t), Parts(fixed=d_t, kept=0, trained=d_c, synthetic=1e9), 1)
    assert corrected.variance == pytest.approx(1 / d_t + 1 / d_c)
    naive_rate = normal_limit(np.sqrt((1 / d_t) / corrected.variance))
    assert naive_rate == pytest.approx(normal_limit(np.sqrt(d_c / (d_c + d_t))))


# -- outcomes under a chosen hazard ratio -------------------------------------------------


def test_outcomes_drawn_under_a_hazard_ratio_carry_it() -> None:
    rng = np.random.default_rng(3)
    time, event = survival_draws(rng, 4000, RATE, CENSORING)
    model = OutcomeModel.of(time, event)
    drawn = model.draw(4000, np.log(0.6), np.random.default_rng(4))
    x = np.r_[np.ones(4000), np.zeros(4000)]
    fitted = estimate("cox", np.r_[drawn[0], time], np.r_[drawn[1], event], x)
    assert fitted.covers(np.log(0.6))
    assert abs(fitted.value - np.log(0.6)) < 0.08
    # censoring follows the control arm's: the same share of events at HR 1
    same = model.draw(4000, 0.0, np.random.default_rng(5))
    assert same[1].mean() == pytest.approx(event.mean(), abs=0.03)
    # the RMST truth is the exponential's: (1 - exp(-lambda tau)) / lambda
    tau = 1.0
    exact = (1 - np.exp(-0.6 * tau)) / 0.6 - (1 - np.exp(-tau))
    assert model.rmst_difference(np.log(0.6), tau) == pytest.approx(exact, abs=0.02)


# -- known answers: the control arm ------------------------------------------------------


def design(**changes) -> ControlArmDesign:
    base = dict(analysis="logrank", synthetic_share=1.0, k=None, m=1, bootstrap=0, tau=None, effect=np.log(0.6))
    return ControlArmDesign(**{**base, **changes})


def run(trial, generator, design, replicates, seed=0) -> list[Draw]:
    return [d for i in range(replicates) for d in control_replicate(trial, generator, design, seed=seed, index=i)]


def test_an_identity_generator_reproduces_the_real_trial_exactly() -> None:
    frame, schema = trial_table(150, np.log(0.6), seed=1)
    trial = Trial.of(frame, schema)
    assert (trial.arm, trial.control) == ("arm", "control")
    rep = replication(trial, Identity(), design(analysis="cox"), seed=0)
    assert rep.naive.estimate.value == pytest.approx(rep.real.value, abs=1e-12)
    assert rep.naive.estimate.variance == pytest.approx(rep.real.variance, abs=1e-12)
    assert rep.naive.difference == pytest.approx(0, abs=1e-12)
    assert rep.naive.estimate_agreement and rep.naive.decision_agreement
    assert rep.naive.standardized_difference == pytest.approx(0, abs=1e-9)
    assert rep.naive.ci_overlap == pytest.approx(1.0)
    # over replicates, the naive analysis is the real one, draw by draw
    draws = run(trial, Identity(), design(), 40)
    real = {(d.replicate, d.hypothesis): d.estimate for d in draws if d.variant == "real"}
    naive = {(d.replicate, d.hypothesis): d.estimate for d in draws if d.variant == "naive"}
    assert real == naive
    oc = summarise(draws, truth=np.log(0.6), measured="null")
    assert oc[(0.0, "naive")].type_i_error == oc[(0.0, "real")].type_i_error
    assert oc[(0.0, "naive")].power == oc[(0.0, "real")].power


REPLICATES = 600


@pytest.fixture(scope="module")
def small_trial() -> Trial:
    """n = 50 per arm after the control arm's split (a 1:1 trial of 100 per arm)."""
    frame, schema = trial_table(100, 0.0, seed=2)
    return Trial.of(frame, schema)


def test_an_oracle_generator_keeps_the_type_i_error(small_trial) -> None:
    oc = summarise(run(small_trial, Oracle(), design(k=500), REPLICATES), truth=np.log(0.6), measured="null")
    naive = oc[(0.0, "naive")]
    assert within(naive.type_i_error, 0.05, REPLICATES)
    assert naive.failed == 0 and naive.replicates == REPLICATES


def test_a_correct_parametric_generator_inflates_the_naive_type_i_error_to_the_analytic_limit(small_trial) -> None:
    draws = run(small_trial, Exponential(), design(k=4000), REPLICATES)
    oc = summarise(draws, truth=np.log(0.6), measured="null")
    # the limit 2 Phi(-1.96 sqrt(d_c / (d_c + d_t))), arms of equal size and hazard
    limit = normal_limit(np.sqrt(0.5))
    assert limit == pytest.approx(0.166, abs=0.001)
    assert within(oc[(0.0, "naive")].type_i_error, limit, REPLICATES)
    assert within(oc[(0.0, "corrected")].type_i_error, 0.05, REPLICATES)
    assert within(oc[(0.0, "real")].type_i_error, 0.05, REPLICATES)
    assert oc[(0.0, "corrected")].coverage >= 0.93
    # the honest analysis pays for the synthesis in power: below the real controls'
    assert oc[(0.0, "corrected")].power < oc[(0.0, "real")].power


def test_several_syntheses_average_out_their_own_noise_only(small_trial) -> None:
    """m = 5 tables of k = 50 rows from the model fitted on 50 pseudo-controls: averaged,
    the synthesis noise shrinks to 1/(m d) but the model's error 1/d stays, so the naive
    variance 2/d is short of 1/d + 1/d + 1/(5 d) = 2.2/d."""
    oc = summarise(run(small_trial, Exponential(), design(m=5), REPLICATES), truth=0.0, measured="null")
    assert within(oc[(0.0, "naive")].type_i_error, normal_limit(np.sqrt(2 / 2.2)), REPLICATES)
    assert within(oc[(0.0, "corrected")].type_i_error, 0.05, REPLICATES)


def test_the_generator_aware_bootstrap_restores_the_type_i_error(small_trial) -> None:
    replicates = 120
    oc = summarise(run(small_trial, Exponential(), design(k=500, bootstrap=25), replicates), truth=0.0, measured="null")
    assert oc[(0.0, "bootstrap")].type_i_error <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / replicates)
    assert oc[(0.0, "naive")].type_i_error > oc[(0.0, "bootstrap")].type_i_error


def test_a_hybrid_control_arm_inflates_the_type_i_error_as_its_shares_say() -> None:
    """Half of 50 pseudo-controls kept real, the other half replaced by as many synthetic
    rows from the model fitted on all 50: with d_t = d_g events in the treated arm and the
    generator's data, the naive variance is 2/d_g where the truth is
    1/d_g + (1/4)(2/d_g) + (3/4)/d_g + (1/4)(2/d_g) = 2.75/d_g."""
    frame, schema = trial_table(100, 0.0, seed=3)
    trial = Trial.of(frame, schema)
    replicates = 500
    oc = summarise(run(trial, Exponential(), design(synthetic_share=0.5), replicates), truth=0.0, measured="null")
    assert within(oc[(0.0, "naive")].type_i_error, normal_limit(np.sqrt(2 / 2.75)), replicates)
    assert within(oc[(0.0, "corrected")].type_i_error, 0.05, replicates)


# -- known answers: augmentation ---------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> Cohort:
    rng = np.random.default_rng(11)
    n = 20_000
    x = rng.choice(["a", "b"], size=n)
    time, event = survival_draws(rng, n, np.where(x == "b", RATE * np.exp(0.5), RATE), CENSORING)
    schema = Schema(kinds={"x": Kind.CATEGORICAL, "time": Kind.NUMERIC, "event": Kind.BOOLEAN},
                    survival=Survival("time", "event"))
    return Cohort(pd.DataFrame({"x": x, "time": time, "event": event}), schema)


def test_augmenting_with_a_correct_generator_inflates_the_naive_type_i_error_by_rho(population) -> None:
    replicates = 400
    plan = AugmentationDesign(Contrast("x", "b"), "logrank", n=100, ratios=(0.0, 1.0, 3.0), m=1, bootstrap=0, tau=None)
    draws = [d for i in range(replicates) for d in augmentation_replicate(population, Exponential(), plan, seed=0,
                                                                           index=i)]
    truth = estimate("logrank", *population.outcomes(population.frame), plan.contrast.x(population.frame)).value
    oc = summarise(draws, truth=truth, measured="effect")
    assert within(oc[(0.0, "naive")].type_i_error, 0.05, replicates)
    for r in (1.0, 3.0):
        rho = (1 + r) + r / (1 + r)
        assert within(oc[(r, "naive")].type_i_error, normal_limit(1 / np.sqrt(rho)), replicates)
        assert within(oc[(r, "corrected")].type_i_error, 0.05, replicates)
        # more power on paper, bought with type I error; none once the variance is honest
        assert oc[(r, "naive")].power > oc[(0.0, "naive")].power
        assert oc[(r, "corrected")].power <= oc[(0.0, "naive")].power + 0.05
    sizes = {s.ratio: s for s in effective_sizes(draws, plan, truth)}
    assert sizes[0.0].ess == pytest.approx(100)
    # a generator fitted on the n rows alone adds no information: ESS stays near n,
    # far below the nominal n (1 + r), and is not flagged
    for r in (1.0, 3.0):
        assert sizes[r].ess < 130 and sizes[r].nominal == 100 * (1 + r)
        assert not sizes[r].flagged


# -- several findings: the false-discovery rate under Benjamini-Hochberg ------------------


def test_false_discovery_rate_by_hand() -> None:
    from safe_bench.scenarios.inference import false_discovery

    def draws(replicate: int, zs: list[float]) -> list[Draw]:
        return [Draw(replicate, "effect", 1.0, "naive", Estimate(z, 1.0), i) for i, z in enumerate(zs)]

    # p = 5.7e-7, 0.0124, 0.617: BH at 0.05 rejects the first two (0.0124 <= 2 x 0.05/3), one of them null
    # p = 5.7e-7, 0.317, 0.841: BH rejects the first only
    found = false_discovery(draws(0, [5.0, 2.5, 0.5]) + draws(1, [5.0, 1.0, 0.2]), [True, False, False])
    assert found[(1.0, "naive")].rate == pytest.approx(0.25)
    assert found[(1.0, "naive")].mc_error == pytest.approx(0.25)


class FourFactors:
    """The true process of :func:`four_factors` (an oracle for several findings)."""

    name = "four-factors"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        self.columns = list(train.columns)

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        return four_factors(n, np.random.default_rng(seed))[self.columns]


def four_factors(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Four binary factors, the first two with a hazard ratio of 2, the others none."""
    x = rng.integers(0, 2, size=(n, 4))
    time, event = survival_draws(rng, n, RATE * np.exp(np.log(2.0) * (x[:, 0] + x[:, 1])), CENSORING)
    frame = pd.DataFrame({f"f{i}": np.where(x[:, i] == 1, "yes", "no") for i in range(4)})
    return frame.assign(time=time, event=event)


def test_several_findings_keep_the_false_discovery_rate_with_an_oracle() -> None:
    from safe_bench.scenarios.augmentation import population_effects
    from safe_bench.scenarios.study import Study, summarise_study

    schema = Schema(kinds={**{f"f{i}": Kind.CATEGORICAL for i in range(4)}, "time": Kind.NUMERIC,
                           "event": Kind.BOOLEAN}, survival=Survival("time", "event"))
    cohort = Cohort(four_factors(20_000, np.random.default_rng(5)), schema)
    plan = AugmentationDesign(Contrast("f0", "yes"), "logrank", n=200, ratios=(0.0, 1.0), m=1, bootstrap=0, tau=None,
                              findings=tuple(Contrast(f"f{i}", "yes") for i in (1, 2, 3)))
    effects = population_effects(cohort, plan)
    assert effects == (True, True, False, False)
    replicates = 150
    study = Study("augmentation", "four factors", cohort.frame, schema, FourFactors(), "four-factors", {}, plan, 0,
                  replicates, "f0=yes", "test", 0.0, nonnull=effects)
    draws = [d for i in range(replicates) for d in augmentation_replicate(cohort, FourFactors(), plan, seed=0, index=i)]
    result = summarise_study(study, draws, None)
    for ratio in result.ratios:
        found = ratio.false_discovery["naive"]
        assert found.replicates == replicates
        # BH keeps the FDR at 0.05 x m0/m = 0.025 when the synthetic rows come from the truth
        assert found.rate <= 0.025 + 3 * max(found.mc_error, 0.01)
    assert result.to_dict()["operating_characteristics"]["ratios"][1]["false_discovery_rate"]["naive"]["replicates"] == \
        replicates
    # rows copied from the n real ones, three per real row: the naive tests find the null factors
    from safe_bench.generator import load_generator
    from safe_bench.scenarios.inference import false_discovery

    copies = replace(plan, ratios=(0.0, 3.0))
    draws = [d for i in range(100) for d in augmentation_replicate(cohort, load_generator("bootstrap_copy"), copies,
                                                                   seed=0, index=i)]
    found = false_discovery(draws, effects)
    assert found[(3.0, "naive")].rate > 0.1
    assert found[(3.0, "corrected")].rate <= 0.025 + 3 * max(found[(3.0, "corrected")].mc_error, 0.01)
