"""A LASSO test problem shared by the solver tests: correlated features on a bootstrap sample of rows."""

from __future__ import annotations

import numpy as np


def bootstrap_problem(seed=20261122, n=120, p=40):
    """Correlated features, one with ties, and a bootstrap sample of the rows (repeated rows)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 3))
    X = latent @ rng.normal(size=(3, p)) + rng.normal(size=(n, p))
    X[:, 5] = np.round(X[:, 5])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(latent[:, 0] - 0.8)))).astype(float)
    rows = rng.integers(0, n, n)
    return X[rows], y[rows]
