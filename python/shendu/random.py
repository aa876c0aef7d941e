"""tf.random: seeding and random tensors.

``set_seed(seed)`` reseeds one NumPy generator that weight initializers, dropout, fit's
shuffling and these functions all draw from (``keras.utils.set_random_seed`` does the same), so a
seeded program repeats.
"""

from __future__ import annotations

import numpy as np

from .tensor import eager

_rng = np.random.default_rng()


def set_seed(seed: int) -> None:
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The generator behind shendu's random draws (reseeded by set_seed)."""
    return _rng


def _shape(shape) -> tuple:
    return tuple(int(n) for n in np.asarray(shape).reshape(-1))


def normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    rng = np.random.default_rng(seed) if seed is not None else _rng
    return eager(rng.normal(mean, stddev, _shape(shape)).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=np.float32, seed=None, name=None):
    """Normal values redrawn until within two standard deviations of the mean."""
    rng = np.random.default_rng(seed) if seed is not None else _rng
    values = rng.standard_normal(_shape(shape))
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2
    return eager((mean + stddev * values).astype(dtype))


def uniform(shape, minval=0, maxval=None, dtype=np.float32, seed=None, name=None):
    rng = np.random.default_rng(seed) if seed is not None else _rng
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: maxval must be given for integer dtypes")
        return eager(rng.integers(minval, maxval, _shape(shape)).astype(dtype))
    high = 1.0 if maxval is None else maxval
    return eager(rng.uniform(minval, high, _shape(shape)).astype(dtype))


def shuffle(value, seed=None, name=None):
    rng = np.random.default_rng(seed) if seed is not None else _rng
    return eager(rng.permutation(np.asarray(value)))


def __getattr__(name):
    raise AttributeError(f"shendu does not provide tf.random.{name}")


__all__ = ["set_seed", "normal", "truncated_normal", "uniform", "shuffle"]
