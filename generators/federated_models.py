"""TVAE, CT-WGAN and TabDDPM trained by federated averaging (the :class:`~.federated.Federated` contract).

The registered ``tvae``, ``ctwgan`` and ``tabddpm`` generators are unchanged (their fit is
``ctgan``'s own ``fit`` and :class:`~.tabddpm.TabDDPMGenerator`'s, on which the README's
measured tables rest). :func:`federated` gives, for a generator name and the same options,
the federated model: :class:`FederatedTVAE`, :class:`FederatedCTWGAN`,
:class:`FederatedTabDDPM` (or the registered generator itself when it keeps the contract,
as ``gaussian_copula`` does). Their ordinary ``fit`` is the one-site federation
(:class:`~.federated.FederatedSchemaGenerator`), so centralized and federated training
share one path; they sample exactly as the registered generators do (the adapters'
``_sample``) from the parameters they hold.

**Shared encoding from summaries** (Zhao et al., "Fed-TGAN: Federated Learning Framework
for Synthesizing Tabular Data", 2021). Each site sends :class:`TableSummary` (row count;
per numeric column its present and missing counts, median and whether it holds whole
numbers only; per categorical column its category counts and missing count) and the
model's own statistics, never a row:

- the codec (:class:`~.codec.TabularCodec`: gap fill, presence flags, whole numbers, the
  missing label) from the merged counts (:func:`shared_codec`); a gap's fill value is the
  present-count-weighted mean of the sites' medians (a gap is restored from its presence
  flag on decoding, so the fill only places those rows);
- categorical columns (and presence flags) from the summed category counts
  (:func:`discrete_counts`), categories in sorted order;
- TVAE and CT-WGAN: each continuous column's mode-specific normalisation, a variational
  Gaussian mixture (``ctgan``'s ``ClusterBasedNormalizer``), fitted at each site; the
  server's global mixture is fitted, with the package's own settings, on values drawn from
  the sites' mixtures, as many from each as it has rows (:func:`shared_mixture`), so the
  global mixture sees the pooled column's size with each site in proportion;
- TabDDPM: each site's quantile transform (normal scores); the global one holds the
  quantiles of the size-weighted mixture of the sites' piecewise-linear distribution
  functions, inverted exactly (:func:`shared_quantiles`; what fitting on values drawn in
  proportion to size tends to, without the draws' noise).

What a summary discloses: counts, each numeric column's median (for an odd count, one
row's value) and, for TabDDPM, its quantile function (whose ends are the column's minimum
and maximum, as the registered TabDDPM's fitted transform holds them too); a mixture's
parameters for TVAE and CT-WGAN.

With one site every piece is that site's own (no redraw, no refit), so a one-site
federation is centralized training, bit for bit (tests/test_federated_generators.py).
Every site and the server build the same encoding from the same summaries and seed.

**Parameters** are the networks' ``state_dict`` entries, as NumPy arrays, in module order:
TVAE's encoder then decoder (with its learned variances); CT-WGAN's generator (with its
batch-norm statistics) then critic, both averaged as in Fed-TGAN; TabDDPM's denoiser.
A site keeps its optimiser state (Adam moments; TabDDPM's step count for its learning-rate
schedule) and its random streams between rounds, so ``R`` rounds of ``E`` epochs on one
site are one ``R x E``-epoch fit.

**Random streams.** Initial parameters come from ``seed`` alone (the same at every site
and the server). Each model instance then owns its streams, derived from ``(seed, site)``:
a ``torch.Generator`` passed explicitly where this module draws (TVAE's shuffling and
noise, TabDDPM's timesteps and noise), and a NumPy ``RandomState`` and torch generator
installed as the process's global streams only while the package's own pieces run
(``ctgan``'s ``DataSampler`` and gumbel-softmax, the critic's dropout and gradient penalty,
through ``ctgan``'s ``set_random_states``) and stored back after; the mixture's random mode
assignment runs on the normaliser's own per-column streams, also from ``(seed, site)``.
Sites trained one after another in one process so share nothing. (Installing global
streams is not thread-safe: run sites of one process one at a time.) As for the
registered generators, the same seed and ``threads`` give the same result on the CPU, not
on a GPU.
"""

from __future__ import annotations

import copy
import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from ctgan.data_sampler import DataSampler  # type: ignore[import-untyped]
from ctgan.data_transformer import ColumnTransformInfo, DataTransformer, SpanInfo  # type: ignore[import-untyped]
from ctgan.synthesizers.base import set_random_states  # type: ignore[import-untyped]
from ctgan.synthesizers.ctgan import Discriminator, Generator  # type: ignore[import-untyped]
from ctgan.synthesizers.tvae import Decoder, Encoder, _loss_function  # type: ignore[import-untyped]
from joblib import parallel_backend
from rdt.transformers.numerical import ClusterBasedNormalizer, FloatFormatter  # type: ignore[import-untyped]
from sklearn.preprocessing import QuantileTransformer

from safe_bench.data.schema import Schema
from safe_bench.data.values import as_numbers
from safe_bench.errors import InputError

from .codec import TabularCodec, _fresh_name, _label
from .ctgan_adapters import CTWGANGenerator, TVAEGenerator
from .federated import Federated, FederatedSchemaGenerator, Parameters
from .runtime import choose_device
from .tabddpm import Denoiser, Diffusion, TabDDPMGenerator, log_one_hot

# Words that tell the streams derived from one seed apart.
_INIT, _PACKAGE_NUMPY, _PACKAGE_TORCH, _OWN_TORCH, _TRANSFORM, _REVERSE, _ENCODING = range(7)


def derived_seed(*words: int) -> int:
    """A 32-bit seed for the stream named by ``words`` (NumPy's SeedSequence hashing)."""
    return int(np.random.SeedSequence([int(w) for w in words]).generate_state(1)[0])


def _site_word(site: int | None) -> int:
    return 0 if site is None else site + 1


# -- the table's statistics and the shared codec --------------------------------------------
@dataclass(frozen=True)
class NumericSummary:
    """A numeric (or datetime) column at one site: counts, median of the present values
    (0.0 when none) and whether they are all whole numbers."""

    present: int
    gaps: int
    median: float
    whole: bool


@dataclass(frozen=True)
class TableSummary:
    """What a site shares for the codec and the discrete encoding: counts, no row."""

    rows: int
    numeric: dict[str, NumericSummary]
    labels: dict[str, dict[str, int]]  # categorical column -> label (as the codec writes it) -> count
    missing: dict[str, int]  # categorical column -> missing values

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema) -> TableSummary:
        """Of a canonical train table (the statistics :meth:`TabularCodec.fit` reads)."""
        numeric = {}
        for col in schema.numeric:
            values = as_numbers(train[col])
            present = values[~np.isnan(values)]
            numeric[col] = NumericSummary(
                len(present), len(values) - len(present),
                float(np.median(present)) if len(present) else 0.0,
                bool(len(present) and np.all(present == np.round(present))),
            )
        labels = {}
        for col in schema.categorical:
            counts = Counter(_label(v) for v in train[col].dropna())
            labels[col] = {label: int(counts[label]) for label in sorted(counts)}
        missing = {col: int(train[col].isna().sum()) for col in schema.categorical}
        return cls(len(train), numeric, labels, missing)


def shared_codec(tables: Sequence[TableSummary], schema: Schema) -> TabularCodec:
    """The codec of the sites' tables taken together; with one site, exactly
    ``TabularCodec.fit`` of its table."""
    fill: dict[str, float] = {}
    flags: dict[str, str] = {}
    whole = set()
    for col in schema.numeric:
        parts = [t.numeric[col] for t in tables if t.numeric[col].present]
        if len(parts) == 1:
            fill[col] = parts[0].median
        else:
            fill[col] = float(np.average([p.median for p in parts], weights=[p.present for p in parts])) if parts else 0.0
        if any(t.numeric[col].gaps for t in tables):
            flags[col] = _fresh_name(f"{col}.present", schema.features)
        if parts and all(p.whole for p in parts):
            whole.add(col)
    labels = {label for t in tables for col in schema.categorical for label in t.labels[col]}
    logged = frozenset([schema.survival.time] if schema.survival else [])
    return TabularCodec(schema, fill, flags, frozenset(whole), _fresh_name("<missing>", labels), logged)


def discrete_counts(tables: Sequence[TableSummary], codec: TabularCodec) -> dict[str, dict[str, int]]:
    """Summed category counts of the model table's discrete columns (``codec.discrete``:
    categorical columns with the missing label, then presence flags ``"0"``/``"1"``),
    categories in sorted order, as ``sorted(column.unique())`` of the encoded pooled table."""
    out: dict[str, dict[str, int]] = {}
    for col in codec.schema.categorical:
        counts: Counter[str] = Counter()
        for t in tables:
            counts.update(t.labels[col])
            if t.missing[col]:
                counts[codec.missing] += t.missing[col]
        out[col] = {label: counts[label] for label in sorted(counts)}
    for col, flag in codec.flags.items():
        counts = Counter({"0": sum(t.numeric[col].gaps for t in tables), "1": sum(t.numeric[col].present for t in tables)})
        out[flag] = {label: counts[label] for label in sorted(counts) if counts[label]}
    return out


# -- mode-specific normalisation from site mixtures (Fed-TGAN) ------------------------------
@dataclass(frozen=True)
class Mixture:
    """One continuous column's variational Gaussian mixture, as ``ctgan``'s transformer fits
    it (a fitted scikit-learn ``BayesianGaussianMixture``: parameters only) and the modes it
    keeps (weight above the package's threshold)."""

    model: Any
    valid: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, column: str) -> Mixture:
        """Fitted as ``ctgan.data_transformer.DataTransformer`` fits a continuous column."""
        normaliser = DataTransformer()._fit_continuous(pd.DataFrame({column: np.asarray(values, dtype=float)})).transform
        return cls(normaliser._bgm_transformer, np.asarray(normaliser.valid_component_indicator, dtype=bool))

    @property
    def modes(self) -> int:
        return int(self.valid.sum())

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` values from the kept modes (weights renormalised)."""
        weights = self.model.weights_[self.valid]
        means = self.model.means_.reshape(-1)[self.valid]
        sds = np.sqrt(self.model.covariances_.reshape(-1))[self.valid]
        mode = rng.choice(len(weights), size=n, p=weights / weights.sum())
        return rng.normal(means[mode], sds[mode])


def shared_mixture(mixtures: Sequence[Mixture], rows: Sequence[int], column: str, *, seed: int, index: int) -> Mixture:
    """The global mixture of a column: with one site, that site's; else refitted on
    ``rows[k]`` values drawn from site ``k``'s mixture (the pooled column's size, each site
    in proportion), the draws seeded by ``seed`` and the column's ``index``."""
    if len(mixtures) == 1:
        return mixtures[0]
    rng = np.random.default_rng(derived_seed(seed, _ENCODING, index))
    values = np.concatenate([m.draw(n, rng) for m, n in zip(mixtures, rows, strict=True)])
    return Mixture.fit(values, column)


class _GivenMixture(ClusterBasedNormalizer):
    """``ctgan``'s normaliser (rdt's ``ClusterBasedNormalizer``, the package's settings) with
    its mixture given rather than fitted on rows."""

    def __init__(self, mixture: Mixture) -> None:
        super().__init__(missing_value_generation="from_column", max_clusters=len(mixture.model.weights_))
        self.mixture = mixture

    def _fit(self, data: pd.Series) -> None:
        FloatFormatter._fit(self, data)  # the formatter's bookkeeping: dtype, no missing value
        self._bgm_transformer = self.mixture.model
        self.valid_component_indicator = self.mixture.valid


def _given_normaliser(mixture: Mixture, column: str, seed: int, site: int | None, index: int) -> _GivenMixture:
    """The normaliser of ``column`` holding ``mixture``, its random mode assignment on this
    model's own streams."""
    normaliser = _GivenMixture(mixture)
    normaliser.fit(pd.DataFrame({column: mixture.model.means_.reshape(-1)[mixture.valid].astype(float)}), column)
    normaliser.random_states["transform"] = np.random.RandomState(derived_seed(seed, _TRANSFORM, _site_word(site), index))
    normaliser.random_states["reverse_transform"] = np.random.RandomState(derived_seed(seed, _REVERSE, _site_word(site), index))
    return normaliser


def shared_transformer(
    codec: TabularCodec, mixtures: dict[str, Mixture], counts: dict[str, dict[str, int]], *, seed: int, site: int | None
) -> Any:
    """A ``ctgan.data_transformer.DataTransformer`` built from the shared pieces: the given
    mixture per continuous column, one-hot over the summed counts' categories per discrete one."""
    infos = []
    for j, col in enumerate(codec.continuous):
        mixture = mixtures[col]
        infos.append(ColumnTransformInfo(
            column_name=col, column_type="continuous", transform=_given_normaliser(mixture, col, seed, site, j),
            output_info=[SpanInfo(1, "tanh"), SpanInfo(mixture.modes, "softmax")], output_dimensions=1 + mixture.modes,
        ))
    for col in codec.discrete:
        infos.append(DataTransformer()._fit_discrete(pd.DataFrame({col: pd.Series(list(counts[col]), dtype=object)})))
    transformer = DataTransformer()
    transformer.output_info_list = [info.output_info for info in infos]
    transformer.output_dimensions = sum(info.output_dimensions for info in infos)
    transformer.dataframe = True
    transformer._column_raw_dtypes = pd.Series(
        {col: np.dtype(float) for col in codec.continuous} | {col: np.dtype(object) for col in codec.discrete}
    )
    transformer._column_transform_info_list = infos
    return transformer


def count_sampler(transformer: Any, counts: dict[str, dict[str, int]], log_frequency: bool) -> Any:
    """``ctgan``'s ``DataSampler`` whose category frequencies are the summed counts (what it
    reads from a table's column sums); it draws condition vectors, not rows."""
    blocks, start = [], 0
    for info in transformer._column_transform_info_list:
        if info.column_type == "discrete":
            for j, count in enumerate(counts[info.column_name].values()):
                row = np.zeros(transformer.output_dimensions)
                row[start + j] = count
                blocks.append(row)
        start += info.output_dimensions
    matrix = np.array(blocks) if blocks else np.zeros((1, transformer.output_dimensions))
    return DataSampler(matrix, transformer.output_info_list, log_frequency)


# -- TabDDPM's quantile transform from site transforms ----------------------------------------
def quantile_count(rows: int) -> int:
    """The paper's number of quantiles for ``rows`` rows: max(min(rows/30, 1000), 10)."""
    return max(min(rows // 30, 1000), 10)


def _quantile_transformer(n_quantiles: int) -> Any:
    return QuantileTransformer(output_distribution="normal", n_quantiles=n_quantiles, subsample=1_000_000_000, random_state=0)


def shared_quantiles(transformers: Sequence[Any], rows: Sequence[int]) -> Any:
    """The global quantile transform: with one site, that site's; else the quantiles of the
    mixture ``F = sum_k (rows_k / rows) F_k`` of the sites' piecewise-linear distribution
    functions, inverted exactly on the union of their knots."""
    if len(transformers) == 1:
        return copy.deepcopy(transformers[0])
    weights = np.asarray(rows, dtype=float) / sum(rows)
    m = quantile_count(sum(rows))
    references = np.linspace(0, 1, m)
    columns = []
    for j in range(transformers[0].quantiles_.shape[1]):
        knots = np.unique(np.concatenate([t.quantiles_[:, j] for t in transformers]))
        cdf = sum(w * np.interp(knots, t.quantiles_[:, j], t.references_) for w, t in zip(weights, transformers, strict=True))
        columns.append(np.interp(references, cdf, knots))
    quantiles = np.maximum.accumulate(np.column_stack(columns), axis=0)
    out = _quantile_transformer(m).fit(quantiles)  # the transformer's bookkeeping
    out.quantiles_ = quantiles
    return out


# -- what every federated neural model shares -------------------------------------------------
def _get(modules: Sequence[Any]) -> Parameters:
    return [t.detach().cpu().numpy().copy() for m in modules for t in m.state_dict().values()]


def _set(name: str, modules: Sequence[Any], parameters: Sequence[np.ndarray]) -> None:
    tensors = [t for m in modules for t in m.state_dict().values()]
    if len(parameters) != len(tensors):
        raise ValueError(f"{name}: {len(parameters)} parameter arrays, the model has {len(tensors)}")
    with torch.no_grad():
        for k, (tensor, values) in enumerate(zip(tensors, parameters, strict=True)):
            array = np.asarray(values)
            if array.shape != tuple(tensor.shape):
                raise ValueError(f"{name}: parameter {k} has shape {array.shape}, the model's is {tuple(tensor.shape)}")
            if not tensor.dtype.is_floating_point:  # batch-norm's counter, averaged as a float
                array = np.rint(array)
            tensor.copy_(torch.as_tensor(array, dtype=tensor.dtype, device=tensor.device))


def _table_key(train: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(train, index=True).to_numpy().tobytes()).hexdigest()


class _Streams:
    """A model's own random streams (see the module docstring)."""

    def _start_streams(self, seed: int, site: int | None, device: Any) -> None:
        word = _site_word(site)
        self._numpy_global = np.random.RandomState(derived_seed(seed, _PACKAGE_NUMPY, word))
        self._torch_global = torch.Generator().manual_seed(derived_seed(seed, _PACKAGE_TORCH, word))
        self._torch_own = torch.Generator(device=device).manual_seed(derived_seed(seed, _OWN_TORCH, word))

    @contextmanager
    def _package_streams(self) -> Iterator[None]:
        """This model's streams installed as NumPy's and torch's global ones, then stored back."""
        def keep(states: tuple[Any, Any]) -> None:
            self._numpy_global, self._torch_global = states

        with set_random_states((self._numpy_global, self._torch_global), keep):
            yield

    @staticmethod
    @contextmanager
    def _initial(seed: int) -> Iterator[None]:
        """Initial parameters from ``seed`` alone (the same at every site), the global streams untouched."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derived_seed(seed, _INIT))
            yield


@dataclass(frozen=True)
class CtganStatistics:
    """A site's statistics for TVAE and CT-WGAN: the table's counts, each continuous column's mixture."""

    table: TableSummary
    mixtures: dict[str, Mixture]


class _FederatedCtgan(_Streams, FederatedSchemaGenerator):
    """Shared by the federated TVAE and CT-WGAN: summaries, shared encoding, local table."""

    synthesizer: str
    options: dict[str, Any]
    device: str
    if TYPE_CHECKING:  # the adapter's (TVAEGenerator, CTWGANGenerator)

        def epochs_for(self, rows: int) -> int: ...

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        """The one-site federation, for the adapter's epochs (capped by ``max_steps``)."""
        self._start([self._summarise(train, schema)], schema, seed, 0)
        self._fit_local(train, self.epochs_for(len(train)))

    def _summarise(self, train: pd.DataFrame, schema: Schema) -> CtganStatistics:
        codec = TabularCodec.fit(train, schema)
        encoded = codec.encode(train)
        mixtures = {col: Mixture.fit(encoded[col].to_numpy(dtype=float), col) for col in codec.continuous}
        return CtganStatistics(TableSummary.fit(train, schema), mixtures)

    def _start(self, statistics: Sequence[CtganStatistics], schema: Schema, seed: int, site: int | None) -> None:
        import ctgan

        tables = [s.table for s in statistics]
        rows = [t.rows for t in tables]
        self.schema_ = schema
        self.codec_ = shared_codec(tables, schema)
        counts = discrete_counts(tables, self.codec_)
        mixtures = {
            col: shared_mixture([s.mixtures[col] for s in statistics], rows, col, seed=seed, index=j)
            for j, col in enumerate(self.codec_.continuous)
        }
        self.transformer_ = shared_transformer(self.codec_, mixtures, counts, seed=seed, site=site)
        device = choose_device(self.device)
        self.model_ = getattr(ctgan, self.synthesizer)(**self.options, enable_gpu=device.type != "cpu")
        self._start_streams(seed, site, device)
        self._local: tuple[str, Any, Any] | None = None
        with self._initial(seed):
            self._build(counts)

    def _build(self, counts: dict[str, dict[str, int]]) -> None:
        """The networks (initial parameters) and their optimisers."""
        raise NotImplementedError

    def _modules(self) -> list[Any]:
        raise NotImplementedError

    def get_parameters(self) -> Parameters:
        return _get(self._modules())

    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        _set(self.name, self._modules(), parameters)

    def _local_table(self, train: pd.DataFrame) -> tuple[Any, Any]:
        """This site's table in the shared encoding (the mode-specific normalisation draws each
        value's mode, so the table is encoded once, as ``ctgan``'s fit does, and kept) and its
        ``DataSampler``."""
        key = _table_key(train)
        if self._local is None or self._local[0] != key:
            with parallel_backend("sequential"):  # the package parallelises 500+ rows over processes
                matrix = self.transformer_.transform(self.codec_.encode(train))
            sampler = DataSampler(matrix, self.transformer_.output_info_list, getattr(self.model_, "_log_frequency", True))
            self._local = (key, matrix, sampler)
        return self._local[1], self._local[2]


class FederatedTVAE(_FederatedCtgan, TVAEGenerator):
    """TVAE (Xu et al. 2019) trained by FedAvg: the options of the registered ``tvae``.

    Parameters: the encoder's and the decoder's (with its learned per-column variances). A
    local epoch is one pass over the site's rows in shuffled batches of ``batch_size``, with
    ``ctgan``'s encoder, decoder and loss; sampling is ``ctgan``'s ``TVAE.sample``.
    """

    def _build(self, counts: dict[str, dict[str, int]]) -> None:
        model, dim = self.model_, self.transformer_.output_dimensions
        model.transformer = self.transformer_
        self.encoder_ = Encoder(dim, model.compress_dims, model.embedding_dim).to(model._device)
        model.decoder = Decoder(model.embedding_dim, model.decompress_dims, dim).to(model._device)
        self.optimiser_ = torch.optim.Adam(
            list(self.encoder_.parameters()) + list(model.decoder.parameters()), weight_decay=model.l2scale
        )

    def _modules(self) -> list[Any]:
        return [self.encoder_, self.model_.decoder]

    def _fit_local(self, train: pd.DataFrame, epochs: int) -> None:
        matrix, _ = self._local_table(train)
        model, encoder, decoder = self.model_, self.encoder_, self.model_.decoder
        data = torch.from_numpy(matrix.astype("float32")).to(model._device)
        encoder.train()
        decoder.train()
        for _ in range(epochs):
            order = torch.randperm(len(data), generator=self._torch_own, device=self._torch_own.device).to(data.device)
            for start in range(0, len(data), model.batch_size):
                real = data[order[start : start + model.batch_size]]
                self.optimiser_.zero_grad()
                mu, std, logvar = encoder(real)
                eps = torch.randn(std.shape, generator=self._torch_own, device=self._torch_own.device).to(std.device)
                rec, sigmas = decoder(eps * std + mu)
                loss_1, loss_2 = _loss_function(
                    rec, real, sigmas, mu, logvar, self.transformer_.output_info_list, model.loss_factor
                )
                (loss_1 + loss_2).backward()
                self.optimiser_.step()
                decoder.sigma.data.clamp_(0.01, 1.0)


class FederatedCTWGAN(_FederatedCtgan, CTWGANGenerator):
    """CT-WGAN (CTGAN, Xu et al. 2019) trained by FedAvg: the options of the registered ``ctwgan``.

    Parameters: the generator's (with its batch-norm statistics) and the critic's, both
    averaged (Fed-TGAN). A local epoch is ``max(rows // batch_size, 1)`` generator steps,
    each after ``discriminator_steps`` critic steps, with ``ctgan``'s networks, conditional
    vector and training-by-sampling (the site's own ``DataSampler``), gradient penalty,
    activations and conditional loss. Sampling is ``ctgan``'s ``CTGAN.sample``, its condition
    vectors drawn from the summed category counts.
    """

    def _build(self, counts: dict[str, dict[str, int]]) -> None:
        model, dim = self.model_, self.transformer_.output_dimensions
        model._transformer = self.transformer_
        model._data_sampler = count_sampler(self.transformer_, counts, model._log_frequency)
        cond = model._data_sampler.dim_cond_vec()
        model._generator = Generator(model._embedding_dim + cond, model._generator_dim, dim).to(model._device)
        self.critic_ = Discriminator(dim + cond, model._discriminator_dim, pac=model.pac).to(model._device)
        self.optimiser_ = torch.optim.Adam(
            model._generator.parameters(), lr=model._generator_lr, betas=(0.5, 0.9), weight_decay=model._generator_decay
        )
        self.critic_optimiser_ = torch.optim.Adam(
            self.critic_.parameters(), lr=model._discriminator_lr, betas=(0.5, 0.9), weight_decay=model._discriminator_decay
        )

    def _modules(self) -> list[Any]:
        return [self.model_._generator, self.critic_]

    def _fit_local(self, train: pd.DataFrame, epochs: int) -> None:
        matrix, sampler = self._local_table(train)
        model, generator, critic = self.model_, self.model_._generator, self.critic_
        batch, device = model._batch_size, model._device
        mean = torch.zeros(batch, model._embedding_dim, device=device)
        std = mean + 1

        def noise_and_condition() -> tuple[Any, Any, Any, Any, Any]:
            """The generator's input and the condition vector drawn by training-by-sampling."""
            z = torch.normal(mean=mean, std=std)
            condvec = sampler.sample_condvec(batch)
            if condvec is None:
                return z, None, None, None, None
            c, m, col, opt = condvec
            c, m = torch.from_numpy(c).to(device), torch.from_numpy(m).to(device)
            return torch.cat([z, c], dim=1), c, m, col, opt

        generator.train()
        critic.train()
        with self._package_streams():
            for _ in range(epochs * max(len(matrix) // batch, 1)):
                for _ in range(model._discriminator_steps):
                    z, c1, _, col, opt = noise_and_condition()
                    if c1 is None:
                        real = torch.from_numpy(sampler.sample_data(matrix, batch, None, None).astype("float32")).to(device)
                        fake = model._apply_activate(generator(z))
                    else:  # real rows of the same conditions, in another order
                        perm = np.arange(batch)
                        np.random.shuffle(perm)
                        rows = sampler.sample_data(matrix, batch, col[perm], opt[perm])
                        fake = torch.cat([model._apply_activate(generator(z)), c1], dim=1)
                        real = torch.cat([torch.from_numpy(rows.astype("float32")).to(device), c1[perm]], dim=1)
                    penalty = critic.calc_gradient_penalty(real, fake, device, model.pac)
                    loss_d = -(torch.mean(critic(real)) - torch.mean(critic(fake)))
                    self.critic_optimiser_.zero_grad(set_to_none=False)
                    penalty.backward(retain_graph=True)
                    loss_d.backward()
                    self.critic_optimiser_.step()
                z, c1, m1, _, _ = noise_and_condition()
                fake = generator(z)
                fakeact = model._apply_activate(fake)
                y_fake = critic(fakeact if c1 is None else torch.cat([fakeact, c1], dim=1))
                loss_g = -torch.mean(y_fake) + (0 if c1 is None else model._cond_loss(fake, c1, m1))
                self.optimiser_.zero_grad(set_to_none=False)
                loss_g.backward()
                self.optimiser_.step()

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        # ctgan samples with the generator in training mode, which moves its batch-norm
        # statistics: put them back, so that sampling leaves the parameters as they were.
        state = copy.deepcopy(self.model_._generator.state_dict())
        try:
            return super()._sample(n, seed)
        finally:
            self.model_._generator.load_state_dict(state)


@dataclass(frozen=True)
class DiffusionStatistics:
    """A site's statistics for TabDDPM: the table's counts and its fitted quantile transform
    of the numeric columns (None without numeric columns)."""

    table: TableSummary
    quantiles: Any


class FederatedTabDDPM(_Streams, FederatedSchemaGenerator, TabDDPMGenerator):
    """TabDDPM (Kotelnikov et al. 2023) trained by FedAvg: the options of the registered ``tabddpm``.

    Parameters: the denoiser's. A local epoch is ``ceil(rows / batch_size)`` steps of
    batches drawn from the site's rows, as TabDDPM draws them; the learning rate anneals
    linearly over the site's ``steps`` (its total budget across rounds: asking for more is an
    error). The ordinary fit is one site's ``steps`` steps. Sampling is TabDDPM's.
    """

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        self._start([self._summarise(train, schema)], schema, seed, 0)
        self._train_steps(train, self.steps)

    def _summarise(self, train: pd.DataFrame, schema: Schema) -> DiffusionStatistics:
        codec = TabularCodec.fit(train, schema)
        numeric = codec.encode(train)[codec.continuous].to_numpy(dtype=float)
        quantiles = _quantile_transformer(quantile_count(len(train))).fit(numeric) if numeric.shape[1] else None
        return DiffusionStatistics(TableSummary.fit(train, schema), quantiles)

    def _start(self, statistics: Sequence[DiffusionStatistics], schema: Schema, seed: int, site: int | None) -> None:
        tables = [s.table for s in statistics]
        self.schema_ = schema
        self.codec_ = shared_codec(tables, schema)
        counts = discrete_counts(tables, self.codec_)
        self.levels_ = [np.array(list(counts[col]), dtype=object) for col in self.codec_.discrete]
        n_num = len(self.codec_.continuous)
        self.quantiles_ = shared_quantiles([s.quantiles for s in statistics], [t.rows for t in tables]) if n_num else None
        sizes = [len(levels) for levels in self.levels_]
        device = choose_device(self.device)
        self.diffusion_ = Diffusion(n_num, sizes, self.num_timesteps, device)
        with self._initial(seed):
            self.model_ = Denoiser(n_num + sum(sizes), n_num + sum(sizes), self.layers, self.dim_t, self.dropout).to(device)
        self.optimiser_ = torch.optim.AdamW(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.step_ = 0
        self._start_streams(seed, site, device)

    def get_parameters(self) -> Parameters:
        return _get([self.model_])

    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        _set(self.name, [self.model_], parameters)

    def _fit_local(self, train: pd.DataFrame, epochs: int) -> None:
        self._train_steps(train, epochs * -(-len(train) // self.batch_size))

    def _train_steps(self, train: pd.DataFrame, steps: int) -> None:
        if self.step_ + steps > self.steps:
            raise InputError(
                f"tabddpm: this site has trained {self.step_} of its {self.steps} steps and "
                f"{steps} more were asked for; raise steps (the learning rate anneals to 0 over them)"
            )
        device = self.diffusion_.betas.device
        table = self.codec_.encode(train)
        numeric = table[self.codec_.continuous].to_numpy(dtype=float)
        if numeric.shape[1]:
            numeric = self.quantiles_.transform(numeric)
        x_num = torch.tensor(numeric, dtype=torch.float32, device=device)
        codes = np.zeros((len(table), len(self.levels_)), dtype=np.int64)
        for j, (col, levels) in enumerate(zip(self.codec_.discrete, self.levels_, strict=True)):
            codes[:, j] = pd.Categorical(table[col], categories=levels).codes
        log_x0 = log_one_hot(torch.tensor(codes, device=device), [len(levels) for levels in self.levels_])
        n, generator = len(x_num), self._torch_own
        self.model_.train()
        with self._package_streams():  # dropout draws from the global stream
            for _ in range(steps):
                for group in self.optimiser_.param_groups:  # linear annealing to zero, as in the paper
                    group["lr"] = self.lr * (1 - self.step_ / self.steps)
                rows = torch.randint(0, n, (min(self.batch_size, n),), generator=generator, device=device)
                loss = self.diffusion_.loss(self.model_, x_num[rows], log_x0[rows], generator)
                self.optimiser_.zero_grad()
                loss.backward()
                self.optimiser_.step()
                self.step_ += 1
        self.model_.eval()


#: The federated model of each bundled neural generator (same options as the registered one).
FEDERATED: dict[str, type[FederatedSchemaGenerator]] = {
    "tvae": FederatedTVAE,
    "ctwgan": FederatedCTWGAN,
    "tabddpm": FederatedTabDDPM,
}


def federated(name: str, **options: Any) -> Federated:
    """The federated model of generator ``name`` with ``options`` (the registered generator's
    own): :data:`FEDERATED`'s class for ``tvae``, ``ctwgan`` and ``tabddpm``; otherwise the
    registered generator itself when it keeps the :class:`~.federated.Federated` contract
    (``gaussian_copula``); an InputError for a generator that cannot be federated."""
    if name in FEDERATED:
        try:
            return FEDERATED[name](**options)
        except TypeError as exc:
            raise InputError(f"generator {name!r} rejected its settings: {exc}") from None
    from safe_bench.generator import load_generator

    generator = load_generator(name, **options)
    if not isinstance(generator, Federated):
        raise InputError(
            f"generator {name!r} cannot be trained by federated averaging (it does not keep the "
            f"Federated contract); federated: {sorted(FEDERATED)} and generators that keep it"
        )
    return generator
