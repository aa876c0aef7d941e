"""Shared test tools: compare an op with its NumPy twin, and check gradients by finite differences."""

from __future__ import annotations

import numpy as np


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() w.r.t. every element of x (float64, perturbed in place)."""
    assert x.dtype == np.float64, "gradient checks run in float64"
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def check_gradient(f, x: np.ndarray, analytic: np.ndarray, rtol: float = 1e-5, atol: float = 1e-7):
    """Asserts that analytic matches the central-difference gradient of f() w.r.t. x."""
    numeric = numerical_gradient(f, x)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


def random_projection(shape, seed=0) -> np.ndarray:
    """A fixed random upstream gradient: checking L = sum(out * R) tests every output's gradient."""
    return np.random.default_rng(seed).standard_normal(shape)
