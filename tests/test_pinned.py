"""Pinned evaluations: a refactoring that moves code must not change a result.

Each case's JSON (every metric's value, score, interval, reference and details) was
written by ``python tests/test_pinned.py`` and is compared structure for structure, every
string and count exactly and every real number to :data:`RELATIVE` (the S metrics sum
bootstrap weights in float32 matrix products, whose rounding follows the CPU's BLAS
kernel: S.pairs' interval moved by 3e-7 between two machines; on one machine the JSON is
byte-identical, which tests/test_evaluate.py checks). A change that is meant to change scores rewrites them
with that command, and its commit says why.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from safe_bench.data.datasets import load_dataset
from safe_bench.evaluation.evaluate import evaluate_generator
from safe_bench.generator import load_generator

PINNED = Path(__file__).parent / "pinned"
#: Relative tolerance on real numbers: float32 rounding, carried through the scores.
RELATIVE = 1e-5
#: (dataset, generator, seed): a survival cohort with a prognostic score, one with many
#: categories, and a leak; 20 bootstrap resamples keep them fast.
CASES = [("gbsg2", "gaussian_copula", 0), ("aids", "independent", 1), ("veterans", "bootstrap_copy", 2)]


def result_json(dataset: str, generator: str, seed: int) -> str:
    ds = load_dataset(dataset)
    return evaluate_generator(ds.frame, ds.schema, load_generator(generator), seed=seed, n_bootstrap=20).result.to_json()


def path(dataset: str, generator: str, seed: int) -> Path:
    return PINNED / f"{dataset}-{generator}-{seed}.json"


def differences(got: object, pinned: object, where: str = "") -> list[str]:
    """Where two parsed JSON documents differ (reals compared to :data:`RELATIVE`)."""
    if isinstance(pinned, dict) and isinstance(got, dict):
        if got.keys() != pinned.keys():
            return [f"{where}: keys {sorted(got.keys() ^ pinned.keys())}"]
        return [d for k in pinned for d in differences(got[k], pinned[k], f"{where}/{k}")]
    if isinstance(pinned, list) and isinstance(got, list):
        if len(got) != len(pinned):
            return [f"{where}: {len(got)} items, pinned {len(pinned)}"]
        return [d for i, (a, b) in enumerate(zip(got, pinned, strict=True)) for d in differences(a, b, f"{where}/{i}")]
    if isinstance(pinned, float) and isinstance(got, float):
        return [] if math.isclose(got, pinned, rel_tol=RELATIVE, abs_tol=1e-9) else [f"{where}: {got!r} != {pinned!r}"]
    return [] if got == pinned and type(got) is type(pinned) else [f"{where}: {got!r} != {pinned!r}"]


@pytest.mark.parametrize("case", CASES, ids=["-".join(map(str, c)) for c in CASES])
def test_results_equal_the_pinned_ones(case):
    got, pinned = json.loads(result_json(*case)), json.loads(path(*case).read_text(encoding="utf-8"))
    assert differences(got, pinned)[:10] == []


def test_a_changed_score_is_caught():
    pinned = json.loads(path(*CASES[0]).read_text(encoding="utf-8"))
    changed = json.loads(json.dumps(pinned))
    changed["metrics"][0]["score"] = pinned["metrics"][0]["score"] * (1 + 10 * RELATIVE)
    assert differences(changed, pinned) and not differences(pinned, pinned)


if __name__ == "__main__":
    for case in CASES if len(sys.argv) == 1 else []:
        path(*case).write_text(result_json(*case), encoding="utf-8")
        print("wrote", path(*case))
