"""Transport problems with known answers, shared by the tests."""

from __future__ import annotations

import numpy as np
import torch


def permuted_copy(n: int, d: int, rng: np.random.Generator, shift: float = 0.0):
    """z is a shuffled copy of x (optionally shifted): the optimal plan undoes the shuffle."""
    x = rng.normal(size=(n, d))
    perm = rng.permutation(n)
    z = x[perm] + shift
    # z[j] = x[perm[j]] + shift, so x[i] goes to z[inverse[i]]
    inverse = np.argsort(perm)
    return torch.from_numpy(x), torch.from_numpy(z), torch.from_numpy(inverse)


def sorted_line(n: int, rng: np.random.Generator):
    """Points on the line: the optimal matching for p >= 1 pairs the sorted orders."""
    u = rng.normal(size=n)
    v = rng.normal(size=n) + 1.0
    expected = np.mean((np.sort(u) - np.sort(v)) ** 2)
    return torch.from_numpy(u), torch.from_numpy(v), expected


def diracs(d: int, rng: np.random.Generator):
    """Two Diracs: W_p = |x - z| for every p."""
    x = rng.normal(size=(1, d))
    z = rng.normal(size=(1, d))
    return torch.from_numpy(x), torch.from_numpy(z), float(np.linalg.norm(x - z))


def random_weights(n: int, rng: np.random.Generator, zeros: int = 0) -> np.ndarray:
    w = rng.uniform(0.1, 1.0, size=n)
    if zeros:
        w[rng.choice(n, size=zeros, replace=False)] = 0.0
    return w / w.sum()


def cost64(x, z, p: float) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    return np.linalg.norm(x[:, None, :] - z[None, :, :], axis=-1) ** p
