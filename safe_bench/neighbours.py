"""Exact nearest neighbours in the train-fitted distance space (Euclidean)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors


@dataclass(frozen=True)
class Neighbours:
    """Distances and row indices of the ``k`` nearest index rows of each query row,
    sorted by distance (ties by index)."""

    distances: np.ndarray
    indices: np.ndarray


def nearest(query: np.ndarray, index: np.ndarray, k: int = 1) -> Neighbours:
    """Exact k nearest neighbours of every query row among the index rows."""
    k = min(k, len(index))
    model = NearestNeighbors(n_neighbors=k, algorithm="auto").fit(index)
    distances, indices = model.kneighbors(query)
    return Neighbours(distances=distances, indices=indices)
