"""CTGAN's conditional tabular WGAN-GP and its tabular VAE, from the ``ctgan`` package.

Xu, Skoularidou, Cuesta-Infante & Veeramachaneni, "Modeling Tabular Data using
Conditional GAN", NeurIPS 2019. Both models read the table through the package's own
transformer (mode-specific normalisation: a Bayesian Gaussian mixture per continuous
column, one-hot for discrete ones); :class:`safe_bench_generators.codec.TabularCodec` first turns
missing values into presence flags and labels, which the package does not accept.

Reproducibility: each fit and sample seeds Python, NumPy and torch and hands the seed to
the package (``set_random_state``), which then runs on its own NumPy and torch
generators; the mixture models are seeded by the package too. On the CPU, the same
seed and ``threads`` give the same table (checked in tests/test_generators.py and,
whatever threads the environment asks for, tests/test_reliability_threads.py); on a
GPU it does not (non-deterministic cuDNN/atomic reductions).

Defaults are tuned for cohorts of a few hundred to a few thousand rows (README,
"Reference generators"). The package's (``batch_size=500``, ``epochs=300``) give a few
hundred gradient steps on such a cohort, and its generators then lose to
``independent`` on fidelity; here the batches are smaller (50 rows), so a few thousand
steps are taken, CT-WGAN's critic takes five steps per generator step (n_critic = 5 of
Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017) and its
networks are 128 units wide. The training budget is capped at about ``max_steps``
optimiser steps (4,000 for CT-WGAN, 6,000 for TVAE: the tuned epochs on a GBSG2-sized
cohort fit inside it), so a cohort of several thousand rows trains for fewer epochs
rather than for hours; ``max_steps=None`` trains every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.errors import InputError
from safe_bench.generator import Training

from .base import SchemaGenerator
from .codec import TabularCodec
from .runtime import check_threads, choose_device, require


class _CtganAdapter(SchemaGenerator):
    """Fit and sample the ``ctgan`` synthesizer class ``synthesizer`` on the codec's table.

    ``options`` are the synthesizer's own keyword arguments (``enable_gpu`` aside, which
    follows ``device``). ``threads`` CPU threads fit and sample (default 1, see
    :func:`safe_bench_generators.runtime.cpu_threads`).
    """

    synthesizer = ""
    uses_torch = True
    extra = "generators"

    def __init__(self, *, device: str, max_steps: int | None, threads: int, **options: object) -> None:
        require("torch", "ctgan")
        self.threads = check_threads(self.name, threads)
        epochs, batch_size = options["epochs"], options["batch_size"]
        if not isinstance(epochs, int) or epochs < 1:
            raise InputError(f"{self.name}: epochs must be an integer >= 1, got {epochs!r}")
        if not isinstance(batch_size, int) or batch_size < 2 or batch_size % 2:
            raise InputError(f"{self.name}: batch_size must be an even integer >= 2, got {batch_size!r}")
        if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
            raise InputError(f"{self.name}: max_steps must be an integer >= 1 or None, got {max_steps!r}")
        self.device = device
        self.max_steps = max_steps
        self.options = options

    def epochs_for(self, rows: int) -> int:
        """The epochs trained on ``rows`` rows: ``epochs``, cut so that about ``max_steps``
        optimiser steps (``rows // batch_size`` per epoch) are taken at most."""
        epochs = int(self.options["epochs"])  # type: ignore[call-overload]
        if self.max_steps is None:
            return epochs
        per_epoch = max(rows // int(self.options["batch_size"]), 1)  # type: ignore[call-overload]
        return max(1, min(epochs, -(-self.max_steps // per_epoch)))

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        import ctgan

        self.codec_ = TabularCodec.fit(train, schema)
        use_gpu = choose_device(self.device).type != "cpu"
        epochs = self.epochs_for(len(train))
        options = {**self.options, "epochs": epochs}
        model = getattr(ctgan, self.synthesizer)(**options, enable_gpu=use_gpu)
        model.set_random_state(seed)
        self.fitting_ = (model, epochs)
        model.fit(self.codec_.encode(train), discrete_columns=self.codec_.discrete)
        self.model_ = model

    def training(self) -> Training | None:
        """Epochs done: the ctgan package records each finished epoch's losses
        (``loss_values``, one or more rows per epoch with its number)."""
        if not hasattr(self, "fitting_"):
            return None
        model, epochs = self.fitting_
        losses = model.loss_values
        done = 0 if losses is None or losses.empty else int(losses["Epoch"].nunique())
        return Training(done, epochs, "epoch")

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        self.model_.set_random_state(seed)
        return self.codec_.decode(self.model_.sample(n))


class CTWGANGenerator(_CtganAdapter):
    """Conditional tabular WGAN-GP (CTGAN: mode-specific normalisation, training-by-sampling, PacGAN critic).

    Wraps ``ctgan.CTGAN`` (Xu et al., NeurIPS 2019): a generator conditioned on a
    one-hot condition vector drawn by training-by-sampling, a PacGAN critic that sees
    ``pac`` rows at once, Wasserstein loss with gradient penalty. ``batch_size`` must
    be a multiple of ``pac`` (and even). ``device="auto"`` uses a GPU when torch has one.
    """

    name = "ctwgan"
    synthesizer = "CTGAN"

    def __init__(
        self,
        epochs: int = 400,
        batch_size: int = 50,
        pac: int = 5,
        embedding_dim: int = 128,
        generator_dim: Sequence[int] = (128, 128),
        discriminator_dim: Sequence[int] = (128, 128),
        generator_lr: float = 2e-4,
        discriminator_lr: float = 2e-4,
        discriminator_steps: int = 5,
        max_steps: int | None = 4000,
        device: str = "auto",
        threads: int = 1,
    ) -> None:
        if pac < 1 or batch_size % pac:
            raise InputError(f"ctwgan: batch_size ({batch_size}) must be a multiple of pac ({pac})")
        super().__init__(
            device=device, max_steps=max_steps, threads=threads, epochs=epochs, batch_size=batch_size, pac=pac,
            embedding_dim=embedding_dim,
            generator_dim=tuple(generator_dim), discriminator_dim=tuple(discriminator_dim),
            generator_lr=generator_lr, discriminator_lr=discriminator_lr, discriminator_steps=discriminator_steps,
        )


class TVAEGenerator(_CtganAdapter):
    """Tabular variational auto-encoder (TVAE, Xu et al. 2019), from the ``ctgan`` package.

    Encoder and decoder MLPs over CTGAN's mode-specific normalisation; the decoder's
    per-column variances are learned. ``device="auto"`` uses a GPU when torch has one.
    """

    name = "tvae"
    synthesizer = "TVAE"

    def __init__(
        self,
        epochs: int = 600,
        batch_size: int = 50,
        embedding_dim: int = 128,
        compress_dims: Sequence[int] = (128, 128),
        decompress_dims: Sequence[int] = (128, 128),
        l2scale: float = 1e-5,
        loss_factor: float = 2.0,
        max_steps: int | None = 6000,
        device: str = "auto",
        threads: int = 1,
    ) -> None:
        super().__init__(
            device=device, max_steps=max_steps, threads=threads, epochs=epochs, batch_size=batch_size,
            embedding_dim=embedding_dim,
            compress_dims=tuple(compress_dims), decompress_dims=tuple(decompress_dims),
            l2scale=l2scale, loss_factor=loss_factor,
        )
