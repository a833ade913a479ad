"""Seeds, threads and devices for the generators that train neural networks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from safe_bench.errors import InputError

if TYPE_CHECKING:  # torch is an optional dependency (the ``generators`` extra)
    import torch


def require(*modules: str) -> None:
    """Raise ModuleNotFoundError for the first of ``modules`` that is not installed, at
    construction rather than mid-fit (:func:`safe_bench.generator.load_generator` turns
    it into a message naming the extra to install)."""
    for module in modules:
        if find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def seed_everything(seed: int, *, torch: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global generator and, for a generator that
    trains with it, torch (CPU and every GPU).

    Library code that draws from a global generator is then reproducible; code that
    keeps its own generators is seeded by its adapter as well. torch is imported only
    when asked for (importing it costs seconds that a baseline should not pay).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if torch:
        import torch as torch_module

        torch_module.manual_seed(seed)  # also seeds every CUDA device


def check_threads(generator: str, threads: object) -> int:
    """``threads`` as a count of CPU threads, or an InputError naming the generator."""
    if isinstance(threads, bool) or not isinstance(threads, Integral) or threads < 1:
        raise InputError(f"{generator}: threads must be an integer >= 1, got {threads!r}")
    return int(threads)


@contextmanager
def cpu_threads(threads: int) -> Iterator[None]:
    """Fit or sample on ``threads`` CPU threads: torch's intra-op pool and the BLAS and
    OpenMP pools (threadpoolctl) of what the generator calls (the mixture models of
    ``ctgan``'s transformer, say); restored after.

    Whatever the environment asks for (``OMP_NUM_THREADS``, ``torch.set_num_threads``),
    the same ``threads`` give the same table: floating-point sums split over another
    number of threads round differently, and a GAN amplifies the difference. One
    thread is also the fastest for these small networks when other jobs share the CPU.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)


def choose_device(device: str = "auto") -> torch.device:
    """``"auto"``: the first GPU when torch sees one, else the CPU; or a torch device name.

    Results on a GPU are not bit-for-bit reproducible (cuDNN and atomics reorder
    floating-point sums); on the CPU they are, for a given machine and thread count.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise InputError(f"unknown torch device {device!r}; use 'auto', 'cpu' or 'cuda'") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' was asked for but torch sees no GPU; use 'auto' or 'cpu'")
    return chosen
