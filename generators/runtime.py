"""Seeds and devices for the generators that train neural networks."""

from __future__ import annotations

import random
from importlib.util import find_spec
from typing import TYPE_CHECKING

import numpy as np

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
