"""TabDDPM: denoising diffusion for mixed-type tables, compact, on torch.

Kotelnikov, Baranchuk, Rubachev & Babenko, "TabDDPM: Modelling Tabular Data with
Diffusion Models", ICML 2023. One MLP denoises both parts of a row at once:

- numeric columns, quantile-transformed to normal scores, follow Gaussian diffusion
  (Ho et al. 2020): ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps``; the network
  predicts ``eps`` (mean squared error) and sampling runs the ancestral DDPM chain;
- categorical columns follow multinomial diffusion (Hoogeboom et al. 2021):
  ``q(x_t | x_0) = Cat(abar_t x_0 + (1 - abar_t) / K)``; the network predicts the
  logits of ``x_0``, the loss is the KL divergence between the true posterior
  ``q(x_{t-1} | x_t, x_0)`` and the one implied by the predicted ``x_0`` (the
  decoder's negative log-likelihood at ``t = 0``), divided by the number of
  categorical columns as in the paper.

Both parts share the cosine noise schedule (Nichol & Dhariwal 2021) and the timestep
``t``, drawn uniformly per row. The denoiser is the paper's ``MLPDiffusion``: the noisy
row projected to ``dim_t`` units plus a sinusoidal timestep embedding, then an MLP of
ReLU layers. Training uses AdamW with a learning rate annealed linearly to zero, as in
the paper's trainer. Differences from the reference code, all deliberate and small:
the categorical part enters the network as a one-hot vector (the reference feeds the
log one-hot), and there is no class-conditional sampling (the survival event is a
categorical column like any other).

Missing values and datetimes are handled by :class:`safe_bench_generators.codec.TabularCodec`
(presence flags become categorical columns). Reproducibility: every random draw comes
from torch and NumPy generators seeded by ``fit``/``sample``; on the CPU the same seed
and ``threads`` give the same table, on a GPU it does not (non-deterministic reductions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import QuantileTransformer
from torch import nn

from safe_bench.data.schema import Schema
from safe_bench.errors import InputError
from safe_bench.generator import Training

from .base import SchemaGenerator
from .codec import TabularCodec
from .runtime import check_threads, choose_device


def cosine_betas(steps: int, max_beta: float = 0.999) -> np.ndarray:
    """The cosine schedule: ``abar(t) = cos²((t/T + 0.008) / 1.008 · π/2)`` (Nichol & Dhariwal 2021)."""
    t = np.arange(steps + 1) / steps
    abar = np.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return np.minimum(1 - abar[1:] / abar[:-1], max_beta)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017; Ho et al. 2020)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


class Denoiser(nn.Module):
    """TabDDPM's ``MLPDiffusion``: ``MLP(proj(x) + time_embed(t))``."""

    def __init__(self, d_in: int, d_out: int, layers: Sequence[int], dim_t: int, dropout: float):
        super().__init__()
        self.dim_t = dim_t
        self.proj = nn.Linear(d_in, dim_t)
        self.time_embed = nn.Sequential(nn.Linear(dim_t, dim_t), nn.SiLU(), nn.Linear(dim_t, dim_t))
        blocks: list[nn.Module] = []
        width = dim_t
        for units in layers:
            blocks += [nn.Linear(width, units), nn.ReLU(), nn.Dropout(dropout)]
            width = units
        blocks.append(nn.Linear(width, d_out))
        self.mlp = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.proj(x) + self.time_embed(timestep_embedding(t, self.dim_t)))


class Diffusion:
    """Gaussian and multinomial diffusion over ``n_num`` normal scores and categorical
    columns with ``sizes`` categories each, on one schedule of ``steps`` timesteps."""

    def __init__(self, n_num: int, sizes: Sequence[int], steps: int, device: torch.device):
        self.n_num, self.sizes, self.steps = n_num, list(sizes), steps
        betas = cosine_betas(steps)
        alphas = 1 - betas
        abar = np.cumprod(alphas)

        def tensor(values: np.ndarray) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float32, device=device)

        self.betas, self.alphas = tensor(betas), tensor(alphas)
        self.sqrt_abar, self.sqrt_1m_abar = tensor(np.sqrt(abar)), tensor(np.sqrt(1 - abar))
        # Log-space quantities of the multinomial part; log K per one-hot position.
        self.log_alpha, self.log_1m_alpha = tensor(np.log(alphas)), tensor(np.log1p(-alphas))
        self.log_abar, self.log_1m_abar = tensor(np.log(abar)), tensor(np.log1p(-abar))
        self.log_k = tensor(np.repeat(np.log(self.sizes), self.sizes).astype(float))
        starts = np.cumsum([0, *self.sizes])[:-1]
        self.slices = [slice(int(start), int(start + k)) for start, k in zip(starts, self.sizes, strict=True)]

    # -- multinomial part (log probabilities over concatenated one-hot groups) ------
    def normalise(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-softmax within each categorical column's group."""
        return torch.cat([torch.log_softmax(logits[:, s], dim=1) for s in self.slices], dim=1)

    def q_xt_given_x0(self, log_x0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_t | x_0) = log(abar_t x_0 + (1 - abar_t) / K)."""
        return torch.logaddexp(log_x0 + self.log_abar[t, None], self.log_1m_abar[t, None] - self.log_k)

    def q_xt_given_xprev(self, log_xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_t | x_{t-1}) as a function of x_{t-1} (symmetric): log(alpha_t x_t + (1 - alpha_t) / K)."""
        return torch.logaddexp(log_xt + self.log_alpha[t, None], self.log_1m_alpha[t, None] - self.log_k)

    def posterior(self, log_x0: torch.Tensor, log_xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """log q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0); at t = 0, x_0 itself."""
        prev = self.q_xt_given_x0(log_x0, (t - 1).clamp(min=0))
        prev = torch.where((t == 0)[:, None], log_x0, prev)
        return self.normalise(prev + self.q_xt_given_xprev(log_xt, t))

    def indices(self, log_x: torch.Tensor) -> torch.Tensor:
        """The category index of each group of a (log) one-hot matrix."""
        picks = [log_x[:, s].argmax(dim=1) for s in self.slices]
        return torch.stack(picks, dim=1) if picks else torch.zeros((len(log_x), 0), dtype=torch.long)

    def sample_categories(self, log_probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One category per group (Gumbel-max trick), returned as log one-hot."""
        u = torch.rand(log_probs.shape, generator=generator, device=log_probs.device).clamp(min=1e-30)
        gumbel = -torch.log((-torch.log(u)).clamp(min=1e-30))
        return log_one_hot(self.indices(log_probs + gumbel), self.sizes)

    def multinomial_loss(
        self, logits: torch.Tensor, log_x0: torch.Tensor, log_xt: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        """Per row: KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)), or -log p(x_0|x_1) at t = 0."""
        log_pred = self.posterior(self.normalise(logits), log_xt, t)
        log_true = self.posterior(log_x0, log_xt, t)
        kl = (log_true.exp() * (log_true - log_pred)).sum(dim=1)
        nll = -(log_x0.exp() * log_pred).sum(dim=1)
        return torch.where(t == 0, nll, kl) / len(self.sizes)

    # -- training loss and sampling ---------------------------------------------------
    def loss(
        self, model: nn.Module, x_num: torch.Tensor, log_x0: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """The training loss of a batch: noise MSE plus the multinomial loss, ``t`` uniform per row."""
        device = self.betas.device
        t = torch.randint(0, self.steps, (len(x_num),), generator=generator, device=device)
        noise = torch.randn(x_num.shape, generator=generator, device=device)
        x_t = self.sqrt_abar[t, None] * x_num + self.sqrt_1m_abar[t, None] * noise
        log_xt = self.sample_categories(self.q_xt_given_x0(log_x0, t), generator)
        out = model(torch.cat([x_t, log_xt.exp()], dim=1), t)
        total = torch.zeros((), device=device)
        if self.n_num:
            total = total + ((out[:, : self.n_num] - noise) ** 2).mean()
        if self.sizes:
            total = total + self.multinomial_loss(out[:, self.n_num :], log_x0, log_xt, t).mean()
        return total

    @torch.no_grad()
    def sample(self, model: nn.Module, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` rows: normal scores and category indices, by the reverse chain from t = T-1 to 0."""
        device = self.betas.device
        x = torch.randn((n, self.n_num), generator=generator, device=device)
        log_x = self.sample_categories((-self.log_k).expand(n, -1), generator)  # uniform categories
        for step in reversed(range(self.steps)):
            t = torch.full((n,), step, dtype=torch.long, device=device)
            out = model(torch.cat([x, log_x.exp()], dim=1), t)
            if self.n_num:
                eps = out[:, : self.n_num]
                mean = (x - self.betas[step] / self.sqrt_1m_abar[step] * eps) / self.alphas[step].sqrt()
                noise = torch.randn(x.shape, generator=generator, device=device) if step > 0 else 0.0
                x = mean + self.betas[step].sqrt() * noise  # variance beta_t, as in the reference code
            if self.sizes:
                log_x0 = self.normalise(out[:, self.n_num :])
                log_x = self.sample_categories(self.posterior(log_x0, log_x, t), generator)
        return x, self.indices(log_x)


def log_one_hot(indices: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    """Concatenated one-hot groups of category ``indices`` (rows × columns), in log space."""
    if not sizes:
        return torch.zeros((len(indices), 0), device=indices.device)
    hot = torch.cat([nn.functional.one_hot(indices[:, j], k) for j, k in enumerate(sizes)], dim=1)
    return torch.log(hot.float().clamp(min=1e-30))


class TabDDPMGenerator(SchemaGenerator):
    """TabDDPM (Kotelnikov et al., ICML 2023): Gaussian + multinomial diffusion with an MLP denoiser.

    Hyper-parameters (the paper's names): ``steps`` gradient steps of ``batch_size``
    rows, ``lr`` and ``weight_decay`` of AdamW, ``num_timesteps`` diffusion steps,
    ``layers`` widths of the MLP, ``dim_t`` width of the projection and time embedding,
    ``dropout``. ``device="auto"`` uses a GPU when torch has one; ``threads`` CPU
    threads fit and sample (default 1, see :func:`safe_bench_generators.runtime.cpu_threads`).
    """

    name = "tabddpm"
    uses_torch = True
    extra = "generators"

    def __init__(
        self,
        steps: int = 3000,
        batch_size: int = 256,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        num_timesteps: int = 1000,
        layers: Sequence[int] = (256, 256, 256),
        dim_t: int = 128,
        dropout: float = 0.0,
        device: str = "auto",
        threads: int = 1,
    ) -> None:
        sizes = {"steps": steps, "batch_size": batch_size, "num_timesteps": num_timesteps, "dim_t": dim_t}
        for label, value in sizes.items():
            if value < 1:
                raise InputError(f"tabddpm: {label} must be at least 1, got {value}")
        self.steps, self.batch_size, self.lr, self.weight_decay = steps, batch_size, lr, weight_decay
        self.num_timesteps, self.layers, self.dim_t, self.dropout = num_timesteps, tuple(layers), dim_t, dropout
        self.device = device
        self.threads = check_threads(self.name, threads)

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        device = choose_device(self.device)
        self.codec_ = TabularCodec.fit(train, schema)
        table = self.codec_.encode(train)
        numeric = table[self.codec_.continuous].to_numpy(dtype=float)
        # The paper's transform: normal scores on max(min(n/30, 1000), 10) quantiles.
        self.quantiles_ = QuantileTransformer(
            output_distribution="normal", n_quantiles=max(min(len(table) // 30, 1000), 10),
            subsample=1_000_000_000, random_state=seed,
        )
        if numeric.shape[1]:
            numeric = self.quantiles_.fit_transform(numeric)
        x_num = torch.tensor(numeric, dtype=torch.float32, device=device)
        discrete = table[self.codec_.discrete]
        self.levels_ = [np.array(sorted(discrete[c].unique()), dtype=object) for c in discrete.columns]
        codes = np.zeros((len(table), len(self.levels_)), dtype=np.int64)
        for j, (col, levels) in enumerate(zip(discrete.columns, self.levels_, strict=True)):
            codes[:, j] = pd.Categorical(discrete[col], categories=levels).codes
        sizes = [len(levels) for levels in self.levels_]
        log_x0 = log_one_hot(torch.tensor(codes, device=device), sizes)
        width = x_num.shape[1] + sum(sizes)
        self.diffusion_ = Diffusion(x_num.shape[1], sizes, self.num_timesteps, device)
        self.model_ = Denoiser(width, width, self.layers, self.dim_t, self.dropout).to(device)
        self._train(x_num, log_x0, torch.Generator(device=device).manual_seed(seed))

    def _train(self, x_num: torch.Tensor, log_x0: torch.Tensor, generator: torch.Generator) -> None:
        optimiser = torch.optim.AdamW(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n = len(x_num)
        self.model_.train()
        for step in range(self.steps):
            self.steps_done_ = step
            for group in optimiser.param_groups:  # linear annealing to zero, as in the paper
                group["lr"] = self.lr * (1 - step / self.steps)
            rows = torch.randint(0, n, (min(self.batch_size, n),), generator=generator, device=x_num.device)
            loss = self.diffusion_.loss(self.model_, x_num[rows], log_x0[rows], generator)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.steps_done_ = self.steps
        self.model_.eval()

    def training(self) -> Training | None:
        """Gradient steps done of ``steps``."""
        return Training(self.steps_done_, self.steps, "step") if hasattr(self, "steps_done_") else None

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        device = self.diffusion_.betas.device
        numbers, levels = self.diffusion_.sample(self.model_, n, torch.Generator(device=device).manual_seed(seed))
        x_num, codes = numbers.cpu().numpy().astype(float), levels.cpu().numpy()
        out = {}
        if x_num.shape[1]:
            values = self.quantiles_.inverse_transform(x_num)
            out.update({c: values[:, j] for j, c in enumerate(self.codec_.continuous)})
        out.update({c: levels[codes[:, j]] for j, (c, levels) in enumerate(zip(self.codec_.discrete, self.levels_, strict=True))})
        return self.codec_.decode(pd.DataFrame(out, index=pd.RangeIndex(n)))
