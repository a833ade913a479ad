"""Tiny generators that misbehave on purpose, for the runner tests.

They live in an importable module (not a test file) so that worker and sandbox
processes can unpickle them; :func:`register` registers them in this process.
"""

from __future__ import annotations

import os
import time

import pandas as pd
from safe_bench_generators.baselines import IndependentGenerator

from safe_bench.data.schema import Schema
from safe_bench.generator import register_generator


class RaisingGenerator(IndependentGenerator):
    name = "raising"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        raise RuntimeError("the optimiser diverged")


class HangingGenerator(IndependentGenerator):
    name = "hanging"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        time.sleep(3600)


class CrashingGenerator(IndependentGenerator):
    """Takes the interpreter down, as a segfaulting extension would."""

    name = "crashing"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        os._exit(3)


class WrongColumnsGenerator(IndependentGenerator):
    name = "wrong_columns"

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        return super().sample(n, seed=seed).rename(columns={"age": "age_years"})


class ShortGenerator(IndependentGenerator):
    """Returns one row fewer than asked for."""

    name = "short"

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        return super().sample(n, seed=seed).iloc[:-1]


class SlowGenerator(IndependentGenerator):
    """The independent baseline, ``delay`` seconds slower to fit."""

    name = "slow"

    def __init__(self, delay: float = 0.5):
        self.delay = delay

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        time.sleep(self.delay)
        super().fit(train, schema, seed=seed)


def register() -> None:
    for cls in (RaisingGenerator, HangingGenerator, CrashingGenerator, WrongColumnsGenerator, ShortGenerator,
                SlowGenerator):
        register_generator(cls.name, cls)
