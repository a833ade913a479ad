"""Pillar P: the leaky generator is caught, the independent one is not."""

from __future__ import annotations

import pytest

from safe_bench import evaluate, load_generator


@pytest.fixture(scope="module")
def privacy_results(gbsg2, gbsg2_split):
    out = {}
    for name in ("bootstrap_copy", "independent"):
        gen = load_generator(name)
        gen.fit(gbsg2_split.train, gbsg2.schema, seed=0)
        synthetic = gen.sample(len(gbsg2_split.train), seed=0)
        out[name] = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["P"])
    return out


def test_bootstrap_copy_scores_clearly_worse_on_privacy(privacy_results):
    leaky, indep = privacy_results["bootstrap_copy"], privacy_results["independent"]
    assert leaky.metric("P.exact").value == pytest.approx(1.0)  # every row is a train row
    assert leaky.metric("P.exact").score == 0.0
    assert leaky.score("P") < 0.5 < 0.9 < indep.score("P")
    assert leaky.pillars["P"].ci_high < indep.pillars["P"].ci_low


def test_dcr_share_of_holdout_halves_is_near_one_half(privacy_results):
    dcr = privacy_results["independent"].metric("P.dcr_share")
    assert abs(dcr.details["reference_value"] - 0.5) < 0.15
