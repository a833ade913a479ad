"""A third-party generator package, as small as one can be (used by tests/test_generators.py).

It depends on nothing from safe-bench: the generator contract is structural (a ``name``,
``fit(train, schema, *, seed)`` and ``sample(n, *, seed)``), and the package registers
itself in the ``safe_bench.generators`` entry-point group through its dist-info.
"""

import numpy as np
import pandas as pd


class ColumnShuffler:
    """Toy plug-in: every column resampled on its own from train (a third-party package)."""

    name = "toy_shuffler"

    def __init__(self, replace: bool = True):
        self.replace = replace

    def fit(self, train, schema, *, seed):
        self.train = train[schema.features].reset_index(drop=True)

    def sample(self, n, *, seed):
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {c: rng.choice(self.train[c].to_numpy(), size=n, replace=self.replace) for c in self.train.columns}
        )
